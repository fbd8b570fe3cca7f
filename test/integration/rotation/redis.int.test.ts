/**
 * The redis rotator against this machine's Redis (127.0.0.1:6379), with ACL users of a prefix unique to this
 * run, deleted afterwards. The admin is the `default` user (no password on this machine).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect, type AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RotationStepError } from '../../../src/core/errors.js';
import { redisRotator as rot, type RotatorInput } from '../../../src/rotation/index.js';
import { RedisClient, RespError } from '../../../src/rotation/redis-client.js';
import { CANARY, expectNoLeak, rejectionOf } from '../../helpers/no-leak.js';
import { portOpen } from '../sql/sql-servers.js';

const CI = process.env.CI === 'true';
const REDIS = { host: '127.0.0.1', port: 6379 } as const;
const up = await portOpen(REDIS.host, REDIS.port);
const skip = up || CI ? '' : ' (skipped: no server on 127.0.0.1:6379)';

const prefix = `credstash_rot_${process.pid}_${randomBytes(4).toString('hex')}_`;
const pw = (tag: string): string => `${CANARY}-${tag}-${randomBytes(6).toString('hex')}`;
let admin: RedisClient;
let n = 0;

async function newUser(password: string, ...rules: string[]): Promise<string> {
  const u = `${prefix}${n++}`;
  await admin.command('ACL', 'SETUSER', u, 'on', `>${password}`, '+ping', ...rules);
  return u;
}

/** AUTH as the user on a new connection: true, or false on WRONGPASS. */
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

const valueOf = (user: string, password: string): RotatorInput['current'] => ({ host: REDIS.host, port: REDIS.port, user, password });
const adminValue = { host: REDIS.host, port: REDIS.port };

describe.skipIf(!up && !CI)(`redis rotator on Redis${skip}`, () => {
  beforeAll(async () => {
    admin = await RedisClient.connect(REDIS);
  });
  afterAll(async () => {
    if (admin === undefined) return;
    const list = (await admin.command('ACL', 'USERS')) as string[];
    const ours = list.filter((u) => u.startsWith(prefix));
    if (ours.length > 0) await admin.command('ACL', 'DELUSER', ...ours);
    admin.close();
  });

  it('dual-password: a client logging in in a loop with the password in use never fails during set -> test -> finish; after finish the old password is refused', async () => {
    const [oldPw, newPw] = [pw('old'), pw('new')];
    const user = await newUser(oldPw);
    const input: RotatorInput = { current: valueOf(user, oldPw), admin: adminValue, strategy: 'dual-password', options: {}, credentialId: 'app.redis' };
    const pending = rot.pending(input, newPw);
    let inUse = oldPw; // what the store says is current: switched once test has passed
    let stop = false;
    let logins = 0;
    const failures: string[] = [];
    const loop = (async () => {
      while (!stop) {
        const p = inUse;
        if (await canAuth(user, p)) logins++;
        else failures.push(p === oldPw ? 'old' : 'new');
      }
    })();
    const until = async (k: number): Promise<void> => {
      const target = logins + k;
      while (logins < target && failures.length === 0) await new Promise((r) => setTimeout(r, 1));
    };
    await until(5);
    await rot.set(input, pending);
    expect(await canAuth(user, oldPw)).toBe(true); // both valid between set and finish
    expect(await canAuth(user, newPw)).toBe(true);
    await until(5);
    await rot.test(input, pending);
    inUse = newPw; // the engine stores pending as current
    await until(5);
    await rot.finish?.(input, pending);
    await until(5);
    stop = true;
    await loop;
    expect(failures).toEqual([]);
    expect(logins).toBeGreaterThanOrEqual(20);
    expect(await canAuth(user, oldPw)).toBe(false);
    expect(await canAuth(user, newPw)).toBe(true);
    await rot.finish?.(input, pending); // again, as after a crash: nothing more to do, no error
    expect(await canAuth(user, newPw)).toBe(true);
  });

  it('the password is added and removed by its SHA-256: the user ends with exactly the new hash; set run twice adds it once', async () => {
    const [oldPw, newPw] = [pw('old'), pw('new')];
    const user = await newUser(oldPw);
    const input: RotatorInput = { current: valueOf(user, oldPw), admin: adminValue, strategy: 'dual-password', options: {} };
    const pending = rot.pending(input, newPw);
    await rot.set(input, pending);
    await rot.set(input, pending);
    const passwords = async (): Promise<number> => {
      const r = (await admin.command('ACL', 'GETUSER', user)) as unknown[];
      return (r[r.indexOf('passwords') + 1] as string[]).length;
    };
    expect(await passwords()).toBe(2);
    await rot.finish?.(input, pending);
    expect(await passwords()).toBe(1);
  });

  it('revert after set: the new password is refused and the old one works; revert after finish brings the old one back', async () => {
    const [oldPw, newPw] = [pw('old'), pw('new')];
    const user = await newUser(oldPw);
    const input: RotatorInput = { current: valueOf(user, oldPw), admin: adminValue, strategy: 'dual-password', options: {} };
    const pending = rot.pending(input, newPw);
    await rot.set(input, pending);
    await rot.revert(input, pending);
    await rot.revert(input, pending);
    expect(await canAuth(user, oldPw)).toBe(true);
    expect(await canAuth(user, newPw)).toBe(false);
    await rot.set(input, pending);
    await rot.finish?.(input, pending);
    await rot.revert(input, pending);
    expect(await canAuth(user, oldPw)).toBe(true);
    expect(await canAuth(user, newPw)).toBe(false);
  });

  it('without an admin the user rotates itself (it may run ACL SETUSER and GETUSER), logging in with whichever of its passwords works', async () => {
    const [oldPw, newPw] = [pw('old'), pw('new')];
    const user = await newUser(oldPw, '+acl|setuser', '+acl|getuser');
    const input: RotatorInput = { current: valueOf(user, oldPw), strategy: 'dual-password', options: {} };
    const pending = rot.pending(input, newPw);
    await rot.set(input, pending);
    await rot.test(input, pending);
    await rot.finish?.(input, pending);
    await rot.finish?.(input, pending); // the old password is gone now: the step logs in with the new one
    expect(await canAuth(user, oldPw)).toBe(false);
    expect(await canAuth(user, newPw)).toBe(true);
  });

  it('an admin without ACL permission fails at set naming the step and the target, with no password anywhere; nothing changed', async () => {
    const [oldPw, newPw, weakPw] = [pw('old'), pw('new'), pw('weak')];
    const user = await newUser(oldPw);
    const weak = await newUser(weakPw);
    const input: RotatorInput = { current: valueOf(user, oldPw), admin: { ...adminValue, user: weak, password: weakPw }, strategy: 'dual-password', options: {}, credentialId: 'app.redis' };
    const err = await rejectionOf(rot.set(input, rot.pending(input, newPw)));
    expect(err).toBeInstanceOf(RotationStepError);
    expect(err.message).toBe(`rotation of "app.redis" failed at step set on redis 127.0.0.1:6379 user ${user}: permission denied (the admin needs +acl|setuser and +acl|getuser) (NOPERM)`);
    expectNoLeak(err, oldPw, newPw, weakPw);
    expect(await canAuth(user, newPw)).toBe(false);
  });

  it('a test with a wrong host or a password that was never set is a RotationStepError naming the step and the target, with no password anywhere', async () => {
    const [oldPw, newPw] = [pw('old'), pw('new')];
    const user = await newUser(oldPw);
    const input: RotatorInput = { current: valueOf(user, oldPw), admin: adminValue, strategy: 'dual-password', options: {}, credentialId: 'app.redis' };
    const pending = rot.pending(input, newPw);
    const wrongPw = await rejectionOf(rot.test(input, pending));
    expect(wrongPw.message).toBe(`rotation of "app.redis" failed at step test on redis 127.0.0.1:6379 user ${user}: wrong user or password (WRONGPASS)`);
    const wrongHost = await rejectionOf(rot.test(input, { ...pending, port: 1 }));
    expect(wrongHost.message).toBe(`rotation of "app.redis" failed at step test on redis 127.0.0.1:1 user ${user}: connection refused`);
    for (const e of [wrongPw, wrongHost]) {
      expect(e).toBeInstanceOf(RotationStepError);
      expectNoLeak(e, oldPw, newPw);
    }
  });

  it('tls: set, test and finish through a TLS endpoint trusted by option tls_ca; an untrusted certificate is a step error', async () => {
    const tlsDir = fileURLToPath(new URL('../../fixtures/tls/', import.meta.url));
    const server: Server = createServer({ cert: readFileSync(`${tlsDir}loopback-cert.pem`), key: readFileSync(`${tlsDir}loopback-key.pem`) }, (s) => {
      const upstream = connect(REDIS);
      s.pipe(upstream).pipe(s);
      s.on('error', () => upstream.destroy());
      upstream.on('error', () => s.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const [oldPw, newPw] = [pw('old'), pw('new')];
      const user = await newUser(oldPw);
      const input: RotatorInput = { current: { ...valueOf(user, oldPw), port, tls: true }, admin: { tls: true }, strategy: 'dual-password', options: { tls_ca: `${tlsDir}loopback-cert.pem` }, credentialId: 'app.redis' };
      const pending = rot.pending(input, newPw);
      await rot.set(input, pending);
      await rot.test(input, pending);
      await rot.finish?.(input, pending);
      expect(await canAuth(user, newPw)).toBe(true);
      expect(await canAuth(user, oldPw)).toBe(false);
      const err = await rejectionOf(rot.test({ ...input, options: {} }, pending));
      expect(err).toBeInstanceOf(RotationStepError);
      expect(err.message).toBe(`rotation of "app.redis" failed at step test on redis 127.0.0.1:${port} user ${user}: TLS certificate not trusted`);
      expectNoLeak(err, oldPw, newPw);
      await expect(rot.test({ ...input, options: { tls_ca: `${tlsDir}no-such.pem` } }, pending)).rejects.toThrow(/cannot read option tls_ca .*no-such\.pem" \(ENOENT\)/);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('a user that does not exist is not created by set', async () => {
    const user = `${prefix}missing`;
    const input: RotatorInput = { current: valueOf(user, pw('old')), admin: adminValue, strategy: 'dual-password', options: {} };
    const err = await rejectionOf(rot.set(input, rot.pending(input, pw('new'))));
    expect(err.message).toMatch(/at step set on redis .*: no such ACL user/);
    expect(await admin.command('ACL', 'GETUSER', user)).toBeNull();
  });
});
