/**
 * Users of the device. Everyone may change their own password; the owner also lists, adds and
 * removes users (a removed user's store stays on the device, as with `nymote user remove`).
 *
 *   GET    users                 (owner) [{name, created, owner}]
 *   POST   users {name, password} (owner) add a user → {name}
 *   DELETE users/:name           (owner) remove a user (not the owner) → {name}
 *   POST   password {current, password}  change one's own password; every session of the user ends
 */
import type { UserDirectory } from '../../accounts/index.js';
import { HttpError, stringField, type Authenticator } from '../../http/index.js';
import { NymoteError } from '../../runtime/index.js';
import { readBody, type UiRoute } from './context.js';

const STATUS_OF_CODE: Record<string, number> = { EINVAL: 400, EEXIST: 409, ENOUSER: 404 };

/** The directory's refusals as HTTP answers. */
async function asHttp<T>(work: () => Promise<T> | T): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof NymoteError && STATUS_OF_CODE[err.code] !== undefined) throw new HttpError(STATUS_OF_CODE[err.code]!, err.code, err.message);
    throw err;
  }
}

export function userRoutes(users: UserDirectory, auth: Authenticator): UiRoute[] {
  return [
    {
      method: 'GET',
      path: 'users',
      ownerOnly: true,
      handler: () => users.list().map((u) => ({ name: u.name, created: u.created, owner: u.name === auth.owner() })),
    },
    {
      method: 'POST',
      path: 'users',
      ownerOnly: true,
      handler: async (ui) => {
        const body = await readBody(ui);
        const name = stringField(body, 'name', { allowEmpty: true, maxChars: 64 });
        await asHttp(() => users.add(name, stringField(body, 'password', { allowEmpty: true, maxChars: 1024 })));
        return { name };
      },
    },
    {
      method: 'DELETE',
      path: 'users/:name',
      ownerOnly: true,
      handler: async (ui) => {
        const { name } = ui.params;
        if (name === auth.owner()) throw new HttpError(409, 'EOWNER', 'the owner cannot be removed');
        await asHttp(() => users.remove(name!)); // their sessions end with them (credential stamp)
        return { name };
      },
    },
    {
      method: 'POST',
      path: 'password',
      handler: async (ui) => {
        const body = await readBody(ui);
        const current = stringField(body, 'current', { allowEmpty: true, maxChars: 1024 });
        const password = stringField(body, 'password', { allowEmpty: true, maxChars: 1024 });
        const outcome = await auth.checkLogin(ui.user, current, ui.req.socket.remoteAddress);
        if (!outcome.ok) throw new HttpError(outcome.status === 401 ? 403 : outcome.status, outcome.code, outcome.status === 401 ? 'the current password is wrong' : outcome.message);
        await asHttp(() => users.setPassword(ui.user, password)); // every session of theirs ends (credential stamp)
        return { user: ui.user };
      },
    },
  ];
}
