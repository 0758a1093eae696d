/** The HTTP(S) server that every web-facing part mounts on: status, later API, git, DAV, UI. */
export { HttpService, DEFAULT_HTTP_LIMITS, type HttpLimits } from './server.js';
export { Router, type Handler } from './router.js';
export { sendJson, sendError, sendHtml, escapeHtml } from './respond.js';
export { mountStatusRoutes } from './status.js';
