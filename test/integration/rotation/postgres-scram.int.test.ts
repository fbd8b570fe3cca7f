/**
 * The postgres rotator against a private PostgreSQL 15 of this test file (test/helpers/pg-scram-server.ts)
 * whose 127.0.0.1 logins are checked with SCRAM-SHA-256, so "the old password is refused" is a real failed
 * login (SQLSTATE 28P01), not a look at the stored verifier as on the machine's trusting server:
 *
 * - single, with the rotator's steps (as the admin, and as the user itself): the new password logs in, the
 *   old one is refused; revert brings the old one back and the new one is refused;
 * - single through the engine (rotateCredential on a local keystore, the admin a `${credential:...}`
 *   reference): after each rotation only the newest stored password logs in;
 * - alternating through the engine: the user rotated away from keeps its password until the next rotation,
 *   which changes that user's password, so the older one is refused.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../../src/core/types.js';
import { generateFernetKey } from '../../../src/crypto/fernet.js';
import { postgresRotator as rot, type RotatorInput } from '../../../src/rotation/index.js';
import { rotateCredential } from '../../../src/rotation/engine.js';
import { LocalStore } from '../../../src/stores/local/index.js';
import { CANARY } from '../../helpers/no-leak.js';
import { pgScramUnavailable, startPgScramServer, type PgScramServer } from '../../helpers/pg-scram-server.js';

const CI = process.env.CI === 'true';
const unavailable = pgScramUnavailable();
const skip = unavailable === undefined || CI ? '' : ` (skipped: ${unavailable})`;
const db = 'app';
let seq = 0;
const pw = (tag: string): string => `${CANARY}-${tag}-${randomBytes(6).toString('hex')}`;
const roleName = (tag: string): string => `${tag}_${++seq}`;

type PgClient = import('pg').Client;

describe.skipIf(unavailable !== undefined && !CI)(`postgres rotator on a private PostgreSQL 15 with scram-sha-256 logins${skip}`, () => {
  let server: PgScramServer;
  let admin: PgClient;
  let dir: string;

  beforeAll(async () => {
    server = await startPgScramServer();
    const pg = (await import('pg')).default;
    admin = new pg.Client({ host: server.host, port: server.port, user: server.user, password: server.password, database: 'postgres' });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${db}`);
    dir = mkdtempSync(join(tmpdir(), 'credstash-pgscram-store-'));
    chmodSync(dir, 0o700);
  });
  afterAll(async () => {
    try {
      await admin?.end();
    } finally {
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
      await server?.stop();
    }
  });

  /** undefined when `user` logs in with `password` (and is that session user), else the SQLSTATE (or message) of the failure. */
  async function login(user: string, password: string): Promise<string | undefined> {
    const pg = (await import('pg')).default;
    const c = new pg.Client({ host: server.host, port: server.port, user, password, database: db });
    try {
      await c.connect();
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      return typeof code === 'string' ? code : String(err);
    }
    try {
      const r = await c.query<{ u: string }>('SELECT session_user AS u');
      return r.rows[0]?.u === user ? undefined : `logged in as ${String(r.rows[0]?.u)}`;
    } finally {
      await c.end();
    }
  }

  async function loginRole(name: string, password: string): Promise<void> {
    await admin.query(`CREATE ROLE "${name}" LOGIN PASSWORD '${password}'`);
    await admin.query(`GRANT ALL ON DATABASE ${db} TO "${name}"`);
  }

  const adminValue = (): JsonObject => ({ host: server.host, port: server.port, user: server.user, password: server.password });
  const valueOf = (user: string, password: string): JsonObject => ({ host: server.host, port: server.port, user, password, database: db });

  it('the server really checks passwords: the right one logs in, a wrong one is refused with 28P01', async () => {
    const user = roleName('probe');
    const p = pw('probe');
    await loginRole(user, p);
    expect(await login(user, p)).toBeUndefined();
    expect(await login(user, `${p}x`)).toBe('28P01');
  });

  it('single, as the admin: after set and test the new password logs in and the old one is refused (28P01); revert: the old one logs in, the new one is refused', async () => {
    const user = roleName('single');
    const [oldPw, newPw] = [pw('old'), pw('new')];
    await loginRole(user, oldPw);
    const input: RotatorInput = { current: valueOf(user, oldPw), admin: adminValue(), strategy: 'single', options: {}, credentialId: 'app.db' };
    const pending = rot.pending(input, newPw);
    await rot.set(input, pending);
    expect(await login(user, oldPw)).toBe('28P01');
    expect(await login(user, newPw)).toBeUndefined();
    await rot.test(input, pending);
    await rot.revert(input, pending);
    expect(await login(user, oldPw)).toBeUndefined();
    expect(await login(user, newPw)).toBe('28P01');
  });

  it('single, without an admin (the user changes its own password): the new password logs in, the old one is refused (28P01); a second set (a rerun after a crash) logs in with the new one', async () => {
    const user = roleName('self');
    const [oldPw, newPw] = [pw('old'), pw('new')];
    await loginRole(user, oldPw);
    const input: RotatorInput = { current: valueOf(user, oldPw), strategy: 'single', options: {}, credentialId: 'app.db' };
    const pending = rot.pending(input, newPw);
    await rot.set(input, pending);
    await rot.set(input, pending); // the old password is refused now: the rotator finds the new one already set
    await rot.test(input, pending);
    expect(await login(user, newPw)).toBeUndefined();
    expect(await login(user, oldPw)).toBe('28P01');
  });

  it('single through the engine on a local keystore: after each of two rotations only the newest stored password logs in, every older one is refused (28P01)', async () => {
    const user = roleName('engine');
    const oldPw = pw('old');
    await loginRole(user, oldPw);
    const store = new LocalStore({ path: join(dir, `single-${seq}`, 'keystore.json'), fernetKeys: [generateFernetKey()] });
    try {
      await store.storeCredential('pg_admin', adminValue(), {});
      await store.storeCredential('app.pg', valueOf(user, oldPw), {});
      const policy = { rotator: 'postgres', admin: '${credential:pg_admin}' };
      const passwords = [oldPw];
      for (const version of ['2', '3']) {
        expect(await rotateCredential(store, 'app.pg', policy)).toMatchObject({ outcome: 'rotated', version });
        const now = (await store.getCredential('app.pg', { required: true })).value as JsonObject;
        expect(now.user).toBe(user);
        const newest = String(now.password);
        expect(passwords).not.toContain(newest);
        expect(await login(user, newest)).toBeUndefined();
        for (const older of passwords) expect(await login(user, older)).toBe('28P01');
        passwords.push(newest);
      }
    } finally {
      await store.close();
    }
  });

  it('alternating through the engine on a local keystore: the user rotated away from still logs in until the next rotation, which refuses its older password (28P01)', async () => {
    const owner = roleName('owner');
    const [a, b] = [roleName('alt_a'), roleName('alt_b')];
    await admin.query(`CREATE ROLE "${owner}" NOLOGIN`);
    await admin.query(`GRANT ALL ON DATABASE ${db} TO "${owner}"`);
    const aPw = pw('a');
    await loginRole(a, aPw);
    const store = new LocalStore({ path: join(dir, `alt-${seq}`, 'keystore.json'), fernetKeys: [generateFernetKey()] });
    try {
      await store.storeCredential('pg_admin', adminValue(), {});
      await store.storeCredential('app.pg', valueOf(a, aPw), {});
      const policy = { rotator: 'postgres', strategy: 'alternating' as const, admin: '${credential:pg_admin}', options: { users: [a, b], owner } };
      const newest = async (): Promise<{ user: string; password: string }> => {
        const v = (await store.getCredential('app.pg', { required: true })).value as JsonObject;
        return { user: String(v.user), password: String(v.password) };
      };

      expect(await rotateCredential(store, 'app.pg', policy)).toMatchObject({ outcome: 'rotated', version: '2' });
      const v2 = await newest();
      expect(v2.user).toBe(b);
      expect(await login(b, v2.password)).toBeUndefined();
      expect(await login(a, aPw)).toBeUndefined(); // the previous user keeps working until the next rotation

      expect(await rotateCredential(store, 'app.pg', policy)).toMatchObject({ outcome: 'rotated', version: '3' });
      const v3 = await newest();
      expect(v3.user).toBe(a);
      expect(v3.password).not.toBe(aPw);
      expect(await login(a, v3.password)).toBeUndefined();
      expect(await login(a, aPw)).toBe('28P01'); // the one rotated away from two rotations ago
      expect(await login(b, v2.password)).toBeUndefined();

      expect(await rotateCredential(store, 'app.pg', policy)).toMatchObject({ outcome: 'rotated', version: '4' });
      const v4 = await newest();
      expect(v4.user).toBe(b);
      expect(await login(b, v4.password)).toBeUndefined();
      expect(await login(b, v2.password)).toBe('28P01');
      expect(await login(a, v3.password)).toBeUndefined();
    } finally {
      await store.close();
    }
  });
});
