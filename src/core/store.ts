import { canonicalContext } from './context.js';
import { checkCredentialValue } from './definitions.js';
import {
  CredentialNotFoundError,
  CredstashError,
  PartialResultError,
  StoreUnavailableError,
  UnsupportedOperationError,
  ValidationError,
  ValueTooLargeError,
  VersionConflictError,
} from './errors.js';
import { matchesGlob, validateId, validateWriteId } from './names.js';
import type {
  CredentialSummary,
  CredentialValue,
  DeleteOptions,
  DeleteResult,
  EncryptionContext,
  GetAllOptions,
  GetAllResult,
  GetOptions,
  ListOptions,
  PutResult,
  ReadOptions,
  SetupOptions,
  SetupResult,
  StoreCapabilities,
  StoredCredential,
  WriteOptions,
} from './types.js';
import { valueByteLength } from './value.js';
import { displayVersion, nextAutoVersion, parseReadVersion, parseWriteVersion } from './version.js';

/** Read options after validation: context canonical, version in its stored (padded) form. */
export interface ResolvedReadOptions {
  version?: string;
  context: EncryptionContext;
}

/** Write options after validation: an explicit integer version, canonical context. */
export interface ResolvedWriteOptions extends Omit<WriteOptions, 'version' | 'autoVersion' | 'context'> {
  version: number;
  context: EncryptionContext;
}

/** Options of an auto-versioned write on a tier whose backend assigns the version ({@link BaseStore} `_putNext`). */
export type ResolvedNextWriteOptions = Omit<ResolvedWriteOptions, 'version'>;

/** What `_list` is asked for: the base filters and sorts again, so `pattern` is only a hint a tier may use. */
export interface ListHookOptions {
  /** Only the newest version of each credential is needed (a tier may answer with more). */
  latestOnly: boolean;
  /** The caller's glob, for tiers that save requests by filtering early. */
  pattern?: string;
}

/** Options of the bulk read hook `_readAll`. */
export interface ReadAllHookOptions extends ResolvedReadOptions {
  /** The caller's glob; the base filters the answer by it again. */
  pattern?: string;
  /** The caller's concurrency, when given (validated); otherwise the tier's own default. */
  concurrency?: number;
}

/** What `_readAll` answers: ids and, at the same index, the credential, the error reading it, or undefined. */
export interface BulkRead {
  ids: string[];
  results: Array<StoredCredential | Error | undefined>;
}

/**
 * The one interface over every tier: the same semantics wherever the backend allows, a typed
 * `UnsupportedOperationError` where it does not.
 *
 * @example
 * ```ts
 * const store = await openStore({ type: 'local', config: { path: '.credstash/keystore.json' } });
 * await store.storeCredential('myapp.db.prod', 'n3w', { autoVersion: true, context: { env: 'prod' } });
 * const cred = await store.getCredential('myapp.db.prod', { context: { env: 'prod' }, required: true });
 * ```
 */
export interface CredentialStore {
  /** Tier name: `dynamodb`, `local`, `sql`, `ssm`, `vault`, `env`, `chain`, ... */
  readonly kind: string;
  /** Human description used in messages, e.g. `dynamodb table "credential-store"`. */
  readonly description: string;
  /** What this store supports; anything else throws UnsupportedOperationError. */
  readonly capabilities: StoreCapabilities;

  /**
   * The newest (or a named) version, decrypted; `undefined` when missing unless `required`.
   *
   * @example
   * ```ts
   * // Lambda: read with the context the value was stored with
   * const { value } = await store.getCredential('myapp.db.prod', { context: { env: 'prod' }, required: true });
   * ```
   * @throws CredentialNotFoundError (required), EncryptionContextMismatchError, IntegrityError, ValidationError,
   *   StoreUnavailableError, AccessDeniedError
   */
  getCredential(id: string, opts: GetOptions & { required: true }): Promise<StoredCredential>;
  getCredential(id: string, opts?: GetOptions): Promise<StoredCredential | undefined>;

  /**
   * Create a new immutable version. Never overwrites.
   *
   * @example
   * ```ts
   * // rotate a DB password: the next version, race-safe
   * const { version } = await store.storeCredential('myapp.db.prod', newPassword, { autoVersion: true, context: { env: 'prod' } });
   * ```
   * @throws VersionConflictError, ValueTooLargeError, ValidationError, UnsupportedOperationError
   */
  storeCredential(id: string, value: CredentialValue, opts?: WriteOptions): Promise<PutResult>;

  /**
   * Delete one version or every version.
   *
   * @example
   * ```ts
   * await store.deleteCredential('myapp.db.prod', { version: 1 }); // { id, deleted: ['1'] }
   * ```
   * @throws CredentialNotFoundError when nothing matched, UnsupportedOperationError, ValidationError
   */
  deleteCredential(id: string, opts?: DeleteOptions): Promise<DeleteResult>;

  /**
   * Every version (or only the newest) of every credential, sorted by id then version; nothing decrypted.
   *
   * @example
   * ```ts
   * const latest = await store.listCredentials({ pattern: 'myapp.*', latestOnly: true });
   * ```
   * @throws ValidationError for a non-string pattern, StoreUnavailableError, AccessDeniedError
   */
  listCredentials(opts?: ListOptions): Promise<CredentialSummary[]>;

  /**
   * Whether the credential (or that version) exists; decrypts nothing.
   *
   * @example
   * ```ts
   * if (!(await store.credentialExists('myapp.db.prod'))) await store.storeCredential('myapp.db.prod', initial);
   * ```
   * @throws ValidationError, StoreUnavailableError
   */
  credentialExists(id: string, opts?: { version?: number | string }): Promise<boolean>;

  /**
   * The newest (or a given) version of every credential, decrypted with bounded concurrency.
   *
   * @example
   * ```ts
   * const { credentials, skipped } = await store.getAllCredentials({ pattern: 'myapp.*', context: { env: 'prod' }, skipErrors: true });
   * ```
   * @throws PartialResultError when any credential fails and `skipErrors` is not set, ValidationError
   */
  getAllCredentials(opts?: GetAllOptions): Promise<GetAllResult>;

  /**
   * Release connections and file handles. Safe to call twice.
   *
   * @example
   * ```ts
   * try { await useStore(store); } finally { await store.close(); }
   * ```
   */
  close(): Promise<void>;
}

/** A store that can create its backing resources (table, file, schema). Optional; the CLI checks for it. */
export interface SetupCapable {
  /** Create what is missing; idempotent (`created: false` when everything existed). */
  setup(opts?: SetupOptions): Promise<SetupResult>;
}

/**
 * Whether `store` can create its own backing resources (`credstash setup`).
 *
 * @example
 * ```ts
 * if (isSetupCapable(store)) console.log((await store.setup({ billing: 'on-demand' })).message);
 * ```
 */
export function isSetupCapable(store: CredentialStore): store is CredentialStore & SetupCapable {
  return typeof (store as Partial<SetupCapable>).setup === 'function';
}

/** Parallel decrypts in `getAllCredentials` when the caller gives no `concurrency`. */
export const DEFAULT_GETALL_CONCURRENCY = 32;
/** `autoVersion` writes give up (rethrowing the VersionConflictError) after this many lost races. */
export const AUTOVERSION_MAX_ATTEMPTS = 25;

/**
 * Template-method base: the public methods validate, canonicalise, apply `required`, run the race-safe
 * autoversion loop and check sizes; a tier writes only the protected `_` hooks. No tier overrides a public
 * method or a protected helper without `_` (test/unit/architecture.test.ts checks it), so every policy
 * (validation, context on read and write, sizes, definitions, comments, `required`, autoversion, sorting
 * and filtering) holds on every tier alike.
 *
 * Hooks a tier may add to the required ones: `_putNext` (the backend assigns versions), `_readAll` (a bulk
 * read, e.g. one Scan), `_getAll` (bulk read of listed ids), `_exists` (cheaper than a listing), `_close`.
 *
 * @example
 * ```ts
 * // A complete in-memory tier is test/fixtures/memory-store.ts; the shape:
 * class MapStore extends BaseStore {
 *   readonly kind = 'map';
 *   readonly description = 'map store';
 *   readonly capabilities = { write: true, delete: true, context: true, versions: true };
 *   protected readonly maxValueBytes = 64 * 1024;
 *   // _get, _put (VersionConflictError when that version exists), _highestVersion, _delete, _list
 * }
 * registerCredentialStore('map', () => new MapStore());
 * ```
 * @throws from the public methods: the typed errors listed on {@link CredentialStore}; anything else a tier
 *   method throws becomes StoreUnavailableError naming the store
 */
export abstract class BaseStore implements CredentialStore {
  abstract readonly kind: string;
  abstract readonly description: string;
  abstract readonly capabilities: StoreCapabilities;
  /** Largest encoded value this tier accepts, in bytes. */
  protected abstract readonly maxValueBytes: number;

  /** Read one version (`opts.version` padded) or the newest. Undefined when missing. */
  protected abstract _get(id: string, opts: ResolvedReadOptions): Promise<StoredCredential | undefined>;
  /** Write exactly `opts.version`; throw VersionConflictError if it exists. */
  protected abstract _put(id: string, value: CredentialValue, opts: ResolvedWriteOptions): Promise<void>;
  /** Highest integer version of `id`, 0 when none. */
  protected abstract _highestVersion(id: string): Promise<number>;
  /**
   * Delete the given version (padded) or all; return the deleted versions (display form, oldest first), or,
   * for a tier whose stored form may differ from the padded one, those and the stored forms.
   */
  protected abstract _delete(id: string, version: string | undefined): Promise<string[] | { deleted: string[]; stored: string[] }>;
  /** Every version of every credential (unsorted is fine), or at least the newest ones with `latestOnly`. */
  protected abstract _list(opts: ListHookOptions): Promise<CredentialSummary[]>;

  /**
   * Server-assigned versions (SSM): write the next version in one request and return the number the backend
   * gave it. A tier that defines it gets `autoVersion` writes through it instead of the highest + 1 loop;
   * everything else `storeCredential` checks (write capability, id, comment, definition, size, context)
   * still happens first, in the base.
   */
  protected _putNext?(id: string, value: CredentialValue, opts: ResolvedNextWriteOptions): Promise<number>;

  /**
   * Bulk read for `getAllCredentials`: the matching ids and their newest (or `opts.version`) credentials.
   * Default: the newest listing, then `_getAll`. A tier that can read everything at once (one Scan) overrides
   * this; the base still filters by the pattern, sorts, and turns errors into `skipped` / PartialResultError.
   */
  protected async _readAll(opts: ReadAllHookOptions): Promise<BulkRead> {
    const { pattern, concurrency = DEFAULT_GETALL_CONCURRENCY, ...read } = opts;
    const listed = await this.wrap(() => this._list(pattern === undefined ? { latestOnly: true } : { latestOnly: true, pattern }));
    const ids = [...new Set(listed.map((s) => s.id))].filter((id) => matchesGlob(pattern, id));
    return { ids, results: await this._getAll(ids, { ...read, concurrency }) };
  }

  /** Default: one `_get` per id of the latest listing. Tiers with a bulk read override it. */
  protected async _getAll(ids: string[], opts: ResolvedReadOptions & { concurrency: number }): Promise<Array<StoredCredential | Error | undefined>> {
    return mapConcurrent(ids, opts.concurrency, async (id) => {
      try {
        return await this._get(id, { version: opts.version, context: opts.context });
      } catch (err) {
        return err as Error;
      }
    });
  }

  /** Default: `_get` without decryption concerns is not possible generically, so list. Tiers override cheaply. */
  protected async _exists(id: string, version: string | undefined): Promise<boolean> {
    const all = await this._list({ latestOnly: false });
    return all.some((s) => s.id === id && (version === undefined || padEq(s.version, version)));
  }

  /**
   * Bytes `value` takes in this tier, which `maxValueBytes` limits (checked by `storeCredential` before any
   * write). Default: the value's own size (text as UTF-8, JSON as compact JSON, bytes as they are); a tier
   * that stores a longer form (SSM's text marker) counts that. Also validates the value (type, JSON depth).
   */
  protected _storedSize(value: CredentialValue): number {
    return valueByteLength(value);
  }

  /** Release connections, clients and file handles; called by `close()`. Nothing by default. */
  protected async _close(): Promise<void> {}

  /**
   * Validate the id, version and context, then read through the tier; see {@link CredentialStore.getCredential}.
   *
   * @example
   * ```ts
   * const v2 = await store.getCredential('myapp.db.prod', { version: 2, context: { env: 'prod' } }); // undefined if absent
   * ```
   * @throws ValidationError (id, version, context), UnsupportedOperationError (a context on a store that cannot
   *   bind one), CredentialNotFoundError (required), the tier's typed errors
   *   (EncryptionContextMismatchError, IntegrityError, AccessDeniedError, ...), StoreUnavailableError for anything untyped
   */
  getCredential(id: string, opts: GetOptions & { required: true }): Promise<StoredCredential>;
  getCredential(id: string, opts?: GetOptions): Promise<StoredCredential | undefined>;
  async getCredential(id: string, opts: GetOptions = {}): Promise<StoredCredential | undefined> {
    validateId(id);
    const resolved = this.resolveRead(opts);
    const found = await this.wrap(() => this._get(id, resolved), id);
    if (found === undefined && opts.required === true) {
      throw new CredentialNotFoundError({ credentialId: id, store: this.description, version: opts.version });
    }
    return found;
  }

  /**
   * Check the value (definition, size, context) and write a new version; with `autoVersion`, highest + 1,
   * retried on lost races. See {@link CredentialStore.storeCredential}.
   *
   * @example
   * ```ts
   * await store.storeCredential('myapp.db.prod', { user: 'app', password: newPassword }, {
   *   autoVersion: true, context: { env: 'prod' }, comment: 'rotated by ops',
   *   definition: { id: 'myapp.db.prod', credential_type: 'database' },
   * });
   * ```
   * @throws UnsupportedOperationError (read-only store, or a context on a store that cannot bind one),
   *   ValidationError (id, version, context, definition), ValueTooLargeError, VersionConflictError (explicit
   *   version exists, or {@link AUTOVERSION_MAX_ATTEMPTS} lost races), the tier's typed errors, StoreUnavailableError
   */
  async storeCredential(id: string, value: CredentialValue, opts: WriteOptions = {}): Promise<PutResult> {
    if (!this.capabilities.write) throw new UnsupportedOperationError(this.description, 'writes');
    validateWriteId(id);
    // A comment is stored beside the version on every tier: anything but a string would be written as is
    // and read back as a damaged entry.
    if (opts.comment !== undefined && typeof opts.comment !== 'string') throw new ValidationError('comment must be a string');
    // [[credentials]] definitions: a typed value must carry its type's fields, on every tier.
    const definition = checkCredentialValue(id, value, opts.definition);
    if (definition !== undefined) opts = { ...opts, definition };
    const size = this._storedSize(value);
    if (size > this.maxValueBytes) {
      throw new ValueTooLargeError({ credentialId: id, store: this.description, size, limit: this.maxValueBytes });
    }
    const context = this.resolveContext(opts.context);
    const { autoVersion, version: _v, context: _c, ...rest } = opts;
    if (autoVersion === true && this._putNext !== undefined) {
      const putNext = this._putNext.bind(this);
      const version = await this.wrap(() => putNext(id, value, { ...rest, context }), id);
      return { id, version };
    }
    if (autoVersion !== true) {
      const version = opts.version === undefined ? 1 : parseWriteVersion(opts.version);
      await this.wrap(() => this._put(id, value, { ...rest, version, context }), id);
      return { id, version };
    }
    // Race-safe autoversion: read the highest, try highest+1 with a conditional write, and on a conflict
    // (another writer took that number) read again. Bounded, with jitter so racers spread out.
    for (let attempt = 1; ; attempt++) {
      const highest = await this.wrap(() => this._highestVersion(id), id);
      const version = nextAutoVersion(highest, { credentialId: id, store: this.description });
      try {
        await this.wrap(() => this._put(id, value, { ...rest, version, context }), id);
        return { id, version };
      } catch (err) {
        if (!(err instanceof VersionConflictError) || attempt >= AUTOVERSION_MAX_ATTEMPTS) throw err;
        await sleep(Math.floor(Math.random() * Math.min(100, 5 * 2 ** attempt)));
      }
    }
  }

  /**
   * Delete one version or every version; see {@link CredentialStore.deleteCredential}.
   *
   * @example
   * ```ts
   * const { deleted } = await store.deleteCredential('myapp.db.old'); // every version, e.g. ['1', '2']
   * ```
   * @throws UnsupportedOperationError, ValidationError, CredentialNotFoundError when nothing matched, the tier's
   *   typed errors, StoreUnavailableError
   */
  async deleteCredential(id: string, opts: DeleteOptions = {}): Promise<DeleteResult> {
    if (!this.capabilities.delete) throw new UnsupportedOperationError(this.description, 'deletes');
    validateId(id);
    const version = opts.version === undefined ? undefined : parseReadVersion(opts.version);
    const out = await this.wrap(() => this._delete(id, version), id);
    const deleted = Array.isArray(out) ? out : out.deleted;
    if (deleted.length === 0) {
      throw new CredentialNotFoundError({ credentialId: id, store: this.description, version: opts.version });
    }
    return Array.isArray(out) ? { id, deleted } : { id, deleted, stored: out.stored };
  }

  /**
   * The tier's listing, filtered by the glob and sorted (integer versions numerically).
   *
   * @example
   * ```ts
   * for (const { id, version } of await store.listCredentials({ latestOnly: true })) console.log(id, version);
   * ```
   * @throws ValidationError for a non-string pattern, the tier's typed errors, StoreUnavailableError
   */
  async listCredentials(opts: ListOptions = {}): Promise<CredentialSummary[]> {
    if (opts.pattern !== undefined && typeof opts.pattern !== 'string') throw new ValidationError('pattern must be a string');
    const hook: ListHookOptions = { latestOnly: opts.latestOnly === true };
    if (opts.pattern !== undefined) hook.pattern = opts.pattern;
    const all = (await this.wrap(() => this._list(hook))).filter((s) => matchesGlob(opts.pattern, s.id));
    all.sort(compareSummaries);
    if (opts.latestOnly !== true) return all;
    const latest = new Map<string, CredentialSummary>();
    for (const s of all) latest.set(s.id, s); // sorted ascending, so the last one per id wins
    return [...latest.values()];
  }

  /**
   * Whether the credential (or that version) exists; decrypts nothing.
   *
   * @example
   * ```ts
   * const hasV3 = await store.credentialExists('myapp.db.prod', { version: 3 });
   * ```
   * @throws ValidationError (id, version), the tier's typed errors, StoreUnavailableError
   */
  async credentialExists(id: string, opts: { version?: number | string } = {}): Promise<boolean> {
    validateId(id);
    const version = opts.version === undefined ? undefined : parseReadVersion(opts.version);
    return this.wrap(() => this._exists(id, version), id);
  }

  /**
   * List, then read the newest (or `version`) of each matching id with bounded concurrency.
   *
   * @example
   * ```ts
   * const { credentials } = await store.getAllCredentials({ pattern: 'myapp.prod.*', context: { env: 'prod' } });
   * ```
   * @throws ValidationError (context, version, concurrency), UnsupportedOperationError (a context on a store that
   *   cannot bind one), PartialResultError listing every id that failed
   *   unless `skipErrors`, StoreUnavailableError when the listing fails
   */
  async getAllCredentials(opts: GetAllOptions = {}): Promise<GetAllResult> {
    const resolved = this.resolveRead({ version: opts.version, context: opts.context });
    const { concurrency, pattern } = opts;
    if (concurrency !== undefined && (!Number.isSafeInteger(concurrency) || concurrency < 1)) throw new ValidationError('concurrency must be a positive integer');
    if (pattern !== undefined && typeof pattern !== 'string') throw new ValidationError('pattern must be a string');
    const hook: ReadAllHookOptions = { ...resolved };
    if (pattern !== undefined) hook.pattern = pattern;
    if (concurrency !== undefined) hook.concurrency = concurrency;
    const bulk = await this.wrap(() => this._readAll(hook));
    // The base owns the answer's shape: only matching ids, each once, sorted by id.
    const order = bulk.ids.map((_, i) => i).filter((i) => matchesGlob(pattern, bulk.ids[i] as string));
    order.sort((a, b) => compareIds(bulk.ids[a] as string, bulk.ids[b] as string));
    const ids: string[] = [];
    const results: Array<StoredCredential | Error | undefined> = [];
    for (const i of order) {
      const id = bulk.ids[i] as string;
      if (ids.length > 0 && ids[ids.length - 1] === id) continue;
      ids.push(id);
      results.push(bulk.results[i]);
    }
    return this.collectGetAll(ids, results, opts.skipErrors === true, resolved.version);
  }

  /**
   * Turn per-id outcomes into a GetAllResult: errors become `skipped` entries (typed, value-free) and, unless
   * the caller allowed skipping, one PartialResultError — never a silently partial result. With a `version`
   * (`getall -v N`), a credential that has no version N is such a failure too (`CredentialNotFoundError`
   * naming it), where Python credstash failed the whole getall; without one, `undefined` is a credential
   * deleted since the listing, and is left out.
   * @param version the padded version every credential was read at, if any
   */
  protected collectGetAll(
    ids: readonly string[],
    results: ReadonlyArray<StoredCredential | Error | undefined>,
    skipErrors: boolean,
    version?: string,
  ): GetAllResult {
    const credentials: StoredCredential[] = [];
    const skipped: GetAllResult['skipped'] = [];
    results.forEach((r, i) => {
      const id = ids[i] as string;
      if (r === undefined && version !== undefined) {
        const e = new CredentialNotFoundError({ credentialId: id, store: this.description, version: displayVersion(version) });
        skipped.push({ id, code: e.code, message: e.message });
      } else if (r instanceof Error) {
        const e = this.toStoreError(r, id);
        skipped.push({ id, code: e.code, message: e.message });
      } else if (r !== undefined) {
        credentials.push(r);
      }
    });
    if (skipped.length > 0 && !skipErrors) {
      throw new PartialResultError(
        this.description,
        skipped.map((s) => ({ credentialId: s.id, code: s.code as PartialResultError['failures'][number]['code'], message: s.message })),
      );
    }
    return { credentials, skipped };
  }

  /**
   * Release what the tier holds (its `_close` hook: connections, clients, files). Safe to call twice.
   *
   * @example
   * ```ts
   * await store.close();
   * ```
   */
  async close(): Promise<void> {
    await this._close();
  }

  /**
   * The canonical context; with pairs on a store whose `capabilities.context` is false, an
   * UnsupportedOperationError. Every read and write goes through here, so no tier can ignore a context
   * silently (a credential read "with" a context that nothing checked would look bound when it is not).
   * @throws ValidationError for a malformed context, UnsupportedOperationError as above
   */
  protected resolveContext(context: EncryptionContext | undefined | null): EncryptionContext {
    const canonical = canonicalContext(context);
    if (!this.capabilities.context && Object.keys(canonical).length > 0) {
      throw new UnsupportedOperationError(this.description, 'encryption context');
    }
    return canonical;
  }

  /** Canonical context (refused where unsupported) and padded version, validated once for every tier. */
  protected resolveRead(opts: ReadOptions): ResolvedReadOptions {
    const context = this.resolveContext(opts.context);
    const out: ResolvedReadOptions = { context };
    if (opts.version !== undefined) out.version = parseReadVersion(opts.version);
    return out;
  }

  /** Pass CredstashErrors through; turn anything else into StoreUnavailableError naming this store. */
  protected async wrap<T>(fn: () => Promise<T>, credentialId?: string): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.toStoreError(err, credentialId);
    }
  }

  /** A CredstashError as is; anything else (SDK, driver, fs) as StoreUnavailableError with the error as `cause`. */
  protected toStoreError(err: unknown, credentialId?: string): CredstashError {
    if (err instanceof CredstashError) return err;
    const what = err instanceof Error ? err.name : typeof err;
    return new StoreUnavailableError(`${this.description} failed (${what})${credentialId === undefined ? '' : ` reading or writing credential "${credentialId}"`}`, {
      store: this.description,
      credentialId,
      cause: err,
    });
  }
}

/**
 * Run `fn` over `items` with at most `limit` in flight; results keep the input order.
 *
 * @example
 * ```ts
 * const creds = await mapConcurrent(['db', 'api', 'smtp'], 2, (id) => store.getCredential(id, { required: true }));
 * ```
 * @throws whatever `fn` rejects with first (no error class of its own)
 */
export async function mapConcurrent<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * Order ids by UTF-16 code units (`<`), never by locale, so every tier and the CLI sort alike.
 *
 * @example
 * ```ts
 * ['b', 'B', 'a'].sort(compareIds); // ['B', 'a', 'b']
 * ```
 */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * By id, then by version numerically where both are integers, else as strings.
 *
 * @example
 * ```ts
 * summaries.sort(compareSummaries); // db@2 before db@10, legacy `v5` after them
 * ```
 */
export function compareSummaries(a: CredentialSummary, b: CredentialSummary): number {
  const byId = compareIds(a.id, b.id);
  if (byId !== 0) return byId;
  const na = /^\d+$/.test(a.version) ? Number(a.version) : Number.NaN;
  const nb = /^\d+$/.test(b.version) ? Number(b.version) : Number.NaN;
  if (!Number.isNaN(na) && !Number.isNaN(nb) && na !== nb) return na - nb;
  const byVersion = compareIds(a.version, b.version);
  if (byVersion !== 0) return byVersion;
  // The same version stored twice, padded and unpadded (DynamoDB, old clients): the padded one first.
  return compareIds(a.storedVersion ?? '', b.storedVersion ?? '');
}

function padEq(display: string, padded: string): boolean {
  return parseReadVersion(display) === padded;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
