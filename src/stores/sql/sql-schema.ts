/**
 * The credentials table (docs/fernet.md §4): one row per version, primary key (id, version), so the
 * database itself refuses a second writer of the same version.
 */
import type { Kysely } from 'kysely';
import { ConfigError } from '../../core/errors.js';
import type { EngineName } from './sql-dialects.js';
import { loadKysely } from './sql-packages.js';

export const DEFAULT_TABLE = 'xt_credentials';

/**
 * One row. `version` is the integer version; `token` the Fernet token (docs/fernet.md §2). `created_at`,
 * `written_by` and `expires_at` are plaintext copies of the token header's (authenticated) facts, for
 * history and `check`; null in rows written before them (and absent from tables created before them until
 * {@link addLifecycleColumns} runs).
 */
export interface CredentialRow {
  id: string;
  version: number;
  token: string;
  comment: string | null;
  created_at: string | null;
  written_by: string | null;
  expires_at: string | null;
}

/** The columns added for the version lifecycle, in the order they are added. */
export const LIFECYCLE_COLUMNS = ['created_at', 'written_by', 'expires_at'] as const;

/** Longest credentials table name that still leaves room for its `_lifecycle` table (63-character identifiers). */
export const MAX_LIFECYCLE_BASE = 63 - '_lifecycle'.length;

/** The companion table of `table`: labels and sealed state, one row per credential id (docs/fernet.md §4). */
export function lifecycleTableName(table: string): string {
  if (table.length > MAX_LIFECYCLE_BASE) {
    throw new ConfigError(
      `credential_store.config.table "${table}" is too long for labels and lifecycle state (its ${table}_lifecycle table needs a name of at most ${MAX_LIFECYCLE_BASE} characters); use a shorter table name`,
      { path: 'credential_store.config.table' },
    );
  }
  return `${table}_lifecycle`;
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
    .addColumn('created_at', 'text')
    .addColumn('written_by', 'text')
    .addColumn('expires_at', 'text')
    .addPrimaryKeyConstraint(`${table}_pk`, ['id', 'version']);
  if (engine === 'mysql') q = q.modifyEnd(sql`default charset = utf8mb4 collate = utf8mb4_bin`);
  await q.execute();
}

/**
 * Add the lifecycle columns a table created before them lacks (`ALTER TABLE … ADD COLUMN`, nullable, so old
 * rows and old writers are unaffected). Idempotent, and safe when several processes do it at once: a column
 * that exists already (probed first; or added meanwhile by another process) is skipped.
 * @returns whether a column was added
 */
export async function addLifecycleColumns(
  db: Kysely<CredentialsDB>,
  table: string,
  isDuplicateColumn: (err: unknown) => boolean,
  isMissingColumn: (err: unknown) => boolean,
): Promise<boolean> {
  const { sql } = await loadKysely();
  let added = false;
  for (const column of LIFECYCLE_COLUMNS) {
    try {
      await sql`SELECT ${sql.ref(column)} FROM ${sql.table(table)} WHERE 1 = 0`.execute(db);
      continue;
    } catch (err) {
      if (!isMissingColumn(err)) throw err;
    }
    try {
      await db.schema.alterTable(table).addColumn(column, 'text').execute();
      added = true;
    } catch (err) {
      if (!isDuplicateColumn(err)) throw err;
    }
  }
  return added;
}

/**
 * CREATE TABLE IF NOT EXISTS `<table>_lifecycle` (id primary key, rev, doc): one row per credential that has
 * labels or state, compare-and-set by `rev`. Rows are never deleted (an emptied record keeps its row and
 * its revision), so a revision is never reused.
 */
export async function createLifecycleTable(db: Kysely<CredentialsDB>, table: string, engine: EngineName): Promise<void> {
  const { sql } = await loadKysely();
  const idType = engine === 'mysql' ? sql`varbinary(2048)` : sql`text`;
  const docType = engine === 'mysql' ? sql`mediumtext` : sql`text`;
  let q = db.schema
    .createTable(lifecycleTableName(table))
    .ifNotExists()
    .addColumn('id', idType, (c) => c.notNull().primaryKey())
    .addColumn('rev', 'bigint', (c) => c.notNull())
    .addColumn('doc', docType, (c) => c.notNull());
  if (engine === 'mysql') q = q.modifyEnd(sql`default charset = utf8mb4 collate = utf8mb4_bin`);
  await q.execute();
}
