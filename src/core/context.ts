import { ValidationError } from './errors.js';
import type { EncryptionContext } from './types.js';

const EMPTY: EncryptionContext = Object.freeze({});

/**
 * Validate an encryption context and return a frozen copy whose keys are sorted by UTF-8 bytes
 * (`Buffer.compare`, never `localeCompare`: a locale order once broke the AWS Encryption SDK's cross-language decryption).
 * Keys and values must be non-empty strings: AWS KMS answers an empty value with `ValidationException:
 * Invalid EncryptionContext`, so every tier refuses one up front (docs/SECURITY.md, "Context").
 * The result is built with `Object.fromEntries`, which defines a `__proto__` key as an own property; a
 * plain `out[k] = v` would have dropped that pair silently and stored the credential under a weaker context.
 *
 * @example
 * ```ts
 * canonicalContext({ service: 'api', env: 'prod' }); // { env: 'prod', service: 'api' } (frozen)
 * canonicalContext({ env: '' });                     // ValidationError: KMS rejects empty values
 * ```
 * @throws ValidationError naming the offending key (never the value).
 */
export function canonicalContext(context: unknown): EncryptionContext {
  if (context === undefined || context === null) return EMPTY;
  if (typeof context !== 'object' || Array.isArray(context)) {
    throw new ValidationError('encryption context must be an object of string key/value pairs');
  }
  const entries = Object.entries(context as Record<string, unknown>);
  if (entries.length === 0) return EMPTY;
  for (const [k, v] of entries) {
    if (k.length === 0) throw new ValidationError('encryption context keys must not be empty');
    if (typeof v !== 'string') throw new ValidationError(`encryption context value for key "${safeKey(k)}" must be a string`);
    if (v.length === 0) throw new ValidationError(`encryption context value for key "${safeKey(k)}" must not be empty (KMS rejects empty values)`);
    if (Buffer.byteLength(k) > 2048) throw new ValidationError('encryption context key is longer than 2048 bytes');
  }
  entries.sort(([a], [b]) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
  return Object.freeze(Object.fromEntries(entries) as Record<string, string>);
}

/** Canonical bytes of a context: JSON of the byte-sorted pairs. Used where a format binds the context itself. */
export function contextBytes(context: EncryptionContext): Buffer {
  return Buffer.from(JSON.stringify(canonicalContext(context)), 'utf8');
}

/** Exact KMS semantics: the same set of pairs, order irrelevant. */
export function contextsEqual(a: EncryptionContext, b: EncryptionContext): boolean {
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    if (!Object.prototype.hasOwnProperty.call(b, k) || b[k] !== a[k]) return false;
  }
  return true;
}

/**
 * Parse CLI `key=value` pairs, split on the FIRST `=` (so values may contain `=`; Python credstash
 * could not). Keys must be non-empty; a key given twice is an error.
 *
 * @example
 * ```ts
 * parseContextArgs(['env=prod', 'tag=a=b']); // { env: 'prod', tag: 'a=b' }
 * ```
 * @throws ValidationError for a pair without `=`, an empty key or value, or a key given twice
 */
export function parseContextArgs(args: readonly string[]): EncryptionContext {
  const out = new Map<string, string>();
  for (const arg of args) {
    const i = arg.indexOf('=');
    if (i <= 0) throw new ValidationError(`context argument ${i === 0 ? 'has an empty key' : 'is not of the form key=value'} (argument ${args.indexOf(arg) + 1})`);
    const key = arg.slice(0, i);
    if (out.has(key)) throw new ValidationError(`context key "${safeKey(key)}" is given twice`);
    out.set(key, arg.slice(i + 1));
  }
  return canonicalContext(Object.fromEntries(out));
}

/** Keys are not secret, but keep messages one line and bounded. */
function safeKey(k: string): string {
  const oneLine = k.replace(/[\u0000-\u001f]/g, '?');
  return oneLine.length > 64 ? `${oneLine.slice(0, 61)}...` : oneLine;
}
