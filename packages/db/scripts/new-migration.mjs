#!/usr/bin/env node
/**
 * Write a service's next migration from the change to its prisma/schema.prisma:
 *
 *   npm run db:migration -w @chirp/posts -- add_likes
 *
 * Each migration folder keeps a copy of the schema it leads to, and the SQL is
 * `prisma migrate diff` from that copy (or from nothing, for the first) to the current
 * schema. No database is involved — Prisma's shadow-database diff needs its native engine,
 * which is not downloadable everywhere this project runs. Review the SQL, add what Prisma
 * cannot express (e.g. full-text indexes), commit it: services apply it at start-up.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const name = process.argv[2];
if (!name || !/^[a-z0-9_]+$/.test(name)) {
  console.error('usage: npm run db:migration -w @chirp/<service> -- <name of [a-z0-9_]>');
  process.exit(2);
}
const schema = 'prisma/schema.prisma';
const migrations = 'prisma/migrations';
const config = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'prisma.config.ts');
const previous = existsSync(migrations)
  ? readdirSync(migrations, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort()
      .at(-1)
  : undefined;
const from = previous
  ? ['--from-schema-datamodel', path.join(migrations, previous, 'schema.prisma')]
  : ['--from-empty'];

const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
const dir = path.join(migrations, `${stamp}_${name}`);
mkdirSync(dir, { recursive: true });
const sqlFile = path.join(dir, 'migration.sql');
execFileSync(
  'npx',
  [
    'prisma',
    'migrate',
    'diff',
    '--config',
    config,
    ...from,
    '--to-schema-datamodel',
    schema,
    '--script',
    '-o',
    sqlFile,
  ],
  { stdio: ['ignore', 'ignore', 'inherit'] },
);
if (readFileSync(sqlFile, 'utf8').includes('This is an empty migration')) {
  rmSync(dir, { recursive: true });
  console.log(`${schema} has not changed since ${previous}: no migration written`);
  process.exit(0);
}
copyFileSync(schema, path.join(dir, 'schema.prisma'));
console.log(`wrote ${sqlFile}: review it, then commit it`);
