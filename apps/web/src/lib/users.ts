/**
 * Finding one account by its name. auth has no "get by username" method; its prefix search,
 * asked for the whole name, returns that account first among at most a few others.
 */
import type { User } from '@chirp/contracts';
import { USERNAME } from './input.js';
import type { Services } from './services.js';

/** The account called `username` (any case), or undefined when there is none or it cannot be a name. */
export async function userNamed(call: Services, username: string): Promise<User | undefined> {
  if (!USERNAME.test(username)) return undefined;
  const name = username.toLowerCase();
  const { users } = await call.auth.findUsers({ prefix: name, limit: 5 });
  return users.find((user) => user.username === name);
}
