/**
 * `diff`: compare two versions of a credential, or the newest versions of two stores, saying what differs
 * without showing a value unless asked (`showValues`).
 *
 * - Two versions: both are read (they are what is compared). For structured (JSON object) values the
 *   answer lists the fields added, removed and changed (nested objects by dotted path; arrays and other
 *   values as a whole); for text and bytes, only whether they are the same.
 * - Two stores: both listings (nothing decrypted), then only the names present on both sides are read, at
 *   their newest version, once per side. Names on one side only are reported from the listings alone.
 *
 * The result holds values (`from`, `to`) only with `showValues: true`; without it, nothing in it is derived
 * from a value except "same" or "different" and the names of fields. Errors while reading a name on either
 * side are collected per name (`failed`: code and message, never a value), not thrown, so one unreadable
 * credential does not hide the rest.
 */
import { CredstashError, StoreUnavailableError, ValidationError } from '../core/errors.js';
import { mapConcurrent, type CredentialStore } from '../core/store.js';
import type { CredentialValue, EncryptionContext, JsonObject, JsonValue } from '../core/types.js';
import { valuesEqual } from './values.js';

/** What kind of value a version holds. */
export type ValueKind = 'text' | 'bytes' | 'structured';

/** One field of a structured value that differs. */
export interface FieldChange {
  /** `password`, `replica.host`; a key that is not a plain word is quoted: `["a.b"]`. */
  path: string;
  change: 'added' | 'removed' | 'changed';
  /** The old field value (changed, removed), only with `showValues`. */
  from?: JsonValue;
  /** The new field value (changed, added), only with `showValues`. */
  to?: JsonValue;
}

/** How two values compare. */
export interface ValueDiff {
  same: boolean;
  /** The kind of each side (`['structured', 'text']`: the value changed kind, and so differs). */
  kinds: [ValueKind, ValueKind];
  /** When both are structured: every field that differs, sorted by path (empty when same). */
  fields?: FieldChange[];
  /** The first value, only with `showValues` and when they differ. */
  from?: CredentialValue;
  /** The second value, only with `showValues` and when they differ. */
  to?: CredentialValue;
}

/** Options of {@link compareValues}. */
export interface CompareOptions {
  /** Put the differing values (and field values) in the answer. Default false: names of fields only. */
  showValues?: boolean;
}

/**
 * Compare two credential values without showing them: same or different, and for two structured values the
 * fields added, removed and changed.
 *
 * @example
 * ```ts
 * compareValues({ user: 'app', password: 'a' }, { user: 'app', password: 'b', host: 'db' });
 * // { same: false, kinds: ['structured', 'structured'], fields: [{ path: 'host', change: 'added' }, { path: 'password', change: 'changed' }] }
 * ```
 */
export function compareValues(a: CredentialValue, b: CredentialValue, opts: CompareOptions = {}): ValueDiff {
  const kinds: [ValueKind, ValueKind] = [kindOf(a), kindOf(b)];
  const same = valuesEqual(a, b);
  const out: ValueDiff = { same, kinds };
  if (kinds[0] === 'structured' && kinds[1] === 'structured') {
    const fields: FieldChange[] = [];
    fieldChanges(a as JsonObject, b as JsonObject, '', fields, opts.showValues === true);
    fields.sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
    out.fields = fields;
  }
  if (!same && opts.showValues === true) {
    out.from = a;
    out.to = b;
  }
  return out;
}

/** What {@link diffVersions} compares. */
export interface DiffVersionsOptions extends CompareOptions {
  /** The first version. */
  a: number | string;
  /** The second version. */
  b: number | string;
  /** The context both versions were stored with. */
  context?: EncryptionContext;
}

/** Two versions of one credential compared. */
export interface VersionDiff extends ValueDiff {
  id: string;
  /** The two versions as users write them. */
  versions: [string, string];
}

/**
 * Compare two versions of one credential (both are read and decrypted, nothing is printed or kept).
 *
 * @example
 * ```ts
 * const d = await diffVersions(store, 'myapp.db.prod', { a: 3, b: 4, context: { env: 'prod' } });
 * if (!d.same) console.log(d.fields?.map((f) => `${f.change} ${f.path}`)); // ['changed password']
 * ```
 * @throws CredentialNotFoundError (either version missing), the errors of getCredential
 */
export async function diffVersions(store: CredentialStore, id: string, opts: DiffVersionsOptions): Promise<VersionDiff> {
  if (opts === undefined || opts.a === undefined || opts.b === undefined) throw new ValidationError('a diff of versions needs two versions');
  const read = (version: number | string) => store.getCredential(id, { version, required: true, ...(opts.context === undefined ? {} : { context: opts.context }) });
  const [x, y] = await Promise.all([read(opts.a), read(opts.b)]);
  return { id, versions: [x.version, y.version], ...compareValues(x.value, y.value, opts) };
}

/** What {@link diffStores} compares. */
export interface DiffStoresOptions extends CompareOptions {
  /** Only names matching this glob. */
  pattern?: string;
  /** The context the newest versions were stored with (the same on both sides). */
  context?: EncryptionContext;
  /** Reads in flight per store (default 16). */
  concurrency?: number;
}

/** A name that could not be read on one side. */
export interface DiffFailure {
  id: string;
  /** Which store failed: the first (`store`) or the second (`against`). */
  side: 'first' | 'second';
  code: string;
  /** The store's one-line message (never a value). */
  message: string;
}

/** Two stores compared, each list sorted by name. */
export interface StoreDiff {
  /** Names only the first store has. */
  onlyInFirst: string[];
  /** Names only the second store has. */
  onlyInSecond: string[];
  /** Names on both sides whose newest values differ, with how. */
  different: Array<{ id: string; diff: ValueDiff }>;
  /** Names on both sides whose newest values are the same. */
  same: string[];
  /** Names on both sides that could not be compared (read failed on a side). */
  failed: DiffFailure[];
}

/**
 * Compare the newest versions of two stores: names missing on either side (from the listings, nothing
 * decrypted) and, for the names both have, whether the newest values are the same (read once per side).
 *
 * @example
 * ```ts
 * const d = await diffStores(staging, prod, { pattern: 'myapp.*', context: { app: 'myapp' } });
 * console.log(d.onlyInFirst, d.onlyInSecond, d.different.map((x) => x.id), d.failed.length);
 * ```
 * @throws ValidationError (pattern, concurrency), the errors of listCredentials (a read of one name that
 *   fails is in `failed` instead)
 */
export async function diffStores(first: CredentialStore, second: CredentialStore, opts: DiffStoresOptions = {}): Promise<StoreDiff> {
  const concurrency = opts.concurrency ?? 16;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) throw new ValidationError('concurrency must be a positive integer');
  const list = async (s: CredentialStore): Promise<Set<string>> =>
    new Set((await s.listCredentials({ latestOnly: true, ...(opts.pattern === undefined ? {} : { pattern: opts.pattern }) })).map((x) => x.id));
  const [a, b] = await Promise.all([list(first), list(second)]);
  const sorted = (xs: Iterable<string>): string[] => [...xs].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  const out: StoreDiff = {
    onlyInFirst: sorted([...a].filter((id) => !b.has(id))),
    onlyInSecond: sorted([...b].filter((id) => !a.has(id))),
    different: [],
    same: [],
    failed: [],
  };
  const both = sorted([...a].filter((id) => b.has(id)));
  type Read = { value: CredentialValue | undefined } | { failed: DiffFailure };
  const read = async (s: CredentialStore, side: DiffFailure['side'], id: string): Promise<Read> => {
    try {
      return { value: (await s.getCredential(id, opts.context === undefined ? {} : { context: opts.context }))?.value };
    } catch (err) {
      return { failed: failure(err, s, side, id) };
    }
  };
  const pairs = await mapConcurrent(both, concurrency, async (id) => Promise.all([read(first, 'first', id), read(second, 'second', id)]));
  both.forEach((id, i) => {
    const [rx, ry] = pairs[i] as [Read, Read];
    if ('failed' in rx || 'failed' in ry) {
      for (const r of [rx, ry]) if ('failed' in r) out.failed.push(r.failed);
      return;
    }
    const x = rx.value;
    const y = ry.value;
    // Deleted between the listing and the read: it is on one side only now.
    if (x === undefined || y === undefined) {
      if (x !== undefined) out.onlyInFirst.push(id);
      if (y !== undefined) out.onlyInSecond.push(id);
      return;
    }
    const diff = compareValues(x, y, opts);
    if (diff.same) out.same.push(id);
    else out.different.push({ id, diff });
  });
  out.onlyInFirst = sorted(out.onlyInFirst);
  out.onlyInSecond = sorted(out.onlyInSecond);
  return out;
}

function kindOf(v: CredentialValue): ValueKind {
  return typeof v === 'string' ? 'text' : v instanceof Uint8Array ? 'bytes' : 'structured';
}

function isPlainObject(v: JsonValue | undefined): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function fieldPath(prefix: string, key: string): string {
  const part = /^[A-Za-z_][A-Za-z0-9_-]*$/.test(key) ? key : `[${JSON.stringify(key)}]`;
  return prefix === '' ? part : part.startsWith('[') ? `${prefix}${part}` : `${prefix}.${part}`;
}

function fieldChanges(a: JsonObject, b: JsonObject, prefix: string, out: FieldChange[], showValues: boolean): void {
  const has = (o: JsonObject, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) {
    const path = fieldPath(prefix, k);
    const x = has(a, k) ? (a[k] as JsonValue) : undefined;
    const y = has(b, k) ? (b[k] as JsonValue) : undefined;
    if (x === undefined) out.push({ path, change: 'added', ...(showValues ? { to: y as JsonValue } : {}) });
    else if (y === undefined) out.push({ path, change: 'removed', ...(showValues ? { from: x } : {}) });
    else if (isPlainObject(x) && isPlainObject(y)) fieldChanges(x, y, path, out, showValues);
    else if (!valuesEqual(wrap(x), wrap(y))) out.push({ path, change: 'changed', ...(showValues ? { from: x, to: y } : {}) });
  }
}

/** A JSON value of any type as an object, so that valuesEqual compares it canonically. */
function wrap(v: JsonValue): JsonObject {
  return { v };
}

function failure(err: unknown, store: CredentialStore, side: DiffFailure['side'], id: string): DiffFailure {
  if (err instanceof CredstashError) return { id, side, code: err.code, message: err.message };
  // A foreign error's message may quote input: only its name is kept.
  return { id, side, code: StoreUnavailableError.code, message: `${store.description} failed (${err instanceof Error ? err.name : typeof err}) reading credential "${id}"` };
}
