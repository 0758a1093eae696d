/** `ota status|rollback` on the console. */
import type { ConsoleCommand } from '../console/index.js';
import { UsageError } from '../runtime/index.js';
import type { Updater } from './updater.js';

export function otaCommands(updater: Updater): ConsoleCommand[] {
  return [
    {
      name: 'ota',
      summary: 'updates: the app slots and the last outcome (status), or back to the other slot (rollback)',
      usage: 'ota status | ota rollback',
      completions: ['status', 'rollback'],
      run: async ([action, ...extra], io) => {
        if (extra.length > 0 || (action !== 'status' && action !== 'rollback')) throw new UsageError('usage: ota status | ota rollback');
        if (action === 'status') for (const [name, value] of Object.entries(updater.status())) io.line(`${name}: ${value}`);
        else io.line(updater.rollback());
      },
    },
  ];
}
