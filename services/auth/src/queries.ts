/**
 * The statements on auth's hot paths — every request's session check, and the username look-ups
 * of user pages, follows and search — run as prepared statements on the driver (@chirp/db's
 * sql.ts: Prisma's per-query cost was most of what auth spent on them). Rows as toUser() takes them.
 */
import type { Statement } from '@chirp/db';

export interface UserRow {
  id: string;
  username: string;
  createdAt: Date;
}

/** The user of an unexpired session, by the token's hash. */
export const SESSION_USER: Statement = {
  name: 'auth.session_user',
  text: `SELECT u.id, u.username, u.created_at AS "createdAt"
         FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.token_hash = $1 AND s.expires_at > now()`,
};

/** Users whose name lies in [$1, $2), alphabetically, at most $3 (the range is a prefix: see findUsers). */
export const USERS_IN_RANGE: Statement = {
  name: 'auth.users_in_range',
  text: `SELECT id, username, created_at AS "createdAt" FROM users
         WHERE username >= $1 AND username < $2 ORDER BY username LIMIT $3`,
};

/** The same, strictly after username $1: a next page. */
export const USERS_IN_RANGE_AFTER: Statement = {
  name: 'auth.users_in_range_after',
  text: `SELECT id, username, created_at AS "createdAt" FROM users
         WHERE username > $1 AND username < $2 ORDER BY username LIMIT $3`,
};

/** Users by id ($1: an array of ids). */
export const USERS_BY_ID: Statement = {
  name: 'auth.users_by_id',
  text: `SELECT id, username, created_at AS "createdAt" FROM users WHERE id = ANY($1::text[])`,
};

/** User $1's display name and bio. */
export const PROFILE: Statement = {
  name: 'auth.profile',
  text: `SELECT display_name AS "displayName", bio FROM users WHERE id = $1`,
};

/** Set user $1's display name ($2) and bio ($3); the row back, or none for an unknown user. */
export const UPDATE_PROFILE: Statement = {
  name: 'auth.update_profile',
  text: `UPDATE users SET display_name = $2, bio = $3 WHERE id = $1 RETURNING display_name AS "displayName", bio`,
};
