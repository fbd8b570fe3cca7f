/**
 * The credentials table (docs/fernet.md §4): one row per version, primary key (id, version), so the
 * database itself refuses a second writer of the same version.
 */
import type { Kysely } from 'kysely';
import { ConfigError } from '../../core/errors.js';
import type { EngineName } from './sql-dialects.js';
import { loadKysely } from './sql-packages.js';

export const DEFAULT_TABLE = 'xt_credentials';

/** One row. `version` is the integer version; `token` the Fernet token (docs/fernet.md §2). */
export interface CredentialRow {
  id: string;
  version: number;
  token: string;
  comment: string | null;
}

export type CredentialsDB = Record<string, CredentialRow>;

/**
 * A table name is spliced into SQL as an identifier, so it is checked, never escaped:
 * letters, digits and _, starting with a letter or _, at most 63 characters (PostgreSQL's limit).
 * @throws ConfigError
 */
export function validateTableName(name: unknown): string {
  if (typeof name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(name)) {
    throw new ConfigError('credential_store.config.table must be letters, digits and _ (starting with a letter or _), at most 63 characters', {
      path: 'credential_store.config.table',
    });
  }
  return name;
}

/**
 * CREATE TABLE IF NOT EXISTS. Column types per engine:
 * - MySQL/MariaDB: `id` VARBINARY, so ids compare byte for byte (the default collation would make `App`
 *   and `app` one credential) and the 2048-byte id fits InnoDB's 3072-byte key limit; utf8mb4 for comments.
 * - `token` is ASCII (URL-safe base64); MEDIUMTEXT on MySQL because TEXT stops at 64 KiB.
 * Returns whether the table was created by this call (false when it existed).
 */
export async function createCredentialsTable(db: Kysely<CredentialsDB>, table: string, engine: EngineName): Promise<void> {
  const { sql } = await loadKysely();
  const idType = engine === 'mysql' ? sql`varbinary(2048)` : sql`text`;
  const tokenType = engine === 'mysql' ? sql`mediumtext` : sql`text`;
  let q = db.schema
    .createTable(table)
    .ifNotExists()
    .addColumn('id', idType, (c) => c.notNull())
    .addColumn('version', 'bigint', (c) => c.notNull())
    .addColumn('token', tokenType, (c) => c.notNull())
    .addColumn('comment', 'text')
    .addPrimaryKeyConstraint(`${table}_pk`, ['id', 'version']);
  if (engine === 'mysql') q = q.modifyEnd(sql`default charset = utf8mb4 collate = utf8mb4_bin`);
  await q.execute();
}
