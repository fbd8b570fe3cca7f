import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { fernetTimestamp, generateFernetKey } from '../../../src/crypto/fernet.js';
import { FernetCodec } from '../../../src/stores/fernet-codec.js';
import { SqlStore, type EngineConfig } from '../../../src/stores/sql/index.js';
import { createDialect } from '../../../src/stores/sql/sql-dialects.js';
import type { CredentialsDB } from '../../../src/stores/sql/sql-schema.js';
import { runLifecycleContract, type LifecycleStore } from '../../contract/lifecycle.contract.js';
import { moveChain, raceLabelMovers } from '../../helpers/label-race.js';
import { CANARY, expectNoLeak, rejectionOf } from '../../helpers/no-leak.js';
import { createMyDatabase, createPgDatabase, dropMyDatabase, dropPgDatabase, MY, PG, portOpen, testDatabaseName } from './sql-servers.js';

const KEY = generateFernetKey();
// A test key and a token sealed by the codec as it was before the lifecycle header fields existed
// (id "old.cred", version 3, context env=prod, comment "from before").
const OLD_KEY = 'vi-90osENQCiyWLYIynVtWctqu8rGMDGiT5sLaEYJVc=';
const OLD_TOKEN =
  'gAAAAABrD3IDGB_fkPluQLVR6pt1a7R-cAAtA-OOqzfBnNMkKHemc1AyMFWxwERH-kSzTkMcay8NxVfB6uX6Rj4ii7fQTqkYBNXm8_RDcSh2Uh5vHDd4qHTYp1SQ1r2HTRdrgLw-D7UC20g_aroi-xwp0H59EiuYqa-gm1yK3-hJHPHNgpZaLHjBiJiM7A-irmy6j44VXX_UkrJhymYlnnpjQ5YFPdz85SxPRuCd8TfoChQ7Rqy3oBD7Aquof1sv_V1ulEwT3GJagUp_RSRv_qmjR6GwVrdrEA==';
const V = (n: number): string => String(n).padStart(19, '0');

const CI = process.env.CI === 'true';
const pgUp = await portOpen(PG.host, PG.port);
const myUp = await portOpen(MY.host, MY.port);
const root = mkdtempSync(join(tmpdir(), 'credstash-sql-lc-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

type Dialect = 'sqlite' | 'postgres' | 'mysql';
interface Raw {
  query(text: string, params?: unknown[]): Promise<Array<Record<string, unknown>>>;
  close(): Promise<void>;
}

/** A connection of the test's own, to edit rows as someone with table access (and no key) would. */
async function rawSql(e: EngineConfig): Promise<Raw> {
  if (e.name === 'sqlite') {
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(e.path as string);
    db.pragma('busy_timeout = 5000');
    return {
      async query(text, params = []) {
        const st = db.prepare(text);
        return st.reader ? (st.all(...params) as Array<Record<string, unknown>>) : (st.run(...params), []);
      },
      async close() {
        db.close();
      },
    };
  }
  if (e.name === 'postgres') {
    const pg = (await import('pg')).default;
    const c = new pg.Client({ host: e.host, port: e.port, user: e.user, database: e.database });
    c.on('error', () => undefined);
    await c.connect();
    return {
      async query(text, params = []) {
        let i = 0;
        return (await c.query(text.replace(/\?/g, () => `$${++i}`), params)).rows as Array<Record<string, unknown>>;
      },
      async close() {
        await c.end();
      },
    };
  }
  const mysql = await import('mysql2/promise');
  const c = await mysql.createConnection({ host: e.host, port: e.port, user: e.user, password: e.password, database: e.database });
  return {
    async query(text, params = []) {
      const [rows] = await c.query(text, params);
      return Array.isArray(rows) ? (rows as Array<Record<string, unknown>>) : [];
    },
    async close() {
      await c.end();
    },
  };
}

/** The credentials table exactly as the schema before the version lifecycle created it. */
function oldSchema(d: Dialect, t: string): string {
  return d === 'mysql'
    ? `CREATE TABLE ${t} (id varbinary(2048) not null, version bigint not null, token mediumtext not null, comment text, constraint ${t}_pk primary key (id, version)) default charset = utf8mb4 collate = utf8mb4_bin`
    : `CREATE TABLE ${t} (id text not null, version bigint not null, token text not null, comment text, constraint ${t}_pk primary key (id, version))`;
}

let n = 0;
interface Engine {
  label: string;
  d: Dialect;
  run: boolean;
  engine: () => EngineConfig;
  before?: () => Promise<void>;
  after?: () => Promise<void>;
}
const pgDb = testDatabaseName();
const myDb = testDatabaseName();
const engines: Engine[] = [
  { label: 'sqlite', d: 'sqlite', run: true, engine: () => ({ name: 'sqlite', path: join(root, `db${++n}`, 'credentials.db'), timeoutMs: 10_000 }) },
  {
    label: `postgres${pgUp || CI ? '' : ' (skipped: no server on 127.0.0.1:5432)'}`,
    d: 'postgres',
    run: pgUp || CI,
    engine: () => ({ name: 'postgres', host: PG.host, port: PG.port, user: PG.user, database: pgDb, timeoutMs: 10_000 }),
    before: () => createPgDatabase(pgDb),
    after: () => dropPgDatabase(pgDb),
  },
  {
    label: `mariadb${myUp || CI ? '' : ' (skipped: no server on 127.0.0.1:3306)'}`,
    d: 'mysql',
    run: myUp || CI,
    engine: () => ({ name: 'mysql', host: MY.host, port: MY.port, user: MY.user, password: MY.password, database: myDb, timeoutMs: 10_000 }),
    before: () => createMyDatabase(myDb),
    after: () => dropMyDatabase(myDb),
  },
];

for (const e of engines) {
  describe.skipIf(!e.run)(`sql/${e.label}: lifecycle`, () => {
    beforeAll(async () => e.before?.());
    afterAll(async () => e.after?.());
    const engineOf = new WeakMap<object, EngineConfig>();
    const make = (table = `lc_${++n}`, keys: readonly string[] = [KEY], engine = e.engine()): SqlStore => {
      const s = new SqlStore({ engine, table, fernetKeys: keys });
      engineOf.set(s, engine);
      return s;
    };
    const idParam = (id: string): unknown => (e.d === 'mysql' ? Buffer.from(id, 'utf8') : id);

    /** Rewrite the lifecycle row of `id` directly (UPDATE), as someone with table access but no key would. */
    async function editRecord(store: SqlStore, id: string, edit: (doc: { labels: Record<string, { v: string; proof?: string }> }) => void): Promise<void> {
      const raw = await rawSql(engineOf.get(store) as EngineConfig);
      try {
        const t = `${store.table}_lifecycle`;
        const [row] = await raw.query(`SELECT doc FROM ${t} WHERE id = ?`, [idParam(id)]);
        const doc = JSON.parse(String(row?.doc)) as { labels: Record<string, { v: string; proof?: string }> };
        edit(doc);
        await raw.query(`UPDATE ${t} SET doc = ? WHERE id = ?`, [JSON.stringify(doc), idParam(id)]);
      } finally {
        await raw.close();
      }
    }

    runLifecycleContract(`sql ${e.label}`, async () => make(), {
      context: true,
      expiry: true,
      history: true,
      state: true,
      forgeLabel: (store, id, label, padded) =>
        editRecord(store as unknown as SqlStore, id, (doc) => {
          (doc.labels[label] as { v: string }).v = padded;
        }),
    });

    it('an UPDATE of the lifecycle row is refused with IntegrityError: proof removed, or the proof of another label', async () => {
      const store = make();
      try {
        await store.storeCredential('f.a', 'genuine');
        await store.storeCredential('f.a', CANARY, { autoVersion: true });
        await store.labelCredential('f.a', 'current', { version: 1 });
        await store.labelCredential('f.a', 'next', { version: 2 });
        await editRecord(store, 'f.a', (doc) => delete (doc.labels.current as { proof?: string }).proof);
        const err = await rejectionOf(store.getCredential('f.a', { label: 'current', required: true }));
        expect(err).toMatchObject({ code: 'ERR_INTEGRITY', credentialId: 'f.a' });
        expectNoLeak(err, CANARY, KEY);
        await editRecord(store, 'f.a', (doc) => (doc.labels.current = { ...(doc.labels.next as { v: string }) }));
        expect(await rejectionOf(store.getCredential('f.a', { label: 'current', required: true }))).toMatchObject({ code: 'ERR_INTEGRITY' });
      } finally {
        await store.close();
      }
    });

    it('get returns the authenticated expiry: an UPDATE of the expires_at column changes only history and check', async () => {
      const store = make();
      const at = new Date(Date.now() + 3_600_000).toISOString();
      await store.storeCredential('e.a', 'v', { expiresAt: at });
      const raw = await rawSql(engineOf.get(store) as EngineConfig);
      try {
        const [row] = await raw.query(`SELECT created_at, written_by, expires_at FROM ${store.table}`);
        expect(row).toMatchObject({ expires_at: at, created_at: expect.any(String), written_by: expect.any(String) });
        await raw.query(`UPDATE ${store.table} SET expires_at = ?`, ['2099-01-01T00:00:00.000Z']);
        expect((await store.getCredential('e.a', { required: true })).expiresAt).toBe(at);
        expect((await store.credentialHistory('e.a'))[0]?.expiresAt).toBe('2099-01-01T00:00:00.000Z');
        await raw.query(`UPDATE ${store.table} SET expires_at = NULL`);
        expect((await store.getCredential('e.a', { required: true })).expiresAt).toBe(at);
        expect(await store.expiringCredentials({ withinMs: 2 * 3_600_000 })).toEqual([]); // check reads the plaintext copy
      } finally {
        await raw.close();
        await store.close();
      }
    });

    it('history of 100 versions decrypts nothing: one query for the versions and one for the labels, with a key that opens none of them, and no token opened', async () => {
      const table = `lc_${++n}`;
      const engine = e.engine();
      const store = make(table, [KEY], engine);
      // the store with the wrong key runs on a Kysely of the test's own, which counts the statements it sends
      let statements = 0;
      const { Kysely } = await import('kysely');
      const counted = new Kysely<CredentialsDB>({ dialect: await createDialect(engine), log: (ev) => void (ev.level === 'query' && statements++) });
      const wrong = new SqlStore({ engine, table, fernetKeys: [generateFernetKey()], db: counted });
      const open = vi.spyOn(FernetCodec.prototype, 'open');
      try {
        for (let i = 0; i < 100; i++) await store.storeCredential('h.many', `value ${i}`, { version: i + 1, comment: `c${i}` });
        await store.labelCredential('h.many', 'current', { version: 50 });
        expect(await rejectionOf(wrong.getCredential('h.many'))).toMatchObject({ code: 'ERR_INTEGRITY' }); // a decrypt would fail
        open.mockClear();
        statements = 0;
        const h = await wrong.credentialHistory('h.many');
        expect(open).not.toHaveBeenCalled();
        expect(statements).toBe(2); // the versions, and the labels
        expect(h).toHaveLength(100);
        expect(h[49]).toMatchObject({ version: '50', labels: ['current'], comment: 'c49', writtenBy: expect.any(String) });
        const raw = await rawSql(engine);
        const lengths = (await raw.query(`SELECT version, token FROM ${table} ORDER BY version`)).map((r) => String(r.token).length);
        await raw.close();
        expect(h.map((v) => v.size)).toEqual(lengths);
      } finally {
        open.mockRestore();
        await wrong.close();
        await counted.destroy();
        await store.close();
      }
    });

    it('a table created by the schema before the lifecycle: read as before, history from the token timestamp, the first put adds the columns, setup is idempotent', async () => {
      const table = `old_${++n}`;
      const engine = e.engine();
      const probe = make(`probe_${n}`, [KEY], engine);
      await probe.setup(); // creates the database file / checks the server
      await probe.close();
      const raw = await rawSql(engine);
      try {
        await raw.query(oldSchema(e.d, table));
        await raw.query(`INSERT INTO ${table} (id, version, token, comment) VALUES (?, ?, ?, ?)`, [idParam('old.cred'), 3, OLD_TOKEN, 'from before']);
        const store = make(table, [OLD_KEY], engine);
        try {
          expect((await store.getCredential('old.cred', { context: { env: 'prod' }, required: true })).value).toBe('old value ✓');
          expect(await store.credentialHistory('old.cred')).toEqual([
            { version: '3', createdAt: new Date(fernetTimestamp(OLD_TOKEN) * 1000).toISOString(), size: OLD_TOKEN.length, comment: 'from before', labels: [] },
          ]);
          // several writers at once on the old table: each adds the columns or finds them added
          const writers = [store, ...Array.from({ length: 3 }, () => make(table, [OLD_KEY], engine))];
          const at = new Date(Date.now() + 86_400_000).toISOString();
          await Promise.all(writers.map((w, i) => w.storeCredential(`new.${i}`, 'x', { expiresAt: at })));
          for (const w of writers.slice(1)) await w.close();
          const cols = await raw.query(`SELECT created_at, written_by, expires_at FROM ${table} WHERE id = ?`, [idParam('new.0')]);
          expect(cols[0]).toMatchObject({ expires_at: at });
          expect((await store.credentialHistory('new.2'))[0]).toMatchObject({ expiresAt: at, writtenBy: expect.any(String) });
          expect((await store.credentialHistory('old.cred'))[0]?.writtenBy).toBeUndefined();
          for (let i = 0; i < 2; i++) expect((await store.setup()).message).not.toContain('lifecycle columns added');
          await store.labelCredential('old.cred', 'current', { version: 3, context: { env: 'prod' } });
          expect((await store.getCredential('old.cred', { label: 'current', context: { env: 'prod' }, required: true })).value).toBe('old value ✓');
        } finally {
          await store.close();
        }
        // setup alone upgrades an old table too
        const table2 = `old_${++n}`;
        await raw.query(oldSchema(e.d, table2));
        const s2 = make(table2, [KEY], engine);
        try {
          expect((await s2.setup()).message).toContain('lifecycle columns added');
          expect((await s2.setup()).message).not.toContain('lifecycle columns added');
          await raw.query(`SELECT created_at, written_by, expires_at FROM ${table2}`);
          await raw.query(`SELECT id, rev, doc FROM ${table2}_lifecycle`);
        } finally {
          await s2.close();
        }
      } finally {
        await raw.close();
      }
    });

    it('rotate-key: labels are proved again under the new key inside the rotation, a forged one stays refused, state moves too', async () => {
      const table = `lc_${++n}`;
      const engine = e.engine();
      const OLD = generateFernetKey();
      const NEW = generateFernetKey();
      const before = make(table, [OLD], engine);
      const meanwhile = make(table, [NEW, OLD], engine);
      const after = make(table, [NEW], engine);
      try {
        await before.storeCredential('r.a', 'one');
        await before.storeCredential('r.a', CANARY, { autoVersion: true });
        await before.labelCredential('r.a', 'current', { version: 1 });
        await before.labelCredential('r.a', 'stale', { version: 1 });
        expect(await before.writeState('r.a', 'rotation', Buffer.from('pending'), { expectRev: (await before.readState('r.a', 'rotation')).rev })).toBe(true);
        await editRecord(before, 'r.a', (doc) => ((doc.labels.stale as { v: string }).v = V(2)));
        expect((await meanwhile.getCredential('r.a', { label: 'current', required: true })).value).toBe('one');
        const revBefore = (await meanwhile.readState('r.a', 'rotation')).rev;
        await meanwhile.reencryptAll();
        expect(await meanwhile.writeState('r.a', 'rotation', Buffer.from('x'), { expectRev: revBefore })).toBe(false);
        expect((await after.getCredential('r.a', { label: 'current', required: true })).value).toBe('one');
        expect(Buffer.from((await after.readState('r.a', 'rotation')).value ?? []).toString()).toBe('pending');
        const err = await rejectionOf(after.getCredential('r.a', { label: 'stale', required: true }));
        expect(err).toMatchObject({ code: 'ERR_INTEGRITY' });
        expectNoLeak(err, CANARY);
      } finally {
        for (const s of [before, meanwhile, after]) await s.close();
      }
    });

    // The race between two CREATE TABLE IF NOT EXISTS is lost only now and then (PostgreSQL may refuse the
    // loser with duplicate_table, duplicate_object or a catalog unique violation): many rounds, each on a fresh table.
    it('8 stores of their own labelling at once on a table without a lifecycle table, 15 rounds: each creates it or finds it made, and each move is done or a conflict', async () => {
      for (let round = 0; round < 15; round++) {
        const table = `fresh_${++n}`;
        const engine = e.engine();
        const first = make(table, [KEY], engine);
        const others = Array.from({ length: 7 }, () => make(table, [KEY], engine));
        try {
          for (let i = 1; i <= 8; i++) await first.storeCredential('fresh.lbl', `v${i}`, { autoVersion: true });
          const all = [first, ...others];
          await Promise.all(others.map((s) => s.listCredentials())); // connected, lifecycle table not yet made
          const results = await Promise.allSettled(all.map((s, i) => s.labelCredential('fresh.lbl', 'current', { version: i + 1 })));
          for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'ERR_LABEL_CONFLICT' });
          expect(results.some((r) => r.status === 'fulfilled')).toBe(true);
          const got = await first.getCredential('fresh.lbl', { label: 'current', required: true });
          expect(got.value).toBe(`v${got.version}`);
        } finally {
          for (const s of [first, ...others]) await s.close();
        }
      }
    });

    it('8 stores writing at once to a credentials table none has created, 15 rounds: each creates it or finds it made, and every write is stored', async () => {
      for (let round = 0; round < 15; round++) {
        const table = `fresh_${++n}`;
        const engine = e.engine();
        const all = Array.from({ length: 8 }, () => make(table, [KEY], engine));
        try {
          await Promise.all(all.map((s, i) => s.storeCredential(`w.${i}`, `v${i}`)));
          const names = (await all[0]!.listCredentials()).map((c) => c.id).sort();
          expect(names).toEqual(all.map((_s, i) => `w.${i}`));
        } finally {
          for (const s of all) await s.close();
        }
      }
    });

    it('a table name too long for its lifecycle table refuses labels with a ConfigError naming the limit; plain reads and writes work', async () => {
      const store = make(`t${'x'.repeat(55)}`);
      try {
        await store.setup();
        await store.storeCredential('a', 'v');
        expect((await store.getCredential('a', { required: true })).value).toBe('v');
        expect(await rejectionOf(store.labelCredential('a', 'current', { version: 1 }))).toMatchObject({ code: 'ERR_CONFIG', message: expect.stringContaining('at most 53 characters') });
      } finally {
        await store.close();
      }
    });

    if (e.d === 'postgres') {
      it('8 processes moving one label at once: each reports done or a conflict, the moves form one chain, the label ends on a version that exists', async () => {
        const table = `race_${++n}`;
        const engine = e.engine();
        const store = make(table, [KEY], engine);
        try {
          for (let i = 1; i <= 9; i++) await store.storeCredential('race.lbl', `v${i}`, { autoVersion: true });
          await store.labelCredential('race.lbl', 'current', { version: 1 });
          const results = await raceLabelMovers({ kind: 'sql', engine, table }, KEY, 'race.lbl', 'current', [2, 3, 4, 5, 6, 7, 8, 9], join(root, `go-${++n}`));
          expect(results.filter((r) => r.outcome === 'done').length).toBeGreaterThanOrEqual(1);
          const got = await store.getCredential('race.lbl', { label: 'current', required: true });
          expect(got.value).toBe(`v${got.version}`);
          const chain = moveChain(results, '1');
          expect(chain, JSON.stringify(results)).toBeDefined();
          expect(chain?.at(-1)).toBe(got.version);
        } finally {
          await store.close();
        }
      });
    }
  });
}

