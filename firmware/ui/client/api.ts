/**
 * Calls to the device's UI API (`/ui/api/…`). The session cookie goes along by itself; every
 * state change carries the session's CSRF token in a header, which another site cannot set.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let csrfToken = '';
/** What happens when the session is gone (expired, signed out elsewhere): the login page. */
let onSignedOut: () => void = () => undefined;

export function setSession(token: string, signedOut: () => void): void {
  csrfToken = token;
  onSignedOut = signedOut;
}

/** `api('GET', 'contacts')`, `api('PUT', 'contacts/default/x', {...})`: the JSON answer, or ApiError. */
export async function api<T = unknown>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (method !== 'GET') headers['x-csrf-token'] = csrfToken;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(`/ui/api/${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' });
  } catch {
    throw new ApiError(0, 'ENETWORK', 'the device does not answer');
  }
  const answer = (await response.json().catch(() => undefined)) as { error?: { code: string; message: string } } | undefined;
  if (!response.ok) {
    const error = answer?.error ?? { code: 'EHTTP', message: `${response.status} ${response.statusText}` };
    if (response.status === 401 && error.code === 'ESESSION') onSignedOut();
    throw new ApiError(response.status, error.code, error.message);
  }
  return answer as T;
}

/** Path segments for a URL: each one percent-encoded. */
export function segments(...parts: string[]): string {
  return parts.map(encodeURIComponent).join('/');
}
