/**
 * Page cursors: opaque to callers (base64url of a small JSON), meaningful to us. A cursor
 * names the last post of the previous page, so the next page starts strictly after it
 * (keyset pagination): posts created meanwhile never shift a page, unlike an offset.
 *
 *   timeline  { t: createdAt in epoch ms, i: id }
 *   search    { r: rank, t, i }           (a post's rank for a query never changes)
 *
 * Anything we did not write, including a timeline cursor given to search, is INVALID_ARGUMENT.
 */
import { TransportError } from '@chirp/transport';

export interface TimelineCursor {
  createdAt: Date;
  id: string;
}

export interface SearchCursor extends TimelineCursor {
  rank: number;
}

export function encodeTimelineCursor(after: TimelineCursor): string {
  return encode({ t: after.createdAt.getTime(), i: after.id });
}

export function encodeSearchCursor(after: SearchCursor): string {
  return encode({ r: after.rank, t: after.createdAt.getTime(), i: after.id });
}

export function decodeTimelineCursor(cursor: string): TimelineCursor {
  const { t, i, ...rest } = decode(cursor);
  if (Object.keys(rest).length > 0) throw badCursor();
  return { createdAt: dateOf(t), id: idOf(i) };
}

export function decodeSearchCursor(cursor: string): SearchCursor {
  const { r, t, i, ...rest } = decode(cursor);
  if (Object.keys(rest).length > 0 || typeof r !== 'number' || !Number.isFinite(r)) throw badCursor();
  return { rank: r, createdAt: dateOf(t), id: idOf(i) };
}

function encode(fields: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(fields)).toString('base64url');
}

function decode(cursor: string): Record<string, unknown> {
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw badCursor();
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw badCursor();
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badCursor();
  return value as Record<string, unknown>;
}

function dateOf(ms: unknown): Date {
  if (typeof ms !== 'number' || !Number.isSafeInteger(ms) || ms < 0) throw badCursor();
  const date = new Date(ms);
  if (Number.isNaN(date.getTime())) throw badCursor();
  return date;
}

function idOf(id: unknown): string {
  if (typeof id !== 'string' || id.length === 0 || id.length > 64) throw badCursor();
  return id;
}

function badCursor(): TransportError {
  return new TransportError('INVALID_ARGUMENT', 'bad cursor: pass the nextCursor of a previous page unchanged');
}
