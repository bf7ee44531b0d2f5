/**
 * Page cursors for keyset pagination: a cursor names the last row of the previous page, so
 * the next page starts strictly after it, and rows added or removed meanwhile never shift a
 * page the way an offset would. Opaque to callers (base64url of a small JSON object):
 *
 *   { t: createdAt in epoch ms, i: id }             newest-first lists (timelines, followers)
 *   { r: rank, t, i }                               lists ordered by a rank first (search)
 *
 * decodeKeyset returns undefined for anything we did not write — including a ranked cursor
 * where a plain one is expected, and the reverse — so the service answers INVALID_ARGUMENT,
 * never a database error.
 */

export interface Keyset {
  createdAt: Date;
  id: string;
}

export interface RankedKeyset extends Keyset {
  rank: number;
}

/** Ids we write are UUIDs and base-36 post ids: printable ASCII, never a NUL PostgreSQL refuses. */
const ID = /^[\x21-\x7e]{1,64}$/;
/** The last instant of year 9999: later dates have no ISO-8601 form the database driver accepts. */
const MAX_TIME = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

export function encodeKeyset(after: Keyset | RankedKeyset): string {
  const fields = 'rank' in after ? { r: after.rank } : {};
  return Buffer.from(JSON.stringify({ ...fields, t: after.createdAt.getTime(), i: after.id })).toString('base64url');
}

export function decodeKeyset(cursor: string): Keyset | undefined {
  const fields = fieldsOf(cursor);
  if (fields === undefined || Object.keys(fields).length !== 2) return undefined;
  return keysetOf(fields);
}

export function decodeRankedKeyset(cursor: string): RankedKeyset | undefined {
  const fields = fieldsOf(cursor);
  if (fields === undefined || Object.keys(fields).length !== 3) return undefined;
  const { r } = fields;
  const keyset = keysetOf(fields);
  if (keyset === undefined || typeof r !== 'number' || !Number.isFinite(r)) return undefined;
  return { ...keyset, rank: r };
}

function fieldsOf(cursor: string): Record<string, unknown> | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  return value as Record<string, unknown>;
}

function keysetOf({ t, i }: Record<string, unknown>): Keyset | undefined {
  if (typeof t !== 'number' || !Number.isSafeInteger(t) || t < 0 || t > MAX_TIME) return undefined;
  if (typeof i !== 'string' || !ID.test(i)) return undefined;
  return { createdAt: new Date(t), id: i };
}
