/**
 * The postgres rotator against this machine's PostgreSQL (127.0.0.1:5432), in a database and with roles of
 * this run (unique names, dropped afterwards).
 *
 * This PostgreSQL trusts 127.0.0.1 (pg_hba.conf), so a login succeeds whatever the password: "the old
 * password is refused" is checked as a password login checks it, on the SCRAM-SHA-256 verifier the server
 * stored (pg_authid): it must be derived from the new password and not from the old one (RFC 5802/7677).
 * Logins are real connections all the same (the rotator's test step, the table checks). The refusal itself,
 * a failed login with SQLSTATE 28P01, is checked on a private scram-sha-256 server in postgres-scram.int.test.ts.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RotationStepError } from '../../../src/core/errors.js';
import { postgresRotator as rot, type RotatorInput } from '../../../src/rotation/index.js';
import { CANARY, expectNoLeak, rejectionOf } from '../../helpers/no-leak.js';
import { PG, portOpen } from '../sql/sql-servers.js';

const CI = process.env.CI === 'true';
const up = await portOpen(PG.host, PG.port);
const skip = up || CI ? '' : ' (skipped: no server on 127.0.0.1:5432)';

const run = `rot_${process.pid}_${randomBytes(4).toString('hex')}`;
const db = `credstash_${run}`;
const roles: string[] = [];
const role = (name: string): string => {
  const r = `${run}_${name}`;
  roles.push(r);
  return r;
};
const pw = (tag: string): string => `${CANARY}-${tag}-${randomBytes(6).toString('hex')}`;

type PgClient = import('pg').Client;
let admin: PgClient;

async function client(user: string, password: string, database = db): Promise<PgClient> {
  const pg = (await import('pg')).default;
  const c = new pg.Client({ host: PG.host, port: PG.port, user, password, database });
  await c.connect();
  return c;
}

async function as<T>(user: string, password: string, fn: (c: PgClient) => Promise<T>): Promise<T> {
  const c = await client(user, password);
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Whether the verifier pg_authid holds for `name` is the SCRAM-SHA-256 one of `password` (what a password login checks). */
async function passwordIs(name: string, password: string): Promise<boolean> {
  const r = await admin.query<{ rolpassword: string | null }>('SELECT rolpassword FROM pg_authid WHERE rolname = $1', [name]);
  const m = /^SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)$/.exec(r.rows[0]?.rolpassword ?? '');
  if (m === null) return false;
  const salted = pbkdf2Sync(Buffer.from(password, 'utf8'), Buffer.from(m[2] as string, 'base64'), Number(m[1]), 32, 'sha256');
  const storedKey = createHash('sha256').update(createHmac('sha256', salted).update('Client Key').digest()).digest('base64');
  const serverKey = createHmac('sha256', salted).update('Server Key').digest('base64');
  return storedKey === m[3] && serverKey === m[4];
}

const adminValue = { host: PG.host, port: PG.port, user: PG.user, password: 'unused-trust' };
const valueOf = (user: string, password: string): RotatorInput['current'] => ({ host: PG.host, port: PG.port, user, password, database: db });

describe.skipIf(!up && !CI)(`postgres rotator on PostgreSQL${skip}`, () => {
  beforeAll(async () => {
    const pg = (await import('pg')).default;
    admin = new pg.Client({ ...PG, database: 'postgres' });
    await admin.connect();
    await admin.query(`SET password_encryption = 'scram-sha-256'`);
    await admin.query(`CREATE DATABASE ${db}`);
  });
  afterAll(async () => {
    if (admin === undefined) return;
    await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    for (const r of roles.reverse()) await admin.query(`DROP ROLE IF EXISTS "${r}"`);
    await admin.end();
  });

  async function loginRole(name: string, password: string, extra = ''): Promise<void> {
    await admin.query(`CREATE ROLE "${name}" LOGIN PASSWORD '${password}' ${extra}`);
    await admin.query(`GRANT ALL ON DATABASE ${db} TO "${name}"`);
  }

  it('single, as the admin: after set and test the new password is the one stored and logs in; the old one no longer matches; revert restores it', async () => {
    const user = role('single');
    const [oldPw, newPw] = [pw('old'), pw('new')];
    await loginRole(user, oldPw);
    const input: RotatorInput = { current: valueOf(user, oldPw), admin: adminValue, strategy: 'single', options: {}, credentialId: 'app.db' };
    const pending = rot.pending(input, newPw);
    expect(pending).toEqual({ ...input.current, password: newPw });
    await rot.set(input, pending);
    await rot.set(input, pending); // run again after a crash: the same end state
    await rot.test(input, pending);
    expect(await passwordIs(user, newPw)).toBe(true);
    expect(await passwordIs(user, oldPw)).toBe(false);
    await rot.revert(input, pending);
    await rot.revert(input, pending);
    expect(await passwordIs(user, oldPw)).toBe(true);
    expect(await passwordIs(user, newPw)).toBe(false);
  });

  it('single, without an admin: the user changes its own password (no CREATEROLE), and revert changes it back', async () => {
    const user = role('self');
    const [oldPw, newPw] = [pw('old'), pw('new')];
    await loginRole(user, oldPw);
    const input: RotatorInput = { current: valueOf(user, oldPw), strategy: 'single', options: {} };
    const pending = rot.pending(input, newPw);
    await rot.set(input, pending);
    await rot.test(input, pending);
    expect(await passwordIs(user, newPw)).toBe(true);
    await rot.revert(input, pending);
    expect(await passwordIs(user, oldPw)).toBe(true);
  });

  it('the password never appears in a statement: the server saw only its SCRAM verifier (pg_stat_activity and the stored verifier checked)', async () => {
    const user = role('stmt');
    const [oldPw, newPw] = [pw('old'), pw('new')];
    await loginRole(user, oldPw);
    const input: RotatorInput = { current: valueOf(user, oldPw), admin: adminValue, strategy: 'single', options: {} };
    await rot.set(input, rot.pending(input, newPw));
    const r = await admin.query<{ rolpassword: string }>('SELECT rolpassword FROM pg_authid WHERE rolname = $1', [user]);
    expect(r.rows[0]?.rolpassword).toMatch(/^SCRAM-SHA-256\$4096:/);
    const seen = await admin.query<{ q: string }>("SELECT query AS q FROM pg_stat_activity WHERE application_name = 'credstash-rotate'");
    expectNoLeak(seen.rows, newPw);
  });

  it('a password with quotes, backslashes and non-ASCII letters is stored exactly (the server hashes what SASLprep cannot be done locally for)', async () => {
    const user = role('odd');
    const oldPw = pw('old');
    await loginRole(user, oldPw);
    for (const newPw of [`${CANARY}'q"\\b\\\\'`, `${CANARY}-pässwörd-\\'`]) {
      const input: RotatorInput = { current: valueOf(user, oldPw), admin: adminValue, strategy: 'single', options: {} };
      await rot.set(input, rot.pending(input, newPw));
      expect(await passwordIs(user, newPw)).toBe(true);
      await rot.test(input, rot.pending(input, newPw));
    }
  });

  it('alternating: the other user is created like the current one (memberships, settings) and gets the password; the current user keeps working; tables either creates are owned by the owner role and usable by both; revert disables the new user', async () => {
    const owner = role('owner');
    const extra = role('readers');
    const a = role('a');
    const b = role('b');
    await admin.query(`CREATE ROLE "${owner}" NOLOGIN`);
    await admin.query(`CREATE ROLE "${extra}" NOLOGIN`);
    await admin.query(`GRANT ALL ON DATABASE ${db} TO "${owner}"`);
    const c = await client(PG.user, 'x');
    await c.query(`GRANT ALL ON SCHEMA public TO "${owner}"`);
    await c.end();
    const aPw = pw('a');
    await loginRole(a, aPw);
    await admin.query(`GRANT "${extra}" TO "${a}"`);
    await admin.query(`ALTER ROLE "${a}" SET statement_timeout TO '7s'`);
    const input: RotatorInput = { current: valueOf(a, aPw), admin: adminValue, strategy: 'alternating', options: { users: [a, b], owner }, credentialId: 'app.db' };
    const bPw = pw('b');
    const pending = rot.pending(input, bPw);
    expect(pending).toEqual({ ...input.current, user: b, password: bPw });
    await rot.set(input, pending);
    await rot.set(input, pending);
    await rot.test(input, pending);
    expect(await passwordIs(b, bPw)).toBe(true);
    expect(await passwordIs(a, aPw)).toBe(true); // the current user is untouched
    const members = await admin.query<{ r: string }>(
      'SELECT r.rolname AS r FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid WHERE m.member = (SELECT oid FROM pg_roles WHERE rolname = $1) ORDER BY 1',
      [b],
    );
    expect(members.rows.map((x) => x.r).sort()).toEqual([extra, owner].sort());
    await as(b, bPw, async (cb) => {
      expect((await cb.query<{ statement_timeout: string }>('SHOW statement_timeout')).rows[0]?.statement_timeout).toBe('7s');
      expect((await cb.query<{ u: string; s: string }>('SELECT current_user AS u, session_user AS s')).rows[0]).toEqual({ u: owner, s: b });
      await cb.query('CREATE TABLE by_b (id int PRIMARY KEY, v text)');
      await cb.query("INSERT INTO by_b VALUES (1, 'b')");
    });
    await as(a, aPw, async (ca) => {
      expect((await ca.query<{ v: string }>('SELECT v FROM by_b WHERE id = 1')).rows[0]?.v).toBe('b');
      await ca.query("UPDATE by_b SET v = 'a' WHERE id = 1");
      await ca.query('CREATE TABLE by_a (id int)');
      await ca.query('INSERT INTO by_a VALUES (1)');
    });
    await as(b, bPw, async (cb) => {
      expect((await cb.query<{ v: string }>('SELECT v FROM by_b WHERE id = 1')).rows[0]?.v).toBe('a');
      await cb.query('INSERT INTO by_a VALUES (2)');
      await cb.query('ALTER TABLE by_a ADD COLUMN w int'); // owner-level rights too
    });
    await as(PG.user, 'x', async (cd) => {
      const o = await cd.query<{ o: string }>(`SELECT DISTINCT tableowner AS o FROM pg_tables WHERE tablename IN ('by_a', 'by_b')`);
      expect(o.rows).toEqual([{ o: owner }]);
    });
    await rot.revert(input, pending);
    await rot.revert(input, pending);
    const r = await admin.query<{ p: string | null }>('SELECT rolpassword AS p FROM pg_authid WHERE rolname = $1', [b]);
    expect(r.rows[0]?.p).toBeNull(); // password logins refused
    expect(await passwordIs(a, aPw)).toBe(true);
  });

  it('alternating without an existing owner role fails at set naming the step and the target, and changes nothing', async () => {
    const a = role('lone');
    const aPw = pw('a');
    await loginRole(a, aPw);
    const input: RotatorInput = { current: valueOf(a, aPw), admin: adminValue, strategy: 'alternating', options: { owner: role('no_owner') } };
    const newPw = pw('new');
    const err = await rejectionOf(rot.set(input, rot.pending(input, newPw)));
    expect(err).toBeInstanceOf(RotationStepError);
    expect(err.message).toMatch(new RegExp(`^rotation failed at step set on postgres 127\\.0\\.0\\.1:5432 user ${a}_clone: the owner role "${run}_no_owner" does not exist`));
    expect((await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [`${a}_clone`])).rowCount).toBe(0);
    expectNoLeak(err, newPw, aPw);
  });

  it('alternating set is all or nothing: when a GRANT is refused after the new user was created, the new user is not left behind', async () => {
    const owner = role('owner2');
    const superish = role('super_member');
    const weak = role('creatrole_admin');
    const a = role('a2');
    await admin.query(`CREATE ROLE "${owner}" NOLOGIN`);
    await admin.query(`CREATE ROLE "${superish}" NOLOGIN SUPERUSER`);
    await admin.query(`CREATE ROLE "${weak}" LOGIN CREATEROLE`);
    role('a2_clone'); // dropped afterwards, should the test fail and leave it
    const aPw = pw('a');
    await loginRole(a, aPw);
    await admin.query(`GRANT "${superish}" TO "${a}"`); // only a superuser may grant this one
    const input: RotatorInput = { current: valueOf(a, aPw), admin: { ...adminValue, user: weak }, strategy: 'alternating', options: { owner }, credentialId: 'app.db' };
    const newPw = pw('new');
    const err = await rejectionOf(rot.set(input, rot.pending(input, newPw)));
    expect(err).toBeInstanceOf(RotationStepError);
    expect(err.message).toMatch(/failed at step set on postgres .* user .*_a2_clone: permission denied/);
    expectNoLeak(err, newPw, aPw);
    expect((await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [`${a}_clone`])).rowCount).toBe(0);
  });

  it('a test that cannot log in (wrong host) is a RotationStepError naming the step and the target, with no password anywhere', async () => {
    const user = role('wronghost');
    const [oldPw, newPw] = [pw('old'), pw('new')];
    await loginRole(user, oldPw);
    const input: RotatorInput = { current: valueOf(user, oldPw), admin: adminValue, strategy: 'single', options: {}, credentialId: 'app.db' };
    const err = await rejectionOf(rot.test(input, { ...rot.pending(input, newPw), port: 1 }));
    expect(err).toBeInstanceOf(RotationStepError);
    expect(err.message).toBe(`rotation of "app.db" failed at step test on postgres 127.0.0.1:1 user ${user}: connection refused`);
    expect(err).toMatchObject({ step: 'test', target: `postgres 127.0.0.1:1 user ${user}`, credentialId: 'app.db' });
    expect(err.cause).toBeUndefined();
    expectNoLeak(err, newPw, oldPw);
  });

  it('an admin without CREATEROLE fails at set with a permission error naming the step and the target, with no password anywhere', async () => {
    const user = role('victim');
    const weak = role('weak_admin');
    const [oldPw, newPw, weakPw] = [pw('old'), pw('new'), pw('weak')];
    await loginRole(user, oldPw);
    await loginRole(weak, weakPw);
    const input: RotatorInput = { current: valueOf(user, oldPw), admin: { ...adminValue, user: weak, password: weakPw }, strategy: 'single', options: {}, credentialId: 'app.db' };
    const err = await rejectionOf(rot.set(input, rot.pending(input, newPw)));
    expect(err).toBeInstanceOf(RotationStepError);
    expect(err.message).toMatch(new RegExp(`^rotation of "app\\.db" failed at step set on postgres 127\\.0\\.0\\.1:5432 user ${user}: permission denied .*\\(42501\\)$`));
    expectNoLeak(err, newPw, oldPw, weakPw);
    expect(await passwordIs(user, oldPw)).toBe(true);
  });
});
