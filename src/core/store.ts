import { isDigits } from './chars.js';
import { canonicalContext } from './context.js';
import { checkCredentialValue } from './definitions.js';
import {
  CredentialExpiredError,
  CredentialNotFoundError,
  CredstashError,
  LabelConflictError,
  PartialResultError,
  StoreUnavailableError,
  UnsupportedOperationError,
  ValidationError,
  ValueTooLargeError,
  VersionConflictError,
} from './errors.js';
import {
  emptyCompanion,
  osWriterIdentity,
  parseExpiry,
  validateLabel,
  type CompanionDoc,
  type CompanionLabel,
  type CompanionRecord,
} from './lifecycle.js';
import { matchesGlob, validateId, validateWriteId } from './names.js';
import type {
  CredentialSummary,
  CredentialValue,
  DeleteOptions,
  DeleteResult,
  EncryptionContext,
  ExpiringCredential,
  ExpiringOptions,
  GetAllOptions,
  GetAllResult,
  GetOptions,
  LabelOptions,
  LabelResult,
  LabelTarget,
  ListOptions,
  PutResult,
  ReadOptions,
  RollbackOptions,
  RollbackResult,
  SetupOptions,
  SetupResult,
  StoreCapabilities,
  StoredCredential,
  VersionInfo,
  WriteOptions,
} from './types.js';
import { valueByteLength } from './value.js';
import { displayVersion, nextAutoVersion, parseReadVersion, parseWriteVersion } from './version.js';

/** Read options after validation: context canonical, version in its stored (padded) form. */
export interface ResolvedReadOptions {
  version?: string;
  context: EncryptionContext;
  /**
   * Set when the read goes through a label (`version` is then the label's target): a tier that authenticates
   * label targets ({@link BaseStore._labelProof}) checks `target.proof` before returning the value, and
   * throws IntegrityError when it does not verify.
   */
  label?: { name: string; target: CompanionLabel };
}

/** What the kernel records with every new version (where the tier can keep it). */
export interface WriteMeta {
  /** ISO 8601 time of the write. */
  createdAt: string;
  /** Who writes: the AWS identity or `user@host` ({@link BaseStore._writerIdentity}). */
  writtenBy?: string;
  /** Validated, in the future, ISO 8601; only on a tier whose `capabilities.expiry` is true. */
  expiresAt?: string;
}

/** Write options after validation: an explicit integer version, canonical context. */
export interface ResolvedWriteOptions extends Omit<WriteOptions, 'version' | 'autoVersion' | 'context' | 'expiresAt'> {
  version: number;
  context: EncryptionContext;
  meta: WriteMeta;
}

/** One version as `_versions` reports it: a listing entry and the lifecycle facts known without decrypting. */
export interface VersionRecord extends Omit<VersionInfo, 'labels'> {
  id: string;
}

/** What `_versions` is asked for. */
export interface VersionsHookOptions extends ListHookOptions {
  /** Only this credential (history); a tier answers with one query instead of a listing. */
  id?: string;
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

  // ---- Lifecycle hooks: labels, history, expiry and sealed state (docs/lifecycle.md) ----

  /**
   * Versions with what is known of them without decrypting (created, writer, stored size, expiry). Default:
   * `_list`'s entries, which carry none of that. A tier that keeps the facts overrides it.
   */
  protected async _versions(opts: VersionsHookOptions): Promise<VersionRecord[]> {
    const hook: ListHookOptions = { latestOnly: opts.latestOnly };
    const pattern = opts.id ?? opts.pattern;
    if (pattern !== undefined) hook.pattern = pattern;
    const listed = await this._list(hook);
    return listed.filter((s) => opts.id === undefined || s.id === opts.id).map((s) => ({ ...s }));
  }

  /** The companion record of `id` (labels and sealed state), undefined when there is none. */
  protected _readCompanion?(id: string): Promise<CompanionRecord | undefined>;
  /**
   * Compare-and-set the companion record: write `doc` only if the stored revision is still `expectedRev`
   * (undefined: only if there is no record). A doc with no labels and no state may be stored as no record.
   * @returns false when another writer got there first (nothing was written)
   */
  protected _writeCompanion?(id: string, doc: CompanionDoc, expectedRev: string | undefined): Promise<boolean>;
  /** Every companion record (for `list` and `listLabels`); the caller's glob is a hint. */
  protected _listCompanions?(pattern: string | undefined): Promise<Array<{ id: string; doc: CompanionDoc }>>;

  /**
   * An authenticator of "label `label` of `id` points at `paddedVersion`" that someone who can write the
   * backend but cannot use the key cannot make; checked by `_get` when `opts.label` is set. Undefined (the
   * default) means this tier stores label targets unauthenticated (docs/SECURITY.md says which).
   */
  protected async _labelProof(_id: string, _label: string, _paddedVersion: string, _context: EncryptionContext): Promise<string | undefined> {
    return undefined;
  }

  /**
   * Native labels (SSM parameter labels): read through `label` in one request. A tier that defines it also
   * defines `_nativeLabels` and `_moveNativeLabel` and needs no companion record for labels.
   */
  protected _getByLabel?(id: string, label: string, opts: ResolvedReadOptions): Promise<StoredCredential | undefined>;
  /** Native labels of the matching credentials: id -> label -> padded version. */
  protected _nativeLabels?(id: string | undefined, pattern: string | undefined): Promise<Map<string, Record<string, string>>>;
  /** Move (or with `version` undefined, remove) a native label. */
  protected _moveNativeLabel?(id: string, label: string, paddedVersion: string | undefined): Promise<void>;

  /** Seal state bytes for the companion record (encrypted like a value, bound to id, key and context). */
  protected _sealState?(id: string, key: string, plaintext: Uint8Array, context: EncryptionContext): Promise<string>;
  /** Open what `_sealState` made; IntegrityError when it does not verify. */
  protected _openState?(id: string, key: string, sealed: string, context: EncryptionContext): Promise<Uint8Array>;

  /** Who writes, for history: by default `user@host` of this process; AWS tiers give the caller's identity. */
  protected _writerIdentity(): string | undefined {
    return osWriterIdentity();
  }

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
    let found: StoredCredential | undefined;
    if (opts.label === undefined) {
      found = await this.wrap(() => this._get(id, resolved), id);
    } else {
      const label = this.checkLabels(opts.label);
      if (opts.version !== undefined) throw new ValidationError('give a version or a label, not both');
      found = await this.wrap(() => this.readThroughLabel(id, label, resolved), id);
      if (found === undefined && opts.required === true) throw new CredentialNotFoundError({ credentialId: id, store: this.description, label });
    }
    if (found === undefined && opts.required === true) {
      throw new CredentialNotFoundError({ credentialId: id, store: this.description, version: opts.version });
    }
    if (found !== undefined && opts.strict === true && found.expiresAt !== undefined && Date.parse(found.expiresAt) <= Date.now()) {
      throw new CredentialExpiredError({ credentialId: id, store: this.description, version: found.version, expiresAt: found.expiresAt });
    }
    return found;
  }

  /** A read through a label: native, or the companion record's target read with the label to verify. */
  private async readThroughLabel(id: string, label: string, resolved: ResolvedReadOptions): Promise<StoredCredential | undefined> {
    let found: StoredCredential | undefined;
    if (this._getByLabel !== undefined) {
      found = await this._getByLabel(id, label, resolved);
    } else {
      const target = (await this.readCompanion(id))?.doc.labels[label];
      if (target === undefined) return undefined;
      found = await this._get(id, { ...resolved, version: target.v, label: { name: label, target } });
    }
    if (found !== undefined) Object.defineProperty(found, 'label', { value: label, enumerable: false, configurable: true });
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
    const meta: WriteMeta = { createdAt: new Date().toISOString() };
    const writer = this._writerIdentity();
    if (writer !== undefined) meta.writtenBy = writer;
    if (opts.expiresAt !== undefined) {
      if (this.capabilities.expiry !== true) throw new UnsupportedOperationError(this.description, 'expiry');
      meta.expiresAt = parseExpiry(opts.expiresAt);
    }
    const { autoVersion, version: _v, context: _c, expiresAt: _e, ...options } = opts;
    const rest = { ...options, meta };
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
    if (this._readCompanion !== undefined) await this.wrap(() => this.dropDeletedLabels(id, version), id);
    return Array.isArray(out) ? { id, deleted } : { id, deleted, stored: out.stored };
  }

  /**
   * After a delete: labels that pointed at a deleted version are removed (a label never points at nothing),
   * and with every version gone the whole companion record goes, unless it still holds state.
   */
  private async dropDeletedLabels(id: string, version: string | undefined): Promise<void> {
    for (let attempt = 1; attempt <= AUTOVERSION_MAX_ATTEMPTS; attempt++) {
      const rec = await this.readCompanion(id);
      if (rec === undefined) return;
      const doc = cloneCompanion(rec.doc);
      let changed = false;
      for (const [name, t] of Object.entries(doc.labels)) {
        if (version === undefined || t.v === version) {
          delete doc.labels[name];
          changed = true;
        }
      }
      if (!changed) return;
      if (await this.writeCompanion(id, doc, rec.rev)) return;
    }
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

  // ---- Lifecycle: labels, history, rollback, expiry, sealed state ----

  /**
   * Create or move a label to a version, by compare-and-set: of several writers moving labels of one
   * credential at once, each either moves it or gets LabelConflictError, and the label always points at a
   * version that exists.
   *
   * @example
   * ```ts
   * await store.labelCredential('myapp.db.prod', 'current', { version: 4, context: { env: 'prod' } });
   * ```
   * @throws UnsupportedOperationError (no labels on this tier), ValidationError, CredentialNotFoundError (no
   *   such version), LabelConflictError (lost a race, or `expect` did not match), the tier's typed errors
   */
  async labelCredential(id: string, label: string, opts: LabelOptions & { context?: EncryptionContext }): Promise<LabelResult> {
    validateWriteId(id);
    this.checkLabels(label);
    if (opts === undefined || opts.version === undefined) throw new ValidationError('a label needs the version it points at');
    const padded = parseReadVersion(opts.version);
    const expect = opts.expect === undefined || opts.expect === null ? opts.expect : parseReadVersion(opts.expect);
    const context = this.resolveContext(opts.context);
    return this.wrap(async () => {
      if (!(await this._exists(id, padded))) {
        throw new CredentialNotFoundError({ credentialId: id, store: this.description, version: displayVersion(padded) });
      }
      if (this._moveNativeLabel !== undefined && this._nativeLabels !== undefined) {
        const before = (await this._nativeLabels(id, undefined)).get(id)?.[label];
        this.checkExpect(id, label, before, expect);
        await this._moveNativeLabel(id, label, padded);
        return labelResult(id, label, padded, before);
      }
      const rec = await this.readCompanion(id);
      const before = rec?.doc.labels[label]?.v;
      this.checkExpect(id, label, before, expect);
      const doc = rec === undefined ? emptyCompanion() : cloneCompanion(rec.doc);
      const entry: CompanionLabel = { v: padded, at: new Date().toISOString() };
      const by = this._writerIdentity();
      if (by !== undefined) entry.by = by;
      const proof = await this._labelProof(id, label, padded, context);
      if (proof !== undefined) entry.proof = proof;
      doc.labels[label] = entry;
      if (!(await this.writeCompanion(id, doc, rec?.rev))) throw new LabelConflictError({ credentialId: id, store: this.description, label });
      return labelResult(id, label, padded, before);
    }, id);
  }

  /**
   * Remove a label (compare-and-set, as {@link labelCredential}); the versions are untouched.
   *
   * @example
   * ```ts
   * await store.unlabelCredential('myapp.db.prod', 'next');
   * ```
   * @throws UnsupportedOperationError, ValidationError, CredentialNotFoundError (no such label), LabelConflictError
   */
  async unlabelCredential(id: string, label: string, opts: { expect?: number | string } = {}): Promise<LabelResult> {
    validateId(id);
    this.checkLabels(label);
    const expect = opts.expect === undefined ? undefined : parseReadVersion(opts.expect);
    return this.wrap(async () => {
      if (this._moveNativeLabel !== undefined && this._nativeLabels !== undefined) {
        const before = (await this._nativeLabels(id, undefined)).get(id)?.[label];
        if (before === undefined) throw new CredentialNotFoundError({ credentialId: id, store: this.description, label });
        this.checkExpect(id, label, before, expect);
        await this._moveNativeLabel(id, label, undefined);
        return { id, label, version: displayVersion(before), previous: displayVersion(before) };
      }
      const rec = await this.readCompanion(id);
      const before = rec?.doc.labels[label];
      if (rec === undefined || before === undefined) throw new CredentialNotFoundError({ credentialId: id, store: this.description, label });
      this.checkExpect(id, label, before.v, expect);
      const doc = cloneCompanion(rec.doc);
      delete doc.labels[label];
      if (!(await this.writeCompanion(id, doc, rec.rev))) throw new LabelConflictError({ credentialId: id, store: this.description, label });
      return { id, label, version: displayVersion(before.v), previous: displayVersion(before.v) };
    }, id);
  }

  /**
   * The labels of every matching credential (`credstash list` shows them), sorted by id; credentials without
   * labels are left out. Decrypts nothing.
   *
   * @example
   * ```ts
   * for (const { id, labels } of await store.listLabels({ pattern: 'myapp.*' })) console.log(id, labels.current?.version);
   * ```
   */
  async listLabels(opts: { pattern?: string } = {}): Promise<Array<{ id: string; labels: Record<string, LabelTarget> }>> {
    if (!this.capabilities.labels) return [];
    if (opts.pattern !== undefined && typeof opts.pattern !== 'string') throw new ValidationError('pattern must be a string');
    const out = await this.wrap(async () => {
      const rows: Array<{ id: string; labels: Record<string, LabelTarget> }> = [];
      if (this._nativeLabels !== undefined) {
        for (const [id, labels] of await this._nativeLabels(undefined, opts.pattern)) {
          const named: Record<string, LabelTarget> = {};
          for (const [name, v] of Object.entries(labels)) named[name] = { version: displayVersion(v) };
          rows.push({ id, labels: named });
        }
      } else if (this._listCompanions !== undefined) {
        for (const { id, doc } of await this._listCompanions(opts.pattern)) rows.push({ id, labels: labelTargets(doc) });
      }
      return rows;
    });
    return out.filter((r) => Object.keys(r.labels).length > 0 && matchesGlob(opts.pattern, r.id)).sort((a, b) => compareIds(a.id, b.id));
  }

  /**
   * Every version of a credential, oldest first, with what is known without decrypting: created time, writer,
   * stored size, comment, expiry and labels. Never a value.
   *
   * @example
   * ```ts
   * for (const v of await store.credentialHistory('myapp.db.prod')) console.log(v.version, v.createdAt, v.labels);
   * ```
   * @throws ValidationError, CredentialNotFoundError when the credential has no version, the tier's typed errors
   */
  async credentialHistory(id: string): Promise<VersionInfo[]> {
    validateId(id);
    return this.wrap(async () => {
      const versions = (await this._versions({ latestOnly: false, id })).filter((v) => v.id === id);
      if (versions.length === 0) throw new CredentialNotFoundError({ credentialId: id, store: this.description });
      versions.sort(compareSummaries);
      const byVersion = new Map<string, string[]>();
      if (this.capabilities.labels === true) {
        for (const [name, v] of Object.entries(await this.labelsOf(id))) {
          const key = displayVersion(v);
          byVersion.set(key, [...(byVersion.get(key) ?? []), name].sort());
        }
      }
      return versions.map(({ id: _id, ...v }) => ({ ...v, labels: byVersion.get(v.version) ?? [] }));
    }, id);
  }

  /**
   * Store version `to`'s value again as a new version (same context and definition), through the race-safe
   * autoversion path, then move `labels` to it. Never rewrites an old version.
   *
   * @example
   * ```ts
   * const { version } = await store.rollbackCredential('myapp.db.prod', { to: 3, context: { env: 'prod' }, labels: ['current'] });
   * ```
   * @throws CredentialNotFoundError (no version `to`), the errors of getCredential, storeCredential and labelCredential
   */
  async rollbackCredential(id: string, opts: RollbackOptions): Promise<RollbackResult> {
    if (opts === undefined || opts.to === undefined) throw new ValidationError('a rollback needs the version to go back to');
    const labels = (opts.labels ?? []).map((l) => this.checkLabels(l));
    const read: GetOptions & { required: true } = { version: opts.to, required: true };
    if (opts.context !== undefined) read.context = opts.context;
    const old = await this.getCredential(id, read);
    const write: WriteOptions = { autoVersion: true, comment: opts.comment ?? `rollback to version ${old.version}` };
    if (opts.context !== undefined) write.context = opts.context;
    if (old.definition !== undefined) write.definition = old.definition;
    const put = await this.storeCredential(id, old.value, write);
    const moved: string[] = [];
    for (const label of labels) {
      const lo: LabelOptions & { context?: EncryptionContext } = { version: put.version };
      if (opts.context !== undefined) lo.context = opts.context;
      await this.labelCredential(id, label, lo);
      moved.push(label);
    }
    return { ...put, from: old.version, labels: moved };
  }

  /**
   * Versions that have expired, or expire within `withinMs`, from the listing (nothing decrypted). By default
   * only the newest version of each credential (the one readers get).
   *
   * @example
   * ```ts
   * const soon = await store.expiringCredentials({ withinMs: 14 * 86_400_000 });
   * ```
   */
  async expiringCredentials(opts: ExpiringOptions = {}): Promise<ExpiringCredential[]> {
    if (opts.pattern !== undefined && typeof opts.pattern !== 'string') throw new ValidationError('pattern must be a string');
    const within = opts.withinMs ?? 0;
    if (!Number.isFinite(within) || within < 0) throw new ValidationError('withinMs must be a non-negative number');
    const now = (opts.now ?? new Date()).getTime();
    if (this.capabilities.expiry !== true) return [];
    const hook: VersionsHookOptions = { latestOnly: opts.allVersions !== true };
    if (opts.pattern !== undefined) hook.pattern = opts.pattern;
    let versions = (await this.wrap(() => this._versions(hook))).filter((v) => matchesGlob(opts.pattern, v.id));
    versions.sort(compareSummaries);
    if (opts.allVersions !== true) {
      const latest = new Map<string, VersionRecord>();
      for (const v of versions) latest.set(v.id, v);
      versions = [...latest.values()];
    }
    const out: ExpiringCredential[] = [];
    for (const v of versions) {
      if (v.expiresAt === undefined) continue;
      const at = Date.parse(v.expiresAt);
      if (Number.isNaN(at) || at > now + within) continue;
      out.push({ id: v.id, version: v.version, expiresAt: v.expiresAt, expired: at <= now });
    }
    return out;
  }

  /**
   * Sealed state kept beside a credential (the rotation engine's pending value and step), and the revision
   * to compare-and-set against. Never stored as a version: a reader of the credentials never sees it.
   *
   * @example
   * ```ts
   * const { value, rev } = await store.readState('myapp.db.prod', 'rotation', { context: { env: 'prod' } });
   * ```
   */
  async readState(id: string, key: string, opts: { context?: EncryptionContext } = {}): Promise<{ value?: Uint8Array; rev?: string }> {
    validateId(id);
    this.checkState(key);
    const context = this.resolveContext(opts.context);
    return this.wrap(async () => {
      const rec = await this.readCompanion(id);
      const sealed = rec?.doc.state[key];
      if (rec === undefined) return {};
      if (sealed === undefined) return { rev: rec.rev };
      const open = this._openState as NonNullable<BaseStore['_openState']>;
      return { value: await open.call(this, id, key, sealed, context), rev: rec.rev };
    }, id);
  }

  /**
   * Compare-and-set sealed state: write `value` (or remove it, `undefined`) only while the record's revision
   * is still `expectRev` (undefined: there is no record yet). Labels in the same record are kept.
   * @returns whether it was written (false: another writer changed the record first)
   */
  async writeState(id: string, key: string, value: Uint8Array | undefined, opts: { expectRev?: string; context?: EncryptionContext } = {}): Promise<boolean> {
    validateWriteId(id);
    this.checkState(key);
    const context = this.resolveContext(opts.context);
    return this.wrap(async () => {
      const rec = await this.readCompanion(id);
      if ((rec?.rev ?? undefined) !== opts.expectRev) return false;
      const doc = rec === undefined ? emptyCompanion() : cloneCompanion(rec.doc);
      if (value === undefined) delete doc.state[key];
      else doc.state[key] = await (this._sealState as NonNullable<BaseStore['_sealState']>).call(this, id, key, value, context);
      return this.writeCompanion(id, doc, rec?.rev);
    }, id);
  }

  /** Validate a label name and that this tier has labels. */
  private checkLabels(label: string): string {
    if (this.capabilities.labels !== true) throw new UnsupportedOperationError(this.description, 'labels');
    return validateLabel(label);
  }

  private checkState(key: string): void {
    if (this._sealState === undefined || this._openState === undefined || this._readCompanion === undefined) {
      throw new UnsupportedOperationError(this.description, 'lifecycle state');
    }
    if (typeof key !== 'string' || !/^[a-z][a-z0-9_-]{0,62}$/.test(key)) throw new ValidationError('a state key must be a lower-case word');
  }

  private checkExpect(id: string, label: string, before: string | undefined, expect: string | null | undefined): void {
    if (expect === undefined) return;
    if (expect === null ? before !== undefined : before !== expect) throw new LabelConflictError({ credentialId: id, store: this.description, label });
  }

  /** label -> padded version of one credential, native or from the companion record. */
  private async labelsOf(id: string): Promise<Record<string, string>> {
    if (this._nativeLabels !== undefined) return (await this._nativeLabels(id, undefined)).get(id) ?? {};
    const rec = await this.readCompanion(id);
    const out: Record<string, string> = {};
    for (const [name, t] of Object.entries(rec?.doc.labels ?? {})) out[name] = t.v;
    return out;
  }

  private async readCompanion(id: string): Promise<CompanionRecord | undefined> {
    if (this._readCompanion === undefined) throw new UnsupportedOperationError(this.description, 'labels');
    return this._readCompanion(id);
  }

  private async writeCompanion(id: string, doc: CompanionDoc, expectedRev: string | undefined): Promise<boolean> {
    if (this._writeCompanion === undefined) throw new UnsupportedOperationError(this.description, 'labels');
    return this._writeCompanion(id, doc, expectedRev);
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
  const na = isDigits(a.version) ? Number(a.version) : Number.NaN;
  const nb = isDigits(b.version) ? Number(b.version) : Number.NaN;
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

function cloneCompanion(doc: CompanionDoc): CompanionDoc {
  const out = emptyCompanion();
  for (const [k, v] of Object.entries(doc.labels)) out.labels[k] = { ...v };
  for (const [k, v] of Object.entries(doc.state)) out.state[k] = v;
  return out;
}

function labelTargets(doc: CompanionDoc): Record<string, LabelTarget> {
  const out: Record<string, LabelTarget> = {};
  for (const [name, t] of Object.entries(doc.labels)) {
    const target: LabelTarget = { version: displayVersion(t.v) };
    if (t.at !== undefined) target.movedAt = t.at;
    if (t.by !== undefined) target.movedBy = t.by;
    out[name] = target;
  }
  return out;
}

function labelResult(id: string, label: string, padded: string, before: string | undefined): LabelResult {
  const out: LabelResult = { id, label, version: displayVersion(padded) };
  if (before !== undefined) out.previous = displayVersion(before);
  return out;
}

/**
 * The lifecycle operations of {@link BaseStore} (labels, history, rollback, expiry, sealed state), offered
 * beside CredentialStore as `setup` and key rotation are; decorators pass them through by STORE_EXTRAS.
 */
export type LifecycleCapable = Pick<
  BaseStore,
  'labelCredential' | 'unlabelCredential' | 'listLabels' | 'credentialHistory' | 'rollbackCredential' | 'expiringCredentials' | 'readState' | 'writeState'
>;

/**
 * Whether `store` offers the lifecycle operations; `store.capabilities.labels` / `.expiry` tell which of
 * them its tier can hold (the rest throw UnsupportedOperationError).
 *
 * @example
 * ```ts
 * if (isLifecycleCapable(store)) console.table(await store.credentialHistory('myapp.db.prod'));
 * ```
 */
export function isLifecycleCapable(store: CredentialStore): store is CredentialStore & LifecycleCapable {
  return typeof (store as Partial<LifecycleCapable>).credentialHistory === 'function';
}
