/**
 * The web app's telemetry, started once by server.ts before anything else: the same
 * set-up as every service (@chirp/telemetry: spans kept for the Transports page, OTLP export when
 * OTEL_EXPORTER_OTLP_ENDPOINT is set, prom-client metrics), with Next.js's own request spans as
 * the roots of each action's trace. /healthz and /metrics are served on a small admin port
 * (ADMIN_HOST:ADMIN_PORT, config.ts), away from the public one; if it is taken, the app runs
 * without it and says so.
 */
import http from 'node:http';
import { answerTelemetry, startTelemetry, type Telemetry } from '@chirp/telemetry';
import { processEnv, webConfig } from './config.js';

const warn = (obj: object, msg?: string) => console.error(JSON.stringify({ level: 'warn', name: 'web', msg, ...obj }));

export function startWebTelemetry(): Telemetry {
  // Route handlers call the services after awaits of their own, without handing the request's
  // context on: they find it through AsyncLocalStorage.
  const telemetry = startTelemetry({ service: 'web', env: processEnv(), logger: { warn }, asyncContext: true });
  const { host, port } = webConfig().admin;
  const admin = http.createServer((req, res) => {
    if ((req.url ?? '/').split('?')[0] === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: 'ok', service: 'web' }));
      return;
    }
    answerTelemetry(telemetry, req, res).then(
      (answered) => {
        if (answered) return;
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'not found: try /healthz, /metrics or /traces' }));
      },
      () => {
        res.writeHead(500).end();
      },
    );
  });
  admin.on('error', (err) => warn({ err: err.message, host, port }, 'web: admin port not served'));
  admin.listen(port, host);
  admin.unref();
  return telemetry;
}
