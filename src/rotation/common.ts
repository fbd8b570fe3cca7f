/**
 * What the rotators share: reading the fields of a credential value, naming the target in messages, the
 * alternating pair of users, and turning a driver or network error into a {@link RotationStepError} whose
 * reason is a fixed description of the error's code. A driver's own message is never used: it can quote the
 * statement that failed, and so the password in it.
 */
import { randomBytes } from 'node:crypto';
import { ConfigError, RotationStepError, ValidationError, type RotationStep } from '../core/errors.js';
import type { JsonObject, JsonValue } from '../core/types.js';
import type { RotatorInput } from './types.js';

/** `the current value` / `the pending value` / `the admin credentials`, in messages. */
export type ValueRole = 'current' | 'pending' | 'admin';

const ROLE_TEXT: Record<ValueRole, string> = { current: 'the current value', pending: 'the pending value', admin: 'the admin credentials' };

function subject(input: RotatorInput): string {
  return input.credentialId === undefined ? 'rotation' : `rotation of "${input.credentialId}"`;
}

/** A required string field of a value (described, never echoed). @throws ValidationError */
export function field(input: RotatorInput, value: JsonObject, role: ValueRole, key: string): string {
  const v = value[key];
  if (typeof v !== 'string' || v === '') {
    throw new ValidationError(`${subject(input)}: no "${key}" (a non-empty string) in ${ROLE_TEXT[role]}`, fieldsOf(input));
  }
  return v;
}

/** An optional string field. @throws ValidationError when it is there but not a string */
export function optionalField(input: RotatorInput, value: JsonObject, role: ValueRole, key: string): string | undefined {
  const v = value[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new ValidationError(`${subject(input)}: "${key}" of ${ROLE_TEXT[role]} must be a string`, fieldsOf(input));
  return v;
}

/** A TCP port: a number or a string of digits, 1 to 65535; `fallback` when absent. @throws ValidationError */
export function portField(input: RotatorInput, value: JsonObject, role: ValueRole, fallback: number): number {
  const v = value.port;
  if (v === undefined || v === null) return fallback;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d{1,5}$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new ValidationError(`${subject(input)}: "port" of ${ROLE_TEXT[role]} must be a port number (1-65535)`, fieldsOf(input));
  return n;
}

/** Whether the value asks for TLS (`ssl` or `tls` true). */
export function wantsTls(value: JsonObject): boolean {
  return value.ssl === true || value.tls === true;
}

/** A string option of the rotator; `fallback` when absent. @throws ConfigError */
export function stringOption(input: RotatorInput, key: string): string | undefined {
  const v = input.options[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v === '') throw new ConfigError(`${subject(input)}: rotator option "${key}" must be a non-empty string`, { path: `options.${key}` });
  return v;
}

/**
 * The owner role the alternating strategy needs (`what` says what it holds, for the message).
 * @throws ConfigError naming the rotator and the option
 */
export function ownerOption(input: RotatorInput, rotator: string, what: string): string {
  const owner = stringOption(input, 'owner');
  if (owner === undefined) {
    throw new ConfigError(
      `${input.credentialId === undefined ? 'rotation' : `rotation of "${input.credentialId}"`}: the ${rotator} rotator's alternating strategy needs option "owner" (${what})`,
      { path: 'options.owner' },
    );
  }
  return owner;
}

/** A positive number option (seconds), `fallback` when absent. @throws ConfigError */
export function secondsOption(input: RotatorInput, key: string, fallback: number): number {
  const v = input.options[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new ConfigError(`${subject(input)}: rotator option "${key}" must be a positive number of seconds`, { path: `options.${key}` });
  return v;
}

function fieldsOf(input: RotatorInput): { credentialId?: string } {
  return input.credentialId === undefined ? {} : { credentialId: input.credentialId };
}

/**
 * The new password, checked before it reaches a statement: a non-empty string without control characters
 * (none of the servers takes a NUL, and a newline would break a users.acl or option file line).
 * @throws ValidationError (describing, never quoting it)
 */
export function checkPassword(input: RotatorInput, password: unknown, role: ValueRole = 'pending'): string {
  if (typeof password !== 'string' || password === '') throw new ValidationError(`${subject(input)}: no "password" (a non-empty string) in ${ROLE_TEXT[role]}`, fieldsOf(input));
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(password)) throw new ValidationError(`${subject(input)}: the password of ${ROLE_TEXT[role]} contains a control character; use printable characters`, fieldsOf(input));
  return password;
}

/** The strategy must be one the rotator supports. @throws ConfigError */
export function checkStrategy(input: RotatorInput, rotator: string, strategies: readonly string[]): void {
  if (!strategies.includes(input.strategy)) {
    throw new ConfigError(`${subject(input)}: the ${rotator} rotator does not support strategy ${String(input.strategy)}; it supports ${strategies.join(', ')}`, { path: 'strategy' });
  }
}

/**
 * The alternating pair: `options.users = [a, b]`, or the current user and `<user>_clone` (the current user
 * being either of the two). Returns the user NOT in `current.user`. @throws ConfigError, ValidationError
 */
export function otherUser(input: RotatorInput): string {
  const user = field(input, input.current, 'current', 'user');
  const users = input.options.users;
  if (users === undefined || users === null) return user.endsWith('_clone') && user.length > '_clone'.length ? user.slice(0, -'_clone'.length) : `${user}_clone`;
  if (!Array.isArray(users) || users.length !== 2 || !users.every((u): u is string => typeof u === 'string' && u !== '') || users[0] === users[1]) {
    throw new ConfigError(`${subject(input)}: rotator option "users" must be two different user names`, { path: 'options.users' });
  }
  const i = users.indexOf(user);
  if (i < 0) throw new ConfigError(`${subject(input)}: the current user is not one of the rotator option "users"; set users to the pair the credential alternates between`, { path: 'options.users' });
  return users[1 - i] as string;
}

/** The pending value of a password rotator: `current` with the new password, and the other user for alternating. */
export function pendingValue(input: RotatorInput, newPassword: string): JsonObject {
  const password = checkPassword(input, newPassword);
  const out: JsonObject = { ...input.current, password };
  if (input.strategy === 'alternating') out.user = otherUser(input);
  return out;
}

/** A random password nobody knows (revert of alternating where the server has no "no password"). */
export function unusablePassword(): string {
  return randomBytes(32).toString('base64url');
}

/** `postgres 127.0.0.1:5432 user app_b` */
export function describeTarget(kind: string, host: string, port: number, user: string): string {
  return `${kind} ${host}:${port} user ${user}`;
}

/** The RotationStepError of a step; `reason` is one of ours, never foreign text. */
export function stepError(input: RotatorInput, step: RotationStep, target: string, reason: string): RotationStepError {
  return new RotationStepError({ step, target, reason, ...fieldsOf(input) });
}

/** Network error codes of node:net / node:dns, described. */
const NETWORK: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  EPIPE: 'connection closed',
  CERT_HAS_EXPIRED: 'TLS certificate expired',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'TLS certificate not trusted',
  SELF_SIGNED_CERT_IN_CHAIN: 'TLS certificate not trusted',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'TLS certificate not trusted',
  ERR_TLS_CERT_ALTNAME_INVALID: 'TLS certificate does not match the host',
};

/** A code we may show: short and made of code characters only (a SQLSTATE, ER_..., E...). */
function safeCode(code: unknown): string | undefined {
  return typeof code === 'string' && /^[A-Za-z0-9_]{1,64}$/.test(code) ? code : typeof code === 'number' && Number.isInteger(code) ? String(code) : undefined;
}

/**
 * A fixed description of a driver or network error from its code: `table[code]` (with the code in
 * parentheses), a network description, else `server error CODE`, else `unexpected error (Name)`.
 */
export function describeFailure(err: unknown, table: Readonly<Record<string, string>>): string {
  if (err instanceof RotationStepError) return err.message;
  const e = err as { code?: unknown; name?: unknown } | null;
  const code = safeCode(e?.code);
  if (code !== undefined) {
    const known = table[code];
    if (known !== undefined) return `${known} (${code})`;
    const net = NETWORK[code];
    if (net !== undefined) return net;
    return `server error ${code}`;
  }
  const name = typeof e?.name === 'string' && /^[A-Za-z]{1,40}$/.test(e.name) ? e.name : 'Error';
  return `unexpected error (${name})`;
}

/** Run one step against the target; any failure but our own typed errors becomes a RotationStepError. */
export async function asStep<T>(input: RotatorInput, step: RotationStep, target: string, table: Readonly<Record<string, string>>, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof RotationStepError || err instanceof ConfigError || err instanceof ValidationError) throw err;
    throw stepError(input, step, target, describeFailure(err, table));
  }
}

/** True when a JSON value is a plain object. */
export function isObject(v: JsonValue | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
