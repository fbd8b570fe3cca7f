/**
 * A credential's rotation policy: which rotator and strategy, how often, which generation preset, which
 * credential holds the admin login, and the rotator's options. In credstash.toml it is the `rotation` table
 * of a `[[credentials]]` definition (docs/rotation.md "## The engine"); a library caller passes the same
 * object to rotateCredential. Nothing in a policy is secret: the admin login is a `${credential:...}`
 * reference, read from the store when a rotation runs.
 */
import { canonicalContext } from '../core/context.js';
import { ConfigError } from '../core/errors.js';
import { parseGeneratePolicy } from '../core/generate.js';
import { parseDuration } from '../core/lifecycle.js';
import type { EncryptionContext, JsonValue } from '../core/types.js';
import { isCredentialReference } from '../references/parse.js';
import { ROTATION_STRATEGIES, type Rotator, type RotationStrategy } from './types.js';

/** A rotation policy (the `rotation` table of a `[[credentials]]` definition). */
export interface RotationPolicy {
  /** A rotator's name (`postgres`, `mysql`, `redis`, `command`, or one registered with registerRotator), or a rotator. */
  rotator: string | Rotator;
  /** Default: the rotator's first strategy (`single` for the built-ins). */
  strategy?: RotationStrategy;
  /** How old the newest version may get before `rotate --due` rotates it (`30d`, `12h`); absent: never due. */
  every?: string;
  /** The generation policy of the new password (a preset such as `postgres`, or policy text); default the rotator's preset, else `alnum`. */
  generate?: string;
  /** The admin login allowed to change the password: exactly one `${credential:ID}` reference (optionally `?context` and `.field`). */
  admin?: string;
  /** The rotator's options (`users = ["app_a", "app_b"]`, `command = [...]`, ...). */
  options?: Record<string, JsonValue>;
  /** How long another host's claim may go without an update before `rotate` takes it over (default `10m`). */
  lease?: string;
  /** The encryption context the credential is stored with. */
  context?: EncryptionContext;
}

/** The default lease: another host's claim untouched this long is taken over by the next `rotate`. */
export const DEFAULT_LEASE_MS = 10 * 60_000;

const KEYS = ['rotator', 'strategy', 'every', 'generate', 'admin', 'options', 'lease', 'context'] as const;

/**
 * Check a policy as read from a config file or given by a caller. `where` names it in messages
 * (`credentials[2].rotation`); values are described, never quoted.
 * @throws ConfigError naming the key
 */
export function parseRotationPolicy(raw: unknown, where: string): RotationPolicy {
  const fail = (key: string, problem: string): never => {
    throw new ConfigError(`${where}.${key}: ${problem}`, { path: `${where}.${key}` });
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError(`${where}: a rotation policy must be a table`, { path: where });
  const t = raw as Record<string, unknown>;
  for (const k of Object.keys(t)) {
    if (!(KEYS as readonly string[]).includes(k)) throw new ConfigError(`${where}: unknown key "${k.replace(/[^\x20-\x7e]/g, '?').slice(0, 64)}"; keys are ${KEYS.join(', ')}`, { path: where });
  }
  const out: RotationPolicy = { rotator: '' };
  const rot = t.rotator;
  if (typeof rot === 'string' && rot !== '') out.rotator = rot;
  else if (typeof rot === 'object' && rot !== null && typeof (rot as Rotator).name === 'string' && typeof (rot as Rotator).set === 'function') out.rotator = rot as Rotator;
  else fail('rotator', 'must name a rotator (postgres, mysql, redis, command or a registered one)');
  if (t.strategy !== undefined) {
    if (typeof t.strategy !== 'string' || !(ROTATION_STRATEGIES as readonly string[]).includes(t.strategy)) fail('strategy', `must be one of ${ROTATION_STRATEGIES.join(', ')}`);
    out.strategy = t.strategy as RotationStrategy;
  }
  for (const key of ['every', 'lease'] as const) {
    const v = t[key];
    if (v === undefined) continue;
    if (typeof v !== 'string') fail(key, 'must be a duration such as 30d, 12h or 10m');
    try {
      if (parseDuration(v as string, `${where}.${key}`) <= 0) fail(key, 'must be longer than zero');
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      fail(key, 'must be a duration such as 30d, 12h, 2w or 10m');
    }
    out[key] = v as string;
  }
  if (t.generate !== undefined) {
    if (typeof t.generate !== 'string') fail('generate', 'must be a generation preset or policy text');
    try {
      parseGeneratePolicy(t.generate as string);
    } catch (err) {
      fail('generate', err instanceof Error ? err.message : 'is not a generation policy');
    }
    out.generate = t.generate as string;
  }
  if (t.admin !== undefined) {
    if (!isCredentialReference(t.admin)) fail('admin', 'must be one credential reference such as "${credential:pg_admin}" (a password never sits in a config file)');
    out.admin = t.admin as string;
  }
  if (t.options !== undefined) {
    if (typeof t.options !== 'object' || t.options === null || Array.isArray(t.options)) fail('options', 'must be a table');
    out.options = t.options as Record<string, JsonValue>;
  }
  if (t.context !== undefined) {
    try {
      out.context = canonicalContext(t.context);
    } catch {
      fail('context', 'must be a table of string values');
    }
  }
  return out;
}

/** The policy's lease in milliseconds. */
export function leaseMs(policy: RotationPolicy): number {
  return policy.lease === undefined ? DEFAULT_LEASE_MS : parseDuration(policy.lease, 'lease');
}

/** The policy's schedule in milliseconds, undefined when it has none. */
export function everyMs(policy: RotationPolicy): number | undefined {
  return policy.every === undefined ? undefined : parseDuration(policy.every, 'every');
}
