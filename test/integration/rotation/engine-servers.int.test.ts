/**
 * `credstash rotate` with the real rotators against this machine's Redis (127.0.0.1:6379) and PostgreSQL
 * (127.0.0.1:5432), on the local keystore and on DynamoDB (dynalite + the KMS fixture), each with users of
 * this run (unique names, removed afterwards). The admin login is itself a credential (`admin =
 * "${credential:...}"`).
 *
 * - Redis: a failing test step (the credential's port is wrong, the admin's is right) is rolled back; a client that reads the store's newest value and logs in with it, in a loop during a rotation,
 *   never fails; `credstash rotate` killed with SIGKILL at random moments, then run again: the newest stored
 *   password logs in, every older one is refused, one new version per rotation.
 * - MariaDB: single (the new password logs in, the old one is refused); an admin that lacks the privilege
 *   to change another user's password: the error names the step and the target and no password, the old
 *   password still works, no version is added and no state is left (the current password still logs in).
 * - PostgreSQL (which trusts 127.0.0.1 here, so "refused" is checked on the SCRAM verifier the server holds,
 *   as a password login checks it): single (the old password no longer matches), the same random kills, and
 *   alternating (the previous user keeps its password until the next rotation; a table created by either
 *   user is readable and writable by the other). A real refused login (28P01) after single and alternating
 *   rotations through the engine is checked on a private scram-sha-256 server in postgres-scram.int.test.ts.
 */
import { spawn } from 'node:child_process';
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CredentialStore } from '../../../src/core/store.js';
import type { JsonObject } from '../../../src/core/types.js';
import { RedisClient, RespError } from '../../../src/rotation/redis-client.js';
import { BIN, runCli } from '../../helpers/cli.js';
import { cliTiers, type CliProject } from '../../helpers/tiers.js';
import { MY, PG, portOpen } from '../sql/sql-servers.js';

const CI = process.env.CI === 'true';
const REDIS = { host: '127.0.0.1', port: 6379 } as const;
const redisUp = await portOpen(REDIS.host, REDIS.port);
const pgUp = await portOpen(PG.host, PG.port);
const redisSkip = redisUp || CI ? '' : ' (skipped: no server on 127.0.0.1:6379)';
const pgSkip = pgUp || CI ? '' : ' (skipped: no server on 127.0.0.1:5432)';
const myUp = await portOpen(MY.host, MY.port);
const mySkip = myUp || CI ? '' : ' (skipped: no server on 127.0.0.1:3306)';
const run = `rotcli_${process.pid}_${randomBytes(3).toString('hex')}`;
const tiers = cliTiers().filter((t) => t.name === 'local keystore' || t.name.startsWith('dynamodb'));

async function cli(p: CliProject, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runCli([...p.flags, ...args], { cwd: p.dir, env: p.env });
}

async function put(p: CliProject, id: string, value: JsonObject): Promise<void> {
  const r = await cli(p, ['put', id, JSON.stringify(value)]);
  expect(r.code, r.stderr).toBe(0);
}

function addPolicy(p: CliProject, id: string, policy: string): void {
  const file = join(p.dir, 'credstash.toml');
  if (!existsSync(file)) writeFileSync(file, '', { mode: 0o600 });
  appendFileSync(file, `\n[[credentials]]\nid = "${id}"\n\n[credentials.rotation]\n${policy}\n`);
}

async function newest(store: CredentialStore, id: string): Promise<JsonObject> {
  const v = (await store.getCredential(id, { required: true })).value;
  return (typeof v === 'string' ? JSON.parse(v) : v) as JsonObject;
}

async function allPasswords(store: CredentialStore, id: string): Promise<string[]> {
  const h = await (store as CredentialStore & { credentialHistory(id: string): Promise<Array<{ version: string }>> }).credentialHistory(id);
  const out: string[] = [];
  for (const { version } of h) {
    const v = (await store.getCredential(id, { version, required: true })).value;
    out.push(String(((typeof v === 'string' ? JSON.parse(v) : v) as JsonObject).password));
  }
  return out;
}

/** `credstash rotate ID` killed with SIGKILL (with its children) after `ms`; returns whether it had ended by itself. */
async function rotateKilledAfter(p: CliProject, id: string, ms: number): Promise<void> {
  const child = spawn(process.execPath, [BIN, ...p.flags, 'rotate', id], { cwd: p.dir, env: p.env, stdio: 'ignore', detached: true });
  const closed = new Promise<void>((r) => child.on('close', () => r()));
  await Promise.race([closed, new Promise((r) => setTimeout(r, ms))]);
  try {
    process.kill(-(child.pid as number), 'SIGKILL');
  } catch {
    // already gone
  }
  await closed;
}

/**
 * Random kills, each followed by a plain `credstash rotate`: afterwards the versions are one per rotation
 * that happened (a killed run that had finished counts), and `check` holds for the store and the target.
 */
async function killRounds(p: CliProject, id: string, rounds: number, check: (store: CredentialStore) => Promise<void>): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    const store = p.open();
    try {
      const before = (await allPasswords(store, id)).length;
      await rotateKilledAfter(p, id, 150 + Math.floor(Math.random() * 500));
      const afterKill = (await allPasswords(store, id)).length;
      const st = JSON.parse((await cli(p, ['rotate', '--status', '--json'])).stdout) as Array<{ id: string; pending?: unknown }>;
      const pending = st.find((s) => s.id === id)?.pending !== undefined;
      const finishedAlone = afterKill === before + 1 && !pending;
      const again = await cli(p, ['rotate', id]);
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).toMatch(/^Rotated /);
      expect((await allPasswords(store, id)).length).toBe(before + 1 + (finishedAlone ? 1 : 0));
      await check(store);
    } finally {
      await store.close();
    }
  }
}

for (const tier of tiers) {
  describe.skipIf(!redisUp && !CI)(`credstash rotate with the redis rotator on Redis, ${tier.name}${redisSkip}`, () => {
    let admin: RedisClient;
    const users: string[] = [];
    beforeAll(async () => {
      admin = await RedisClient.connect(REDIS);
    });
    afterAll(async () => {
      if (admin === undefined) return;
      if (users.length > 0) await admin.command('ACL', 'DELUSER', ...users);
      admin.close();
    });

    async function canAuth(user: string, password: string): Promise<boolean> {
      const c = await RedisClient.connect(REDIS);
      try {
        await c.command('AUTH', user, password);
        return (await c.command('PING')) === 'PONG';
      } catch (err) {
        if (err instanceof RespError && err.code === 'WRONGPASS') return false;
        throw err;
      } finally {
        c.close();
      }
    }

    async function setup(): Promise<{ p: CliProject; user: string }> {
      const p = await tier.project();
      const user = `${run}_${users.length}`;
      users.push(user);
      const old = `old-${randomBytes(8).toString('hex')}`;
      await admin.command('ACL', 'SETUSER', user, 'on', `>${old}`, '+ping');
      await put(p, 'redis_admin', { host: REDIS.host, port: REDIS.port });
      await put(p, 'app.redis', { host: REDIS.host, port: REDIS.port, user, password: old });
      addPolicy(p, 'app.redis', 'rotator = "redis"\nadmin = "${credential:redis_admin}"');
      return { p, user };
    }

    it('a client logging in with the store\'s newest value in a loop during the rotation never fails; afterwards the old password is refused', async () => {
      const { p, user } = await setup();
      const store = p.open();
      const old = String((await newest(store, 'app.redis')).password);
      let stop = false;
      let logins = 0;
      const failures: number[] = [];
      const loop = (async () => {
        while (!stop) {
          const pw = String((await newest(store, 'app.redis')).password);
          if (await canAuth(user, pw)) logins++;
          else failures.push(logins);
        }
      })();
      const r = await cli(p, ['rotate', 'app.redis']);
      stop = true;
      await loop;
      await store.close();
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe('Rotated app.redis -- version 2 (from 1; redis, dual-password)\n');
      expect(failures).toEqual([]);
      expect(logins).toBeGreaterThan(5);
      expect(await canAuth(user, old)).toBe(false);
    });

    it('a failing test step (the credential names a wrong port; the admin reaches the server): rolled back, the old password works, no version, the error names the step and the target and no password', async () => {
      const p = await tier.project();
      const user = `${run}_${users.length}`;
      users.push(user);
      const old = `old-${randomBytes(8).toString('hex')}`;
      await admin.command('ACL', 'SETUSER', user, 'on', `>${old}`, '+ping');
      await put(p, 'redis_admin', { host: REDIS.host, port: REDIS.port });
      await put(p, 'app.redis', { host: REDIS.host, port: 1, user, password: old });
      addPolicy(p, 'app.redis', 'rotator = "redis"\nadmin = "${credential:redis_admin}"');
      const r = await cli(p, ['rotate', 'app.redis']);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`credstash: rotation of "app.redis" failed at step test on redis 127.0.0.1:1 user ${user}: connection refused; rolled back: the current password is in use again, the pending value was discarded and no version was added\n`);
      expect(r.stderr).not.toContain(old);
      expect(await canAuth(user, old)).toBe(true);
      const store = p.open();
      expect(await allPasswords(store, 'app.redis')).toEqual([old]);
      await store.close();
      const passwords = (await admin.command('ACL', 'GETUSER', user)) as unknown[];
      expect((passwords[passwords.indexOf('passwords') + 1] as string[]).length).toBe(1);
    });

    it('kill -9 at random moments, then rotate again: the newest password logs in, every older one is refused, one version per rotation', async () => {
      const { p, user } = await setup();
      await killRounds(p, 'app.redis', 4, async (store) => {
        const pws = await allPasswords(store, 'app.redis');
        expect(await canAuth(user, pws.at(-1) as string)).toBe(true);
        for (const old of pws.slice(0, -1)) expect(await canAuth(user, old)).toBe(false);
      });
    });
  });

  describe.skipIf(!pgUp && !CI)(`credstash rotate with the postgres rotator on PostgreSQL, ${tier.name}${pgSkip}`, () => {
    type PgClient = import('pg').Client;
    let admin: PgClient;
    const roles: string[] = [];
    const dbs: string[] = [];
    let seq = 0;
    beforeAll(async () => {
      const pg = (await import('pg')).default;
      admin = new pg.Client({ ...PG, database: 'postgres' });
      await admin.connect();
      await admin.query(`SET password_encryption = 'scram-sha-256'`);
    });
    afterAll(async () => {
      if (admin === undefined) return;
      for (const d of dbs) await admin.query(`DROP DATABASE IF EXISTS "${d}" WITH (FORCE)`);
      for (const r of roles.reverse()) {
        await admin.query(`DROP OWNED BY "${r}"`).catch(() => undefined);
        await admin.query(`DROP ROLE IF EXISTS "${r}"`);
      }
      await admin.end();
    });

    const role = (name: string): string => {
      const r = `${run}_${seq++}_${name}`;
      roles.push(r);
      return r;
    };

    /** Whether the SCRAM-SHA-256 verifier pg_authid holds for `name` is that of `password` (what a password login checks). */
    async function passwordIs(name: string, password: string): Promise<boolean> {
      const r = await admin.query<{ rolpassword: string | null }>('SELECT rolpassword FROM pg_authid WHERE rolname = $1', [name]);
      const m = /^SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)$/.exec(r.rows[0]?.rolpassword ?? '');
      if (m === null) return false;
      const salted = pbkdf2Sync(Buffer.from(password, 'utf8'), Buffer.from(m[2] as string, 'base64'), Number(m[1]), 32, 'sha256');
      const storedKey = createHash('sha256').update(createHmac('sha256', salted).update('Client Key').digest()).digest('base64');
      return storedKey === m[3] && createHmac('sha256', salted).update('Server Key').digest('base64') === m[4];
    }

    async function as<T>(user: string, password: string, database: string, fn: (c: PgClient) => Promise<T>): Promise<T> {
      const pg = (await import('pg')).default;
      const c = new pg.Client({ host: PG.host, port: PG.port, user, password, database });
      await c.connect();
      try {
        return await fn(c);
      } finally {
        await c.end();
      }
    }

    it('single: the new password is the one the server holds, the old one no longer matches; kill -9 at random moments keeps store and server agreeing', async () => {
      const p = await tier.project();
      const user = role('app');
      const old = `old-${randomBytes(8).toString('hex')}`;
      await admin.query(`CREATE ROLE "${user}" LOGIN PASSWORD '${old}'`);
      await put(p, 'pg_admin', { host: PG.host, port: PG.port, user: PG.user, password: 'unused-trust' });
      await put(p, 'app.pg', { host: PG.host, port: PG.port, user, password: old, database: 'postgres' });
      addPolicy(p, 'app.pg', 'rotator = "postgres"\nadmin = "${credential:pg_admin}"');
      const r = await cli(p, ['rotate', 'app.pg']);
      expect(r.code, r.stderr).toBe(0);
      const store = p.open();
      const now = await newest(store, 'app.pg');
      await store.close();
      expect(await passwordIs(user, String(now.password))).toBe(true);
      expect(await passwordIs(user, old)).toBe(false);
      expect(await as(user, String(now.password), 'postgres', async (c) => (await c.query('SELECT current_user AS u')).rows[0])).toEqual({ u: user });
      await killRounds(p, 'app.pg', 3, async (s) => {
        const pws = await allPasswords(s, 'app.pg');
        expect(await passwordIs(user, pws.at(-1) as string)).toBe(true);
        for (const o of pws.slice(0, -1)) expect(await passwordIs(user, o)).toBe(false);
      });
    });

    it('alternating: the other user gets the new password, the previous one keeps working until the next rotation; tables are shared through the owner role', async () => {
      const p = await tier.project();
      const [a, b, owner] = [role('app_a'), role('app_b'), role('owner')];
      const db = `${run}_${seq++}_db`;
      const old = `old-${randomBytes(8).toString('hex')}`;
      await admin.query(`CREATE ROLE "${owner}" NOLOGIN`);
      await admin.query(`CREATE ROLE "${a}" LOGIN PASSWORD '${old}'`);
      await admin.query(`CREATE DATABASE "${db}" OWNER "${owner}"`);
      dbs.push(db);
      await put(p, 'pg_admin', { host: PG.host, port: PG.port, user: PG.user, password: 'unused-trust' });
      await put(p, 'app.pg', { host: PG.host, port: PG.port, user: a, password: old, database: db });
      addPolicy(p, 'app.pg', `rotator = "postgres"\nstrategy = "alternating"\nadmin = "\${credential:pg_admin}"\noptions = { users = ["${a}", "${b}"], owner = "${owner}" }`);

      const first = await cli(p, ['rotate', 'app.pg']);
      expect(first.code, first.stderr).toBe(0);
      expect(first.stdout).toBe('Rotated app.pg -- version 2 (from 1; postgres, alternating)\n');
      const store = p.open();
      const v2 = await newest(store, 'app.pg');
      expect(v2.user).toBe(b);
      expect(await passwordIs(b, String(v2.password))).toBe(true);
      expect(await passwordIs(a, old)).toBe(true); // the previous credentials still work
      // a table created as the new user is usable by the previous one, and the other way round
      await as(b, String(v2.password), db, (c) => c.query('CREATE TABLE made_by_b (x int)'));
      await as(a, old, db, async (c) => {
        await c.query('INSERT INTO made_by_b VALUES (1)');
        await c.query('CREATE TABLE made_by_a (x int)');
      });
      expect(await as(b, String(v2.password), db, async (c) => {
        await c.query('INSERT INTO made_by_a VALUES (2)');
        return (await c.query('SELECT (SELECT count(*) FROM made_by_a) + (SELECT count(*) FROM made_by_b) AS n')).rows[0];
      })).toEqual({ n: '2' });

      const second = await cli(p, ['rotate', 'app.pg']);
      expect(second.code, second.stderr).toBe(0);
      const v3 = await newest(store, 'app.pg');
      await store.close();
      expect(v3.user).toBe(a);
      expect(await passwordIs(a, String(v3.password))).toBe(true);
      expect(await passwordIs(a, old)).toBe(false);
      expect(await passwordIs(b, String(v2.password))).toBe(true); // until the next rotation
    });
  });

  describe.skipIf(!myUp && !CI)(`credstash rotate with the mysql rotator on MariaDB, ${tier.name}${mySkip}`, () => {
    type Conn = import('mysql2/promise').Connection;
    let admin: Conn;
    const users: string[] = [];
    let seq = 0;
    beforeAll(async () => {
      const mysql = await import('mysql2/promise');
      admin = await mysql.createConnection({ ...MY });
    });
    afterAll(async () => {
      if (admin === undefined) return;
      for (const u of users) await admin.query('DROP USER IF EXISTS ?@?', [u, '%']);
      await admin.end();
    });
    const user = (name: string): string => {
      const u = `${run}_${seq++}_${name}`.slice(0, 60);
      users.push(u);
      return u;
    };
    async function canLogin(u: string, password: string): Promise<boolean> {
      const mysql = await import('mysql2/promise');
      try {
        await (await mysql.createConnection({ host: MY.host, port: MY.port, user: u, password })).end();
        return true;
      } catch (err) {
        if ((err as { code?: string }).code === 'ER_ACCESS_DENIED_ERROR') return false;
        throw err;
      }
    }

    it('single: the new password logs in, the old one is refused', async () => {
      const p = await tier.project();
      const u = user('app');
      const old = `old-${randomBytes(8).toString('hex')}`;
      await admin.query('CREATE USER ?@? IDENTIFIED BY ?', [u, '%', old]);
      await put(p, 'my_admin', { host: MY.host, port: MY.port, user: MY.user, password: '' });
      await put(p, 'app.my', { host: MY.host, port: MY.port, user: u, password: old });
      addPolicy(p, 'app.my', 'rotator = "mysql"\nadmin = "${credential:my_admin}"');
      const r = await cli(p, ['rotate', 'app.my']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe('Rotated app.my -- version 2 (from 1; mysql, single)\n');
      const store = p.open();
      const now = await newest(store, 'app.my');
      await store.close();
      expect(await canLogin(u, String(now.password))).toBe(true);
      expect(await canLogin(u, old)).toBe(false);
    });

    it('an admin without the privilege: exit 1 naming the step and the target, never a password; the old password works, no version, no state left', async () => {
      const p = await tier.project();
      const [u, weak] = [user('app'), user('weak')];
      const [old, weakPw] = [`old-${randomBytes(8).toString('hex')}`, `weak-${randomBytes(8).toString('hex')}`];
      await admin.query('CREATE USER ?@? IDENTIFIED BY ?', [u, '%', old]);
      await admin.query('CREATE USER ?@? IDENTIFIED BY ?', [weak, '%', weakPw]);
      await put(p, 'weak_admin', { host: MY.host, port: MY.port, user: weak, password: weakPw });
      await put(p, 'app.my', { host: MY.host, port: MY.port, user: u, password: old });
      addPolicy(p, 'app.my', 'rotator = "mysql"\nadmin = "${credential:weak_admin}"');
      const r = await cli(p, ['rotate', 'app.my']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`^credstash: rotation of "app\\.my" failed at step set on mysql 127\\.0\\.0\\.1:3306 user ${u}: .+\n$`));
      expect(r.stderr).not.toContain(old);
      expect(r.stderr).not.toContain(weakPw);
      expect(await canLogin(u, old)).toBe(true);
      const store = p.open();
      expect((await allPasswords(store, 'app.my')).length).toBe(1);
      await store.close();
      // the revert needed the same privilege, but the current password still logs in: nothing changed, nothing left
      expect(r.stderr).toContain('; nothing changed: the current password still logs in, the pending value was discarded and no version was added');
      expect((await cli(p, ['rotate', '--status', '--json'])).stdout).not.toContain('pending');
    });
  });
}
