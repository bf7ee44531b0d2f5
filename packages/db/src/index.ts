export {
  databaseConfigFromEnv,
  describeDatabase,
  openDatabase,
  type Database,
  type DatabaseConfig,
  type DatabaseKind,
} from './open.js';
export { migrate, readMigrations, type Migration, type SqlSession } from './migrate.js';
export { isUniqueViolation } from './errors.js';
export { decodeKeyset, decodeRankedKeyset, encodeKeyset, type Keyset, type RankedKeyset } from './keyset.js';
export type { Sql, Statement } from './sql.js';
