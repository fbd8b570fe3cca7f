import { existsSync } from 'node:fs';
import { VersionConflictError } from '../../core/errors.js';
import { BaseStore, type ResolvedReadOptions, type ResolvedWriteOptions, type SetupCapable } from '../../core/store.js';
import type { CredentialSummary, CredentialValue, SetupResult, StoreCapabilities, StoredCredential } from '../../core/types.js';
import { displayVersion, padVersion, versionMagnitude } from '../../core/version.js';
import { FernetCodec } from '../fernet-codec.js';
import { confirmRotationKey, type KeyRotationCapable, type ReencryptOptions, type RotationResult } from '../fernet-rotation.js';
import { LocalKeystoreFile, type KeystoreData, type KeystoreEntry, type LockOptions } from './local-keystore-file.js';

export interface LocalStoreOptions {
  /** Absolute path of the keystore file. */
  path: string;
  /** Project Fernet keys: the first encrypts, all decrypt. Needed for get/put, not for list/delete. */
  fernetKeys?: readonly string[];
  lock?: LockOptions;
}

/** Largest value the local keystore takes (the whole file is rewritten on each put). */
export const LOCAL_MAX_VALUE_BYTES = 1024 * 1024;

/**
 * The embedded Fernet tier: one JSON keystore file, one Fernet token per version (docs/fernet.md).
 * Decrypts lazily: opening a 10,000-credential keystore parses the file and decrypts only what is asked for.
 */
export class LocalStore extends BaseStore implements SetupCapable, KeyRotationCapable {
  readonly kind = 'local';
  readonly description: string;
  readonly capabilities: StoreCapabilities = Object.freeze({ write: true, delete: true, context: true, versions: true });
  protected readonly maxValueBytes = LOCAL_MAX_VALUE_BYTES;
  readonly #file: LocalKeystoreFile;
  #codec: FernetCodec;

  constructor(opts: LocalStoreOptions) {
    super();
    this.#file = new LocalKeystoreFile(opts.path, opts.lock);
    this.#codec = new FernetCodec(opts.fernetKeys);
    this.description = `local keystore "${opts.path}"`;
  }

  get path(): string {
    return this.#file.path;
  }

  protected async _get(id: string, opts: ResolvedReadOptions): Promise<StoredCredential | undefined> {
    return this.#open(this.#file.read(), id, opts);
  }

  /** One read of the keystore for the whole getall (not a stat per id), so every value comes from one snapshot. */
  protected override async _getAll(ids: string[], opts: ResolvedReadOptions): Promise<Array<StoredCredential | Error | undefined>> {
    const data = this.#file.read();
    return ids.map((id) => {
      try {
        return this.#open(data, id, opts);
      } catch (err) {
        return err as Error;
      }
    });
  }

  #open(data: KeystoreData, id: string, opts: ResolvedReadOptions): StoredCredential | undefined {
    const versions = data.entries.get(id);
    if (versions === undefined) return undefined;
    const entry = opts.version === undefined ? newest(versions) : versions.get(opts.version);
    if (entry === undefined) return undefined;
    return this.#codec.open(entry.token, { id, version: entry.version, context: opts.context, store: this.description });
  }

  protected async _put(id: string, value: CredentialValue, opts: ResolvedWriteOptions): Promise<void> {
    const version = padVersion(opts.version);
    // Encrypt before taking the lock, so the lock is held only for the file rewrite.
    const token = this.#codec.seal({ id, version, value, context: opts.context, comment: opts.comment, definition: opts.definition });
    const entry: KeystoreEntry = { id, version, token };
    if (opts.comment !== undefined) entry.comment = opts.comment;
    await this.#file.update((data) => {
      const versions = data.entries.get(id);
      if (versions?.has(version) === true) {
        const highest = highestNumber(versions);
        throw new VersionConflictError({ credentialId: id, store: this.description, version: opts.version, highest });
      }
      return { entries: [...flatten(data), entry], result: undefined };
    });
  }

  protected async _highestVersion(id: string): Promise<number> {
    const versions = this.#file.read().entries.get(id);
    return versions === undefined ? 0 : highestNumber(versions);
  }

  protected async _delete(id: string, version: string | undefined): Promise<string[]> {
    return this.#file.update((data) => {
      const versions = data.entries.get(id);
      const doomed = versions === undefined ? [] : version === undefined ? [...versions.keys()] : versions.has(version) ? [version] : [];
      if (doomed.length === 0) return { entries: undefined, result: [] };
      const gone = new Set(doomed);
      const entries = flatten(data).filter((e) => e.id !== id || !gone.has(e.version));
      return { entries, result: doomed.sort(compareStored).map(displayVersion) };
    });
  }

  protected async _list(): Promise<CredentialSummary[]> {
    return flatten(this.#file.read()).map((e) => {
      const s: CredentialSummary = { id: e.id, version: displayVersion(e.version) };
      if (e.comment !== undefined) s.comment = e.comment;
      return s;
    });
  }

  protected override async _exists(id: string, version: string | undefined): Promise<boolean> {
    const versions = this.#file.read().entries.get(id);
    return versions !== undefined && (version === undefined ? versions.size > 0 : versions.has(version));
  }

  /** Create the keystore folder (0700) and an empty keystore file (0600) if they do not exist. */
  async setup(): Promise<SetupResult> {
    return this.wrap(async () => {
      if (existsSync(this.#file.path)) {
        this.#file.read(); // a foreign or corrupt file is an error here too
        return { created: false, message: `${this.description} already exists` };
      }
      const created = await this.#file.update((data) => ({ entries: data.count === 0 ? [] : undefined, result: data.count === 0 }));
      return { created, message: created ? `created ${this.description}` : `${this.description} already exists` };
    });
  }

  /**
   * Re-encrypt every version under the first key in one atomic rewrite of the file: a token no key opens,
   * or a key list that changed (`opts.currentKeys`), stops the rotation before anything is written.
   */
  async reencryptAll(opts: ReencryptOptions = {}): Promise<RotationResult> {
    if (opts.keys !== undefined) this.#codec = new FernetCodec(opts.keys);
    const codec = this.#codec;
    return this.wrap(() =>
      this.#file.update((data) => {
        // Under the keystore lock: the key list where it is kept must still start with our key.
        confirmRotationKey(codec, opts);
        let alreadyCurrent = 0;
        const entries = flatten(data).map((e) => {
          if (codec.isCurrent(e.token)) alreadyCurrent++;
          return { ...e, token: codec.rotate(e.token, { id: e.id, version: e.version, store: this.description }) };
        });
        const reencrypted = entries.length - alreadyCurrent;
        return {
          entries: entries.length === 0 ? undefined : entries,
          result: {
            reencrypted,
            alreadyCurrent,
            message: `re-encrypted ${entries.length} version(s) in ${this.description} under the first key (${reencrypted} were under an older key)`,
          },
        };
      }),
    );
  }
}

function flatten(data: KeystoreData): KeystoreEntry[] {
  const out: KeystoreEntry[] = [];
  for (const versions of data.entries.values()) for (const e of versions.values()) out.push(e);
  return out;
}

/** Padded versions compare as numbers when both are digit strings: longer is larger, then lexicographic. */
function compareStored(a: string, b: string): number {
  return a.length !== b.length ? a.length - b.length : a < b ? -1 : a > b ? 1 : 0;
}

function newest(versions: ReadonlyMap<string, KeystoreEntry>): KeystoreEntry | undefined {
  let best: KeystoreEntry | undefined;
  for (const e of versions.values()) if (best === undefined || compareStored(e.version, best.version) > 0) best = e;
  return best;
}

function highestNumber(versions: ReadonlyMap<string, KeystoreEntry>): number {
  let max = 0;
  for (const v of versions.keys()) {
    // An integer beyond MAX_VERSION counts as Infinity, so `put -a` refuses instead of writing below it.
    const n = versionMagnitude(v);
    if (n !== undefined && n > max) max = n;
  }
  return max;
}
