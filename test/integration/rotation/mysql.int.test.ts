/**
 * The mysql rotator against this machine's MariaDB (127.0.0.1:3306), in a database and with users and roles
 * of this run (unique names, dropped afterwards). MariaDB checks passwords on 127.0.0.1, so "the old password
 * is refused" is a real login that fails.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RotationStepError } from '../../../src/core/errors.js';
import { mysqlRotator as rot, type RotatorInput } from '../../../src/rotation/index.js';
import { CANARY, expectNoLeak, rejectionOf } from '../../helpers/no-leak.js';
import { MY, portOpen } from '../sql/sql-servers.js';

const CI = process.env.CI === 'true';
const up = await portOpen(MY.host, MY.port);
const skip = up || CI ? '' : ' (skipped: no server on 127.0.0.1:3306)';

const run = `r${randomBytes(4).toString('hex')}`;
const db = `credstash_rot_${run}`;
const users: string[] = [];
const rolesMade: string[] = [];
const user = (name: string): string => {
  const u = `${run}_${name}`;
  users.push(u);
  return u;
};
// a quote and a backslash in every password: the literal quoting is exercised on each statement
const pw = (tag: string): string => `${CANARY}-${tag}-'\\-${randomBytes(6).toString('hex')}`;

type Conn = import('mysql2/promise').Connection;
let admin: Conn;

async function login(u: string, password: string): Promise<Conn> {
  const mysql = await import('mysql2/promise');
  return mysql.createConnection({ host: MY.host, port: MY.port, user: u, password, database: db });
}

async function canLogin(u: string, password: string): Promise<boolean> {
  try {
    await (await login(u, password)).end();
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === 'ER_ACCESS_DENIED_ERROR') return false;
    throw err;
  }
}

const adminValue = { host: MY.host, port: MY.port, user: MY.user, password: '' };
const valueOf = (u: string, password: string): RotatorInput['current'] => ({ host: MY.host, port: MY.port, user: u, password, database: db });

describe.skipIf(!up && !CI)(`mysql rotator on MariaDB${skip}`, () => {
  beforeAll(async () => {
    const mysql = await import('mysql2/promise');
    admin = await mysql.createConnection({ ...MY });
    await admin.query(`CREATE DATABASE ${db}`);
  });
  afterAll(async () => {
    if (admin === undefined) return;
    await admin.query(`DROP DATABASE IF EXISTS ${db}`);
    for (const u of users) await admin.query('DROP USER IF EXISTS ?@?', [u, '%']);
    for (const r of rolesMade) await admin.query(`DROP ROLE IF EXISTS ${r}`);
    await admin.end();
  });

  async function appUser(u: string, password: string): Promise<void> {
    await admin.query('CREATE USER ?@? IDENTIFIED BY ?', [u, '%', password]);
    await admin.query(`GRANT ALL ON ${db}.* TO ?@?`, [u, '%']);
  }

  it('single, as the admin: after set and test the new password logs in and the old one is refused; revert restores the old one', async () => {
    const u = user('single');
    const [oldPw, newPw] = [pw('old'), pw('new')];
    await appUser(u, oldPw);
    const input: RotatorInput = { current: valueOf(u, oldPw), admin: adminValue, strategy: 'single', options: {}, credentialId: 'app.db' };
    const pending = rot.pending(input, newPw);
    await rot.set(input, pending);
    await rot.set(input, pending); // again, as after a crash
    await rot.test(input, pending);
    expect(await canLogin(u, newPw)).toBe(true);
    expect(await canLogin(u, oldPw)).toBe(false);
    await rot.revert(input, pending);
    await rot.revert(input, pending);
    expect(await canLogin(u, oldPw)).toBe(true);
    expect(await canLogin(u, newPw)).toBe(false);
  });

  it('single, without an admin: the user changes its own password; set and revert run twice (a crash after the change) still end right', async () => {
    const u = user('self');
    const [oldPw, newPw] = [pw('old'), pw('new')];
    await appUser(u, oldPw);
    const input: RotatorInput = { current: valueOf(u, oldPw), strategy: 'single', options: {} };
    const pending = rot.pending(input, newPw);
    await rot.set(input, pending);
    await rot.set(input, pending); // the current password is refused now: the step sees the change is made
    await rot.test(input, pending);
    expect(await canLogin(u, oldPw)).toBe(false);
    await rot.revert(input, pending);
    await rot.revert(input, pending);
    expect(await canLogin(u, oldPw)).toBe(true);
    expect(await canLogin(u, newPw)).toBe(false);
  });

  it('alternating: the other user is created with the password and the owner role as default role; the current user keeps working; a table created by either is readable and writable by the other; revert locks the new user out', async () => {
    const owner = `${run}_owner`;
    rolesMade.push(owner);
    await admin.query(`CREATE ROLE ${owner}`);
    await admin.query(`GRANT ALL ON ${db}.* TO ${owner}`);
    const a = user('a');
    const b = user('b');
    const aPw = pw('a');
    await admin.query('CREATE USER ?@? IDENTIFIED BY ?', [a, '%', aPw]); // no direct grants: only the role's
    const input: RotatorInput = { current: valueOf(a, aPw), admin: adminValue, strategy: 'alternating', options: { users: [a, b], owner }, credentialId: 'app.db' };
    const bPw = pw('b');
    const pending = rot.pending(input, bPw);
    expect(pending).toMatchObject({ user: b, password: bPw });
    await rot.set(input, pending);
    await rot.set(input, pending);
    await rot.test(input, pending);
    expect(await canLogin(a, aPw)).toBe(true);
    const cb = await login(b, bPw);
    await cb.query('CREATE TABLE by_b (id int PRIMARY KEY, v text)');
    await cb.query("INSERT INTO by_b VALUES (1, 'b')");
    const ca = await login(a, aPw);
    const [rows] = await ca.query('SELECT v FROM by_b WHERE id = 1');
    expect(rows).toEqual([{ v: 'b' }]);
    await ca.query("UPDATE by_b SET v = 'a' WHERE id = 1");
    await ca.query('CREATE TABLE by_a (id int)');
    await cb.query('INSERT INTO by_a VALUES (2)');
    const [rows2] = await cb.query('SELECT v FROM by_b WHERE id = 1');
    expect(rows2).toEqual([{ v: 'a' }]);
    await ca.end();
    await cb.end();
    await rot.revert(input, pending);
    await rot.revert(input, pending);
    expect(await canLogin(b, bPw)).toBe(false);
    expect(await canLogin(a, aPw)).toBe(true);
    // a revert of a rotation whose set never created the other user is a no-op
    const c = user('c');
    await rot.revert({ ...input, options: { users: [a, c], owner } }, { ...pending, user: c });
    const [none] = await admin.query('SELECT COUNT(*) AS n FROM mysql.user WHERE User = ?', [c]);
    expect(none).toEqual([{ n: 0 }]);
  });

  it('a test that cannot log in (wrong port) is a RotationStepError naming the step and the target, with no password anywhere', async () => {
    const u = user('wronghost');
    const [oldPw, newPw] = [pw('old'), pw('new')];
    await appUser(u, oldPw);
    const input: RotatorInput = { current: valueOf(u, oldPw), admin: adminValue, strategy: 'single', options: {}, credentialId: 'app.db' };
    const err = await rejectionOf(rot.test(input, { ...rot.pending(input, newPw), port: 1 }));
    expect(err).toBeInstanceOf(RotationStepError);
    expect(err.message).toBe(`rotation of "app.db" failed at step test on mysql 127.0.0.1:1 user ${u}: connection refused`);
    expectNoLeak(err, newPw, oldPw);
  });

  it('a wrong pending password at test is an authentication failure naming the step and the user, with no password anywhere', async () => {
    const u = user('wrongpw');
    const [oldPw, newPw] = [pw('old'), pw('new')];
    await appUser(u, oldPw);
    const input: RotatorInput = { current: valueOf(u, oldPw), strategy: 'single', options: {} };
    const err = await rejectionOf(rot.test(input, rot.pending(input, newPw))); // never set
    expect(err.message).toBe(`rotation failed at step test on mysql 127.0.0.1:3306 user ${u}: access denied (wrong user or password) (ER_ACCESS_DENIED_ERROR)`);
    expectNoLeak(err, newPw, oldPw);
  });

  it('an admin without the privilege to change users fails at set naming the step and the target; the server error (which quotes the statement) is not passed on', async () => {
    const u = user('victim');
    const weak = user('weak');
    const [oldPw, newPw, weakPw] = [pw('old'), pw('new'), pw('weak')];
    await appUser(u, oldPw);
    await appUser(weak, weakPw);
    const input: RotatorInput = { current: valueOf(u, oldPw), admin: { ...adminValue, user: weak, password: weakPw }, strategy: 'single', options: {}, credentialId: 'app.db' };
    const err = await rejectionOf(rot.set(input, rot.pending(input, newPw)));
    expect(err).toBeInstanceOf(RotationStepError);
    expect(err.message).toMatch(new RegExp(`^rotation of "app\\.db" failed at step set on mysql 127\\.0\\.0\\.1:3306 user ${u}: (permission denied|the user operation failed)`));
    expect(err.cause).toBeUndefined();
    expectNoLeak(err, newPw, oldPw, weakPw);
    expect(await canLogin(u, oldPw)).toBe(true);
  });
});
