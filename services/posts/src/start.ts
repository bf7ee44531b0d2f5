/**
 * Start the posts service inside a runtime (runService): open its database (applying
 * migrations), build the Prisma client, serve the contract's handlers. close() releases
 * the database last, after the runtime has stopped taking work.
 */
import { fileURLToPath } from 'node:url';
import { handlersFor, posts } from '@chirp/contracts';
import { openDatabase } from '@chirp/db';
import type { Runtime, Started } from '@chirp/service-runtime';
import type { PostsConfig } from './config.js';
import { PrismaClient } from './generated/prisma/client.js';
import { createPostsService } from './service.js';

const MIGRATIONS = fileURLToPath(new URL('../prisma/migrations', import.meta.url));

export function startPosts(config: PostsConfig): (runtime: Runtime) => Promise<Started> {
  return async (runtime) => {
    const db = await openDatabase(config.database, MIGRATIONS);
    if (db.applied.length > 0) runtime.logger.info({ applied: db.applied, database: db.where }, 'migrations applied');
    const prisma = new PrismaClient({ adapter: db.adapter });
    const close = async (): Promise<void> => {
      await prisma.$disconnect();
      await db.close();
    };
    try {
      const service = createPostsService({
        prisma,
        transport: runtime.transport,
        logger: runtime.logger,
        homeMaxFollowees: config.homeMaxFollowees,
      });
      await runtime.serve(handlersFor(posts, service));
    } catch (err) {
      await close();
      throw err;
    }
    return { close };
  };
}
