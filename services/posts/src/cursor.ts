/**
 * Where a page starts: the keyset cursor (@chirp/db's keyset.ts) a previous page handed out.
 * Timelines are ordered by (createdAt, id), search by (rank, createdAt, id); anything we did
 * not write, including a timeline cursor given to search, is INVALID_ARGUMENT.
 */
import { DomainError } from '@chirp/contracts';
import { decodeKeyset, decodeRankedKeyset, type Keyset, type RankedKeyset } from '@chirp/db';

export function timelineAfter(cursor: string): Keyset {
  return decodeKeyset(cursor) ?? badCursor();
}

export function searchAfter(cursor: string): RankedKeyset {
  return decodeRankedKeyset(cursor) ?? badCursor();
}

function badCursor(): never {
  throw new DomainError('INVALID_ARGUMENT', 'bad cursor: pass the nextCursor of a previous page unchanged');
}
