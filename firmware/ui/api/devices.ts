/**
 * Devices and pairing (owner only): the owner's devices as this one sees them, and pairing
 * this device from the browser, as `pair` does on the console. The device waits for
 * `nymote pair <address>:<port>` on the owner's computer, shows the code both sides computed,
 * and the owner confirms here that the computer shows the same one.
 *
 *   GET    devices                 {self: {device, id, notAfter} | null, devices: [{device, id, up, endpoint, notAfter}], pairing}
 *   POST   devices/pairing         start waiting → pairing
 *   POST   devices/pairing/answer  {same: boolean} the owner's answer to the code → pairing
 *   DELETE devices/pairing         stop waiting → pairing
 *   GET    devices/pairing         → pairing: {state, lines, code, question, device, error}
 */
import type { DeviceCertificate, PairingPerson } from '../../signpost/index.js';
import { describeError, type Logger } from '../../runtime/index.js';
import { HttpError } from '../../http/index.js';
import { readBody, type UiRoute } from './context.js';

/** The part of SignpostService the UI uses. */
export interface PairingDevice {
  certificate(): DeviceCertificate | undefined;
  devices(): { certificate: DeviceCertificate; up: boolean; endpoint: { address: string; port: number } | undefined }[];
  pair(person: PairingPerson, signal: AbortSignal): Promise<DeviceCertificate>;
  /** The UDP/TCP port the owner's computer pairs with. */
  pairingPort(): number;
}

type PairingState = 'idle' | 'waiting' | 'confirm' | 'confirmed' | 'paired' | 'failed';

const MAX_LINES = 20;
const CODE_LINE = /^Code: (.+)$/;

/** One pairing at a time, driven by the browser: the device's side as a small state machine. */
export class PairingSession {
  private state: PairingState = 'idle';
  private lines: string[] = [];
  private code: string | undefined;
  private question: string | undefined;
  private answer: ((same: boolean) => void) | undefined;
  private abort: AbortController | undefined;
  private paired: DeviceCertificate | undefined;
  private error: string | undefined;

  constructor(
    private readonly signpost: PairingDevice,
    private readonly log: Logger,
  ) {}

  describe() {
    return {
      state: this.state,
      lines: this.lines,
      code: this.code ?? null,
      question: this.question ?? null,
      port: this.signpost.pairingPort(),
      device: this.paired === undefined ? null : { device: this.paired.device, id: this.paired.id, notAfter: this.paired.notAfter },
      error: this.error ?? null,
    };
  }

  start(): void {
    if (this.state === 'waiting' || this.state === 'confirm' || this.state === 'confirmed') throw new HttpError(409, 'EBUSY', 'pairing is already under way');
    this.state = 'waiting';
    this.lines = [];
    this.code = this.question = this.paired = this.error = undefined;
    this.abort = new AbortController();
    const person: PairingPerson = {
      say: (line) => {
        // The code has its own place on the page; the rest is the pairing's log.
        const code = CODE_LINE.exec(line);
        if (code !== null) this.code = code[1];
        else this.lines = [...this.lines, line].slice(-MAX_LINES);
      },
      confirm: (question) =>
        new Promise<boolean>((resolve) => {
          this.state = 'confirm';
          this.question = question.replace(/\s*\[y\/N\]\s*$/, '');
          this.answer = resolve;
        }),
    };
    this.signpost.pair(person, this.abort.signal).then(
      (certificate) => this.finish('paired', certificate),
      (err) => this.finish('failed', undefined, describeError(err)),
    );
  }

  respond(same: boolean): void {
    if (this.state !== 'confirm' || this.answer === undefined) throw new HttpError(409, 'ESTATE', 'no code is waiting for an answer');
    this.state = 'confirmed';
    this.question = undefined;
    this.answer(same);
    this.answer = undefined;
  }

  cancel(): void {
    this.answer?.(false);
    this.abort?.abort();
  }

  private finish(state: 'paired' | 'failed', certificate: DeviceCertificate | undefined, error?: string): void {
    this.state = state;
    this.paired = certificate;
    this.error = error;
    this.question = this.answer = this.abort = undefined;
    if (state === 'failed') this.log.info('pairing from the web UI ended', { error: error ?? '' });
  }
}

export function deviceRoutes(signpost: PairingDevice, pairing: PairingSession): UiRoute[] {
  return [
    {
      method: 'GET',
      path: 'devices',
      ownerOnly: true,
      handler: () => {
        const self = signpost.certificate();
        return {
          self: self === undefined ? null : { device: self.device, id: self.id, notAfter: self.notAfter },
          devices: signpost.devices().map(({ certificate, up, endpoint }) => ({
            device: certificate.device,
            id: certificate.id,
            up,
            endpoint: endpoint === undefined ? null : `${endpoint.address}:${endpoint.port}`,
            notAfter: certificate.notAfter,
          })),
          pairing: pairing.describe(),
        };
      },
    },
    { method: 'GET', path: 'devices/pairing', ownerOnly: true, handler: () => pairing.describe() },
    {
      method: 'POST',
      path: 'devices/pairing',
      ownerOnly: true,
      handler: () => {
        pairing.start();
        return pairing.describe();
      },
    },
    {
      method: 'POST',
      path: 'devices/pairing/answer',
      ownerOnly: true,
      handler: async (ui) => {
        const { same } = await readBody(ui);
        if (typeof same !== 'boolean') throw new HttpError(400, 'EINVAL', "field 'same' must be true or false");
        pairing.respond(same);
        return pairing.describe();
      },
    },
    {
      method: 'DELETE',
      path: 'devices/pairing',
      ownerOnly: true,
      handler: () => {
        pairing.cancel();
        return pairing.describe();
      },
    },
  ];
}
