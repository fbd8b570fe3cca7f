import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CredentialStore } from '../../../src/core/store.js';
import { generateFernetKey } from '../../../src/crypto/fernet.js';
import { openStore } from '../../../src/stores/registry.js';
import { createSqlStore, parseEngineConfig, SQL_MAX_VALUE_BYTES, SqlStore, type EngineConfig } from '../../../src/stores/sql/index.js';
import { runStoreContract } from '../../contract/credential-store.contract.js';
import { CANARY, expectNoLeak, rejectionOf } from '../../helpers/no-leak.js';
import { createMyDatabase, createPgDatabase, dropMyDatabase, dropPgDatabase, MY, PG, portOpen, testDatabaseName } from './sql-servers.js';

const KEY = generateFernetKey();
const CI = process.env.CI === 'true';
const pgUp = await portOpen(PG.host, PG.port);
const myUp = await portOpen(MY.host, MY.port);
const root = mkdtempSync(join(tmpdir(), 'credstash-sql-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
interface Engine {
  label: string;
  run: boolean;
  engine: () => EngineConfig;
  before?: () => Promise<void>;
  after?: () => Promise<void>;
}
const pgDb = testDatabaseName();
const myDb = testDatabaseName();
const engines: Engine[] = [
  { label: 'sqlite', run: true, engine: () => ({ name: 'sqlite', path: join(root, `db${++n}`, 'credentials.db'), timeoutMs: 5000 }) },
  {
    label: `postgres${pgUp || CI ? '' : ' (skipped: no server on 127.0.0.1:5432)'}`,
    run: pgUp || CI,
    engine: () => ({ name: 'postgres', host: PG.host, port: PG.port, user: PG.user, database: pgDb, timeoutMs: 5000 }),
    before: () => createPgDatabase(pgDb),
    after: () => dropPgDatabase(pgDb),
  },
  {
    label: `mariadb${myUp || CI ? '' : ' (skipped: no server on 127.0.0.1:3306)'}`,
    run: myUp || CI,
    engine: () => ({ name: 'mysql', host: MY.host, port: MY.port, user: MY.user, password: MY.password, database: myDb, timeoutMs: 5000 }),
    before: () => createMyDatabase(myDb),
    after: () => dropMyDatabase(myDb),
  },
];

for (const e of engines) {
  describe.skipIf(!e.run)(`sql/${e.label}`, () => {
    beforeAll(async () => e.before?.());
    afterAll(async () => e.after?.());
    const make = (table = `t_${++n}`, keys: readonly string[] = [KEY], engine = e.engine()): SqlStore => new SqlStore({ engine, table, fernetKeys: keys });

    runStoreContract(`sql ${e.label}`, async () => make(), { context: true, maxValueBytes: SQL_MAX_VALUE_BYTES });

    it('the database itself refuses a duplicate (id, version)', async () => {
      const store = make();
      try {
        await store.storeCredential('dup', 'a');
        const err = await rejectionOf(store.storeCredential('dup', CANARY, { version: 1 }));
        expect(err).toMatchObject({ code: 'ERR_VERSION_CONFLICT', credentialId: 'dup', version: '1' });
        expectNoLeak(err, CANARY, KEY);
      } finally {
        await store.close();
      }
    });

    it('keeps ids that differ only in case apart, and long unicode ids', async () => {
      const store = make();
      try {
        const long = `ü${'x'.repeat(1500)}`;
        await store.storeCredential('App', 'upper');
        await store.storeCredential('app', 'lower');
        await store.storeCredential(long, 'long');
        expect((await store.getCredential('App'))?.value).toBe('upper');
        expect((await store.getCredential('app'))?.value).toBe('lower');
        expect((await store.getCredential(long))?.value).toBe('long');
        expect((await store.listCredentials()).map((s) => s.id).sort()).toEqual(['App', 'app', long].sort());
      } finally {
        await store.close();
      }
    });

    it('stores definitions with the credential and rejects a structured value missing a required field', async () => {
      const store = make();
      try {
        const definition = { id: 'db.prod', credential_type: 'database' as const, metadata: { team: 'data' } };
        await store.storeCredential('db.prod', { host: 'h', user: 'u', password: CANARY }, { definition, comment: 'ünïcode ✓' });
        expect(await store.getCredential('db.prod')).toMatchObject({ definition, comment: 'ünïcode ✓' });
        expect((await store.listCredentials())[0]?.comment).toBe('ünïcode ✓');
        const err = await rejectionOf(store.storeCredential('db.prod', { host: 'h', user: 'u' }, { definition, autoVersion: true }));
        expect(err).toMatchObject({ code: 'ERR_INVALID_INPUT', message: 'credential "db.prod" of type database is missing field "password"' });
      } finally {
        await store.close();
      }
    });

    it('rotation re-encrypts every row under the new first key in one transaction; a row no key opens rolls it all back', async () => {
      const table = `t_${++n}`;
      const engine = e.engine(); // one database for every store below (SQLite: one file)
      const store = make(table, [KEY], engine);
      const NEW = generateFernetKey();
      try {
        await store.storeCredential('r', 'v1', { context: { env: 'prod' } });
        await store.storeCredential('r', 'v2', { autoVersion: true, context: { env: 'prod' } });
        expect(await store.reencryptAll({ keys: [NEW, KEY] })).toMatchObject({ reencrypted: 2, alreadyCurrent: 0 });
      } finally {
        await store.close();
      }
      const onlyNew = make(table, [NEW], engine);
      const onlyOld = make(table, [KEY], engine);
      const stranger = make(table, [generateFernetKey()], engine);
      const rotator = make(table, [generateFernetKey(), NEW], engine);
      try {
        expect((await onlyNew.getCredential('r', { version: 1, context: { env: 'prod' } }))?.value).toBe('v1');
        expect(await rejectionOf(onlyOld.getCredential('r', { context: { env: 'prod' } }))).toMatchObject({ code: 'ERR_INTEGRITY' });
        await stranger.storeCredential('s', 'x'); // a row under a key the rotation does not know
        const err = await rejectionOf(rotator.reencryptAll());
        expect(err).toMatchObject({ code: 'ERR_INTEGRITY', credentialId: 's' });
        expect((await onlyNew.getCredential('r', { context: { env: 'prod' } }))?.value).toBe('v2'); // untouched
      } finally {
        await Promise.all([onlyNew.close(), onlyOld.close(), stranger.close(), rotator.close()]);
      }
    });

    it('setup creates the table and is idempotent', async () => {
      const store = make();
      try {
        expect(await store.setup()).toMatchObject({ created: true });
        expect(await store.listCredentials()).toEqual([]);
      } finally {
        await store.close();
      }
    });
  });
}

describe('sql/sqlite files and config', () => {
  it('creates the database file, its -wal and -shm files 0600 in a 0700 folder, in WAL mode', async () => {
    const path = join(root, 'modes', 'data.db');
    const store = createSqlStore({ engine: { name: 'sqlite', config: { path: 'modes/data.db' } } }, { baseDir: root, fernetKeys: [KEY] });
    try {
      await store.storeCredential('a', 'b');
      expect(statSync(path).mode & 0o777).toBe(0o600);
      expect(statSync(join(root, 'modes')).mode & 0o777).toBe(0o700);
      expect(statSync(`${path}-wal`).mode & 0o777).toBe(0o600);
      expect(statSync(`${path}-shm`).mode & 0o777).toBe(0o600);
    } finally {
      await store.close();
    }
  });

  it('is reachable through openStore with the default table', async () => {
    const store = (await openStore({ type: 'sql', config: { engine: { name: 'sqlite', config: { path: 'open.db' } } } }, { baseDir: root, fernetKeys: [KEY] })) as CredentialStore;
    try {
      expect(store.description).toBe(`sql table "xt_credentials" (sqlite ${join(root, 'open.db')})`);
      await store.storeCredential('x', 'y');
      expect((await store.getCredential('x'))?.value).toBe('y');
    } finally {
      await store.close();
    }
  });

  it('validates the table name, engine name and unknown keys, naming the key path', () => {
    const ctx = { baseDir: root, fernetKeys: [KEY] };
    expect(() => createSqlStore({ table: 'x; drop table y' }, ctx)).toThrow(/credential_store\.config\.table must be letters/);
    expect(() => createSqlStore({ engine: { name: 'oracle' } }, ctx)).toThrow(/credential_store\.config\.engine\.name must be one of/);
    expect(() => createSqlStore({ engine: { name: 'sqlite', config: { host: 'x' } } }, ctx)).toThrow(/credential_store\.config\.engine\.config\.host for sqlite/);
    expect(() => createSqlStore({ tabel: 'x' }, ctx)).toThrow(/credential_store\.config\.tabel/);
    expect(() => createSqlStore({ engine: { name: 'postgres', config: { host: 'h' } } }, ctx)).toThrow(/database \(or a database in url\) is required/);
  });

  it('parses a URL without ever putting the password into the description or an error', () => {
    const e = parseEngineConfig({ name: 'postgresql', config: { url: `postgres://app:${CANARY}@db.example:6543/creds` } }, root);
    expect(e).toMatchObject({ name: 'postgres', host: 'db.example', port: 6543, user: 'app', database: 'creds' });
    const store = new SqlStore({ engine: e, fernetKeys: [KEY] });
    expect(store.description).toBe('sql table "xt_credentials" (postgres db.example:6543 database "creds")');
    let err: unknown;
    try {
      parseEngineConfig({ name: 'mysql', config: { url: `::${CANARY}::` } }, root);
    } catch (x) {
      err = x;
    }
    expect(err).toMatchObject({ code: 'ERR_CONFIG', message: 'credential_store.config.engine.config.url is not a valid URL' });
    expectNoLeak(err, CANARY);
  });
});

describe('sql connection errors', () => {
  it('a refused connection is StoreUnavailableError naming engine, host:port and database, never the password', async () => {
    for (const name of ['postgres', 'mysql'] as const) {
      const store = new SqlStore({ engine: { name, host: '127.0.0.1', port: 1, user: 'u', password: CANARY, database: 'creds', timeoutMs: 2000 }, fernetKeys: [KEY] });
      const err = await rejectionOf(store.getCredential('a'));
      expect(err).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
      expect(err.message).toBe(`cannot connect to ${name} 127.0.0.1:1 database "creds" (ECONNREFUSED); is the server running?`);
      expectNoLeak(err, CANARY, KEY);
      await store.close();
    }
  });

  it.skipIf(!myUp && !CI)(`a wrong password on MariaDB is an authentication error that names the user, not the password${myUp || CI ? '' : ' (skipped: no server on 127.0.0.1:3306)'}`, async () => {
    const store = new SqlStore({ engine: { name: 'mysql', host: MY.host, port: MY.port, user: 'root', password: CANARY, database: 'mysql', timeoutMs: 2000 }, fernetKeys: [KEY] });
    const err = await rejectionOf(store.listCredentials());
    expect(err).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
    expect(err.message).toMatch(/^authentication to mysql 127\.0\.0\.1:3306 database "mysql" failed for user "root" \(ER_ACCESS_DENIED_ERROR\); check user and password$/);
    expectNoLeak(err, CANARY);
    await store.close();
  });

  it.skipIf(!pgUp && !CI)(`a missing PostgreSQL database is named in the error${pgUp || CI ? '' : ' (skipped: no server on 127.0.0.1:5432)'}`, async () => {
    const store = new SqlStore({ engine: { name: 'postgres', host: PG.host, port: PG.port, user: PG.user, password: CANARY, database: 'credstash_no_such_db', timeoutMs: 2000 }, fernetKeys: [KEY] });
    const err = await rejectionOf(store.getCredential('a'));
    expect(err.message).toBe('postgres 127.0.0.1:5432 database "credstash_no_such_db" does not exist (3D000); create the database first');
    expectNoLeak(err, CANARY);
    await store.close();
  });
});
