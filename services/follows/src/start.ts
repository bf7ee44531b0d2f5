/**
 * Start the follows service inside a runtime (runService): open its database (applying
 * pending migrations), serve the contract, and hand back how to close it again. Calls to
 * auth go through the runtime's transport, so they use whatever transport auth is on.
 */
import { fileURLToPath } from 'node:url';
import { auth, follows, client, handlersFor } from '@chirp/contracts';
import { openDatabase } from '@chirp/db';
import type { Runtime, Started } from '@chirp/service-runtime';
import type { FollowsConfig } from './config.js';
import { PrismaClient } from './generated/prisma/client.js';
import { createFollowsService } from './service.js';
import { createUserDirectory } from './users.js';

const MIGRATIONS = fileURLToPath(new URL('../prisma/migrations', import.meta.url));

export function startFollows(config: FollowsConfig): (runtime: Runtime) => Promise<Started> {
  return async (runtime) => {
    const db = await openDatabase(config.database, MIGRATIONS);
    runtime.logger.info({ database: db.where, migrationsApplied: db.applied }, 'follows database open');
    const prisma = new PrismaClient({ adapter: db.adapter });
    const close = async (): Promise<void> => {
      await prisma.$disconnect();
      await db.close();
    };
    try {
      const users = createUserDirectory(client(runtime.transport, auth), config.userCacheSize);
      await runtime.serve(handlersFor(follows, createFollowsService({ prisma, sql: db.sql, users })));
    } catch (err) {
      await close();
      throw err;
    }
    return { close };
  };
}
