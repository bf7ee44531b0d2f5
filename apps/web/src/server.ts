/**
 * The web app's process: one HTTP server whose /api/… requests go to the JSON API
 * (api/router.ts) and everything else to Next.js (pages, server actions, its assets).
 *
 * Why the JSON API does not go through Next.js: measured on the benchmark machine, a route
 * handler that calls no service (/api/me without a token) cost 1.7–2.1 ms of CPU per request
 * under `next start`, 1.3 ms with the CSP proxy skipped (routing, Web Request and Response
 * objects, its AsyncLocalStorage scopes), against a tenth of a millisecond here; in the social
 * mix that was most of a request's CPU across the whole stack, and the transports could not show
 * through it. The API shares everything else with the pages (lib/: the traced service clients,
 * sessions, the input checks), and the pages keep every Next.js feature.
 *
 *   node dist/server.js [--port 3000] [--hostname 0.0.0.0] [--dev]   (PORT works too)
 *
 * Every request first passes the door: forwarding headers are dropped unless a trusted proxy
 * sent them, and the client's address is noted (lib/forwarding.ts); a change to a page (a server
 * action) must come from this site by its Origin, as the API's must (lib/cross-site.ts), since
 * Next.js's own check lets a request without an Origin through.
 *
 * Telemetry starts first, so Next.js's own request spans are recorded. SIGTERM or SIGINT: stop
 * taking requests, let those in flight finish (at most 10 s), close the transport, export what
 * telemetry still holds, exit 0.
 */
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import nextModule from 'next';
import { answerApi } from './api/router.js';
import { processEnv, serverOptionsFrom, webConfig } from './lib/config.js';
import { crossSiteRefusal } from './lib/cross-site.js';
import { admitRequest, trustedProxySet } from './lib/forwarding.js';
import { transport } from './lib/services.js';
import { startWebTelemetry } from './lib/telemetry.js';

/**
 * Node gives an ES module the CommonJS `module.exports` of `next` as its default import: the
 * factory itself, which Next's typings (read as CommonJS here) place under `.default`.
 */
const createNextApp = nextModule as unknown as typeof nextModule.default;

const STOP_GRACE_MS = 10_000;
const WEB_DIR = fileURLToPath(new URL('..', import.meta.url));

async function main(): Promise<void> {
  const options = serverOptionsFrom(process.argv.slice(2), processEnv());
  const telemetry = startWebTelemetry();
  const app = createNextApp({
    dev: options.dev,
    dir: WEB_DIR,
    hostname: options.hostname,
    port: options.port,
    webpack: true,
  });
  const handle = app.getRequestHandler();
  await app.prepare();
  const trustedProxies = trustedProxySet(webConfig().trustedProxies);
  const server = http.createServer((request, response) => {
    admitRequest(request, trustedProxies);
    const url = request.url ?? '/';
    if (url === '/api' || url.startsWith('/api/') || url.startsWith('/api?')) return void answerApi(request, response);
    const refusal = crossSiteRefusal(request, 'pages');
    if (refusal !== undefined) return answerPlain(response, 403, refusal);
    // Next.js answers a path it cannot percent-decode (/u/%ff) with a 500 of its own.
    if (!isDecodable(url.split('?', 1)[0]!))
      return answerPlain(response, 400, 'That address is not valid URL encoding.');
    void handle(request, response);
  });
  server.on('upgrade', (request, socket, head) => {
    admitRequest(request, trustedProxies);
    void app.getUpgradeHandler()(request, socket, head);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.hostname, resolve);
  });
  console.log(`web: ready on http://${options.hostname}:${options.port}${options.dev ? ' (development)' : ''}`);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    const closed = new Promise((resolve) => server.close(resolve));
    server.closeIdleConnections();
    const timer = setTimeout(() => server.closeAllConnections(), STOP_GRACE_MS);
    await closed;
    clearTimeout(timer);
    await app.close();
    await transport().close();
    await telemetry.flush();
    process.exit(0);
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void stop());
}

function answerPlain(response: http.ServerResponse, status: number, message: string): void {
  response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
  response.end(`${message}\n`);
}

function isDecodable(path: string): boolean {
  try {
    decodeURIComponent(path);
    return true;
  } catch {
    return false;
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`web: cannot start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
