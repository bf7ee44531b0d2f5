/**
 * Starting the auth service inside a service process (see @chirp/service-runtime): open its
 * database (applying migrations), serve the contract, and sweep expired sessions now and
 * then so the table does not grow forever (verify ignores them either way).
 */
import { fileURLToPath } from 'node:url';
import { auth, handlersFor } from '@chirp/contracts';
import { openDatabase } from '@chirp/db';
import type { Runtime, Started } from '@chirp/service-runtime';
import type { AuthConfig } from './config.js';
import { PrismaClient } from './generated/prisma/client.js';
import { createAuthService } from './service.js';
import { LoginThrottle, SignUpThrottle } from './throttle.js';

const MIGRATIONS_DIR = fileURLToPath(new URL('../prisma/migrations', import.meta.url));
const SWEEP_EVERY_MS = 10 * 60_000;

export interface AuthStarted extends Started {
  /** The service's database client, for tests that look at what is stored. */
  prisma: PrismaClient;
}

export function startAuth(config: AuthConfig): (runtime: Runtime) => Promise<AuthStarted> {
  return async (runtime) => {
    const db = await openDatabase(config.database, MIGRATIONS_DIR);
    runtime.logger.info({ database: db.where, migrationsApplied: db.applied }, 'auth database open');
    const prisma = new PrismaClient({ adapter: db.adapter });
    const throttle = new LoginThrottle({
      perUsernameAndAddress: config.maxFailedLogins,
      perAddress: config.maxFailedLoginsPerAddress,
      perUsername: config.maxFailedLoginsPerUsername,
      windowMs: config.throttleWindowMs,
    });
    const signUps = new SignUpThrottle(config.maxSignUpsPerAddress, config.signUpWindowMs);
    try {
      const implementation = createAuthService({
        prisma,
        sql: db.sql,
        bcryptCost: config.bcryptCost,
        sessionTtlMs: config.sessionTtlMs,
        throttle,
        signUps,
        transport: runtime.transport,
        logger: runtime.logger,
      });
      await runtime.serve(handlersFor(auth, implementation));
    } catch (err) {
      await prisma.$disconnect();
      await db.close();
      throw err;
    }

    const sweep = setInterval(() => {
      prisma.session.deleteMany({ where: { expiresAt: { lte: new Date() } } }).then(
        ({ count }) => count > 0 && runtime.logger.info({ count }, 'expired sessions removed'),
        (err: unknown) => runtime.logger.warn({ err }, 'could not remove expired sessions'),
      );
    }, SWEEP_EVERY_MS);
    sweep.unref();

    return {
      prisma,
      close: async () => {
        clearInterval(sweep);
        await prisma.$disconnect();
        await db.close();
      },
    };
  };
}
