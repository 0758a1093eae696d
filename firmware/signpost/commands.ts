/** `pair` and `devices` on the console: the device's side of pairing, and the owner's devices as this one sees them. */
import type { ConsoleCommand } from '../console/index.js';
import { NymoteError, UsageError } from '../runtime/index.js';
import { PAIRING_WAIT_MS } from './pairing/index.js';
import type { SignpostService } from './service.js';

export function signpostCommands(signpost: SignpostService, pairingPort: () => number): ConsoleCommand[] {
  return [
    {
      name: 'pair',
      summary: "make this device one of the owner's: compare a code with `nymote pair` on the owner's computer",
      usage: 'pair',
      run: async (args, io) => {
        if (args.length > 0) throw new UsageError('usage: pair');
        const before = signpost.certificate();
        if (before !== undefined) io.line(`this device is already paired (owner ${before.owner.slice(0, 11)}…); pairing again replaces its certificate`);
        io.line(`On the owner's computer run:  nymote pair <this device's address>:${pairingPort()}`);
        io.line(`waiting up to ${PAIRING_WAIT_MS / 60_000} minutes (Ctrl-C stops)…`);
        const certificate = await signpost.pair(
          {
            say: (line) => io.line(line),
            confirm: async (question) => /^\s*y(es)?\s*$/i.test(await io.ask(question)),
          },
          io.signal,
        );
        io.line(`paired: this device is ${certificate.device} (${certificate.id}), certified until ${certificate.notAfter}`);
      },
    },
    {
      name: 'devices',
      summary: "the owner's devices this one knows, and whether the channel to each is up",
      usage: 'devices',
      run: (args, io) => {
        if (args.length > 0) throw new UsageError('usage: devices');
        const own = signpost.certificate();
        if (own === undefined) throw new NymoteError('ENOTPAIRED', "not paired yet: type 'pair' here and run `nymote pair` on the owner's computer");
        io.line(`this device  ${own.device} (${own.id}), certified until ${own.notAfter}`);
        const devices = signpost.devices();
        if (devices.length === 0) io.line('no other devices yet');
        for (const { certificate, up, endpoint } of devices) {
          const where = endpoint === undefined ? 'not seen yet' : `${endpoint.address}:${endpoint.port}`;
          io.line(`${certificate.device} (${certificate.id})  ${up ? 'up' : 'down'}  ${where}  until ${certificate.notAfter}`);
        }
      },
    },
  ];
}
