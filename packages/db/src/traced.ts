/**
 * A span for every SQL statement a service sends, through its Prisma client (made at the driver
 * adapter) or straight on the driver (sql.ts):
 * what it times is the database's own work and the round trip to it, not Prisma's (which stays
 * in the handler's time). Named `SELECT posts`, `INSERT follows`, …, with OpenTelemetry's
 * database attributes; the statement's text is Prisma's, with `$1` placeholders, never values.
 *
 * A statement only gets a span inside a traced call (a recording span is active): start-up
 * queries and unsampled traces cost nothing.
 */
import { SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import type { SqlDriverAdapterFactory, SqlQuery, SqlQueryable } from '@prisma/driver-adapter-utils';

const tracer = trace.getTracer('@chirp/db');

/** `factory`, whose connections' (and transactions') statements are traced. */
export function traced<F extends SqlDriverAdapterFactory>(factory: F, namespace: string): F {
  return new Proxy(factory, {
    get(target, property) {
      if (property === 'connect') return async () => tracedQueryable(await target.connect(), namespace);
      return forward(target, property);
    },
  });
}

function tracedQueryable<Q extends SqlQueryable>(queryable: Q, namespace: string): Q {
  return new Proxy(queryable, {
    get(target, property) {
      if (property === 'queryRaw' || property === 'executeRaw') {
        const run = target[property] as (query: SqlQuery) => Promise<unknown>;
        return (query: SqlQuery) => traceStatement(query.sql, namespace, () => run.call(target, query));
      }
      if (property === 'startTransaction') {
        const start = (target as unknown as { startTransaction(level?: unknown): Promise<SqlQueryable> })
          .startTransaction;
        return async (level?: unknown) => tracedQueryable(await start.call(target, level), namespace);
      }
      return forward(target, property);
    },
  });
}

function forward(target: object, property: string | symbol): unknown {
  const value: unknown = Reflect.get(target, property, target);
  return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
}

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

/** Run one SQL statement inside its span (when a recording span is active; else just run it). */
export async function traceStatement<T>(sql: string, namespace: string, run: () => Promise<T>): Promise<T> {
  const parent = context.active();
  if (trace.getSpan(parent)?.isRecording() !== true) return run();
  const { operation, table } = summaryOf(sql);
  const span = tracer.startSpan(
    table === undefined ? operation : `${operation} ${table}`,
    {
      kind: SpanKind.CLIENT,
      attributes: {
        'db.system.name': 'postgresql',
        'db.namespace': namespace,
        'db.operation.name': operation,
        'db.query.text': sql,
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
