/**
 * "Do these users exist?", answered by the auth service (follows keeps no user table of
 * its own). Users are never deleted, so a yes is remembered in-process (a bounded map,
 * least recently used out first) and a follow between known users needs no call at all.
 * A no is never remembered: the user may sign up a moment later.
 *
 * When auth cannot answer, the follow fails with auth's retryable code (UNAVAILABLE,
 * DEADLINE_EXCEEDED) and a sentence saying why, rather than storing an unchecked edge.
 */
import { DomainError, auth as authContract, type Client } from '@chirp/contracts';
import { onward, TransportError, type CallContext } from '@chirp/transport';

export interface UserDirectory {
  /** Resolves if every id is a user; NOT_FOUND "no user X" otherwise. */
  requireExisting(ids: string[], context: CallContext): Promise<void>;
}

export function createUserDirectory(auth: Client<typeof authContract>, cacheSize: number): UserDirectory {
  const known = new Map<string, true>();

  const remember = (id: string): void => {
    if (cacheSize === 0) return;
    known.delete(id);
    known.set(id, true);
    if (known.size > cacheSize) known.delete(known.keys().next().value as string);
  };

  return {
    async requireExisting(ids, context) {
      const unchecked = [...new Set(ids)].filter((id) => !known.has(id));
      for (const id of ids) if (known.has(id)) remember(id); // keep recently used ids in
      if (unchecked.length === 0) return;

      let found: Set<string>;
      try {
        const reply = await auth.getUsers({ ids: unchecked }, onward(context));
        found = new Set(reply.users.map((user) => user.id));
      } catch (err) {
        throw authFailure(err);
      }
      const missing = unchecked.filter((id) => !found.has(id));
      for (const id of unchecked) if (found.has(id)) remember(id);
      if (missing.length === 1) throw new DomainError('NOT_FOUND', `no user ${missing[0]}`);
      if (missing.length > 1) throw new DomainError('NOT_FOUND', `no users ${missing.join(', ')}`);
    },
  };
}

function authFailure(err: unknown): unknown {
  if (!(err instanceof TransportError)) return err;
  const retryable = err.code === 'UNAVAILABLE' || err.code === 'DEADLINE_EXCEEDED' || err.code === 'RESOURCE_EXHAUSTED';
  return new TransportError(
    retryable ? err.code : 'INTERNAL',
    `cannot check that the users exist: auth failed with ${err.code} (${err.message})`,
    { cause: err },
  );
}
