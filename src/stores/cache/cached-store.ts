/**
 * An in-memory TTL cache over any store, for Lambda (Powertools parameters' `maxAge` / `forceFetch`).
 * Key = id + version + canonical context + label (a labelled read is its own entry: it reads the label's
 * version, not the newest). `strict` is checked on every hit too, so a cached version that expired since
 * it was fetched fails a strict read. Concurrent gets of one key share one fetch; a failed fetch and a
 * miss are not cached; writes and deletes made through the cache drop every cached entry of that id
 * (including fetches still in flight). list, exists and getall are not cached: they pass to the wrapped store
 * (StoreDecorator), as do the tier extras, one that rewrites stored versions dropping every entry. Imports core only.
 */
import { canonicalContext } from '../../core/context.js';
import { CredentialExpiredError, CredentialNotFoundError, ValidationError } from '../../core/errors.js';
import { StoreDecorator, type ExtraCall, type StoreExtra } from '../../core/decorator.js';
import type { CredentialStore } from '../../core/store.js';
import type { CredentialValue, DeleteOptions, DeleteResult, GetOptions, PutResult, StoredCredential, WriteOptions } from '../../core/types.js';
import { validateId } from '../../core/names.js';
import { parseReadVersion } from '../../core/version.js';

export const DEFAULT_CACHE_MAX_AGE_SECONDS = 5;

/** Options of {@link withCache}. */
export interface CacheOptions {
  /** Seconds an entry stays fresh (default: env CREDSTASH_CACHE_MAX_AGE, else 5). 0 disables caching but keeps fetch sharing. */
  maxAge?: number;
  /** Environment for CREDSTASH_CACHE_MAX_AGE (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Clock in milliseconds (tests). */
  now?: () => number;
}

/** `getCredential` options of a cached store: per-call refresh and lifetime. */
export interface CachedGetOptions extends GetOptions {
  /** Skip the cache for this call and refresh the entry. */
  forceFetch?: boolean;
  /** Override maxAge (seconds) for the entry this call stores. */
  maxAge?: number;
}

interface Entry {
  value: StoredCredential;
  expires: number;
}

/**
 * The cache decorator; see {@link withCache}.
 *
 * @example
 * ```ts
 * const cached = new CachedStore(await openStore({ type: 'dynamodb' }), { maxAge: 60 });
 * ```
 * @throws ValidationError from the constructor when maxAge (or CREDSTASH_CACHE_MAX_AGE) is not a
 *   non-negative number; the wrapped store's errors from every method
 */
export class CachedStore extends StoreDecorator {
  /** Default entry lifetime in milliseconds (0: no caching, fetches still shared). */
  readonly maxAgeMs: number;
  readonly #now: () => number;
  /** id -> (version \0 context \0 label) -> entry */
  readonly #entries = new Map<string, Map<string, Entry>>();
  readonly #inflight = new Map<string, Map<string, Promise<StoredCredential | undefined>>>();
  /** Bumped on every invalidation of an id, so that a fetch started before a write is not cached after it. */
  readonly #generation = new Map<string, number>();

  constructor(inner: CredentialStore, opts: CacheOptions = {}) {
    super(inner);
    this.maxAgeMs = resolveMaxAge(opts) * 1000;
    this.#now = opts.now ?? Date.now;
  }

  /**
   * The extras pass through (STORE_EXTRAS); one that rewrites stored versions (key rotation) drops every
   * cached entry afterwards, whatever its outcome, as a write through the cache does.
   */
  protected override decorateExtra(extra: StoreExtra, call: ExtraCall): ExtraCall {
    if (!extra.rewritesValues) return call;
    return async (...args) => {
      try {
        return await call(...args);
      } finally {
        this.clear();
      }
    };
  }

  /**
   * A fresh cached entry for (id, version, context), else one shared fetch from the wrapped store. Misses
   * and failures are not cached.
   *
   * @example
   * ```ts
   * // Lambda handler: at most one read per 30 s per warm container; forceFetch after a rotation alarm
   * const db = await cached.getCredential('myapp.db.prod', { context: { env: 'prod' }, required: true, forceFetch: rotated });
   * ```
   * @throws ValidationError (id, version, context, maxAge), CredentialNotFoundError (required), the wrapped
   *   store's errors
   */
  override getCredential(id: string, opts: CachedGetOptions & { required: true }): Promise<StoredCredential>;
  override getCredential(id: string, opts?: CachedGetOptions): Promise<StoredCredential | undefined>;
  override async getCredential(id: string, opts: CachedGetOptions = {}): Promise<StoredCredential | undefined> {
    validateId(id);
    const sub = `${opts.version === undefined ? '' : parseReadVersion(opts.version)}\u0000${opts.context === undefined ? '{}' : JSON.stringify(canonicalContext(opts.context))}\u0000${opts.label ?? ''}`;
    let found: StoredCredential | undefined;
    const hit = opts.forceFetch === true ? undefined : this.#entries.get(id)?.get(sub);
    if (hit !== undefined && hit.expires > this.#now()) {
      found = hit.value;
    } else {
      found = await this.#fetch(id, sub, opts);
    }
    if (found === undefined && opts.required === true) {
      throw new CredentialNotFoundError(opts.label === undefined ? { credentialId: id, store: this.description, version: opts.version } : { credentialId: id, store: this.description, label: opts.label });
    }
    // The wrapped store checked `strict` when it fetched; a hit is checked here (it may have expired since).
    if (found !== undefined && opts.strict === true && found.expiresAt !== undefined && Date.parse(found.expiresAt) <= Date.now()) {
      throw new CredentialExpiredError({ credentialId: id, store: this.description, version: found.version, expiresAt: found.expiresAt });
    }
    return found;
  }

  #fetch(id: string, sub: string, opts: CachedGetOptions): Promise<StoredCredential | undefined> {
    let byId = this.#inflight.get(id);
    const running = opts.forceFetch === true ? undefined : byId?.get(sub);
    if (running !== undefined) return running;
    const generation = this.#generation.get(id) ?? 0;
    const maxAgeMs = opts.maxAge === undefined ? this.maxAgeMs : checkMaxAge(opts.maxAge) * 1000;
    let p: Promise<StoredCredential | undefined> | undefined;
    p = (async () => {
      try {
        const read: GetOptions = { version: opts.version, context: opts.context };
        if (opts.label !== undefined) read.label = opts.label;
        const value = await this.inner.getCredential(id, read);
        if (value !== undefined && maxAgeMs > 0 && (this.#generation.get(id) ?? 0) === generation) {
          let entries = this.#entries.get(id);
          if (entries === undefined) this.#entries.set(id, (entries = new Map()));
          entries.set(sub, { value, expires: this.#now() + maxAgeMs });
        }
        return value;
      } finally {
        const m = this.#inflight.get(id);
        if (m !== undefined && m.get(sub) === p) {
          m.delete(sub);
          if (m.size === 0) this.#inflight.delete(id);
        }
      }
    })();
    if (byId === undefined) this.#inflight.set(id, (byId = new Map()));
    byId.set(sub, p);
    return p;
  }

  /**
   * Drop cached entries: one id, or everything.
   *
   * @example
   * ```ts
   * cached.clear('myapp.db.prod'); // rotated by another process: the next get reads the store
   * ```
   */
  clear(id?: string): void {
    if (id === undefined) {
      for (const k of [...this.#entries.keys(), ...this.#inflight.keys()]) this.#bump(k);
      this.#entries.clear();
      this.#inflight.clear();
      return;
    }
    this.#bump(id);
    this.#entries.delete(id);
    this.#inflight.delete(id);
  }

  #bump(id: string): void {
    this.#generation.set(id, (this.#generation.get(id) ?? 0) + 1);
  }

  /**
   * Write through to the wrapped store, then drop the id's cached entries (also when the write failed).
   *
   * @example
   * ```ts
   * await cached.storeCredential('myapp.db.prod', newPassword, { autoVersion: true, context: { env: 'prod' } });
   * ```
   * @throws the wrapped store's write errors (VersionConflictError, ValueTooLargeError, ValidationError, ...)
   */
  override async storeCredential(id: string, value: CredentialValue, opts?: WriteOptions): Promise<PutResult> {
    try {
      return await super.storeCredential(id, value, opts);
    } finally {
      this.clear(id);
    }
  }

  /**
   * Delete through the wrapped store, then drop the id's cached entries.
   *
   * @example
   * ```ts
   * await cached.deleteCredential('myapp.db.old');
   * ```
   * @throws the wrapped store's errors (CredentialNotFoundError, UnsupportedOperationError, ...)
   */
  override async deleteCredential(id: string, opts?: DeleteOptions): Promise<DeleteResult> {
    try {
      return await super.deleteCredential(id, opts);
    } finally {
      this.clear(id);
    }
  }

  /**
   * Drop every entry and close the wrapped store.
   *
   * @example
   * ```ts
   * await cached.close();
   * ```
   * @throws the wrapped store's close errors
   */
  override async close(): Promise<void> {
    this.clear();
    await super.close();
  }
}

/**
 * Wrap any store in an in-memory TTL cache (Lambda): repeated gets within `maxAge` seconds cost nothing,
 * concurrent gets of one key share one fetch, and `forceFetch` refreshes.
 *
 * @example
 * ```ts
 * const store = withCache(await openStore({ type: 'dynamodb' }), { maxAge: 30 });
 * const cred = await store.getCredential('myapp.db.prod', { context: { env: 'prod' }, required: true });
 * const fresh = await store.getCredential('myapp.db.prod', { context: { env: 'prod' }, forceFetch: true });
 * store.clear();
 * ```
 * @throws ValidationError when maxAge (or CREDSTASH_CACHE_MAX_AGE) is not a non-negative number
 */
export function withCache(store: CredentialStore, opts: CacheOptions = {}): CachedStore {
  return new CachedStore(store, opts);
}

function resolveMaxAge(opts: CacheOptions): number {
  if (opts.maxAge !== undefined) return checkMaxAge(opts.maxAge);
  const raw = (opts.env ?? process.env).CREDSTASH_CACHE_MAX_AGE;
  if (raw === undefined || raw.trim() === '') return DEFAULT_CACHE_MAX_AGE_SECONDS;
  if (!/^\d+(\.\d+)?$/.test(raw.trim())) throw new ValidationError('CREDSTASH_CACHE_MAX_AGE must be a non-negative number of seconds');
  return Number(raw.trim());
}

function checkMaxAge(n: number): number {
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) throw new ValidationError('cache maxAge must be a non-negative number of seconds');
  return n;
}
