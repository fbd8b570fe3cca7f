/**
 * The redis rotator: dual-password on one ACL user (Redis 6 and later), so that there is no moment in which
 * no password of the user is valid.
 *
 * - set: `ACL SETUSER user #<sha256(new)>`: the new password is added; the old one still works.
 * - test: a new connection, `AUTH user new`.
 * - finish (once the store holds the new value): `ACL SETUSER user !<sha256(old)>`: the old one is removed.
 * - revert: `#<sha256(old)>` (back, if finish ran) and `!<sha256(new)>`.
 *
 * Passwords are added and removed by their SHA-256 (`#` / `!`), so only `AUTH` ever carries the password
 * itself. Each step first reads the user's password hashes (`ACL GETUSER`) and changes only what differs:
 * a step run again does nothing more, and removing a password that is gone is never an error. With option
 * `acl_save = true`, `ACL SAVE` follows each change (servers that keep users in an aclfile).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../core/errors.js';
import type { JsonObject } from '../core/types.js';
import { asStep, checkPassword, checkStrategy, describeTarget, optionalField, pendingValue, portField, secondsOption, stepError, stringOption, wantsTls, field, type ValueRole } from './common.js';
import { RedisClient, RespError } from './redis-client.js';
import type { Rotator, RotatorInput, RotationStep, RotationStrategy } from './types.js';

/** Redis error reply codes (their first word) -> what they mean here. */
export const REDIS_FAILURES: Readonly<Record<string, string>> = {
  WRONGPASS: 'wrong user or password',
  NOPERM: 'permission denied (the admin needs +acl|setuser and +acl|getuser)',
  NOAUTH: 'authentication required (give admin credentials)',
  ERR: 'the server refused the command',
  LOADING: 'the server is loading its data set',
  READONLY: 'the server is a read-only replica',
  PROTOCOL: 'not a Redis server (protocol error)',
};

const DEFAULT_PORT = 6379;

interface Endpoint {
  host: string;
  port: number;
  user?: string;
  password?: string;
  tls: boolean;
}

function endpoint(input: RotatorInput, value: JsonObject, role: ValueRole, passwordRequired: boolean): Endpoint {
  const base = input.current;
  const user = optionalField(input, value, role, 'user');
  const password = passwordRequired || value.password !== undefined ? checkPassword(input, value.password, role) : undefined;
  return {
    host: optionalField(input, value, role, 'host') ?? field(input, base, 'current', 'host'),
    port: value.port === undefined ? portField(input, base, 'current', DEFAULT_PORT) : portField(input, value, role, DEFAULT_PORT),
    ...(user === undefined ? {} : { user }),
    ...(password === undefined ? {} : { password }),
    tls: wantsTls(value) || (value.host === undefined && wantsTls(base)),
  };
}

function userOf(e: Endpoint): string {
  return e.user ?? 'default';
}

function target(e: Endpoint): string {
  return describeTarget('redis', e.host, e.port, userOf(e));
}

function sha256(password: string): string {
  return createHash('sha256').update(password, 'utf8').digest('hex');
}

function run<T>(input: RotatorInput, step: RotationStep, where: string, fn: () => Promise<T>): Promise<T> {
  return asStep(input, step, where, REDIS_FAILURES, fn);
}

function readCa(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ConfigError(`rotation: the redis rotator cannot read option tls_ca "${path}" (${(err as NodeJS.ErrnoException).code ?? 'error'}); give the path of a PEM file`, { path: 'options.tls_ca' });
  }
}

async function open(input: RotatorInput, e: Endpoint): Promise<RedisClient> {
  const ca = stringOption(input, 'tls_ca');
  const c = await RedisClient.connect({
    host: e.host,
    port: e.port,
    tls: e.tls ? (ca === undefined ? true : { ca: readCa(ca) }) : false,
    timeoutMs: secondsOption(input, 'connect_timeout_seconds', 10) * 1000,
  });
  try {
    if (e.password !== undefined) await (e.user === undefined ? c.command('AUTH', e.password) : c.command('AUTH', e.user, e.password));
    return c;
  } catch (err) {
    c.close();
    throw err;
  }
}

/**
 * A connection allowed to change the user: the admin's, or else the user's own, logged in with the first of
 * `own` that works (the current password, then the pending one: one of them is valid at every point).
 */
async function adminConnection(input: RotatorInput, own: Endpoint[]): Promise<RedisClient> {
  if (input.admin !== undefined) return open(input, endpoint(input, input.admin, 'admin', false));
  let last: unknown;
  for (const e of own) {
    try {
      return await open(input, e);
    } catch (err) {
      if (!(err instanceof RespError && err.code === 'WRONGPASS')) throw err;
      last = err;
    }
  }
  throw last;
}

/** The SHA-256 hashes of the user's passwords, or undefined when there is no such user. */
async function passwordHashes(c: RedisClient, user: string): Promise<Set<string> | undefined> {
  const reply = await c.command('ACL', 'GETUSER', user);
  if (reply === null || !Array.isArray(reply)) return undefined;
  const i = reply.indexOf('passwords');
  const list = i >= 0 ? reply[i + 1] : undefined;
  return new Set(Array.isArray(list) ? list.filter((h): h is string => typeof h === 'string') : []);
}

/** Apply the rules that differ from the user's hashes now (`#h` add, `!h` remove), then ACL SAVE if asked. */
async function change(input: RotatorInput, step: RotationStep, values: { cur: Endpoint; next: Endpoint }, add: string[], remove: string[]): Promise<void> {
  const { cur, next } = values;
  await run(input, step, target(cur), async () => {
    const c = await adminConnection(input, [cur, next]);
    try {
      const user = userOf(cur);
      const hashes = await passwordHashes(c, user);
      if (hashes === undefined) throw stepError(input, step, target(cur), 'no such ACL user; create it first (ACL SETUSER)');
      const rules = [...add.filter((h) => !hashes.has(h)).map((h) => `#${h}`), ...remove.filter((h) => hashes.has(h) && !add.includes(h)).map((h) => `!${h}`)];
      if (rules.length === 0) return;
      await c.command('ACL', 'SETUSER', user, ...rules);
      if (input.options.acl_save === true) await c.command('ACL', 'SAVE');
    } finally {
      c.close();
    }
  });
}

function pair(input: RotatorInput, pending: JsonObject): { cur: Endpoint; next: Endpoint } {
  const cur = endpoint(input, input.current, 'current', true);
  const next = endpoint(input, pending, 'pending', true);
  if (userOf(next) !== userOf(cur)) throw stepError(input, 'set', target(next), 'the pending value names another user; dual-password rotates one user');
  return { cur, next };
}

const STRATEGIES: readonly RotationStrategy[] = ['dual-password'];

export const redisRotator: Rotator = {
  name: 'redis',
  strategies: STRATEGIES,

  pending(input, newPassword) {
    checkStrategy(input, 'redis', STRATEGIES);
    return pendingValue(input, newPassword);
  },

  async set(input, pending) {
    checkStrategy(input, 'redis', STRATEGIES);
    const values = pair(input, pending);
    await change(input, 'set', values, [sha256(values.next.password as string)], []);
  },

  async test(input, pending) {
    const next = endpoint(input, pending, 'pending', true);
    await run(input, 'test', target(next), async () => {
      const c = await open(input, { ...next, user: userOf(next) });
      c.close();
    });
  },

  async finish(input, pending) {
    checkStrategy(input, 'redis', STRATEGIES);
    const values = pair(input, pending);
    // the new password must be there before the old one goes (finish never leaves the user without one)
    await change(input, 'finish', values, [sha256(values.next.password as string)], [sha256(values.cur.password as string)]);
  },

  async revert(input, pending) {
    checkStrategy(input, 'redis', STRATEGIES);
    const values = pair(input, pending);
    await change(input, 'revert', values, [sha256(values.cur.password as string)], [sha256(values.next.password as string)]);
  },
};
