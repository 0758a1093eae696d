/** The device at a glance: services, storage, uptime, update state, paired devices. */
import { api } from '../api.js';
import { formatBytes, h } from '../dom.js';
import type { Page } from '../page.js';

interface Status {
  version: string;
  mode: string;
  status: string;
  uptimeSeconds: number;
  services: { name: string; state: string; detail: string | null; listen: string[] }[];
  storage: { totalBytes: number; freeBytes: number } | null;
  update: Record<string, unknown>;
  devices: { device: string; up: boolean }[];
}

function formatUptime(seconds: number): string {
  const days = Math.floor(seconds / 86400);
  const hours = Math.floor((seconds % 86400) / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  return days > 0 ? `${days} d ${hours} h` : hours > 0 ? `${hours} h ${minutes} min` : `${minutes} min`;
}

export const dashboardPage: Page = {
  name: 'dashboard',
  title: 'Dashboard',
  async render(view) {
    const status = await api<Status>('GET', 'status');
    const used = status.storage === null ? undefined : status.storage.totalBytes - status.storage.freeBytes;
    view.append(
      h('h1', {}, 'Dashboard'),
      h(
        'section',
        { class: 'cards', 'aria-label': 'Summary' },
        h('div', { class: 'card' }, h('h2', {}, 'Device'), h('p', { class: status.status === 'ok' ? 'ok' : 'bad' }, status.status === 'ok' ? 'All services running' : 'Some services are not running'), h('p', {}, `Version ${status.version} · ${status.mode} mode`), h('p', {}, `Up ${formatUptime(status.uptimeSeconds)}`)),
        h(
          'div',
          { class: 'card' },
          h('h2', {}, 'Storage'),
          status.storage === null || used === undefined
            ? h('p', {}, 'Unknown')
            : [
                h('meter', { min: 0, max: status.storage.totalBytes, value: used, 'aria-label': 'Data partition used' }),
                h('p', {}, `${formatBytes(used)} used of ${formatBytes(status.storage.totalBytes)} (${formatBytes(status.storage.freeBytes)} free)`),
              ],
        ),
        h('div', { class: 'card' }, h('h2', {}, 'Updates'), h('dl', {}, Object.entries(status.update).map(([key, value]) => [h('dt', {}, key), h('dd', {}, String(value))]))),
        h(
          'div',
          { class: 'card' },
          h('h2', {}, 'Paired devices'),
          status.devices.length === 0 ? h('p', {}, 'None yet') : h('ul', {}, status.devices.map((d) => h('li', {}, `${d.device} — ${d.up ? 'connected' : 'not connected'}`))),
        ),
      ),
      h('h2', {}, 'Services'),
      h(
        'table',
        {},
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Service'), h('th', { scope: 'col' }, 'State'), h('th', { scope: 'col' }, 'Listening'))),
        h(
          'tbody',
          {},
          status.services.map((s) =>
            h('tr', {}, h('th', { scope: 'row' }, s.name), h('td', { class: s.state === 'running' ? 'ok' : 'bad' }, s.state, s.detail === null ? null : ` (${s.detail})`), h('td', {}, s.listen.join(', '))),
          ),
        ),
      ),
    );
  },
};
