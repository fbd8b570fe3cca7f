/**
 * HashiCorp Vault KV v2 tier over Node's global fetch (docs/stores.md#vault).
 *
 * Credential `db` is the KV v2 secret `<mount>/data/<prefix>db`. Decisions:
 * - versions are KV versions. Writes use check-and-set: version N is written with `cas = N - 1`, so a new
 *   credential is `cas = 0` and autoVersion is `cas = current`; a lost race is a VersionConflictError and
 *   BaseStore retries. Vault assigns versions, so an explicit version must be the next one: at or below the
 *   current version is a VersionConflictError, above current + 1 an UnsupportedOperationError.
 * - deleting one version is a soft delete (`POST <mount>/delete/<path>`, recoverable with `vault kv undelete`),
 *   or a destroy when `deleteMode: 'destroy'`; deleting all removes the metadata and every version.
 * - the newest version is the newest *live* one (Vault itself answers 404 when the current version is deleted).
 * - values: text is `{ "value": text }`, bytes `{ "value": base64, "encoding": "base64" }`, a JSON object is the
 *   secret's own key/value map (tagged `_credstash_json: true` only when it would look like text or bytes).
 * - comments and definitions live in the secret's custom_metadata (`credstash_comment_v<N>`, `credstash_name`, ...).
 * - encryption context: UnsupportedOperationError (BaseStore refuses it on every read and write).
 * - the version lifecycle (docs/lifecycle.md, "How each tier keeps it"): labels and sealed state are one
 *   companion secret per credential at `<mount>/data/<lifecyclePrefix><prefix><id>` (default lifecycle prefix
 *   `_credstash_lifecycle/`, outside the scope, so no listing of credentials sees it), holding the companion
 *   document under `lifecycle`, written with `options.cas` = the version read (custom_metadata has no
 *   check-and-set); its KV version is the revision. History is the metadata endpoint's `versions` (created_time,
 *   created_by where Vault reports it; soft-deleted and destroyed versions are left out as everywhere). An
 *   expiry is kept in the version's data under `_credstash_expires_at` (a version's data never changes) and in
 *   custom_metadata `credstash_expires_v<N>` for listings. Label targets carry no proof: Vault policy decides who
 *   may write the companion secret (docs/SECURITY.md).
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve as resolvePath } from 'node:path';
import {
  AccessDeniedError,
  ConfigError,
  CorruptStoreError,
  CredstashError,
  IntegrityError,
  StoreUnavailableError,
  ThrottlingError,
  UnsupportedOperationError,
  ValidationError,
  VersionConflictError,
} from '../../core/errors.js';
import { decodeCompanion, encodeCompanion, emptyCompanion, withLifecycle, type CompanionDoc, type CompanionRecord, type VersionMeta } from '../../core/lifecycle.js';
import { matchesGlob } from '../../core/names.js';
import {
  BaseStore,
  mapConcurrent,
  type ListHookOptions,
  type ResolvedReadOptions,
  type ResolvedWriteOptions,
  type VersionRecord,
  type VersionsHookOptions,
} from '../../core/store.js';
import type { CredentialDefinition, CredentialSummary, CredentialValue, JsonObject, StoreCapabilities, StoredCredential } from '../../core/types.js';
import { CREDENTIAL_TYPES } from '../../core/types.js';
import { assertJsonDepth, MAX_STORED_JSON_DEPTH } from '../../core/value.js';
import { versionNumber } from '../../core/version.js';

export interface VaultAppRole {
  roleId: string;
  secretId: string;
  /** Auth mount (default `approle`). */
  mount?: string;
}

export interface VaultStoreOptions {
  /** e.g. `https://vault.example:8200` (default env VAULT_ADDR). */
  address?: string;
  /** Client token (default: tokenFile, then appRole, then env VAULT_TOKEN). */
  token?: string;
  /** File holding the token (e.g. a Vault agent sink). Read on first use. */
  tokenFile?: string;
  appRole?: VaultAppRole;
  /** Enterprise namespace, sent as X-Vault-Namespace (default env VAULT_NAMESPACE). */
  namespace?: string;
  /** KV v2 mount path (default `secret`). */
  mount?: string;
  /** Scope prefix inside the mount, e.g. `prod/` or `institutions/acme/`. */
  prefix?: string;
  /**
   * Folder of the lifecycle records (labels, rotation state) inside the mount (default `_credstash_lifecycle/`);
   * a credential's record is `<lifecyclePrefix><prefix><id>`. Ids inside it are refused when it lies in the scope.
   */
  lifecyclePrefix?: string;
  deleteMode?: 'soft' | 'destroy';
  /** Largest value in bytes (default 512 KiB, below Vault's default request and storage entry limits). */
  maxValueBytes?: number;
  /** Per-request timeout (default 10 s). */
  timeoutMs?: number;
  /** Parallel metadata reads when listing (default 8). */
  listConcurrency?: number;
  env?: NodeJS.ProcessEnv;
  /** Injected fetch (tests); defaults to the global fetch. */
  fetch?: typeof fetch;
  now?: () => number;
}

interface VaultResponse {
  status: number;
  body: Record<string, unknown> | undefined;
}

interface KvMetadata {
  current_version?: number;
  custom_metadata?: Record<string, string> | null;
  versions?: Record<string, { created_time?: string; deletion_time?: string; destroyed?: boolean; created_by?: { actor?: unknown } | null }>;
}

const COMMENT_KEY = 'credstash_comment_v';
const EXPIRES_KEY = 'credstash_expires_v';
/** The key of a version's data that holds its expiry (reserved in structured values). */
export const EXPIRES_DATA_KEY = '_credstash_expires_at';
export const DEFAULT_VAULT_LIFECYCLE_PREFIX = '_credstash_lifecycle/';

export class VaultStore extends BaseStore {
  readonly kind = 'vault';
  readonly description: string;
  readonly capabilities: StoreCapabilities = { write: true, delete: true, context: false, versions: true, labels: true, history: true, expiry: true };
  protected readonly maxValueBytes: number;
  readonly #address: string;
  readonly #mount: string;
  readonly #prefix: string;
  /** Folder of the companion records, with this scope: `<lifecyclePrefix><prefix>`. */
  readonly #lifecycle: string;
  /** The part of the scope that is the lifecycle folder (when the scope contains it): ids there are refused. */
  readonly #reserved: string | undefined;
  readonly #opts: VaultStoreOptions;
  readonly #fetch: typeof fetch;
  readonly #now: () => number;
  #token?: string;
  /** AppRole token lifetime: renew after `renewAt`, it is gone at `expiresAt`. */
  #renewAt = 0;
  #auth?: Promise<string>;

  constructor(opts: VaultStoreOptions = {}) {
    super();
    const env = opts.env ?? process.env;
    const address = opts.address ?? env.VAULT_ADDR;
    if (address === undefined || !/^https?:\/\/[^/]+/.test(address)) {
      throw new ConfigError('vault store needs an address such as https://vault.example:8200 (config "address" or VAULT_ADDR)', { path: 'credential_store.config.address' });
    }
    this.#address = address.replace(/\/+$/, '');
    this.#mount = vaultMount(opts.mount ?? 'secret', 'mount');
    if (opts.appRole?.mount !== undefined) vaultMount(opts.appRole.mount, 'approle.mount');
    this.#prefix = vaultPrefix(opts.prefix ?? '');
    const lifecycle = vaultPrefix(opts.lifecyclePrefix ?? DEFAULT_VAULT_LIFECYCLE_PREFIX, 'lifecycle_prefix');
    if (lifecycle === '') throw new ConfigError('vault "lifecycle_prefix" must be a folder such as "_credstash_lifecycle/"', { path: 'credential_store.config.lifecycle_prefix' });
    if (this.#prefix.startsWith(lifecycle)) {
      throw new ConfigError('vault "prefix" must not lie inside "lifecycle_prefix" (the folder of the lifecycle records)', { path: 'credential_store.config.prefix' });
    }
    this.#lifecycle = lifecycle + this.#prefix;
    this.#reserved = lifecycle.startsWith(this.#prefix) ? lifecycle.slice(this.#prefix.length) : undefined;
    this.#opts = { ...opts, namespace: opts.namespace ?? env.VAULT_NAMESPACE, token: opts.token ?? (opts.tokenFile === undefined && opts.appRole === undefined ? env.VAULT_TOKEN : undefined) };
    if (this.#opts.token === undefined && opts.tokenFile === undefined && opts.appRole === undefined) {
      throw new ConfigError('vault store needs a token: config "token", "token_file", "approle", or VAULT_TOKEN', { path: 'credential_store.config.token' });
    }
    this.#fetch = opts.fetch ?? fetch;
    this.#now = opts.now ?? Date.now;
    this.maxValueBytes = opts.maxValueBytes ?? 512 * 1024;
    const ns = this.#opts.namespace === undefined || this.#opts.namespace === '' ? '' : ` namespace "${this.#opts.namespace}"`;
    this.description = `vault kv "${this.#mount}/${this.#prefix}"${ns} at ${this.#address}`;
  }

  // ---- paths and values ----

  #secretPath(id: string): string {
    if (id.startsWith('/') || id.endsWith('/') || id.split('/').some((s) => s === '' || s === '.' || s === '..')) {
      throw new ValidationError(`credential id "${id}" cannot be a vault path (no leading, trailing or empty / segments, no . or ..)`, { credentialId: id });
    }
    if (this.#reserved !== undefined && `${id}/`.startsWith(this.#reserved)) {
      throw new ValidationError(`credential id "${id}" is inside the folder of the lifecycle records (${this.#reserved}); choose another name or set lifecycle_prefix`, { credentialId: id });
    }
    return this.#prefix + id;
  }

  /** Where the companion record (labels, sealed state) of `id` lives. */
  #companionPath(id: string): string {
    this.#secretPath(id);
    return this.#lifecycle + id;
  }

  #url(op: string, path: string, query = ''): string {
    const enc = path.split('/').map(encodeURIComponent).join('/');
    return `${this.#address}/v1/${this.#mount}/${op}/${enc}${query}`;
  }

  // ---- auth ----

  async #currentToken(): Promise<string> {
    if (this.#opts.token !== undefined) return this.#opts.token;
    if (this.#opts.tokenFile !== undefined) {
      if (this.#token === undefined) {
        const file = isAbsolute(this.#opts.tokenFile) ? this.#opts.tokenFile : resolvePath(this.#opts.tokenFile);
        try {
          this.#token = (await readFile(file, 'utf8')).trim();
        } catch (err) {
          throw new ConfigError(`vault token file ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { path: 'credential_store.config.token_file', cause: err });
        }
        if (this.#token === '') throw new ConfigError(`vault token file ${file} is empty`, { path: 'credential_store.config.token_file' });
      }
      return this.#token;
    }
    // AppRole: one login or renewal at a time, shared by concurrent requests.
    if (this.#token !== undefined && this.#now() < this.#renewAt) return this.#token;
    this.#auth ??= (this.#token === undefined ? this.#login() : this.#renew()).finally(() => {
      this.#auth = undefined;
    });
    return this.#auth;
  }

  async #login(): Promise<string> {
    const ar = this.#opts.appRole as VaultAppRole;
    const res = await this.#raw('POST', `${this.#address}/v1/auth/${vaultMount(ar.mount ?? 'approle', 'approle.mount')}/login`, { role_id: ar.roleId, secret_id: ar.secretId }, undefined);
    if (res.status !== 200) {
      throw new AccessDeniedError(`vault approle login at ${this.#address} failed (${res.status}${errorsOf(res)}); check role_id and secret_id`, { store: this.description });
    }
    return this.#accept(res);
  }

  /** renew-self before the lease ends; if that fails for any reason, log in again. */
  async #renew(): Promise<string> {
    try {
      const res = await this.#raw('POST', `${this.#address}/v1/auth/token/renew-self`, {}, this.#token);
      if (res.status === 200) return this.#accept(res);
    } catch {
      // fall through to a fresh login
    }
    this.#token = undefined;
    return this.#login();
  }

  #accept(res: VaultResponse): string {
    const auth = res.body?.auth as { client_token?: string; lease_duration?: number; renewable?: boolean } | undefined;
    if (typeof auth?.client_token !== 'string') throw new StoreUnavailableError(`vault at ${this.#address} returned no client token`, { store: this.description });
    this.#token = auth.client_token;
    const lease = typeof auth.lease_duration === 'number' ? auth.lease_duration : 0;
    // Renew when two thirds of the lease have passed (a non-expiring token never needs it).
    this.#renewAt = lease > 0 ? this.#now() + (lease * 1000 * 2) / 3 : Number.POSITIVE_INFINITY;
    return this.#token;
  }

  // ---- HTTP ----

  async #raw(method: string, url: string, body: unknown, token: string | undefined, contentType = 'application/json'): Promise<VaultResponse> {
    const headers: Record<string, string> = {};
    if (token !== undefined) headers['X-Vault-Token'] = token;
    if (this.#opts.namespace !== undefined && this.#opts.namespace !== '') headers['X-Vault-Namespace'] = this.#opts.namespace;
    if (body !== undefined) headers['Content-Type'] = contentType;
    let res: Response;
    try {
      res = await this.#fetch(url, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.#opts.timeoutMs ?? 10_000),
      });
    } catch (err) {
      const what = err instanceof Error ? (err.name === 'TimeoutError' ? 'timed out' : `${err.name}${causeCode(err)}`) : 'error';
      throw new StoreUnavailableError(`vault at ${this.#address} is unreachable (${what})`, { store: this.description, cause: err });
    }
    const text = await res.text();
    let parsed: Record<string, unknown> | undefined;
    if (text.length > 0) {
      try {
        const json: unknown = JSON.parse(text);
        parsed = json !== null && typeof json === 'object' && !Array.isArray(json) ? (json as Record<string, unknown>) : undefined;
      } catch {
        parsed = undefined; // a proxy's HTML page; never quoted (it could echo anything)
      }
    }
    // Success and "not found" are acted on, so they must come from Vault: its API answers them with a JSON
    // object (or 204 and no body). Another server at the address (a web page, a proxy's login page) answering
    // 200 or 404 would otherwise read as a missing credential, or as a write that stored nothing.
    const acted = (res.status >= 200 && res.status < 300) || res.status === 404;
    if (acted && parsed === undefined && !(res.status === 204 && text.length === 0)) {
      throw new StoreUnavailableError(
        `the answer of ${this.#address} (HTTP ${res.status}) is not a Vault API response (an HTML page or another service?); check the vault address`,
        { store: this.description },
      );
    }
    return { status: res.status, body: parsed };
  }

  /** One authenticated request; with AppRole, a 403 triggers one fresh login and a retry. */
  async #request(method: string, url: string, body?: unknown, contentType?: string): Promise<VaultResponse> {
    const res = await this.#raw(method, url, body, await this.#currentToken(), contentType);
    if (res.status === 403 && this.#opts.appRole !== undefined && this.#opts.token === undefined && this.#opts.tokenFile === undefined) {
      this.#token = undefined;
      return this.#raw(method, url, body, await this.#currentToken(), contentType);
    }
    return res;
  }

  #fail(res: VaultResponse, what: string, credentialId?: string): CredstashError {
    const fields = { store: this.description, credentialId };
    const errs = errorsOf(res);
    if (res.status === 403) return new AccessDeniedError(`vault denied ${what} in ${this.description}${errs}`, fields);
    if (res.status === 429) return new ThrottlingError(`vault rate-limited ${what} in ${this.description}; try again later`, fields);
    if (res.status === 400) return new ValidationError(`vault rejected ${what} in ${this.description} (400${errs})`, fields);
    if (res.status === 503) return new StoreUnavailableError(`vault at ${this.#address} is sealed or in standby (503) during ${what}`, fields);
    return new StoreUnavailableError(`vault returned ${res.status} for ${what} in ${this.description}${errs}`, fields);
  }

  async #metadata(id: string): Promise<KvMetadata | undefined> {
    const res = await this.#request('GET', this.#url('metadata', this.#secretPath(id)));
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw this.#fail(res, `reading metadata of credential "${id}"`, id);
    return (res.body?.data ?? {}) as KvMetadata;
  }

  // ---- BaseStore ----

  protected async _get(id: string, opts: ResolvedReadOptions): Promise<StoredCredential | undefined> {
    const path = this.#secretPath(id);
    let n: number | undefined;
    if (opts.version !== undefined) {
      n = versionNumber(opts.version);
      if (n === undefined || n < 1) return undefined;
    }
    const res = await this.#request('GET', this.#url('data', path, n === undefined ? '' : `?version=${n}`));
    if (res.status === 200) return this.#decode(id, res);
    if (res.status !== 404) throw this.#fail(res, `reading credential "${id}"`, id);
    // The current version is deleted: Vault answers 404 with its metadata. Fall back to the newest live one.
    const data = res.body?.data as { metadata?: unknown } | undefined;
    if (n !== undefined || data?.metadata === undefined) return undefined;
    const live = liveVersions(await this.#metadata(id));
    const newest = live.at(-1);
    if (newest === undefined) return undefined;
    const again = await this.#request('GET', this.#url('data', path, `?version=${newest}`));
    if (again.status === 404) return undefined;
    if (again.status !== 200) throw this.#fail(again, `reading credential "${id}"`, id);
    return this.#decode(id, again);
  }

  #decode(id: string, res: VaultResponse): StoredCredential | undefined {
    const data = res.body?.data as { data?: Record<string, unknown> | null; metadata?: { version?: number; created_time?: unknown } } | undefined;
    if (data?.data === null || data?.data === undefined || typeof data.metadata?.version !== 'number') return undefined;
    const { value, expiresAt } = decodeKvStored(data.data, id, this.description);
    const meta: VersionMeta = {};
    const created = isoTime(data.metadata.created_time);
    if (created !== undefined) meta.createdAt = created;
    if (expiresAt !== undefined) meta.expiresAt = expiresAt;
    return withLifecycle({ id, version: String(data.metadata.version), value }, meta);
  }

  protected override async _exists(id: string, version: string | undefined): Promise<boolean> {
    const live = liveVersions(await this.#metadata(id));
    if (version === undefined) return live.length > 0;
    const n = versionNumber(version);
    return n !== undefined && live.includes(n);
  }

  protected async _highestVersion(id: string): Promise<number> {
    return (await this.#metadata(id))?.current_version ?? 0;
  }

  protected async _put(id: string, value: CredentialValue, opts: ResolvedWriteOptions): Promise<void> {
    const path = this.#secretPath(id);
    const custom = customMetadata(id, opts.version, opts.comment, opts.definition, opts.meta.expiresAt);
    const res = await this.#request('POST', this.#url('data', path), { options: { cas: opts.version - 1 }, data: encodeKv(value, opts.meta.expiresAt) });
    if (res.status === 400 && /check-and-set/.test(JSON.stringify(res.body?.errors ?? []))) {
      const current = (await this.#metadata(id))?.current_version ?? 0;
      if (opts.version <= current) throw new VersionConflictError({ credentialId: id, store: this.description, version: opts.version, highest: current });
      throw new UnsupportedOperationError(this.description, `explicit version ${opts.version} for credential "${id}" (vault assigns versions; the next one is ${current + 1})`);
    }
    if (res.status !== 200) throw this.#fail(res, `writing credential "${id}"`, id);
    if (custom !== undefined) {
      // Not atomic with the data write (KV v2 has no such call); a failure here leaves the value stored.
      const meta = await this.#request('PATCH', this.#url('metadata', path), { custom_metadata: custom }, 'application/merge-patch+json');
      if (meta.status !== 204 && meta.status !== 200) {
        // Say what was stored: a caller told only "failed" would retry, and a retry adds another version.
        const what = opts.meta.expiresAt === undefined ? 'comment or definition' : 'comment, definition or expiry listing';
        const err = this.#fail(meta, `writing the ${what} of credential "${id}"`, id);
        err.message = `${err.message}; the value WAS stored as version ${opts.version}, without that ${what}: do not retry the put`;
        throw err;
      }
    }
  }

  protected async _delete(id: string, version: string | undefined): Promise<string[]> {
    const path = this.#secretPath(id);
    const meta = await this.#metadata(id);
    if (meta === undefined) return [];
    const live = liveVersions(meta);
    if (version !== undefined) {
      const n = versionNumber(version);
      if (n === undefined || !live.includes(n)) return [];
      const op = this.#opts.deleteMode === 'destroy' ? 'destroy' : 'delete';
      const res = await this.#request('POST', this.#url(op, path), { versions: [n] });
      if (res.status !== 204 && res.status !== 200) throw this.#fail(res, `deleting version ${n} of credential "${id}"`, id);
      return [String(n)];
    }
    const res = await this.#request('DELETE', this.#url('metadata', path));
    if (res.status !== 204 && res.status !== 200 && res.status !== 404) throw this.#fail(res, `deleting credential "${id}"`, id);
    return live.map(String);
  }

  /** The ids under `base` (LIST, recursively), skipping the lifecycle folder when it lies inside. */
  async #walk(base: string, what: string): Promise<string[]> {
    const ids: string[] = [];
    const walk = async (folder: string): Promise<void> => {
      const res = await this.#request('GET', this.#url('metadata', base + folder, '?list=true'));
      if (res.status === 404) return;
      if (res.status !== 200) throw this.#fail(res, what);
      const keys = ((res.body?.data as { keys?: unknown } | undefined)?.keys ?? []) as unknown[];
      for (const k of keys) {
        if (typeof k !== 'string') continue;
        if (base === this.#prefix && this.#reserved !== undefined && (folder + k).startsWith(this.#reserved)) continue;
        if (k.endsWith('/')) await walk(folder + k);
        else ids.push(folder + k);
      }
    };
    await walk('');
    return ids;
  }

  /** LIST the scope recursively, then one metadata read per secret (bounded concurrency). */
  protected async _list(opts?: ListHookOptions): Promise<CredentialSummary[]> {
    return (await this.#records(opts?.pattern)).map(({ id, version, comment }) => ({ id, version, ...(comment === undefined ? {} : { comment }) }));
  }

  /** Every live version under the scope with what the metadata says of it (one LIST walk, one metadata read per secret). */
  async #records(pattern: string | undefined): Promise<VersionRecord[]> {
    const ids = (await this.#walk(this.#prefix, 'listing credentials')).filter((id) => matchesGlob(pattern, id));
    const metas = await mapConcurrent(ids, this.#opts.listConcurrency ?? 8, (id) => this.#metadata(id));
    return ids.flatMap((id, i) => recordsOf(id, metas[i]));
  }

  // ---- Lifecycle: history, companion records, sealed state ----

  /** One credential: one metadata read. Otherwise the listing's walk (the newest version of each is filtered by the base). */
  protected override async _versions(opts: VersionsHookOptions): Promise<VersionRecord[]> {
    if (opts.id !== undefined) return recordsOf(opts.id, await this.#metadata(opts.id));
    const all = await this.#records(opts.pattern);
    if (!opts.latestOnly) return all;
    const newest = new Map<string, VersionRecord>();
    for (const r of all) newest.set(r.id, r); // each id's versions come oldest first
    return [...newest.values()];
  }

  /**
   * The companion secret's newest version: the document and its KV version as the revision. A record whose
   * newest version was deleted or destroyed by hand (`vault kv delete`) reads as an empty document at that
   * revision, so the next compare-and-set write still names the version Vault expects.
   */
  protected override async _readCompanion(id: string): Promise<CompanionRecord | undefined> {
    const res = await this.#request('GET', this.#url('data', this.#companionPath(id)));
    const data = res.body?.data as { data?: Record<string, unknown> | null; metadata?: { version?: unknown } } | undefined;
    if (res.status === 404) {
      return typeof data?.metadata?.version === 'number' ? { doc: emptyCompanion(), rev: String(data.metadata.version) } : undefined;
    }
    if (res.status !== 200) throw this.#fail(res, `reading the lifecycle record of credential "${id}"`, id);
    if (typeof data?.metadata?.version !== 'number') throw new CorruptStoreError(`the lifecycle record of credential "${id}" in ${this.description} has no version`, { store: this.description, credentialId: id });
    const text = data.data?.lifecycle;
    if (typeof text !== 'string') throw new CorruptStoreError(`the lifecycle record of credential "${id}" in ${this.description} has no "lifecycle" field; remove it with vault kv metadata delete`, { store: this.description, credentialId: id });
    return { doc: decodeCompanion(text, `${this.description} lifecycle record of "${id}"`), rev: String(data.metadata.version) };
  }

  /** Compare-and-set with KV v2 `options.cas`: the write succeeds only while the record's version is still `expectedRev` (0: no record). */
  protected override async _writeCompanion(id: string, doc: CompanionDoc, expectedRev: string | undefined): Promise<boolean> {
    const cas = expectedRev === undefined ? 0 : Number(expectedRev);
    if (!Number.isSafeInteger(cas) || cas < 0) return false;
    const res = await this.#request('POST', this.#url('data', this.#companionPath(id)), { options: { cas }, data: { lifecycle: encodeCompanion(doc) } });
    if (res.status === 200 || res.status === 204) return true;
    if (res.status === 400 && /check-and-set/.test(JSON.stringify(res.body?.errors ?? []))) return false;
    throw this.#fail(res, `writing the lifecycle record of credential "${id}"`, id);
  }

  /** Every companion record of this scope: a LIST walk of the lifecycle folder, then one read per matching record. */
  protected override async _listCompanions(pattern: string | undefined): Promise<Array<{ id: string; doc: CompanionDoc }>> {
    const ids = (await this.#walk(this.#lifecycle, 'listing lifecycle records')).filter((id) => matchesGlob(pattern, id));
    const recs = await mapConcurrent(ids, this.#opts.listConcurrency ?? 8, (id) => this._readCompanion(id));
    const out: Array<{ id: string; doc: CompanionDoc }> = [];
    ids.forEach((id, i) => {
      const rec = recs[i];
      if (rec !== undefined) out.push({ id, doc: rec.doc });
    });
    return out;
  }

  /**
   * State in the companion record. Vault keeps it encrypted in its own storage and guarded by its policies,
   * which is the protection of every value in this tier too; the tier has no key of its own to add. The seal binds
   * the bytes to the credential and the state key, so a record copied to another credential is refused.
   */
  protected override async _sealState(id: string, key: string, plaintext: Uint8Array): Promise<string> {
    return `vault1.${Buffer.from(JSON.stringify([id, key])).toString('base64url')}.${Buffer.from(plaintext).toString('base64url')}`;
  }

  protected override async _openState(id: string, key: string, sealed: string): Promise<Uint8Array> {
    const m = /^vault1\.([A-Za-z0-9_-]*)\.([A-Za-z0-9_-]*)$/.exec(sealed);
    if (m === null || Buffer.from(m[1] as string, 'base64url').toString('utf8') !== JSON.stringify([id, key])) {
      throw new IntegrityError({ credentialId: id, store: this.description });
    }
    return new Uint8Array(Buffer.from(m[2] as string, 'base64url'));
  }

  /** The definition kept in custom_metadata, or undefined. */
  async getDefinition(id: string): Promise<CredentialDefinition | undefined> {
    const meta = await this.wrap(() => this.#metadata(id), id);
    return definitionFrom(id, meta?.custom_metadata ?? null);
  }
}

/**
 * A KV or auth mount as it goes into the URL unencoded: surrounding slashes trimmed, then segments of
 * `A-Z a-z 0-9 . _ ~ -`, none of them empty, `.` or `..`.
 * @throws ConfigError naming the key (never quoting the value)
 */
function vaultMount(raw: string, key: string): string {
  const mount = raw.replace(/^\/+|\/+$/g, '');
  const segments = mount.split('/');
  if (mount === '' || segments.some((seg) => seg === '.' || seg === '..' || !/^[A-Za-z0-9._~-]+$/.test(seg))) {
    throw new ConfigError(`vault "${key}" must be a path such as "secret" or "team/kv" (letters, digits, . _ ~ -; no empty, "." or ".." segment)`, {
      path: `credential_store.config.${key}`,
    });
  }
  return mount;
}

/**
 * The scope prefix: empty, or relative segments each followed by `/` (one is added at the end). Refused: a
 * leading `/`, an empty (`a//b`), `.` or `..` segment, and `\`, `%` (an encoded `..` such as `%2e%2e`) or a
 * control character anywhere, so that no prefix can reach outside the mount or name a path Vault reads
 * differently from what credstash shows.
 * @throws ConfigError (never quoting the value)
 */
function vaultPrefix(raw: string, key = 'prefix'): string {
  if (raw === '') return '';
  const body = raw.endsWith('/') ? raw.slice(0, -1) : raw;
  if (raw.startsWith('/') || /[\\%\u0000-\u001f\u007f]/.test(raw) || body.split('/').some((seg) => seg === '' || seg === '.' || seg === '..' || seg.trim() === '')) {
    throw new ConfigError(
      `vault "${key}" must be relative folders such as "prod/" or "team/app/": no leading "/", no empty, "." or ".." segment, no "\\", "%" or control character`,
      { path: `credential_store.config.${key}` },
    );
  }
  return `${body}/`;
}

function causeCode(err: Error): string {
  const code = (err as Error & { cause?: { code?: unknown } }).cause?.code;
  return typeof code === 'string' ? `: ${code}` : '';
}

/** Vault's own error strings (they name paths and reasons, not request bodies), bounded. */
function errorsOf(res: VaultResponse): string {
  const errs = res.body?.errors;
  if (!Array.isArray(errs) || errs.length === 0) return '';
  const text = errs.filter((e): e is string => typeof e === 'string').join('; ').replace(/\s+/g, ' ').trim();
  return text === '' ? '' : `: ${text.length > 200 ? `${text.slice(0, 197)}...` : text}`;
}

function liveVersions(meta: KvMetadata | undefined): number[] {
  if (meta?.versions === undefined) return [];
  return Object.entries(meta.versions)
    .filter(([, v]) => (v.deletion_time ?? '') === '' && v.destroyed !== true)
    .map(([k]) => Number(k))
    .filter((n) => Number.isSafeInteger(n))
    .sort((a, b) => a - b);
}

/** A value as the secret's data; with an expiry, `_credstash_expires_at` beside it (see EXPIRES_DATA_KEY). */
export function encodeKv(value: CredentialValue, expiresAt?: string): Record<string, unknown> {
  const out = encodeKvValue(value);
  if (expiresAt !== undefined) out[EXPIRES_DATA_KEY] = expiresAt;
  return out;
}

function encodeKvValue(value: CredentialValue): Record<string, unknown> {
  if (typeof value === 'string') return { value };
  if (value instanceof Uint8Array) return { value: Buffer.from(value).toString('base64'), encoding: 'base64' };
  if (Object.prototype.hasOwnProperty.call(value, '_credstash_json')) throw new ValidationError('"_credstash_json" is a reserved key in vault-stored structured credentials');
  if (Object.prototype.hasOwnProperty.call(value, EXPIRES_DATA_KEY)) throw new ValidationError(`"${EXPIRES_DATA_KEY}" is a reserved key in vault-stored structured credentials`);
  const keys = Object.keys(value);
  const looksLikeText = keys.length > 0 && keys.every((k) => k === 'value' || k === 'encoding');
  return looksLikeText ? { ...value, _credstash_json: true } : { ...value };
}

/**
 * A secret's data as the value and its expiry. An `_credstash_expires_at` that is not a time is a damaged
 * record (CorruptStoreError), never silently a value field or no expiry.
 */
export function decodeKvStored(data: Record<string, unknown>, id: string, store: string): { value: CredentialValue; expiresAt?: string } {
  if (!Object.prototype.hasOwnProperty.call(data, EXPIRES_DATA_KEY)) return { value: decodeKv(data) };
  const { [EXPIRES_DATA_KEY]: raw, ...rest } = data;
  const at = isoTime(raw);
  if (at === undefined) throw new CorruptStoreError(`credential "${id}" in ${store} has an expiry (${EXPIRES_DATA_KEY}) that is not a time`, { store, credentialId: id });
  return { value: decodeKv(rest), expiresAt: at };
}

/** An RFC 3339 time from Vault or an expiry field, as ISO 8601 (milliseconds, Z); undefined if it is not one. */
function isoTime(raw: unknown): string | undefined {
  if (typeof raw !== 'string' || !/^\d{4}-\d\d-\d\dT/.test(raw)) return undefined;
  const t = Date.parse(raw);
  return Number.isNaN(t) ? undefined : new Date(t).toISOString();
}

/** The live versions of a secret as history records: created time, writer (Vault's created_by where it reports one), comment, expiry. */
function recordsOf(id: string, meta: KvMetadata | undefined): VersionRecord[] {
  return liveVersions(meta).map((v) => {
    const r: VersionRecord = { id, version: String(v) };
    const facts = meta?.versions?.[String(v)];
    const created = isoTime(facts?.created_time);
    if (created !== undefined) r.createdAt = created;
    const actor = facts?.created_by?.actor;
    if (typeof actor === 'string' && actor !== '') r.writtenBy = actor;
    const comment = meta?.custom_metadata?.[`${COMMENT_KEY}${v}`];
    if (comment !== undefined) r.comment = comment;
    const expires = isoTime(meta?.custom_metadata?.[`${EXPIRES_KEY}${v}`]);
    if (expires !== undefined) r.expiresAt = expires;
    return r;
  });
}

export function decodeKv(data: Record<string, unknown>): CredentialValue {
  if (data._credstash_json === true) {
    const { _credstash_json: _m, ...rest } = data;
    return structured(rest);
  }
  const keys = Object.keys(data);
  if (keys.length === 1 && typeof data.value === 'string') return data.value;
  if (keys.length === 2 && typeof data.value === 'string' && data.encoding === 'base64') return Buffer.from(data.value, 'base64');
  return structured(data);
}

/** A secret's data as a structured value, depth-bounded: every later walk (get, render) recurses. */
function structured(data: Record<string, unknown>): JsonObject {
  assertJsonDepth(data, 'a structured vault secret', MAX_STORED_JSON_DEPTH);
  return data as JsonObject;
}

function customMetadata(id: string, version: number, comment: string | undefined, def: CredentialDefinition | undefined, expiresAt: string | undefined): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  const put = (k: string, v: string, field: string): void => {
    if (Buffer.byteLength(v) > 512) throw new ValidationError(`${field} of credential "${id}" is longer than vault's 512-byte custom_metadata limit`, { credentialId: id });
    out[k] = v;
  };
  if (comment !== undefined) put(`${COMMENT_KEY}${version}`, comment, 'the comment');
  if (expiresAt !== undefined) put(`${EXPIRES_KEY}${version}`, expiresAt, 'the expiry');
  if (def !== undefined) {
    if (def.name !== undefined) put('credstash_name', def.name, 'definition name');
    if (def.credential_type !== undefined) put('credstash_credential_type', def.credential_type, 'definition credential_type');
    if (def.description !== undefined) put('credstash_description', def.description, 'definition description');
    for (const [k, v] of Object.entries(def.metadata ?? {})) {
      if (k.length > 100) throw new ValidationError(`definition metadata key of credential "${id}" is longer than 100 characters`, { credentialId: id });
      put(`credstash_meta_${k}`, typeof v === 'string' ? v : JSON.stringify(v), `definition metadata "${k}"`);
    }
  }
  return Object.keys(out).length === 0 ? undefined : out;
}

function definitionFrom(id: string, cm: Record<string, string> | null): CredentialDefinition | undefined {
  if (cm === null) return undefined;
  const def: CredentialDefinition = { id };
  let any = false;
  // Entries, not `metadata[key] = ...`: a `credstash_meta___proto__` key would set the prototype and vanish.
  const metadata: Array<[string, string]> = [];
  for (const [k, v] of Object.entries(cm)) {
    if (k === 'credstash_name') def.name = v;
    else if (k === 'credstash_description') def.description = v;
    else if (k === 'credstash_credential_type' && (CREDENTIAL_TYPES as readonly string[]).includes(v)) def.credential_type = v as CredentialDefinition['credential_type'];
    else if (k.startsWith('credstash_meta_')) metadata.push([k.slice('credstash_meta_'.length), v]);
    else continue;
    any = true;
  }
  if (metadata.length > 0) def.metadata = Object.fromEntries(metadata);
  return any ? def : undefined;
}

