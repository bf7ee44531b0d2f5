/**
 * One action's trace as a tree: every span from every process it crossed, indented under its
 * parent, with its transport, its time, and a bar placed on the action's timeline. Above it, where
 * the request's own time went (the web app, the hops, the services' handlers, the database), so a
 * slow database is never mistaken for a slow transport. Next.js's inner spans are folded into
 * the request's: what they time is the web app's own work, counted as such.
 */
import type { SpanRecord, Split } from '@chirp/telemetry';
import type { ActionTree, TreeRow } from '../lib/trace-tree';

const ms = (value: number) => `${value < 10 ? value.toFixed(2) : value.toFixed(1)} ms`;

/** Where one request's own time went: the web app, the hops, the services' handlers, the database. */
export function SplitLine({ split }: { split: Split }) {
  return (
    <span data-split>
      Request {ms(split.totalMs)}: web <strong>{ms(split.edgeMs)}</strong> · transport{' '}
      <strong>{ms(split.transportMs)}</strong> ({split.hops} {split.hops === 1 ? 'hop' : 'hops'}) · handlers{' '}
      <strong>{ms(split.handlerMs)}</strong> · database <strong>{ms(split.databaseMs)}</strong>
    </span>
  );
}

export function TraceTree({ tree, label, split = true }: { tree: ActionTree; label: string; split?: boolean }) {
  const total = Math.max(tree.spanMs, 0.001);
  return (
    <>
      {split && tree.split && (
        <p className="split">
          <SplitLine split={tree.split} />
        </p>
      )}
      <div className="table-wrap">
        <table className="hops" aria-label={`Spans of ${label}`}>
          <thead>
            <tr>
              <th scope="col">Span</th>
              <th scope="col">Process</th>
              <th scope="col">Via</th>
              <th scope="col" className="num">
                Time
              </th>
              <th scope="col" className="num">
                Of which
              </th>
              <th scope="col" className="bar-col">
                <span className="visually-hidden">Timeline</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {tree.rows.map((row) => (
              <tr key={row.span.spanId} data-span={row.span.name} className={row.span.error ? 'failed' : undefined}>
                <td title={describe(row.span)}>
                  <code style={{ paddingLeft: `${row.depth * 0.5}rem` }}>{describe(row.span)}</code>
                </td>
                <td>{row.span.process}</td>
                <td>
                  <Via span={row.span} />
                </td>
                <td className="num">{ms(row.span.durationMs)}</td>
                <td className="num muted">{ofWhich(row)}</td>
                <td className="bar-col" aria-hidden="true">
                  <span
                    className={`bar kind-${via(row.span)}`}
                    style={{
                      marginLeft: `${(100 * row.offsetMs) / total}%`,
                      width: `${Math.max(0.5, (100 * row.span.durationMs) / total)}%`,
                    }}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

/** What a span is, in a few words: `→ posts.create`, `posts.create handler`, `INSERT posts`, … */
function describe(span: SpanRecord): string {
  const rpc = span.attributes['rpc.service'];
  if (rpc !== undefined) {
    const call = `${String(rpc)}.${String(span.attributes['rpc.method'])}`;
    return span.kind === 'client' ? `→ ${call}` : `${call} handler`;
  }
  return span.name;
}

/** How the span's work travelled: a transport, SQL, a WebSocket, or nothing (in-process). */
function via(span: SpanRecord): string {
  const transport = span.attributes['chirp.transport'];
  if (transport !== undefined) return String(transport);
  if (span.attributes['db.system.name'] !== undefined) return 'sql';
  if (span.attributes['messaging.system'] === 'websocket') return 'ws';
  return 'local';
}

function Via({ span }: { span: SpanRecord }) {
  const kind = via(span);
  return kind === 'local' ? null : <span className={`kind kind-${kind}`}>{kind.toUpperCase()}</span>;
}

function ofWhich(row: TreeRow): string {
  if (row.hopMs !== undefined) return `hop ${ms(row.hopMs)}`;
  if (row.dbMs !== undefined && row.dbMs > 0) return `db ${ms(row.dbMs)}`;
  return '';
}
