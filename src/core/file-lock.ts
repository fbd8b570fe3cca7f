/**
 * An exclusive lock between processes, held as a lock file beside what it protects (the local keystore, the
 * rotation of a config file).
 *
 * - **Taking it.** The lock body (`{pid, host, created, nonce, boot, start}`) is written to a private draft
 *   (O_EXCL, 0600) that is then hard-linked into place: `link()` fails with EEXIST when a lock exists, and a
 *   lock never appears empty or half-written. The holder keeps the draft open and refreshes the inode's
 *   timestamps while it holds the lock (a heartbeat another host can see).
 * - **A lock held by a live process is never broken.** A lock from this host (same boot, same pid namespace)
 *   is abandoned only when its pid is gone, or is now another process (its start time differs; Linux), or is
 *   this process's pid on a lock this process does not hold.
 *   However long a live holder takes (stopped with SIGSTOP, swapped out, a long re-encryption), it keeps it.
 * - **Another host's lock** (or one from before this host's last boot, or from another pid namespace)
 *   cannot be checked by pid: it counts as abandoned once its inode has not been
 *   refreshed for `staleMs` plus `clockSkewMs`, judged by the inode's change time, which the filesystem sets
 *   (a timestamp written in the body, even one in the future, and `touch -d` cannot keep it alive). The error
 *   while waiting says so.
 * - **Breaking an abandoned lock** is serialized by a second lock (`<lock>.break`, taken the same way). Under
 *   it the breaker inspects the lock again, renames that exact inode aside, checks that what it moved is the
 *   inode it judged (device, inode number, content), and puts back anything else with `link()` (which never
 *   replaces a lock taken meanwhile). Two breakers cannot both win; a fresh lock is never removed.
 * - **Before committing**, a holder calls {@link HeldFileLock.assertHeld}: the lock at the path must still be
 *   its own inode, or the write is abandoned (nothing is written).
 * - **Odd lock files.** A symlink is never followed: it is not a lock credstash makes, and is removed (the
 *   link itself) once it is a second old, like an unreadable lock file. A directory, FIFO, socket or device
 *   is refused at once with an error naming the path.
 */
import { randomBytes } from 'node:crypto';
import { constants, lstatSync, readFileSync, readdirSync, readlinkSync, unlinkSync, type BigIntStats } from 'node:fs';
import { link, lstat, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { StoreUnavailableError } from './errors.js';

/** This host's name; node:os is loaded when a lock is taken or judged, not with the module (a local `get` loads it). */
const hostname = (): string => process.getBuiltinModule('node:os').hostname();

/** How a lock is waited for and judged. */
export interface FileLockOptions {
  /** How long to wait for the lock before giving up (default 10 s). */
  timeoutMs?: number;
  /**
   * Another host's lock not refreshed for this long (plus `clockSkewMs`) is abandoned (default 30 s). A lock
   * from this host is judged by its pid instead, never by age.
   */
  staleMs?: number;
  /** Clock difference allowed between hosts sharing the folder (default 5 s). */
  clockSkewMs?: number;
  /** For messages: what the lock protects, e.g. `keystore "/p/.credstash/keystore.json"`. */
  what?: string;
  /** Error fields of the StoreUnavailableError thrown. */
  store?: string;
  path?: string;
}

/** A lock this process holds. */
export interface HeldFileLock {
  /** The lock file's path. */
  readonly path: string;
  /** When it was taken (ms since the epoch). */
  readonly acquiredAt: number;
  /**
   * Check that the lock at {@link path} is still this one, right before the step that commits (a rename).
   * @throws StoreUnavailableError when it was removed or replaced
   */
  assertHeld(): Promise<void>;
  /** Remove the lock if it is still this one, and stop the heartbeat. Never throws. */
  release(): Promise<void>;
}

/** A lock from this host whose content cannot be parsed (or a symlink) is debris once this old. */
const DEBRIS_MS = 1000;
/** Lock files are a few hundred bytes; read no more than this of whatever is at the path. */
const MAX_LOCK_BYTES = 4096;

interface LockBody {
  pid: number;
  host: string;
  created: number;
  nonce: string;
  /**
   * Linux boot id and pid namespace (a lock whose pid this process can check), and the process start time in
   * clock ticks since boot (pid reuse detection).
   */
  boot?: string;
  pidns?: string;
  start?: string;
}

/** What was found at a lock path. */
interface Inspected {
  dev: bigint;
  ino: bigint;
  ctimeNs: bigint;
  ctimeMs: number;
  raw: string;
  /** undefined: not a parseable lock (debris), or a symlink. */
  body?: LockBody;
  symlink: boolean;
}

interface Verdict {
  stale: boolean;
  /** For the timeout message: who holds it and how it is judged. */
  holder: string;
  note?: string;
}

/**
 * Take the lock at `lockPath`, waiting up to `timeoutMs`.
 * @throws StoreUnavailableError when it cannot be had in time (naming the holder), when the lock path is a
 *   directory or another non-file, or when the folder cannot be written
 */
export async function acquireFileLock(lockPath: string, opts: FileLockOptions = {}): Promise<HeldFileLock> {
  const o = {
    timeoutMs: opts.timeoutMs ?? 10_000,
    staleMs: opts.staleMs ?? 30_000,
    clockSkewMs: opts.clockSkewMs ?? 5_000,
    what: opts.what ?? `lock "${lockPath}"`,
  };
  const fields = { ...(opts.store === undefined ? {} : { store: opts.store }), ...(opts.path === undefined ? {} : { path: opts.path }) };
  const fail = (message: string, cause?: unknown): StoreUnavailableError => new StoreUnavailableError(message, { ...fields, ...(cause === undefined ? {} : { cause }) });
  const nonce = randomBytes(8).toString('hex');
  const body: LockBody = { pid: process.pid, host: hostname(), created: Date.now(), nonce };
  const boot = bootId();
  const ns = pidNamespace();
  const start = startTimeOf(process.pid);
  if (boot !== undefined) body.boot = boot;
  if (ns !== undefined) body.pidns = ns;
  if (start !== undefined) body.start = start;
  const text = JSON.stringify(body);
  const draft = `${lockPath}.${process.pid}.${nonce}.tmp`;
  const deadline = Date.now() + o.timeoutMs;

  let fh: FileHandle | undefined;
  let mine: { dev: bigint; ino: bigint } | undefined;
  const writeDraft = async (): Promise<void> => {
    await fh?.close().catch(() => undefined);
    fh = await open(draft, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    await fh.writeFile(text, 'utf8');
    await fh.chmod(0o600);
    const st = await fh.stat({ bigint: true });
    mine = { dev: st.dev, ino: st.ino };
  };
  const code = (err: unknown): string | undefined => (err as NodeJS.ErrnoException)?.code;
  const cannot = (err: unknown): StoreUnavailableError => fail(`cannot lock ${o.what}${code(err) === undefined ? '' : ` (${code(err)})`}`, err);

  try {
    await writeDraft();
  } catch (err) {
    await fh?.close().catch(() => undefined);
    throw cannot(err);
  }
  let last: Verdict | undefined;
  let lastTry = false;
  // Known before the link: a lock naming this pid and this nonce is ours from the moment it exists.
  HELD_NONCES.add(nonce);
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await link(draft, lockPath);
        break;
      } catch (err) {
        if (code(err) === 'ENOENT') {
          // Our draft was removed (a holder cleaning up after a process it took for dead): write it again.
          if (await exists(draft)) throw cannot(err);
          await writeDraft();
          continue;
        }
        if (code(err) !== 'EEXIST') throw cannot(err);
      }
      const seen = await inspect(lockPath, o.what, fail);
      if (seen !== undefined) {
        last = judge(seen, o);
        if (last.stale) {
          await breakStale(lockPath, seen, draft, mine as { dev: bigint; ino: bigint }, o, fail);
          // Try again at once (at least once, even with no time left); but a lock that cannot be removed (a
          // folder this process may not write) still ends in the timeout error.
          if (Date.now() < deadline || !lastTry) {
            lastTry = Date.now() >= deadline;
            continue;
          }
        }
      }
      if (Date.now() >= deadline) {
        throw fail(
          `${o.what} is locked by ${last?.holder ?? 'another process'}${last?.note === undefined ? '' : ` (${last.note})`}; waited ${o.timeoutMs} ms. ` +
            `If no credstash process is running, remove "${lockPath}"`,
        );
      }
      await sleep(Math.min(50, 2 + attempt) + Math.random() * 5);
    }
  } catch (err) {
    HELD_NONCES.delete(nonce);
    await fh?.close().catch(() => undefined);
    await unlink(draft).catch(() => undefined);
    throw err;
  }
  await unlink(draft).catch(() => undefined);
  const held = fh as FileHandle;
  const id = mine as { dev: bigint; ino: bigint };
  const acquiredAt = Date.now();
  // Heartbeat: refresh the inode's change time so that another host does not take the lock for abandoned.
  const beat = setInterval(() => {
    const now = new Date();
    held.utimes(now, now).catch(() => undefined);
  }, Math.max(250, Math.floor(o.staleMs / 4)));
  beat.unref();
  let released = false;
  return {
    path: lockPath,
    acquiredAt,
    async assertHeld(): Promise<void> {
      const st = await lstat(lockPath, { bigint: true }).catch(() => undefined);
      if (st === undefined || st.dev !== id.dev || st.ino !== id.ino) {
        throw fail(`${o.what}: its lock "${lockPath}" was removed or replaced by another process while this one held it; nothing was written`);
      }
    },
    async release(): Promise<void> {
      if (released) return;
      released = true;
      clearInterval(beat);
      HELD_NONCES.delete(nonce);
      const st = await lstat(lockPath, { bigint: true }).catch(() => undefined);
      if (st !== undefined && st.dev === id.dev && st.ino === id.ino) await unlink(lockPath).catch(() => undefined);
      await held.close().catch(() => undefined);
    },
  };
}

/**
 * Remove what killed processes left in `dir`: files whose name matches `pattern` (or one of them; group 1 =
 * the pid that made it), whose pid is not a live process on this host, and that were last changed before `before` (ms).
 * Only regular files and symlinks are removed (the name, never a symlink's target); a file of a live process
 * is never touched. Call it while holding the lock that the makers of those files held. Never throws.
 * @returns the names removed
 */
export function removeDeadLeftovers(dir: string, pattern: RegExp | readonly RegExp[], before: number): string[] {
  const patterns = Array.isArray(pattern) ? (pattern as readonly RegExp[]) : [pattern as RegExp];
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    let m: RegExpExecArray | null = null;
    for (const p of patterns) if ((m = p.exec(name)) !== null) break;
    if (m === null) continue;
    const pid = Number(m[1]);
    if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid || pidAlive(pid)) continue;
    const full = join(dir, name);
    try {
      const st = lstatSync(full);
      if (!(st.isFile() || st.isSymbolicLink()) || st.ctimeMs >= before) continue;
      unlinkSync(full);
      removed.push(name);
    } catch {
      // gone already, or not ours to remove
    }
  }
  return removed;
}

/** The name patterns of the files {@link acquireFileLock} makes beside `lockPath` (drafts, moved-aside locks). */
export function lockLeftoverPattern(lockPath: string): RegExp {
  const b = escapeRegExp(basename(lockPath));
  return new RegExp(`^(?:${b}|${b}\\.break)\\.(\\d+)\\.[0-9a-f]+\\.(?:tmp|stale)$`);
}

/** What is at the lock path, without following a symlink; undefined when nothing is. */
async function inspect(path: string, what: string, fail: (m: string) => StoreUnavailableError): Promise<Inspected | undefined> {
  let st: BigIntStats;
  try {
    st = await lstat(path, { bigint: true });
  } catch {
    return undefined;
  }
  const base = { dev: st.dev, ino: st.ino, ctimeNs: st.ctimeNs, ctimeMs: Number(st.ctimeNs / 1_000_000n) };
  if (st.isSymbolicLink()) return { ...base, raw: '', symlink: true };
  if (st.isDirectory()) throw fail(`${what}: its lock "${path}" is a directory, not a lock file (credstash never makes one); remove it`);
  if (!st.isFile()) throw fail(`${what}: its lock "${path}" is not a regular file (${kindOf(st)}); remove it`);
  let fh: FileHandle;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return undefined; // replaced or removed meanwhile: look again
  }
  try {
    const fst = await fh.stat({ bigint: true });
    if (fst.dev !== st.dev || fst.ino !== st.ino || !fst.isFile()) return undefined;
    const buf = Buffer.alloc(MAX_LOCK_BYTES);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    const raw = buf.subarray(0, bytesRead).toString('utf8');
    return { ...base, raw, symlink: false, ...parseBody(raw) };
  } catch {
    return undefined;
  } finally {
    await fh.close().catch(() => undefined);
  }
}

function parseBody(raw: string): { body?: LockBody } {
  try {
    const j = JSON.parse(raw) as Partial<LockBody>;
    if (typeof j.pid === 'number' && Number.isSafeInteger(j.pid) && j.pid > 0 && typeof j.nonce === 'string') {
      const body: LockBody = { pid: j.pid, host: typeof j.host === 'string' ? j.host : '', created: typeof j.created === 'number' ? j.created : 0, nonce: j.nonce };
      if (typeof j.boot === 'string') body.boot = j.boot;
      if (typeof j.pidns === 'string') body.pidns = j.pidns;
      if (typeof j.start === 'string') body.start = j.start;
      return { body };
    }
  } catch {
    // debris
  }
  return {};
}

function judge(seen: Inspected, o: { staleMs: number; clockSkewMs: number }): Verdict {
  const now = Date.now();
  const age = now - seen.ctimeMs;
  const b = seen.body;
  if (b === undefined) {
    // Locks are linked into place complete: one without a readable body (or a symlink) is not a live lock.
    return { stale: age > DEBRIS_MS, holder: seen.symlink ? 'a symlink (not a credstash lock)' : 'an unreadable lock file' };
  }
  const ahead = b.created - now;
  const skewNote = ahead > o.clockSkewMs ? `its timestamp is ${Math.round(ahead / 1000)} s ahead of this host's clock and is not trusted` : undefined;
  const myBoot = bootId();
  const myNs = pidNamespace();
  // Its pid can be checked here only on this host, under this kernel (boot) and in this pid namespace: a
  // lock from before a reboot, from another machine of the same name or from another container is judged
  // like another host's (by its refreshed change time), never broken at once.
  const checkable =
    b.host === hostname() && (b.boot === undefined || myBoot === undefined || b.boot === myBoot) && (b.pidns === undefined || myNs === undefined || b.pidns === myNs);
  if (checkable) {
    const holder = `process ${b.pid}`;
    // This process's own pid but none of the locks it holds: left by an earlier process that had this pid.
    if (b.pid === process.pid && !HELD_NONCES.has(b.nonce)) return { stale: true, holder };
    if (!pidAlive(b.pid)) return { stale: true, holder };
    if (b.start !== undefined) {
      const start = startTimeOf(b.pid);
      if (start !== undefined && start !== b.start) return { stale: true, holder }; // the pid now names another process
    }
    return { stale: false, holder, ...(skewNote === undefined ? {} : { note: skewNote }) };
  }
  const limit = o.staleMs + o.clockSkewMs;
  const notes = [
    `its pid cannot be checked from this host; the lock counts as abandoned once it has not been refreshed for ${Math.round(limit / 1000)} s ` +
      `(${o.staleMs} ms plus ${o.clockSkewMs} ms of allowed clock skew), and was last refreshed ${Math.max(0, Math.round(age / 1000))} s ago by this host's clock`,
  ];
  if (skewNote !== undefined) notes.push(skewNote);
  const where = b.host === hostname() ? 'this host before its last boot, or in another container' : b.host === '' ? 'an unnamed host' : b.host;
  return { stale: age > limit, holder: `process ${b.pid} on ${where}`, note: notes.join('; ') };
}

/**
 * Break the lock judged stale, under the break lock: inspect again, rename that exact inode aside, put back
 * anything else.
 */
async function breakStale(
  lockPath: string,
  seen: Inspected,
  draft: string,
  mine: { dev: bigint; ino: bigint },
  o: { staleMs: number; clockSkewMs: number; what: string },
  fail: (m: string) => StoreUnavailableError,
): Promise<void> {
  const breakPath = `${lockPath}.break`;
  // The break lock is a second name of our own draft: same body, same rules.
  try {
    await link(draft, breakPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return;
    const holder = await inspect(breakPath, o.what, fail);
    if (holder !== undefined && judge(holder, o).stale) await moveAside(breakPath, holder);
    await sleep(1 + Math.random() * 3);
    return; // look at the lock again in the next round
  }
  try {
    const now = await inspect(lockPath, o.what, fail);
    if (now === undefined || now.dev !== seen.dev || now.ino !== seen.ino || now.ctimeNs !== seen.ctimeNs || now.raw !== seen.raw) return;
    if (!judge(now, o).stale) return;
    await moveAside(lockPath, now);
  } finally {
    const st = await lstat(breakPath, { bigint: true }).catch(() => undefined);
    if (st !== undefined && st.dev === mine.dev && st.ino === mine.ino) await unlink(breakPath).catch(() => undefined);
  }
}

/** Rename `path` aside; keep it removed only if it is the inode inspected, else link it back. */
async function moveAside(path: string, seen: Inspected): Promise<void> {
  const aside = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.stale`;
  try {
    await rename(path, aside);
  } catch {
    return; // released or broken by someone else
  }
  let same = false;
  try {
    const st = await lstat(aside, { bigint: true });
    if (st.dev === seen.dev && st.ino === seen.ino) {
      if (seen.symlink) same = st.isSymbolicLink();
      else if (st.isFile()) {
        const fh = await open(aside, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
        try {
          const buf = Buffer.alloc(MAX_LOCK_BYTES);
          const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
          same = buf.subarray(0, bytesRead).toString('utf8') === seen.raw;
        } finally {
          await fh.close();
        }
      }
    }
  } catch {
    same = false;
  }
  // Not the one judged stale: put it back. link() fails if yet another lock appeared; that one stays.
  if (!same) await link(aside, path).catch(() => undefined);
  await unlink(aside).catch(() => undefined);
}

/** Whether `pid` is a live process on this host (EPERM: alive, another user's). */
export function pidAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** Who a process is, as a lock or a rotation's claim records it: enough to tell later whether it is gone. */
export interface ProcessIdentity {
  host: string;
  pid: number;
  /** Linux boot id, pid namespace and the process's start time (clock ticks since boot), where the OS tells them. */
  boot?: string;
  pidns?: string;
  start?: string;
}

/** This process's identity ({@link ProcessIdentity}). */
export function processIdentity(): ProcessIdentity {
  const id: ProcessIdentity = { host: hostname(), pid: process.pid };
  const boot = bootId();
  const ns = pidNamespace();
  const start = startTimeOf(process.pid);
  if (boot !== undefined) id.boot = boot;
  if (ns !== undefined) id.pidns = ns;
  if (start !== undefined) id.start = start;
  return id;
}

/**
 * Whether the process `id` names is still running, judged as a lock holder is: `alive` or `gone` when its pid
 * can be checked from here (this host, this boot, this pid namespace; a pid now naming a process started at
 * another time is gone), `unknown` otherwise (another host, or before this host's last boot, or another
 * container). This process's own pid answers `alive`: the caller tells its own claims apart (a nonce).
 */
export function processLiveness(id: ProcessIdentity): 'alive' | 'gone' | 'unknown' {
  const myBoot = bootId();
  const myNs = pidNamespace();
  const checkable =
    id.host === hostname() && (id.boot === undefined || myBoot === undefined || id.boot === myBoot) && (id.pidns === undefined || myNs === undefined || id.pidns === myNs);
  if (!checkable) return 'unknown';
  if (id.pid === process.pid) return 'alive';
  if (!pidAlive(id.pid)) return 'gone';
  if (id.start !== undefined) {
    const start = startTimeOf(id.pid);
    if (start !== undefined && start !== id.start) return 'gone';
  }
  return 'alive';
}

/** Nonces of the locks this process holds now (a lock naming this pid with another nonce is not ours). */
const HELD_NONCES = new Set<string>();

let nsCache: string | null | undefined;
/** This process's pid namespace (`pid:[4026531836]`), where the OS tells it. */
function pidNamespace(): string | undefined {
  if (nsCache === undefined) {
    try {
      nsCache = readlinkSync('/proc/self/ns/pid');
    } catch {
      nsCache = null;
    }
  }
  return nsCache ?? undefined;
}

let bootCache: string | null | undefined;
function bootId(): string | undefined {
  if (bootCache === undefined) {
    try {
      bootCache = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null;
    } catch {
      bootCache = null;
    }
  }
  return bootCache ?? undefined;
}

/** A process's start time (clock ticks since boot, /proc/<pid>/stat field 22), where the OS tells it. */
function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const start = fields[19];
    return start !== undefined && /^\d+$/.test(start) ? start : undefined;
  } catch {
    return undefined;
  }
}

function kindOf(st: BigIntStats): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  return 'not a file';
}

async function exists(path: string): Promise<boolean> {
  return (await lstat(path).catch(() => undefined)) !== undefined;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
