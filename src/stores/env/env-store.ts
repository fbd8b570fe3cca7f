/**
 * Read-only tier over environment variables (docs/stores.md, Env): credential `db.prod` is
 * `CREDSTASH_CREDENTIAL_DB_PROD` (id upper-cased, every non-alphanumeric character becomes `_`). A value
 * that is exactly the compact JSON of an object is a structured credential; anything else is text, byte for
 * byte (`credstash:text:` in front makes any value text). There is one version, 1. A context is refused.
 * The version lifecycle (labels, history, expiry, sealed state) has nowhere to live in a process's environment:
 * every lifecycle operation is an UnsupportedOperationError (listings of labels and expiries are empty).
 */
import { UnsupportedOperationError } from '../../core/errors.js';
import { BaseStore, type ResolvedReadOptions, type VersionRecord } from '../../core/store.js';
import { decodeStringValue } from '../../core/string-values.js';
import type { CredentialSummary, CredentialValue, StoreCapabilities, StoredCredential } from '../../core/types.js';
import { padVersion } from '../../core/version.js';

export const DEFAULT_ENV_PREFIX = 'CREDSTASH_CREDENTIAL_';

export interface EnvStoreOptions {
  /** Variable name prefix (default `CREDSTASH_CREDENTIAL_`). */
  prefix?: string;
  /** Environment to read (default `process.env`, read at each call). */
  env?: NodeJS.ProcessEnv;
}

/** `db.prod` -> `DB_PROD`. */
export function envNameForId(id: string): string {
  return id.toUpperCase().replace(/[^A-Z0-9]/g, '_');
}

const VERSION_ONE = padVersion(1);

export class EnvStore extends BaseStore {
  readonly kind = 'env';
  readonly description: string;
  readonly capabilities: StoreCapabilities = { write: false, delete: false, context: false, versions: false, labels: false, history: false, expiry: false };
  protected readonly maxValueBytes = Number.MAX_SAFE_INTEGER;
  readonly #prefix: string;
  readonly #env: NodeJS.ProcessEnv | undefined;

  constructor(opts: EnvStoreOptions = {}) {
    super();
    this.#prefix = opts.prefix ?? DEFAULT_ENV_PREFIX;
    this.#env = opts.env;
    this.description = `environment variables ${this.#prefix}*`;
  }

  #vars(): NodeJS.ProcessEnv {
    return this.#env ?? process.env;
  }

  protected async _get(id: string, opts: ResolvedReadOptions): Promise<StoredCredential | undefined> {
    if (opts.version !== undefined && opts.version !== VERSION_ONE) return undefined;
    const raw = this.#vars()[this.#prefix + envNameForId(id)];
    if (raw === undefined) return undefined;
    return { id, version: '1', value: parseEnvValue(raw) };
  }

  protected override async _exists(id: string, version: string | undefined): Promise<boolean> {
    if (version !== undefined && version !== VERSION_ONE) return false;
    return this.#vars()[this.#prefix + envNameForId(id)] !== undefined;
  }

  protected async _put(): Promise<void> {
    throw new UnsupportedOperationError(this.description, 'writes');
  }

  protected async _highestVersion(id: string): Promise<number> {
    return (await this._exists(id, undefined)) ? 1 : 0;
  }

  protected async _delete(): Promise<string[]> {
    throw new UnsupportedOperationError(this.description, 'deletes');
  }

  /** A variable has no history: one value, no time, no writer. */
  protected override async _versions(): Promise<VersionRecord[]> {
    throw new UnsupportedOperationError(this.description, 'history');
  }

  /** Ids are the variable suffixes lower-cased (`CREDSTASH_CREDENTIAL_DB_PROD` -> `db_prod`): the mapping is one-way. */
  protected async _list(): Promise<CredentialSummary[]> {
    const out: CredentialSummary[] = [];
    for (const [name, v] of Object.entries(this.#vars())) {
      if (v === undefined || !name.startsWith(this.#prefix) || name.length === this.#prefix.length) continue;
      out.push({ id: name.slice(this.#prefix.length).toLowerCase(), version: '1' });
    }
    return out;
  }
}

/**
 * A variable's value as a credential: structured only when it is exactly the compact JSON of an object
 * (so reading it as JSON loses nothing), text without its marker when it starts with `credstash:text:`,
 * otherwise the text itself, byte for byte (core/string-values.ts).
 */
export function parseEnvValue(raw: string): CredentialValue {
  return decodeStringValue(raw);
}
