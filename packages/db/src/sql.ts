/**
 * SQL straight on the driver, for the queries on every request's path (a session check, a
 * timeline, a follow list, a post's insert): each statement is a named prepared statement, parsed
 * once per PostgreSQL pooled connection, once per PGlite database. Prisma stays for
 * the schema, the migrations and everything off the hot path. Why: measured under the social mix,
 * one such SELECT through Prisma 6's client engine (its query interpreter and WebAssembly plan)
 * cost ~250–300 µs of a service's CPU, most of what the service spent on the request.
 *
 * Every statement is a span in a traced call (traced.ts), and values are always parameters, never
 * text: declare each statement once, as a constant, with its `$1…` placeholders.
 */
import { parse, protocol, type PGlite } from '@electric-sql/pglite';
import type { Context } from '@opentelemetry/api';
import type pg from 'pg';
import { traceOperation, traceStatement } from './traced.js';

/** One statement: its name (the prepared statement's, unique per service) and its text. */
export interface Statement {
  name: string;
  text: string;
}

export interface Sql {
  /**
   * The rows `statement` returns for `values` (timestamptz as Date, text[] as string[]); a span
   * under `parent` when that is a traced call's context (a handler's `context.trace`).
   */
  query<Row>(statement: Statement, values: unknown[], parent?: Context): Promise<Row[]>;
  /** One Prisma operation on the same database, in a span under `parent` named like a statement's: `INSERT follows`. */
  traced<T>(parent: Context, name: string, operation: () => Promise<T>): Promise<T>;
}

export function pgSql(pool: pg.Pool, namespace: string): Sql {
  return {
    traced: (parent, name, operation) => traceOperation(parent, name, namespace, operation),
    query: <Row>(statement: Statement, values: unknown[], parent?: Context) =>
      traceStatement(parent, statement.text, namespace, async () => {
        const result = await pool.query({ name: statement.name, text: statement.text, values });
        return result.rows as Row[];
      }),
  };
}

/**
 * PGlite's query() runs six protocol steps, each a call into its WebAssembly PostgreSQL with the
 * replies parsed in between (parse, describe, bind, describe, execute, sync), and parses the
 * statement anew every time. Here a statement is parsed and described once, and each query is one
 * call: bind + execute + sync, its rows read with the row description kept from the first time.
 * Measured on a follow list: ~0.2 ms of CPU per query against 0.4–1.0 ms through query().
 */
export function pgliteSql(db: PGlite, namespace: string): Sql {
  const prepared = new Map<string, Prepared>();
  return {
    traced: (parent, name, operation) => traceOperation(parent, name, namespace, operation),
    query: <Row>(statement: Statement, values: unknown[], parent?: Context) =>
      traceStatement(parent, statement.text, namespace, () =>
        // Like query(): after any open transaction (it holds the first lock), alone in the database.
        db._runExclusiveTransaction(() =>
          db.runExclusive(async () => {
            let ready = prepared.get(statement.name);
            if (ready === undefined) prepared.set(statement.name, (ready = await prepare(db, statement)));
            const parameters = values.map((value, i) => {
              if (value === null || value === undefined) return null;
              const serialize = db.serializers[ready.parameterTypes[i] ?? 0];
              return serialize ? serialize(value) : String(value);
            });
            const { messages } = await db.execProtocol(bindExecuteSync(statement.name, parameters));
            const [result] = parse.parseResults([...ready.rowDescription, ...messages], db.parsers);
            return (result?.rows ?? []) as Row[];
          }),
        ),
      ),
  };
}

interface Prepared {
  parameterTypes: number[];
  /** The RowDescription message, or none for a statement that returns no rows. */
  rowDescription: BackendMessage[];
}

type BackendMessage = Awaited<ReturnType<PGlite['execProtocol']>>['messages'][number];

const EXECUTE_SYNC = Buffer.concat([protocol.serialize.execute({}), protocol.serialize.sync()]);

/**
 * Bind (the unnamed portal, all parameters and results as text) + Execute + Sync, in one buffer:
 * PGlite's serializer builds each message in a fresh ArrayBuffer and copies it out twice.
 */
function bindExecuteSync(statement: string, parameters: (string | null)[]): Uint8Array {
  const texts = parameters.map((value) => (value === null ? null : Buffer.from(value)));
  const name = Buffer.from(statement);
  const length = 4 + 1 + name.length + 1 + 2 + 2 + texts.reduce((n, text) => n + 4 + (text?.length ?? 0), 0) + 2;
  const message = Buffer.allocUnsafe(1 + length + EXECUTE_SYNC.length);
  let at = message.writeUInt8(0x42, 0); // 'B'
  at = message.writeInt32BE(length, at);
  at = message.writeUInt8(0, at); // the unnamed portal
  at += name.copy(message, at);
  at = message.writeUInt8(0, at);
  at = message.writeInt16BE(0, at); // no parameter format codes: all text
  at = message.writeInt16BE(texts.length, at);
  for (const text of texts) {
    at = message.writeInt32BE(text === null ? -1 : text.length, at);
    if (text !== null) at += text.copy(message, at);
  }
  at = message.writeInt16BE(0, at); // no result format codes: all text
  message.set(EXECUTE_SYNC, at);
  return message;
}

async function prepare(db: PGlite, statement: Statement): Promise<Prepared> {
  const { serialize } = protocol;
  const { messages } = await db.execProtocol(
    Buffer.concat([
      serialize.parse({ name: statement.name, text: statement.text }),
      serialize.describe({ type: 'S', name: statement.name }),
      serialize.sync(),
    ]),
  );
  return {
    parameterTypes: parse.parseDescribeStatementResults(messages),
    rowDescription: messages.filter((message) => message.name === 'rowDescription'),
  };
}
