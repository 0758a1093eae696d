/** The console commands that every instance has: status, version, logs. */
import type { Runtime } from '../runtime/index.js';
import type { Shell } from './shell.js';

export function addRuntimeCommands(shell: Shell, runtime: Runtime): void {
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
    summary: 'show the most recent log lines',
    usage: 'logs [COUNT]',
    run: (args, out) => {
      const count = args[0] === undefined ? 20 : Number(args[0]);
      if (!Number.isInteger(count) || count <= 0) throw new Error(`invalid count '${args[0]}'`);
      for (const line of runtime.logSink.ring.slice(-count)) out.line(line);
    },
  });
}
