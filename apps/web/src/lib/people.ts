/**
 * People shown in a list — search results, someone's followers, suggestions — with whether the
 * viewer follows each, so every one can carry a working follow button: one follows call for the
 * whole list (followingAmong), not one per person.
 */
import type { Services } from './services.js';

export interface Person {
  id: string;
  username: string;
  /** A few words under the name: "12 followers", "posted 3 min ago". */
  note?: string;
  /** Whether the viewer follows them (false when logged out). */
  followed: boolean;
}

/** `users` as Persons, with whom the viewer (if logged in) follows looked up in one call. */
export async function asPeople(
  call: Services,
  viewerId: string | undefined,
  users: Array<{ id: string; username: string; note?: string }>,
): Promise<Person[]> {
  const followed = new Set(
    viewerId !== undefined && users.length > 0
      ? (await call.follows.followingAmong({ followerId: viewerId, userIds: users.map((u) => u.id) })).userIds
      : [],
  );
  return users.map((user) => ({ ...user, followed: followed.has(user.id) }));
}

/** Usernames for user ids, in the ids' order (unknown ids are left out). */
export async function usersById(call: Services, ids: string[]): Promise<Array<{ id: string; username: string }>> {
  if (ids.length === 0) return [];
  const byId = new Map((await call.auth.getUsers({ ids })).users.map((user) => [user.id, user]));
  return ids.flatMap((id) => {
    const user = byId.get(id);
    return user ? [{ id, username: user.username }] : [];
  });
}
