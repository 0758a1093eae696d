/**
 * HTTPS: the same router as HTTP behind TLS, so every route (API, git, DAV, UI) is served on
 * both ports by one set of handlers. The key and certificate come from TlsCredentials; when
 * they change (renewed, or replaced by an owner-issued certificate) the server takes the new
 * ones without a restart.
 *
 *   const tls = new TlsCredentials(config.data.secrets, { log: log.child('tls') });
 *   runtime.services.add(tls);
 *   runtime.services.add(createHttpsService(config.listen, config.ports.https, log.child('https'), http.router, tls));
 */
import type { Logger } from '../runtime/index.js';
import type { Router } from './router.js';
import { DEFAULT_HTTP_LIMITS, HttpService, type HttpLimits } from './server.js';
import type { TlsCredentials } from './tls.js';

export function createHttpsService(
  host: string,
  port: number,
  log: Logger,
  router: Router,
  credentials: TlsCredentials,
  limits: HttpLimits = DEFAULT_HTTP_LIMITS,
): HttpService {
  return new HttpService(host, port, log, limits, { name: 'https', router, tls: credentials });
}
