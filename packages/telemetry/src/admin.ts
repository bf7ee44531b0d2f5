/**
 * What a process's admin port says about its telemetry, the same for every service and the
 * web app:
 *
 *   GET /metrics                Prometheus text (metrics.ts)
 *   GET /traces?ids=<id>,<id>   `{ "spans": [SpanRecord…] }`: the spans this process kept of
 *                               those traces (at most 50 ids, 32 hex digits each)
 *
 * Returns false for any other path, for the caller to answer.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Telemetry } from './setup.js';

const MAX_IDS = 50;
const TRACE_ID = /^[0-9a-f]{32}$/;

export async function answerTelemetry(
  telemetry: Telemetry,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<boolean> {
  const url = new URL(req.url ?? '/', 'http://admin');
  if (url.pathname === '/metrics') {
    const text = await telemetry.metrics.render();
    res.writeHead(200, { 'content-type': telemetry.metrics.contentType });
    res.end(text);
    return true;
  }
  if (url.pathname === '/traces') {
    const ids = (url.searchParams.get('ids') ?? '').split(',').filter((id) => TRACE_ID.test(id));
    if (ids.length === 0 || ids.length > MAX_IDS) {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: `ids: 1 to ${MAX_IDS} trace ids (32 hex digits), comma-separated` }));
      return true;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ spans: telemetry.spans.spansOf(ids) }));
    return true;
  }
  return false;
}
