/**
 * Credentials as environment variables (`credstash exec`, `credstash env`): the id, less an optional prefix,
 * upper-cased, with every character that is not an ASCII letter or digit turned into `_`. Two ids that map
 * to one name are an error naming both, never a silent overwrite.
 */
import { ValidationError } from '../core/errors.js';
import type { StoredCredential } from '../core/types.js';
import { valueToText } from '../core/value.js';

/**
 * `myapp.db-password` -> `MYAPP_DB_PASSWORD`; a leading digit gets a `_` in front (`1x` -> `_1X`).
 *
 * @example
 * ```ts
 * envName('myapp.db-password'); // 'MYAPP_DB_PASSWORD'
 * ```
 */
export function envName(id: string): string {
  const name = id.toUpperCase().replace(/[^A-Z0-9]/g, '_');
  return /^[0-9]/.test(name) ? `_${name}` : name;
}

export interface EnvOptions {
  /** Only ids starting with this; it is removed before the name is built (`-p myapp.prod.`). */
  prefix?: string;
}

/**
 * Map credentials to `NAME -> value text` (JSON values as compact JSON, bytes as base64).
 *
 * @example
 * ```ts
 * const { credentials } = await store.getAllCredentials({ pattern: 'myapp.prod.*' });
 * const env = credentialsToEnv(credentials, { prefix: 'myapp.prod.' }); // Map { 'DB_PASSWORD' => '...' }
 * spawn('node', ['server.js'], { env: { ...process.env, ...Object.fromEntries(env) } });
 * ```
 * @throws ValidationError when two ids give the same name, an id is nothing but the prefix, or a value holds NUL
 */
export function credentialsToEnv(creds: readonly StoredCredential[], opts: EnvOptions = {}): Map<string, string> {
  const out = new Map<string, string>();
  const from = new Map<string, string>();
  const prefix = opts.prefix ?? '';
  for (const c of creds) {
    if (!c.id.startsWith(prefix)) continue;
    const rest = c.id.slice(prefix.length);
    if (rest === '') throw new ValidationError(`credential "${c.id}" is the prefix itself; it has no name left for an environment variable`);
    const name = envName(rest);
    const clash = from.get(name);
    if (clash !== undefined) {
      throw new ValidationError(`credentials "${clash}" and "${c.id}" both map to the environment variable ${name}; rename one or narrow the selection`);
    }
    const text = valueToText(c.value);
    if (text.includes('\u0000')) throw new ValidationError(`value of credential "${c.id}" contains a NUL character and cannot be an environment variable`, { credentialId: c.id });
    from.set(name, c.id);
    out.set(name, text);
  }
  return out;
}
