/**
 * The keystore file: parse and validate (docs/fernet.md §3), a stat-keyed read cache, and atomic locked
 * writes (lock file created with O_EXCL, read-modify-write under it, temp file in the same folder, fsync,
 * rename, fsync the folder). Reads take no lock: rename is atomic, so a reader sees the old or the new file.
 */
import { closeSync, fstatSync, openSync, readSync, statSync, type BigIntStats } from 'node:fs';
import { link, mkdir, open, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fsyncDir } from '../../core/atomic-file.js';
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
  /** A lock older than this is stale even if its pid seems alive (pid reuse, another host). Default 30 s. */
  staleMs?: number;
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
    this.#lock = { timeoutMs: lock.timeoutMs ?? 10_000, staleMs: lock.staleMs ?? 30_000 };
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
    const release = await this.#acquire();
    try {
      const { data } = this.#load();
      const { entries, result } = fn(data);
      if (entries !== undefined) await this.#write(entries);
      return result;
    } finally {
      await release();
    }
  }

  async #write(entries: KeystoreEntry[]): Promise<void> {
    const dir = dirname(this.path);
    const tmp = join(dir, `.${basename(this.path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
    const text = serializeKeystore(entries);
    let renamed = false;
    try {
      const fh = await open(tmp, 'wx', 0o600);
      try {
        await fh.writeFile(text, 'utf8');
        await fh.chmod(0o600); // whatever the umask
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, this.path);
      renamed = true;
      fsyncDir(dir);
    } catch (err) {
      if (!renamed) await unlink(tmp).catch(() => undefined);
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
      await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    } catch (err) {
      throw this.#unavailable('create the folder of', err);
    }
  }

  async #acquire(): Promise<() => Promise<void>> {
    await this.ensureDir();
    const nonce = randomBytes(8).toString('hex');
    const body = JSON.stringify({ pid: process.pid, host: hostname(), created: Date.now(), nonce });
    const deadline = Date.now() + this.#lock.timeoutMs;
    let holder: LockInfo | undefined;
    for (let attempt = 0; ; attempt++) {
      // The lock appears with its content or not at all: write a private file, then link it into place
      // (link fails with EEXIST when a lock exists). A writer killed at any point never leaves an empty lock.
      const draft = `${this.lockPath}.${process.pid}.${nonce}.tmp`;
      try {
        await writeFile(draft, body, { mode: 0o600, flag: 'wx' });
        try {
          await link(draft, this.lockPath);
          return async () => {
            // Remove the lock only if it is still ours (a waiter may have broken it as stale).
            const now = await readLock(this.lockPath);
            if (now?.nonce === nonce) await unlink(this.lockPath).catch(() => undefined);
          };
        } finally {
          await unlink(draft).catch(() => undefined);
        }
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw this.#unavailable('lock', err);
      }
      holder = await readLock(this.lockPath);
      if (holder !== undefined && isStale(holder, this.#lock.staleMs)) {
        await breakLock(this.lockPath, holder);
        continue;
      }
      if (Date.now() >= deadline) {
        const who = holder === undefined || holder.pid === 0 ? 'another process' : `process ${holder.pid}${holder.host === hostname() ? '' : ` on ${holder.host}`}`;
        throw new StoreUnavailableError(
          `keystore "${this.path}" is locked by ${who}; waited ${this.#lock.timeoutMs} ms. ` +
            `If no credstash process is running, remove "${this.lockPath}"`,
          { store: `local keystore "${this.path}"`, path: this.path },
        );
      }
      await sleep(Math.min(50, 2 + attempt) + Math.random() * 5);
    }
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

function cacheKey(st: BigIntStats): CacheKey {
  return { dev: st.dev, ino: st.ino, size: st.size, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs };
}

function sameKey(a: CacheKey, b: CacheKey): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;
}

interface LockInfo {
  pid: number;
  host: string;
  created: number;
  nonce: string;
  raw: string;
}

async function readLock(path: string): Promise<LockInfo | undefined> {
  let raw: string;
  try {
    raw = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const j = JSON.parse(raw) as Partial<LockInfo>;
    if (typeof j.pid === 'number' && typeof j.created === 'number' && typeof j.nonce === 'string') {
      return { pid: j.pid, host: typeof j.host === 'string' ? j.host : '', created: j.created, nonce: j.nonce, raw };
    }
  } catch {
    // unreadable: aged out by mtime below
  }
  const st = statSync(path, { throwIfNoEntry: false });
  return st === undefined ? undefined : { pid: 0, host: '', created: st.mtimeMs, nonce: '', raw };
}

function isStale(lock: LockInfo, staleMs: number): boolean {
  // Locks are linked into place complete, so one without readable content is debris (older versions, a hand edit).
  if (lock.pid === 0) return Date.now() - lock.created > 1000;
  if (Date.now() - lock.created > staleMs) return true;
  if (lock.pid > 0 && lock.host === hostname()) {
    try {
      process.kill(lock.pid, 0);
      return false;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'ESRCH';
    }
  }
  return false;
}

/**
 * Remove a stale lock without removing a fresh one that replaced it meanwhile: move it aside atomically,
 * check it is the one judged stale, and if not put it back (link fails if yet another lock appeared).
 */
async function breakLock(path: string, stale: LockInfo): Promise<void> {
  const aside = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.stale`;
  try {
    await rename(path, aside);
  } catch {
    return; // someone else broke or released it
  }
  const moved = await readFile(aside, 'utf8').catch(() => undefined);
  if (moved !== stale.raw) await link(aside, path).catch(() => undefined);
  await unlink(aside).catch(() => undefined);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
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
 * (style.md §c.5): JSON.parse's own message quotes the input, so only its position is used.
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
