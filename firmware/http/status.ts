/** GET /health (JSON for machines) and GET /status (a small status page for people, no sign-in). */
import type { HealthReport } from '../runtime/index.js';
import { escapeHtml, sendHtml, sendJson } from './respond.js';
import type { Router } from './router.js';

export function mountStatusRoutes(router: Router, health: () => HealthReport): void {
  router.add('GET', '/health', (_req, res) => {
    const report = health();
    sendJson(res, report.status === 'ok' ? 200 : 503, report);
  });
  router.add('GET', '/status', (_req, res) => sendHtml(res, 200, statusPage(health())));
}

function formatUptime(seconds: number): string {
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return `${d > 0 ? `${d}d ` : ''}${h}h ${m}m ${seconds % 60}s`;
}

export function statusPage(report: HealthReport): string {
  const rows = Object.entries(report.services)
    .map(
      ([name, s]) =>
        `<tr><td>${escapeHtml(name)}</td><td class="${escapeHtml(s.state)}">${escapeHtml(s.state)}</td>` +
        `<td>${escapeHtml((s.listen ?? []).join(', '))}</td></tr>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Nymote</title>
<style>
body{font:16px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:40rem;padding:0 1rem;color:#111}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.3rem .6rem;border-bottom:1px solid #ccc}
.running{color:#064}.failed{color:#a00}
</style></head>
<body><h1>Nymote</h1>
<p>Version ${escapeHtml(report.version)} · ${escapeHtml(report.mode)} mode · up ${formatUptime(report.uptimeSeconds)} · ${escapeHtml(report.status)}</p>
<table><thead><tr><th>Service</th><th>State</th><th>Listening</th></tr></thead><tbody>
${rows}
</tbody></table></body></html>
`;
}
