/** The owner's devices, and pairing this one: the code to compare with `nymote pair` on the owner's computer. */
import { api } from '../api.js';
import { append, errorText, formatDateTime, h, notice, replace } from '../dom.js';
import type { Page } from '../page.js';

interface Pairing {
  state: 'idle' | 'waiting' | 'confirm' | 'confirmed' | 'paired' | 'failed';
  lines: string[];
  code: string | null;
  question: string | null;
  port: number;
  device: { device: string; id: string; notAfter: string } | null;
  error: string | null;
}

interface Devices {
  self: { device: string; id: string; notAfter: string } | null;
  devices: { device: string; id: string; up: boolean; endpoint: string | null; notAfter: string }[];
  pairing: Pairing;
}

const POLL_MS = 1000;

/** Draws the pairing box, and keeps it current while pairing is under way and the box is shown. */
function pairingBox(initial: Pairing): HTMLElement {
  const box = h('section', { class: 'card', 'aria-labelledby': 'pairing-title', 'aria-live': 'polite' });
  const act = async (method: 'POST' | 'DELETE', path: string, body?: unknown) => {
    try {
      draw(await api<Pairing>(method, path, body));
    } catch (err) {
      box.append(notice(errorText(err)));
    }
  };
  const draw = (pairing: Pairing) => {
    const busy = pairing.state === 'waiting' || pairing.state === 'confirm' || pairing.state === 'confirmed';
    replace(
      box,
      h('h2', { id: 'pairing-title' }, 'Pair this device'),
      pairing.state === 'idle' && h('p', {}, "Pairing makes this device one of its owner's devices: their stores sync, and they reach each other securely."),
      busy && h('p', {}, "On the owner's computer run: ", h('code', {}, `nymote pair ${location.hostname}:${pairing.port}`)),
      pairing.code !== null && busy && h('p', { class: 'code' }, h('span', { class: 'muted' }, 'Code: '), h('strong', { 'data-testid': 'pairing-code' }, pairing.code)),
      pairing.state === 'confirm' && [
        h('p', {}, pairing.question ?? "Does the owner's computer show the same code?"),
        h('div', { class: 'toolbar' }, button('Yes, the same', () => act('POST', 'devices/pairing/answer', { same: true }), 'primary'), button('No', () => act('POST', 'devices/pairing/answer', { same: false }))),
      ],
      pairing.state === 'paired' && pairing.device !== null && notice(`Paired: this device is ${pairing.device.device}, certified until ${formatDateTime(pairing.device.notAfter)}.`, 'ok'),
      pairing.state === 'failed' && notice(`Pairing did not complete: ${pairing.error ?? 'unknown reason'}`),
      pairing.lines.length > 0 && h('ul', { class: 'log' }, pairing.lines.map((line) => h('li', {}, line))),
      busy ? button('Stop pairing', () => act('DELETE', 'devices/pairing')) : button('Start pairing', () => act('POST', 'devices/pairing'), 'primary'),
    );
    if (busy) {
      setTimeout(() => {
        if (box.isConnected && pairing.state !== 'confirm') void api<Pairing>('GET', 'devices/pairing').then(draw, () => undefined);
      }, POLL_MS);
    }
  };
  draw(initial);
  return box;
}

function button(label: string, onClick: () => void, kind?: string): HTMLButtonElement {
  const element = h('button', { type: 'button', class: kind }, label);
  element.addEventListener('click', onClick);
  return element;
}

export const devicesPage: Page = {
  name: 'devices',
  title: 'Devices',
  ownerOnly: true,
  async render(view) {
    const info = await api<Devices>('GET', 'devices');
    append(view, [
      h('h1', {}, 'Devices'),
      info.self === null ? h('p', {}, 'This device is not paired yet.') : h('p', {}, `This device is ${info.self.device} (${info.self.id}), certified until ${formatDateTime(info.self.notAfter)}.`),
      info.devices.length > 0 &&
        h(
          'table',
          {},
          h('caption', {}, "The owner's other devices"),
          h('thead', {}, h('tr', {}, ['Device', 'Channel', 'Last address', 'Certified until'].map((title) => h('th', { scope: 'col' }, title)))),
          h('tbody', {}, info.devices.map((d) => h('tr', {}, h('th', { scope: 'row' }, d.device), h('td', { class: d.up ? 'ok' : 'bad' }, d.up ? 'up' : 'down'), h('td', {}, d.endpoint ?? 'not seen yet'), h('td', {}, formatDateTime(d.notAfter))))),
        ),
      pairingBox(info.pairing),
    ]);
  },
};
