/**
 * The keystore file: parse and validate (docs/fernet.md §3), a stat-keyed read cache, and atomic locked
 * writes (the lock of core/file-lock.ts, read-modify-write under it, temp file in the same folder, fsync,
 * check the lock is still ours, rename, fsync the folder). Reads take no lock: rename is atomic, so a reader
 * sees the old or the new file.
 */
import { closeSync, constants, fstatSync, openSync, readSync, statSync, type BigIntStats } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fsyncDir } from '../../core/atomic-file.js';
import { mkdirPrivate } from '../../core/private-dir.js';
import { acquireFileLock, lockLeftoverPattern, removeDeadLeftovers, type HeldFileLock } from '../../core/file-lock.js';
import { CorruptStoreError, StoreUnavailableError } from '../../core/errors.js';

export const KEYSTORE_FORMAT = 'credstash-ts-keystore';
export const KEYSTORE_FORMAT_VERSION = 1;

/**
 * One stored version. `version` is the 19-character padded form. `createdAt`, `writtenBy` and `expiresAt`
 * are plaintext copies of the token header's (authenticated) fields, so history and `check` decrypt nothing.
 */
export interface KeystoreEntry {
  id: string;
  version: string;
  token: string;
  comment?: string;
  createdAt?: string;
  writtenBy?: string;
  expiresAt?: string;
}

/** The optional plaintext fields of an entry, in the order they are written. */
const ENTRY_FIELDS = ['comment', 'createdAt', 'writtenBy', 'expiresAt'] as const;

/** One credential's lifecycle record (labels and sealed state, the JSON of encodeCompanion) and its revision. */
export interface LifecycleRecord {
  rev: number;
  /** The record document as stored (an object; decodeCompanion validates it when it is used). */
  doc: Record<string, unknown>;
}

/**
 * The `lifecycle` section: every record carries the section revision of its last write, and the section
 * revision only grows, so a record removed and made again never repeats a revision a reader may still hold.
 * `epoch` is drawn when the section is made: a section dropped (by a writer that predates it) and made again
 * starts a new epoch, so its revisions cannot match old ones either.
 */
export interface LifecycleSection {
  readonly epoch: string;
  readonly rev: number;
  readonly records: ReadonlyMap<string, LifecycleRecord>;
}

/** The parsed file, indexed by id then padded version. Treat as immutable: writers build a new one. */
export interface KeystoreData {
  readonly entries: ReadonlyMap<string, ReadonlyMap<string, KeystoreEntry>>;
  readonly count: number;
  readonly lifecycle?: LifecycleSection;
}

export const EMPTY_KEYSTORE: KeystoreData = Object.freeze({ entries: new Map(), count: 0 });

/** A new, empty lifecycle section. */
export function newLifecycleSection(): LifecycleSection {
  return { epoch: randomBytes(6).toString('hex'), rev: 0, records: new Map() };
}

export interface LockOptions {
  /** How long a writer waits for the lock before giving up (default 10 s). */
  timeoutMs?: number;
  /**
   * A lock taken on another host (whose pid cannot be checked) and not refreshed for this long, plus
   * `clockSkewMs`, is abandoned. Default 30 s. A lock from this host is never broken while its pid lives.
   */
  staleMs?: number;
  /** Clock difference allowed between hosts sharing the keystore folder (default 5 s). */
  clockSkewMs?: number;
}

interface CacheKey {
  dev: bigint;
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

/** A keystore file on disk. One instance per path per store; safe across processes. */
export class LocalKeystoreFile {
  readonly path: string;
  readonly lockPath: string;
  readonly #lock: Required<LockOptions>;
  #cached?: { key: CacheKey; data: KeystoreData };

  constructor(path: string, lock: LockOptions = {}) {
    this.path = path;
    this.lockPath = `${path}.lock`;
    this.#lock = { timeoutMs: lock.timeoutMs ?? 10_000, staleMs: lock.staleMs ?? 30_000, clockSkewMs: lock.clockSkewMs ?? 5_000 };
  }

  /**
   * The current contents; the empty keystore when the file does not exist. Cached by (dev, ino, size,
   * mtime, ctime): a warm read is one stat.
   * @throws CorruptStoreError when the file is not a keystore; StoreUnavailableError when it cannot be read
   */
  read(): KeystoreData {
    let st: BigIntStats | undefined;
    try {
      st = statSync(this.path, { bigint: true, throwIfNoEntry: false });
    } catch (err) {
      throw this.#unavailable('read', err);
    }
    if (st === undefined) return EMPTY_KEYSTORE;
    const key = cacheKey(st);
    if (this.#cached !== undefined && sameKey(this.#cached.key, key)) return this.#cached.data;
    return this.#load().data;
  }

  /** Read through one open descriptor, so the bytes and the stat belong to the same file. */
  #load(): { data: KeystoreData; key: CacheKey } | { data: KeystoreData; key: undefined } {
    let fd: number;
    try {
      fd = openSync(this.path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        this.#cached = undefined;
        return { data: EMPTY_KEYSTORE, key: undefined };
      }
      throw this.#unavailable('read', err);
    }
    try {
      const st = fstatSync(fd, { bigint: true });
      const buf = Buffer.allocUnsafe(Number(st.size));
      let off = 0;
      while (off < buf.length) {
        const n = readSync(fd, buf, off, buf.length - off, off);
        if (n === 0) break;
        off += n;
      }
      const data = parseKeystore(buf.subarray(0, off).toString('utf8'), this.path);
      const key = cacheKey(st);
      this.#cached = { key, data };
      return { data, key };
    } catch (err) {
      if (err instanceof CorruptStoreError) throw err;
      throw this.#unavailable('read', err);
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Read-modify-write under the exclusive lock. `fn` gets the freshly read contents (never the cache) and
   * returns the new entry list and/or the new lifecycle section (what it leaves undefined is kept as read;
   * both undefined: nothing is written). A corrupt file throws before anything is written, so it is never
   * overwritten. The lock is what makes a lifecycle record's compare-and-set atomic.
   */
  async update<T>(fn: (data: KeystoreData) => { entries: KeystoreEntry[] | undefined; lifecycle?: LifecycleSection; result: T }): Promise<T> {
    const lock = await this.#acquire();
    try {
      this.#removeLeftovers(lock);
      const { data } = this.#load();
      const { entries, lifecycle, result } = fn(data);
      if (entries !== undefined || lifecycle !== undefined) await this.#write(entries ?? flattenEntries(data), lifecycle ?? data.lifecycle, lock);
      return result;
    } finally {
      await lock.release();
    }
  }

  async #write(entries: KeystoreEntry[], lifecycle: LifecycleSection | undefined, lock: HeldFileLock): Promise<void> {
    const dir = dirname(this.path);
    const tmp = join(dir, `.${basename(this.path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
    const text = serializeKeystore(entries, lifecycle);
    let renamed = false;
    try {
      // O_EXCL never follows a symlink planted at the temp name; the rename replaces a symlink at the
      // keystore path itself, never its target.
      const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
      try {
        await fh.writeFile(text, 'utf8');
        await fh.chmod(0o600); // whatever the umask
        await fh.sync();
      } finally {
        await fh.close();
      }
      // A writer whose lock is no longer its own writes nothing (its read may be outdated).
      await lock.assertHeld();
      await rename(tmp, this.path);
      renamed = true;
      fsyncDir(dir);
    } catch (err) {
      if (!renamed) await unlink(tmp).catch(() => undefined);
      if (err instanceof StoreUnavailableError) throw err;
      throw this.#unavailable('write', err);
    }
    // Our own write is the newest state: prime the cache so the next read does not re-parse it.
    try {
      const st = statSync(this.path, { bigint: true });
      this.#cached = { key: cacheKey(st), data: indexEntries(entries, lifecycle) };
    } catch {
      this.#cached = undefined;
    }
  }

  /** Create the folder (0700) if missing; the file itself appears with the first write. */
  async ensureDir(): Promise<void> {
    try {
      mkdirPrivate(dirname(this.path)); // every new folder exactly 0700, whatever the umask
    } catch (err) {
      throw this.#unavailable('create the folder of', err);
    }
  }

  #acquire(): Promise<HeldFileLock> {
    return this.ensureDir().then(() =>
      acquireFileLock(this.lockPath, { ...this.#lock, what: `keystore "${this.path}"`, store: `local keystore "${this.path}"`, path: this.path }),
    );
  }

  /**
   * Remove what killed writers left beside the keystore: its temp files and lock drafts whose pid is no
   * longer alive on this host and that are older than this lock. Only a writer holding the lock makes a
   * keystore temp file, so none of these belongs to a live writer.
   */
  #removeLeftovers(lock: HeldFileLock): void {
    const dir = dirname(this.path);
    removeDeadLeftovers(dir, [keystoreTempPattern(this.path), lockLeftoverPattern(this.lockPath)], lock.acquiredAt);
  }

  #unavailable(action: string, err: unknown): StoreUnavailableError {
    const code = (err as NodeJS.ErrnoException)?.code;
    return new StoreUnavailableError(`cannot ${action} keystore "${this.path}"${code === undefined ? '' : ` (${code})`}`, {
      store: `local keystore "${this.path}"`,
      path: this.path,
      cause: err,
    });
  }
}

/** `.<keystore name>.<pid>.<12 hex>.tmp`, the name {@link LocalKeystoreFile} gives its temp files. */
function keystoreTempPattern(path: string): RegExp {
  const b = basename(path).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  return new RegExp(`^\\.${b}\\.(\\d+)\\.[0-9a-f]{12}\\.tmp$`);
}

function cacheKey(st: BigIntStats): CacheKey {
  return { dev: st.dev, ino: st.ino, size: st.size, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs };
}

function sameKey(a: CacheKey, b: CacheKey): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;
}

/**
 * One entry per line, sorted by id then version: diffable, and error messages can point at a line. The
 * lifecycle section, when there is one, follows the credentials, one record per line sorted by id. A file
 * without it is byte for byte what earlier versions wrote.
 */
export function serializeKeystore(entries: readonly KeystoreEntry[], lifecycle?: LifecycleSection): string {
  const sorted = [...entries].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : a.version < b.version ? -1 : a.version > b.version ? 1 : 0));
  const lines = sorted.map((e) => {
    const o: Record<string, string> = { id: e.id, version: e.version, token: e.token };
    for (const k of ENTRY_FIELDS) {
      const v = e[k];
      if (v !== undefined) o[k] = v;
    }
    return JSON.stringify(o);
  });
  let section = '';
  if (lifecycle !== undefined) {
    const ids = [...lifecycle.records.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const recs = ids.map((id) => {
      const r = lifecycle.records.get(id) as LifecycleRecord;
      return JSON.stringify({ id, rev: r.rev, doc: r.doc });
    });
    section = `,"lifecycle":{"epoch":${JSON.stringify(lifecycle.epoch)},"rev":${lifecycle.rev},"records":[\n${recs.join(',\n')}${recs.length > 0 ? '\n' : ''}]}`;
  }
  return `{"format":${JSON.stringify(KEYSTORE_FORMAT)},"format_version":${KEYSTORE_FORMAT_VERSION},"credentials":[\n${lines.join(',\n')}${lines.length > 0 ? '\n' : ''}]${section}}\n`;
}

export function indexEntries(entries: readonly KeystoreEntry[], lifecycle?: LifecycleSection): KeystoreData {
  const map = new Map<string, Map<string, KeystoreEntry>>();
  for (const e of entries) {
    let versions = map.get(e.id);
    if (versions === undefined) map.set(e.id, (versions = new Map()));
    versions.set(e.version, e);
  }
  return lifecycle === undefined ? { entries: map, count: entries.length } : { entries: map, count: entries.length, lifecycle };
}

/** Every entry of a parsed keystore, in no particular order. */
export function flattenEntries(data: KeystoreData): KeystoreEntry[] {
  const out: KeystoreEntry[] = [];
  for (const versions of data.entries.values()) for (const e of versions.values()) out.push(e);
  return out;
}

/**
 * Parse and validate a keystore. Errors name the file and where (line/column, entry number), never content
 * (describe input, never echo it): JSON.parse's own message quotes the input, so only its position is used.
 * @throws CorruptStoreError
 */
export function parseKeystore(text: string, path: string): KeystoreData {
  const corrupt = (what: string): CorruptStoreError =>
    new CorruptStoreError(`keystore "${path}" ${what}; it was left untouched`, { path, store: `local keystore "${path}"` });
  if (text.trim().length === 0) throw corrupt('is empty (not a credstash-ts keystore)');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    const m = /position (\d+)/.exec(err instanceof Error ? err.message : '');
    throw corrupt(`is not valid JSON${m === null ? '' : ` (${lineCol(text, Number(m[1]))})`}`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc) || (doc as Record<string, unknown>).format !== KEYSTORE_FORMAT) {
    throw corrupt('is not a credstash-ts keystore (no "format" header)');
  }
  const d = doc as Record<string, unknown>;
  if (d.format_version !== KEYSTORE_FORMAT_VERSION) {
    throw corrupt(
      typeof d.format_version === 'number' && d.format_version > KEYSTORE_FORMAT_VERSION
        ? `has format version ${d.format_version}, newer than this credstash-ts understands (${KEYSTORE_FORMAT_VERSION}); upgrade credstash-ts`
        : 'has an unknown format version',
    );
  }
  if (!Array.isArray(d.credentials)) throw corrupt('has no "credentials" list');
  const entries: KeystoreEntry[] = [];
  const seen = new Set<string>();
  d.credentials.forEach((raw: unknown, i: number) => {
    const where = `entry ${i + 1}`;
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw corrupt(`${where} is not an object`);
    const r = raw as Record<string, unknown>;
    if (typeof r.id !== 'string' || r.id.length === 0) throw corrupt(`${where} has no id`);
    if (typeof r.version !== 'string' || !/^\d{19,}$/.test(r.version)) throw corrupt(`${where} has no valid version`);
    if (typeof r.token !== 'string' || !/^[A-Za-z0-9_-]+=*$/.test(r.token)) throw corrupt(`${where} has no valid token`);
    for (const f of ENTRY_FIELDS) {
      if (r[f] !== undefined && typeof r[f] !== 'string') throw corrupt(`${where} has ${f === 'comment' ? 'a comment' : `${/^[aeiou]/.test(f) ? 'an' : 'a'} ${f} field`} that is not a string`);
    }
    const k = `${r.id}\u0000${r.version}`;
    if (seen.has(k)) throw corrupt(`${where} repeats a version of an earlier entry`);
    seen.add(k);
    const e: KeystoreEntry = { id: r.id, version: r.version, token: r.token };
    for (const f of ENTRY_FIELDS) if (typeof r[f] === 'string') e[f] = r[f];
    entries.push(e);
  });
  // Other top-level keys are ignored (a newer writer's additive section); a change an older reader would
  // misread bumps format_version instead (docs/fernet.md §3).
  return indexEntries(entries, d.lifecycle === undefined ? undefined : parseLifecycle(d.lifecycle, corrupt));
}

function parseLifecycle(raw: unknown, corrupt: (what: string) => CorruptStoreError): LifecycleSection {
  const bad = (where: string): CorruptStoreError => corrupt(`has a lifecycle section that is not valid (${where})`);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw bad('not an object');
  const l = raw as Record<string, unknown>;
  if (typeof l.epoch !== 'string' || !/^[0-9a-f]{1,64}$/.test(l.epoch)) throw bad('epoch');
  const sectionRev = l.rev;
  if (typeof sectionRev !== 'number' || !Number.isSafeInteger(sectionRev) || sectionRev < 0) throw bad('rev');
  if (!Array.isArray(l.records)) throw bad('no records list');
  const records = new Map<string, LifecycleRecord>();
  l.records.forEach((rec: unknown, i: number) => {
    const where = `record ${i + 1}`;
    if (rec === null || typeof rec !== 'object' || Array.isArray(rec)) throw bad(where);
    const r = rec as Record<string, unknown>;
    if (typeof r.id !== 'string' || r.id.length === 0) throw bad(`${where} has no id`);
    if (typeof r.rev !== 'number' || !Number.isSafeInteger(r.rev) || r.rev < 1 || r.rev > sectionRev) throw bad(`${where} has no valid rev`);
    if (r.doc === null || typeof r.doc !== 'object' || Array.isArray(r.doc)) throw bad(`${where} has no doc`);
    if (records.has(r.id)) throw bad(`${where} repeats an earlier id`);
    records.set(r.id, { rev: r.rev, doc: r.doc as Record<string, unknown> });
  });
  return { epoch: l.epoch, rev: sectionRev, records };
}

function lineCol(text: string, pos: number): string {
  let line = 1;
  let last = -1;
  for (let i = 0; i < pos && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      last = i;
    }
  }
  return `line ${line}, column ${pos - last}`;
}
