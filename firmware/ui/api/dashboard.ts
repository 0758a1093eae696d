/**
 * The dashboard: GET status → the device at a glance.
 *   {version, mode, status, uptimeSeconds, services: [{name, state, detail, listen}],
 *    storage: {totalBytes, freeBytes} | null, update: {...}, devices: [{device, up}]}
 */
import type { HealthReport } from '../../runtime/index.js';
import type { PairingDevice } from './devices.js';
import type { UiRoute } from './context.js';

/** What the dashboard shows besides the services: the data partition's space and the update state. */
export interface DeviceStatus {
  storage(): { totalBytes: number; freeBytes: number } | undefined;
  update(): Record<string, unknown>;
}

export function dashboardRoutes(health: () => HealthReport, device: DeviceStatus, signpost: PairingDevice): UiRoute[] {
  return [
    {
      method: 'GET',
      path: 'status',
      handler: () => {
        const report = health();
        return {
          version: report.version,
          mode: report.mode,
          status: report.status,
          uptimeSeconds: report.uptimeSeconds,
          services: Object.entries(report.services).map(([name, s]) => ({ name, state: s.state, detail: s.detail ?? null, listen: s.listen ?? [] })),
          storage: device.storage() ?? null,
          update: device.update(),
          devices: signpost.devices().map((d) => ({ device: d.certificate.device, up: d.up })),
        };
      },
    },
  ];
}
