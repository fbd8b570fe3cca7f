import { existsSync } from 'node:fs';
import { IntegrityError, VersionConflictError } from '../../core/errors.js';
import { decodeCompanion, encodeCompanion, type CompanionDoc, type CompanionRecord } from '../../core/lifecycle.js';
import {
  BaseStore,
  type ResolvedReadOptions,
  type ResolvedWriteOptions,
  type SetupCapable,
  type VersionRecord,
  type VersionsHookOptions,
} from '../../core/store.js';
import type { CredentialSummary, CredentialValue, EncryptionContext, SetupResult, StoreCapabilities, StoredCredential } from '../../core/types.js';
import { displayVersion, padVersion, versionMagnitude } from '../../core/version.js';
import { FernetCodec, fernetCreatedAt } from '../fernet-codec.js';
import { confirmRotationKey, type KeyRotationCapable, type ReencryptOptions, type RotationResult } from '../fernet-rotation.js';
import {
  flattenEntries,
  LocalKeystoreFile,
  newLifecycleSection,
  type KeystoreData,
  type KeystoreEntry,
  type LifecycleRecord,
  type LifecycleSection,
  type LockOptions,
} from './local-keystore-file.js';

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
  readonly capabilities: StoreCapabilities = Object.freeze({
    write: true,
    delete: true,
    context: true,
    versions: true,
    labels: true,
    history: true,
    expiry: true,
  });
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
    // A read through a label: the target must carry a proof made with a project key, checked before anything
    // is decrypted (someone who can edit the file but has no key cannot point a label elsewhere).
    if (opts.label !== undefined && (opts.label.target.v !== entry.version || this.#codec.labelProofKeyIndex(id, opts.label.name, entry.version, opts.label.target.proof) < 0)) {
      throw new IntegrityError({ credentialId: id, version: displayVersion(entry.version), store: this.description });
    }
    return this.#codec.open(entry.token, { id, version: entry.version, context: opts.context, store: this.description });
  }

  protected async _put(id: string, value: CredentialValue, opts: ResolvedWriteOptions): Promise<void> {
    const version = padVersion(opts.version);
    // Encrypt before taking the lock, so the lock is held only for the file rewrite.
    const token = this.#codec.seal({ id, version, value, context: opts.context, comment: opts.comment, definition: opts.definition, meta: opts.meta });
    const entry: KeystoreEntry = { id, version, token };
    if (opts.comment !== undefined) entry.comment = opts.comment;
    // Plaintext copies of the header's facts, for history and check (the token's copy is the one get returns).
    entry.createdAt = opts.meta.createdAt;
    if (opts.meta.writtenBy !== undefined) entry.writtenBy = opts.meta.writtenBy;
    if (opts.meta.expiresAt !== undefined) entry.expiresAt = opts.meta.expiresAt;
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

  /** Versions with their plaintext facts and token length, from the parsed file: nothing is decrypted. */
  protected override async _versions(opts: VersionsHookOptions): Promise<VersionRecord[]> {
    const data = this.#file.read();
    const entries = opts.id === undefined ? flatten(data) : [...(data.entries.get(opts.id)?.values() ?? [])];
    return entries.map((e) => {
      const r: VersionRecord = { id: e.id, version: displayVersion(e.version), size: Buffer.byteLength(e.token, 'utf8') };
      const createdAt = e.createdAt ?? fernetCreatedAt(e.token);
      if (createdAt !== undefined) r.createdAt = createdAt;
      if (e.writtenBy !== undefined) r.writtenBy = e.writtenBy;
      if (e.comment !== undefined) r.comment = e.comment;
      if (e.expiresAt !== undefined) r.expiresAt = e.expiresAt;
      return r;
    });
  }

  protected override async _readCompanion(id: string): Promise<CompanionRecord | undefined> {
    const section = this.#file.read().lifecycle;
    const rec = section?.records.get(id);
    if (section === undefined || rec === undefined) return undefined;
    return { doc: decodeCompanion(JSON.stringify(rec.doc), `${this.description} credential "${id}"`), rev: `${section.epoch}.${rec.rev}` };
  }

  /** Compare-and-set under the keystore lock: the record's revision, read fresh under the lock, must still be `expectedRev`. */
  protected override async _writeCompanion(id: string, doc: CompanionDoc, expectedRev: string | undefined): Promise<boolean> {
    const text = encodeCompanion(doc);
    const empty = Object.keys(doc.labels).length === 0 && Object.keys(doc.state).length === 0;
    return this.#file.update((data) => {
      const section = data.lifecycle ?? newLifecycleSection();
      const cur = section.records.get(id);
      const curRev = cur === undefined ? undefined : `${section.epoch}.${cur.rev}`;
      if (curRev !== expectedRev) return { entries: undefined, result: false };
      if (empty && cur === undefined) return { entries: undefined, result: true };
      const rev = section.rev + 1;
      const records = new Map(section.records);
      if (empty) records.delete(id);
      else records.set(id, { rev, doc: JSON.parse(text) as Record<string, unknown> });
      return { entries: undefined, lifecycle: { epoch: section.epoch, rev, records }, result: true };
    });
  }

  protected override async _listCompanions(): Promise<Array<{ id: string; doc: CompanionDoc }>> {
    const section = this.#file.read().lifecycle;
    if (section === undefined) return [];
    return [...section.records].map(([id, rec]) => ({ id, doc: decodeCompanion(JSON.stringify(rec.doc), `${this.description} credential "${id}"`) }));
  }

  protected override async _labelProof(id: string, label: string, paddedVersion: string): Promise<string> {
    return this.#codec.labelProof(id, label, paddedVersion);
  }

  protected override async _sealState(id: string, key: string, plaintext: Uint8Array, context: EncryptionContext): Promise<string> {
    return this.#codec.sealState(id, key, plaintext, context);
  }

  protected override async _openState(id: string, key: string, sealed: string, context: EncryptionContext): Promise<Uint8Array> {
    return this.#codec.openState(id, key, sealed, context, this.description);
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
        const lifecycle = data.lifecycle === undefined ? undefined : reprove(data.lifecycle, codec, this.description);
        return {
          entries: entries.length === 0 && lifecycle === undefined ? undefined : entries,
          ...(lifecycle === undefined ? {} : { lifecycle }),
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

const flatten = flattenEntries;

/**
 * The lifecycle section after a key rotation: each label whose proof verifies under one of the keys is
 * proved again under the first key (so the old key can be removed afterwards); a label whose proof verifies
 * under no key is left as it is (still refused on read: a rotation never launders a forged target). Sealed
 * state is re-encrypted like a value; state no key opens stops the rotation (IntegrityError). Every record
 * changed gets a new revision, so a compare-and-set that read before the rotation loses.
 */
function reprove(section: LifecycleSection, codec: FernetCodec, store: string): LifecycleSection {
  let rev = section.rev;
  const records = new Map<string, LifecycleRecord>();
  for (const [id, rec] of section.records) {
    const doc = decodeCompanion(JSON.stringify(rec.doc), `${store} credential "${id}"`);
    for (const [name, t] of Object.entries(doc.labels)) {
      if (codec.labelProofKeyIndex(id, name, t.v, t.proof) >= 0) t.proof = codec.labelProof(id, name, t.v);
    }
    for (const [key, sealed] of Object.entries(doc.state)) doc.state[key] = codec.rotateState(sealed, { id, store });
    records.set(id, { rev: ++rev, doc: JSON.parse(encodeCompanion(doc)) as Record<string, unknown> });
  }
  return { epoch: section.epoch, rev, records };
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
