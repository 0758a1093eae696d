/** The HTTP(S) server that every web-facing part mounts on: status, later API, git, DAV, UI. */
export { HttpService, DEFAULT_HTTP_LIMITS, type HttpLimits, type HttpServiceOptions, type TlsSource } from './server.js';
export { Router, type Handler } from './router.js';
export { sendJson, sendError, sendHtml, escapeHtml } from './respond.js';
export { mountStatusRoutes } from './status.js';
export { createHttpsService } from './https.js';
export { TlsCredentials, defaultTlsNames, type TlsNames, type TlsServerOptions } from './tls.js';
export { Authenticator, markDeviceConnection, type Principal, type GitAuthorizer } from './auth.js';
export { readBody, readJsonObject, HttpError, sendHttpError } from './body.js';
export { mountApi, authorOf, stringField } from './api/index.js';
export { sendApiError } from './api/errors.js';
