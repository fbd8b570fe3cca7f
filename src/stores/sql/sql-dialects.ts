/**
 * Engine config -> a Kysely dialect, with the driver imported only when that engine is configured (a store
 * never loads a driver it does not use; the drivers are optional peer dependencies, see sql-packages.ts). Also classifies driver errors, so the
 * store can map a duplicate key to VersionConflictError and a refused connection to StoreUnavailableError.
 */
import { resolve } from 'node:path';
import type { Dialect } from 'kysely';
import { ConfigError } from '../../core/errors.js';
import { resolveUserPath } from '../../core/paths.js';
import { loadBetterSqlite3, loadKysely, loadMysql2, loadPg, openSqlite } from './sql-packages.js';

export type EngineName = 'sqlite' | 'postgres' | 'mysql';

/** A validated engine config. `password` is kept out of every description and message. */
export interface EngineConfig {
  name: EngineName;
  /** sqlite: absolute file path, or `:memory:`. */
  path?: string;
  host?: string;
  port?: number;
  user?: string;
  password?: string;
  database?: string;
  url?: string;
  /** Milliseconds to wait for a locked SQLite database / a new connection (default 5000). */
  timeoutMs?: number;
}

const ALIASES: Record<string, EngineName> = { sqlite: 'sqlite', sqlite3: 'sqlite', postgres: 'postgres', postgresql: 'postgres', pg: 'postgres', mysql: 'mysql', mariadb: 'mysql' };
const DEFAULT_PORT: Record<EngineName, number | undefined> = { sqlite: undefined, postgres: 5432, mysql: 3306 };
const KEYS: Record<EngineName, readonly string[]> = {
  sqlite: ['path', 'timeout_ms'],
  postgres: ['host', 'port', 'user', 'password', 'database', 'url', 'timeout_ms'],
  mysql: ['host', 'port', 'user', 'password', 'database', 'url', 'timeout_ms'],
};
const P = 'credential_store.config.engine';

/**
 * Validate `engine = { name = "sqlite", config = { path = "data.db" } }` (or postgres/mysql with host, port,
 * user, password, database, or url). Relative SQLite paths resolve against `baseDir`; `~` is expanded.
 * @throws ConfigError naming the key path, never a password or a URL (which may hold one)
 */
export function parseEngineConfig(raw: unknown, baseDir: string, env: NodeJS.ProcessEnv = process.env): EngineConfig {
  if (raw === undefined) return { name: 'sqlite', path: resolve(baseDir, '.credstash/credentials.db'), timeoutMs: 5000 };
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(`${P} must be a table with name and config`, { path: P });
  const r = raw as Record<string, unknown>;
  for (const k of Object.keys(r)) if (k !== 'name' && k !== 'config') throw new ConfigError(`unknown key ${P}.${k} (known: name, config)`, { path: `${P}.${k}` });
  const name = typeof r.name === 'string' ? ALIASES[r.name.toLowerCase()] : undefined;
  if (name === undefined) throw new ConfigError(`${P}.name must be one of sqlite, postgres, mysql (or mariadb)`, { path: `${P}.name` });
  const c = (r.config ?? {}) as Record<string, unknown>;
  if (c === null || typeof c !== 'object' || Array.isArray(c)) throw new ConfigError(`${P}.config must be a table`, { path: `${P}.config` });
  for (const k of Object.keys(c)) {
    if (!KEYS[name].includes(k)) throw new ConfigError(`unknown key ${P}.config.${k} for ${name} (known: ${KEYS[name].join(', ')})`, { path: `${P}.config.${k}` });
  }
  const str = (k: string): string | undefined => {
    const v = c[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v.length === 0) throw new ConfigError(`${P}.config.${k} must be a non-empty string`, { path: `${P}.config.${k}` });
    return v;
  };
  const timeout = c.timeout_ms;
  if (timeout !== undefined && (typeof timeout !== 'number' || !Number.isSafeInteger(timeout) || timeout < 0)) {
    throw new ConfigError(`${P}.config.timeout_ms must be a non-negative integer`, { path: `${P}.config.timeout_ms` });
  }
  const out: EngineConfig = { name, timeoutMs: (timeout as number | undefined) ?? 5000 };
  if (name === 'sqlite') {
    const p = str('path') ?? '.credstash/credentials.db';
    out.path = p === ':memory:' ? p : resolveUserPath(p, baseDir, env);
    return out;
  }
  const url = str('url');
  if (url !== undefined) {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new ConfigError(`${P}.config.url is not a valid URL`, { path: `${P}.config.url` });
    }
    out.url = url;
    out.host = decodeURIComponent(u.hostname);
    out.port = u.port === '' ? DEFAULT_PORT[name] : Number(u.port);
    if (u.username !== '') out.user = decodeURIComponent(u.username);
    const db = decodeURIComponent(u.pathname.replace(/^\//, ''));
    if (db !== '') out.database = db;
  }
  const port = c.port;
  if (port !== undefined && (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535)) {
    throw new ConfigError(`${P}.config.port must be an integer from 1 to 65535`, { path: `${P}.config.port` });
  }
  out.host = str('host') ?? out.host ?? '127.0.0.1';
  out.port = (port as number | undefined) ?? out.port ?? DEFAULT_PORT[name];
  out.user = str('user') ?? out.user;
  const password = c.password;
  if (password !== undefined && typeof password !== 'string') throw new ConfigError(`${P}.config.password must be a string`, { path: `${P}.config.password` });
  if (password !== undefined) out.password = password;
  out.database = str('database') ?? out.database;
  if (out.database === undefined) throw new ConfigError(`${P}.config.database (or a database in url) is required for ${name}`, { path: `${P}.config.database` });
  return out;
}

/** Where the database is, for messages: engine, host:port, database; never a password or the raw URL. */
export function describeEngine(e: EngineConfig): string {
  return e.name === 'sqlite' ? `sqlite ${e.path ?? ''}` : `${e.name} ${e.host ?? ''}:${e.port ?? ''} database "${e.database ?? ''}"`;
}

/** Build the dialect; the driver module is imported here, on first use. @throws ConfigError naming a package that is not installed */
export async function createDialect(e: EngineConfig): Promise<Dialect> {
  const kysely = await loadKysely();
  const timeoutMs = e.timeoutMs ?? 5000;
  if (e.name === 'sqlite') {
    const Database = await loadBetterSqlite3();
    if (e.path !== ':memory:') {
      // Taken with process.getBuiltinModule, not import(): the CLI bundle turns every built-in into a
      // CommonJS wrapper (esbuild.config.mjs), and a dynamic import() of one yields only `default`.
      const { closeSync, constants, openSync } = process.getBuiltinModule('node:fs');
      const { dirname } = process.getBuiltinModule('node:path');
      const { mkdirPrivate } = await import('../../core/private-dir.js');
      mkdirPrivate(dirname(e.path as string)); // every new folder exactly 0700, whatever the umask
      // Create the file 0600 before SQLite opens it: SQLite gives the -wal and -shm files the database's mode.
      // O_NOFOLLOW: a symlink planted at the path (dangling or not) is refused, never followed or created.
      try {
        closeSync(openSync(e.path as string, constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND | constants.O_NOFOLLOW, 0o600));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ELOOP') throw err;
        throw new ConfigError(`sqlite database "${e.path as string}" is a symbolic link; credstash does not follow one (set the path to the file itself)`, {
          path: 'credential_store.config.path',
        });
      }
    }
    const db = openSqlite(Database, e.path as string, { timeout: timeoutMs });
    // WAL: readers never block the writer; busy_timeout: several processes may write, each waits its turn.
    db.pragma('journal_mode = WAL');
    db.pragma(`busy_timeout = ${timeoutMs}`);
    db.pragma('synchronous = NORMAL'); // durable across process crashes in WAL mode; fsync at checkpoints
    return new kysely.SqliteDialect({ database: db });
  }
  if (e.name === 'postgres') {
    const pg = await loadPg();
    // int8 arrives as a string; the store converts versions itself (no global pg.types change in a library).
    const pool = new pg.Pool({
      ...(e.url === undefined ? {} : { connectionString: e.url }),
      host: e.host,
      port: e.port,
      user: e.user,
      password: e.password,
      database: e.database,
      max: 8,
      connectionTimeoutMillis: timeoutMs,
    });
    pool.on('error', () => undefined); // idle-client errors surface on the next query instead of crashing the process
    return new kysely.PostgresDialect({ pool });
  }
  const mysql = await loadMysql2();
  const pool = mysql.createPool({
    ...(e.url === undefined ? {} : { uri: e.url }),
    host: e.host,
    port: e.port,
    user: e.user,
    password: e.password,
    database: e.database,
    connectionLimit: 8,
    connectTimeout: timeoutMs,
    supportBigNumbers: true,
    charset: 'utf8mb4',
  });
  return new kysely.MysqlDialect({ pool });
}

export type DriverErrorKind = 'duplicate' | 'already-exists' | 'connection' | 'auth' | 'no-database' | 'busy' | 'no-table' | 'no-column' | 'duplicate-column' | 'other';

/** Map a driver error to what the store needs to know. */
export function classifyDriverError(err: unknown): DriverErrorKind {
  const e = err as { code?: unknown; errno?: unknown };
  const code = typeof e?.code === 'string' ? e.code : '';
  if (code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === '23505' || code === 'ER_DUP_ENTRY' || e?.errno === 1062) return 'duplicate';
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') return 'busy';
  // An object another process created meanwhile: two concurrent CREATE TABLE IF NOT EXISTS on PostgreSQL can
  // refuse the loser with duplicate_table (42P07), duplicate_object (42710: the table's row type) or a unique
  // violation in the catalog (23505, classified as 'duplicate' above); MySQL/MariaDB 1050, SQLite by message.
  if (code === '42P07' || code === '42710' || code === 'ER_TABLE_EXISTS_ERROR' || e?.errno === 1050) return 'already-exists';
  if (code === 'SQLITE_ERROR' && err instanceof Error && /^table .* already exists/.test(err.message)) return 'already-exists';
  if (code === '28P01' || code === '28000' || code === 'ER_ACCESS_DENIED_ERROR' || code === 'ER_DBACCESS_DENIED_ERROR') return 'auth';
  if (code === '3D000' || code === 'ER_BAD_DB_ERROR') return 'no-database';
  if (['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ETIMEDOUT', 'ECONNRESET', 'EAI_AGAIN', 'PROTOCOL_CONNECTION_LOST', 'SQLITE_CANTOPEN'].includes(code)) return 'connection';
  if (err instanceof Error && /timeout exceeded when trying to connect|Connection terminated/i.test(err.message)) return 'connection';
  // A table or column created before the version lifecycle (SQLite reports these by message only).
  const sqliteMessage = code === 'SQLITE_ERROR' && err instanceof Error ? err.message : '';
  if (code === '42P01' || code === 'ER_NO_SUCH_TABLE' || e?.errno === 1146 || /^no such table/.test(sqliteMessage)) return 'no-table';
  if (code === '42703' || code === 'ER_BAD_FIELD_ERROR' || e?.errno === 1054 || /^no such column|has no column named/.test(sqliteMessage)) return 'no-column';
  if (code === '42701' || code === 'ER_DUP_FIELDNAME' || e?.errno === 1060 || /^duplicate column name/.test(sqliteMessage)) return 'duplicate-column';
  return 'other';
}

/**
 * Whether a failed CREATE … IF NOT EXISTS lost a race to another process that created the same object: the
 * object is there, which is all the caller wanted.
 */
export function createdMeanwhile(err: unknown): boolean {
  const kind = classifyDriverError(err);
  return kind === 'already-exists' || kind === 'duplicate';
}
