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

/** One stored version. `version` is the 19-character padded form. */
export interface KeystoreEntry {
  id: string;
  version: string;
  token: string;
  comment?: string;
}

/** The parsed file, indexed by id then padded version. Treat as immutable: writers build a new one. */
export interface KeystoreData {
  readonly entries: ReadonlyMap<string, ReadonlyMap<string, KeystoreEntry>>;
  readonly count: number;
}

export const EMPTY_KEYSTORE: KeystoreData = Object.freeze({ entries: new Map(), count: 0 });

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
   * returns the new entry list, or `undefined` to write nothing. A corrupt file throws before anything is
   * written, so it is never overwritten.
   */
  async update<T>(fn: (data: KeystoreData) => { entries: KeystoreEntry[] | undefined; result: T }): Promise<T> {
    const lock = await this.#acquire();
    try {
      this.#removeLeftovers(lock);
      const { data } = this.#load();
      const { entries, result } = fn(data);
      if (entries !== undefined) await this.#write(entries, lock);
      return result;
    } finally {
      await lock.release();
    }
  }

  async #write(entries: KeystoreEntry[], lock: HeldFileLock): Promise<void> {
    const dir = dirname(this.path);
    const tmp = join(dir, `.${basename(this.path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
    const text = serializeKeystore(entries);
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
      this.#cached = { key: cacheKey(st), data: indexEntries(entries) };
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

/** One entry per line, sorted by id then version: diffable, and error messages can point at a line. */
export function serializeKeystore(entries: readonly KeystoreEntry[]): string {
  const sorted = [...entries].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : a.version < b.version ? -1 : a.version > b.version ? 1 : 0));
  const lines = sorted.map((e) => {
    const o: Record<string, string> = { id: e.id, version: e.version, token: e.token };
    if (e.comment !== undefined) o.comment = e.comment;
    return JSON.stringify(o);
  });
  return `{"format":${JSON.stringify(KEYSTORE_FORMAT)},"format_version":${KEYSTORE_FORMAT_VERSION},"credentials":[\n${lines.join(',\n')}${lines.length > 0 ? '\n' : ''}]}\n`;
}

export function indexEntries(entries: readonly KeystoreEntry[]): KeystoreData {
  const map = new Map<string, Map<string, KeystoreEntry>>();
  for (const e of entries) {
    let versions = map.get(e.id);
    if (versions === undefined) map.set(e.id, (versions = new Map()));
    versions.set(e.version, e);
  }
  return { entries: map, count: entries.length };
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
    if (r.comment !== undefined && typeof r.comment !== 'string') throw corrupt(`${where} has a comment that is not a string`);
    const k = `${r.id}\u0000${r.version}`;
    if (seen.has(k)) throw corrupt(`${where} repeats a version of an earlier entry`);
    seen.add(k);
    const e: KeystoreEntry = { id: r.id, version: r.version, token: r.token };
    if (typeof r.comment === 'string') e.comment = r.comment;
    entries.push(e);
  });
  return indexEntries(entries);
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
