/**
 * Post ids that sort like the posts they name: newest first is (createdAt desc, id desc),
 * so a timeline page boundary is one comparison and never skips or repeats a post.
 *
 *   id = <ms since epoch, 9 base36 chars> <sequence within that ms, 3 chars> <random, 10 chars>
 *
 * The clock is logical: it never goes back (a wall clock stepped back by NTP keeps the last
 * value) and a full sequence moves it on by a millisecond, so ids made by one process are
 * strictly increasing. The random part keeps replicas' ids apart without coordination.
 * createdAt is the same millisecond as the id, so the two orders always agree.
 */
import { randomBytes } from 'node:crypto';

const SEQUENCE_LIMIT = 36 ** 3;

let lastMs = 0;
let sequence = 0;

export interface NewId {
  id: string;
  createdAt: Date;
}

export function newPostId(now: number = Date.now()): NewId {
  if (now > lastMs) {
    lastMs = now;
    sequence = 0;
  } else if (++sequence === SEQUENCE_LIMIT) {
    lastMs += 1;
    sequence = 0;
  }
  const random = randomBytes(6).readUIntBE(0, 6).toString(36).padStart(10, '0');
  const id = lastMs.toString(36).padStart(9, '0') + sequence.toString(36).padStart(3, '0') + random;
  return { id, createdAt: new Date(lastMs) };
}
