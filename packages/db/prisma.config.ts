/**
 * Prisma CLI settings shared by every service: each service's scripts run
 * `prisma <command> --config ../../packages/db/prisma.config.ts --schema prisma/schema.prisma`. `engine: 'js'` with a driver adapter keeps the CLI on its WASM
 * engines: the native ones are downloaded from binaries.prisma.sh, which is not reachable
 * everywhere this project runs (see ../../README.md, "Databases"). The adapter is an
 * in-memory PGlite, used only by CLI commands that need a database (`migrate diff`).
 */
import { PGlite } from '@electric-sql/pglite';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'prisma/config';

// The CLI checks for the native query engine library even though `engineType = "client"`
// never loads it, and tries to download it when missing. Any existing file satisfies the
// check; this one is never executed.
process.env.PRISMA_QUERY_ENGINE_LIBRARY ??= fileURLToPath(import.meta.url);

export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  adapter: async () => new PrismaPGlite(new PGlite()),
});
