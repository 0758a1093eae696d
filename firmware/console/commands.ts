/** The console commands that every instance has: status, version, logs, reboot, poweroff. */
import { NymoteError, UsageError, type Runtime } from '../runtime/index.js';
import type { Shell } from './shell.js';

/**
 * What the firmware does when it stops: nyinit turns the exit into the action (see
 * native/init); a factory reset erases the data directory's contents first, then reboots.
 */
/** How the firmware stops; `restart` asks nyinit to start the active app slot again at once (an update). */
export type StopRequest = 'stop' | 'restart' | 'reboot' | 'poweroff' | 'halt' | 'factory-reset';

export function addRuntimeCommands(shell: Shell, runtime: Runtime, power: (action: StopRequest) => void, hostname: () => string): void {
  shell.add({
    name: 'status',
    summary: 'version, uptime and the state of every service',
    run: (_args, out) => {
      const report = runtime.health();
      out.line(`nymote ${report.version} · ${report.mode} mode · up ${report.uptimeSeconds}s · ${report.status}`);
      out.line(`data: ${runtime.config.data.root}`);
      for (const [name, s] of Object.entries(report.services)) {
        const where = s.listen?.join(', ') ?? '';
        out.line(`  ${name.padEnd(10)} ${s.state.padEnd(9)} ${where}${s.detail ? `  (${s.detail})` : ''}`);
      }
    },
  });
  shell.add({
    name: 'version',
    summary: 'firmware and Node versions',
    run: (_args, out) => out.line(`nymote ${runtime.version} (node ${process.version}, ${process.arch})`),
  });
  shell.add({
    name: 'logs',
    summary: 'show the most recent log lines; -f keeps following until Ctrl-C',
    usage: 'logs [COUNT] [-f]',
    run: async (args, io) => {
      const follow = args.includes('-f');
      const rest = args.filter((a) => a !== '-f');
      if (rest.length > 1) throw new UsageError(`logs: unexpected argument '${rest[1]}'`);
      const count = rest[0] === undefined ? 20 : Number(rest[0]);
      if (!Number.isInteger(count) || count <= 0) throw new UsageError(`logs: invalid count '${rest[0]}'`);
      for (const line of runtime.logSink.ring.slice(-count)) io.line(line);
      if (!follow || io.signal.aborted) return;
      const stop = runtime.logSink.follow((line) => io.line(line));
      await new Promise<void>((resolve) => io.signal.addEventListener('abort', () => resolve(), { once: true }));
      stop();
    },
  });
  shell.add({
    name: 'factory-reset',
    summary: 'erase every user, their data and keys, and the settings; then restart as new',
    run: async (args, io) => {
      if (args.length > 0) throw new UsageError(`factory-reset: unexpected argument '${args[0]}'`);
      const name = hostname();
      const answer = await io.ask(`This erases every user, all their mail, contacts, calendars and keys, and the settings. Type the hostname (${name}) to erase: `);
      if (answer.trim() !== name) throw new NymoteError('ECANCELED', 'not erased: the hostname did not match');
      io.line('erasing after the services stop…');
      power('factory-reset');
    },
  });
  for (const [name, summary] of [
    ['reboot', 'restart the device (on a host: stop the firmware)'],
    ['poweroff', 'stop the firmware and power the device off'],
  ] as const) {
    shell.add({
      name,
      summary,
      run: (args, io) => {
        if (args.length > 0) throw new UsageError(`${name}: unexpected argument '${args[0]}'`);
        io.line(runtime.config.mode === 'device' ? `${name}: stopping services…` : `${name}: host mode, stopping the firmware`);
        power(runtime.config.mode === 'device' ? name : 'stop');
      },
    });
  }
}
