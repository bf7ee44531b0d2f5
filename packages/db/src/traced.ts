/**
 * A span for every SQL statement a service sends on a request's behalf, straight on the driver
 * (sql.ts), and one around every Prisma operation it makes (`Sql.traced`): what it times is the
 * database's work and the round trip to it (for Prisma, its own work on the operation too).
 * Named `SELECT posts`, `INSERT follows`, …, with OpenTelemetry's database attributes; a
 * statement's text has `$1` placeholders, never values.
 *
 * The request's context is handed in (`parent`: the handler's `context.trace`), as the services
 * hand their trace on everywhere (@chirp/transport's scoped-context.ts). A query gets a span only
 * inside a traced call: start-up queries and unsampled traces cost nothing.
 */
import { SpanKind, SpanStatusCode, trace, type Attributes, type Context } from '@opentelemetry/api';

const tracer = trace.getTracer('@chirp/db');

/**
 * The first table a statement names, looking at its outermost level first (not EXTRACT(EPOCH FROM
 * …), a subquery or a column list), then one level of parentheses deeper at a time — so a query
 * over a function's rows (`FROM unnest(…) CROSS JOIN LATERAL (SELECT … FROM posts …)`) is named
 * by the table it reads. A function's name is never taken for a table.
 */
function tableOf(sql: string): string | undefined {
  const withoutFunctions = sql.replace(/\b\w+(?=\()/g, ' ');
  for (let depth = 0; depth < 4; depth++) {
    const table = /\b(?:from|into|update)\s+(?:"?\w+"?\.)?"?(\w+)"?/i.exec(upTo(depth, withoutFunctions))?.[1];
    if (table !== undefined) return table;
  }
  return undefined;
}

/** `sql` with whatever lies more than `depth` parentheses deep blanked out. */
function upTo(depth: number, sql: string): string {
  let level = 0;
  let kept = '';
  for (const char of sql) {
    if (char === ')') level--;
    kept += level > depth ? ' ' : char;
    if (char === '(') level++;
  }
  return kept;
}

/**
 * What a span names a statement by: its operation and first table (`INSERT posts`). A WITH
 * statement is named by its first common table expression, where its work is: `WITH inserted AS
 * (INSERT INTO posts …), event AS (INSERT INTO outbox …) SELECT …` is `INSERT posts`.
 */
export function summaryOf(sql: string): { operation: string; table: string | undefined } {
  const cte = /^\s*WITH\s+"?\w+"?\s+AS\s*\(/i.exec(sql);
  const body = cte === null ? sql : sql.slice(cte[0].length);
  const operation = /^\s*(\w+)/.exec(body)?.[1]?.toUpperCase() ?? 'SQL';
  return { operation, table: tableOf(body) };
}

/** Run one SQL statement inside its span under `parent` (when that is a traced call's; else just run it). */
export function traceStatement<T>(
  parent: Context | undefined,
  sql: string,
  namespace: string,
  run: () => Promise<T>,
): Promise<T> {
  if (parent === undefined || trace.getSpan(parent)?.isRecording() !== true) return run();
  const { operation, table } = summaryOf(sql);
  return inSpan(parent, namespace, operation, table, { 'db.query.text': sql }, run);
}

/**
 * Run one Prisma operation inside a span under `parent` named as its statement's would be:
 * `name` is `INSERT follows` (operation, then table).
 */
export function traceOperation<T>(parent: Context, name: string, namespace: string, run: () => Promise<T>): Promise<T> {
  if (trace.getSpan(parent)?.isRecording() !== true) return run();
  const [operation = name, table] = name.split(' ');
  return inSpan(parent, namespace, operation, table, {}, run);
}

async function inSpan<T>(
  parent: Context,
  namespace: string,
  operation: string,
  table: string | undefined,
  more: Attributes,
  run: () => Promise<T>,
): Promise<T> {
  const span = tracer.startSpan(
    table === undefined ? operation : `${operation} ${table}`,
    {
      kind: SpanKind.CLIENT,
      attributes: {
        'db.system.name': 'postgresql',
        'db.namespace': namespace,
        'db.operation.name': operation,
        ...more,
        ...(table !== undefined && { 'db.collection.name': table }),
      },
    },
    parent,
  );
  try {
    return await run();
  } catch (err) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
    throw err;
  } finally {
    span.end();
  }
}
