/**
 * The Fernet tiers as tamperable backends for the adversarial suite: a store plus raw access to its rows
 * (keystore file entries, SQL rows), so that tests can edit what is at rest without going through the store.
 * SQL rows are edited with plain SQL on a connection of the test's own (better-sqlite3, pg, mysql2).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import type { CredentialStore } from '../../src/core/store.js';
import { padVersion } from '../../src/core/version.js';
import { SqlStore, type EngineConfig } from '../../src/stores/sql/index.js';
import { createMyDatabase, createPgDatabase, dropMyDatabase, dropPgDatabase, MY, PG, portOpen, testDatabaseName } from '../integration/sql/sql-servers.js';

/** One stored version at rest: id, padded version, Fernet token. */
export interface Row {
  id: string;
  version: string;
  token: string;
  comment?: string;
}

export interface FernetHandle {
  store: CredentialStore;
  /** The same backing storage opened with other keys. */
  reopen(keys: string[]): CredentialStore;
  rows(): Promise<Row[]>;
  /** Replace (or with `undefined`, delete) the row with this id and version. */
  replace(match: Pick<Row, 'id' | 'version'>, next: Row | undefined): Promise<void>;
  insert(row: Row): Promise<void>;
  close(): Promise<void>;
}

export interface FernetBackend {
  name: string;
  /** Set when the backend cannot run here; the suffix names the reason (a skip always says why in the test name). */
  skip?: string;
  /** Versions are stored as integers (SQL): a 20-digit zero-padded version is the same row. */
  integerVersions?: boolean;
  /** The engine config of a fresh database/table, for tests that drive the CLI or child processes. */
  engine?: () => Promise<{ engine: EngineConfig; table: string }>;
  open(keys?: string[]): Promise<FernetHandle>;
}

export const CI = process.env.CI === 'true';
export const pgUp = await portOpen(PG.host, PG.port);
export const myUp = await portOpen(MY.host, MY.port);

interface RawSql {
  query(sql: string, params: unknown[]): Promise<Array<Record<string, unknown>>>;
  close(): Promise<void>;
}

type Dialect = 'sqlite' | 'postgres' | 'mysql';

function placeholders(d: Dialect, sql: string): string {
  if (d !== 'postgres') return sql;
  let i = 0;
  return sql.replace(/\?/g, () => `$${++i}`);
}

async function rawSql(d: Dialect, engine: EngineConfig): Promise<RawSql> {
  if (d === 'sqlite') {
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(engine.path as string);
    db.pragma('busy_timeout = 5000');
    return {
      async query(sql, params) {
        const st = db.prepare(sql);
        return st.reader ? (st.all(...params) as Array<Record<string, unknown>>) : (st.run(...params), []);
      },
      async close() {
        db.close();
      },
    };
  }
  if (d === 'postgres') {
    const pg = (await import('pg')).default;
    const c = new pg.Client({ host: engine.host, port: engine.port, user: engine.user, database: engine.database });
    c.on('error', () => undefined); // the database is dropped WITH (FORCE) after the suite
    await c.connect();
    return {
      async query(sql, params) {
        return (await c.query(placeholders(d, sql), params)).rows as Array<Record<string, unknown>>;
      },
      async close() {
        await c.end();
      },
    };
  }
  const mysql = await import('mysql2/promise');
  const c = await mysql.createConnection({ host: engine.host, port: engine.port, user: engine.user, password: engine.password, database: engine.database });
  return {
    async query(sql, params) {
      const [rows] = await c.query(sql, params);
      return Array.isArray(rows) ? (rows as Array<Record<string, unknown>>) : [];
    },
    async close() {
      await c.end();
    },
  };
}

const idText = (v: unknown): string => (Buffer.isBuffer(v) ? v.toString('utf8') : String(v));
const idParam = (d: Dialect, id: string): unknown => (d === 'mysql' ? Buffer.from(id, 'utf8') : id);

let tables = 0;

/** SQL backends: SQLite always; PostgreSQL and MariaDB when their server is up (or under CI, where a missing one fails). */
export function sqlBackends(): FernetBackend[] {
  const root = mkdtempSync(join(tmpdir(), 'credstash-adv-sql-'));
  const dbs: Array<{ d: Dialect; name: string; created?: Promise<void> }> = [];
  afterAll(async () => {
    rmSync(root, { recursive: true, force: true });
    for (const db of dbs) {
      if (db.created === undefined) continue;
      await db.created.catch(() => undefined);
      await (db.d === 'postgres' ? dropPgDatabase(db.name) : dropMyDatabase(db.name)).catch(() => undefined);
    }
  });
  const make = (d: Dialect, label: string, up: boolean): FernetBackend => {
    const dbName = testDatabaseName();
    const entry: { d: Dialect; name: string; created?: Promise<void> } = { d, name: dbName };
    dbs.push(entry);
    const engine = async (): Promise<{ engine: EngineConfig; table: string }> => {
      const table = `adv_${process.pid}_${++tables}`;
      if (d === 'sqlite') return { engine: { name: 'sqlite', path: join(root, `${table}.db`), timeoutMs: 10_000 }, table };
      entry.created ??= d === 'postgres' ? createPgDatabase(dbName) : createMyDatabase(dbName);
      await entry.created;
      const e: EngineConfig =
        d === 'postgres'
          ? { name: 'postgres', host: PG.host, port: PG.port, user: PG.user, database: dbName, timeoutMs: 10_000 }
          : { name: 'mysql', host: MY.host, port: MY.port, user: MY.user, password: MY.password, database: dbName, timeoutMs: 10_000 };
      return { engine: e, table };
    };
    const backend: FernetBackend = {
      name: `sql/${label}`,
      integerVersions: true,
      engine,
      async open(keys) {
        const { engine: e, table } = await engine();
        const store = new SqlStore({ engine: e, table, fernetKeys: keys });
        await store.setup();
        const raw = await rawSql(d, e);
        const opened: CredentialStore[] = [store];
        let closed = false;
        return {
          store,
          reopen(k) {
            const s = new SqlStore({ engine: e, table, fernetKeys: k });
            opened.push(s);
            return s;
          },
          async rows() {
            const rows = await raw.query(`SELECT id, version, token, comment FROM ${table}`, []);
            return rows.map((r) => {
              const row: Row = { id: idText(r.id), version: padVersion(Number(r.version)), token: String(r.token) };
              if (r.comment !== null && r.comment !== undefined) row.comment = String(r.comment);
              return row;
            });
          },
          async replace(match, next) {
            const where = [idParam(d, match.id), Number(match.version)];
            if (next === undefined) await raw.query(`DELETE FROM ${table} WHERE id = ? AND version = ?`, where);
            else await raw.query(`UPDATE ${table} SET id = ?, version = ?, token = ? WHERE id = ? AND version = ?`, [idParam(d, next.id), Number(next.version), next.token, ...where]);
          },
          async insert(row) {
            await raw.query(`INSERT INTO ${table} (id, version, token, comment) VALUES (?, ?, ?, ?)`, [idParam(d, row.id), Number(row.version), row.token, row.comment ?? null]);
          },
          async close() {
            if (closed) return;
            closed = true;
            for (const s of opened) await s.close();
            await raw.close();
          },
        };
      },
    };
    if (!up && !CI) backend.skip = ` (skipped: no server on 127.0.0.1:${d === 'postgres' ? 5432 : 3306})`;
    return backend;
  };
  return [make('sqlite', 'sqlite', true), make('postgres', 'postgres', pgUp), make('mysql', 'mariadb', myUp)];
}
