/**
 * Page cursors for the followers and following lists. A page is ordered newest first by
 * (createdAt, other user's id), so a cursor is the last row's pair: the next page starts
 * strictly after it, and rows followed or unfollowed meanwhile never cause duplicates.
 * On the wire it is opaque (base64url of a JSON pair); anything that does not decode to
 * one is INVALID_ARGUMENT, never a database error.
 */
import { TransportError } from '@chirp/transport';

export interface Position {
  createdAt: Date;
  id: string;
}

export function encodeCursor(position: Position): string {
  return Buffer.from(JSON.stringify([position.createdAt.toISOString(), position.id])).toString('base64url');
}

export function decodeCursor(cursor: string): Position {
  const position = tryDecode(cursor);
  if (position === undefined) {
    throw new TransportError('INVALID_ARGUMENT', 'bad cursor: pass back the nextCursor of the previous page unchanged');
  }
  return position;
}

function tryDecode(cursor: string): Position | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) return undefined;
  let pair: unknown;
  try {
    pair = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(pair) || pair.length !== 2) return undefined;
  const [iso, id] = pair as unknown[];
  if (typeof iso !== 'string' || typeof id !== 'string' || id.length === 0 || id.length > 64) return undefined;
  const createdAt = new Date(iso);
  if (Number.isNaN(createdAt.getTime()) || createdAt.toISOString() !== iso) return undefined;
  return { createdAt, id };
}
