/**
 * The lock that serialises every writer of a credstash.toml key list (`rotate-key`, `rotate-key
 * --reencrypt-only`, `init`): `<file>.lock` beside the config file, created 0600 and linked into place
 * complete (the link fails when a lock exists, exactly like O_EXCL), holding `{pid, host, started, created,
 * nonce}`. `started` is the holder's process start time (Linux `/proc/<pid>/stat`), so a recycled pid is
 * told apart from the holder.
 *
 * A lock is broken only when its holder is provably gone: same host, and the pid is dead or now belongs to a
 * process that started at another time. A live holder's lock is never broken, however long it runs (a
 * rotation of a large SQL table may take minutes); a holder on another host is never judged from here. A
 * waiter gives up after `timeoutMs` with a message naming the holder and the lock file. A lock path that is a
 * folder or a symlink is refused at once (it is not a lock this code wrote, and would block forever).
 */
import { randomBytes } from 'node:crypto';
import { linkSync, lstatSync, readFileSync, realpathSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { ConfigError } from '../core/errors.js';

/** How long a second rotator waits for the first before failing (a rotation is usually well under a second). */
export const CONFIG_LOCK_TIMEOUT_MS = 120_000;

export interface ConfigLockOptions {
  /** How long to wait for a live holder (default {@link CONFIG_LOCK_TIMEOUT_MS}). */
  timeoutMs?: number;
  /** What is being done, for the waiter's message (default "rotate-key"). */
  purpose?: string;
}

/** A held lock. */
export interface ConfigLock {
  readonly path: string;
  /** @throws ConfigError when the lock file is no longer this holder's (removed or replaced by hand) */
  assertHeld(): void;
  /** Remove the lock if it is still ours. Never throws. */
  release(): void;
}

interface LockBody {
  pid: number;
  host: string;
  started: string | null;
  created: number;
  nonce: string;
  purpose: string;
}

/** This process's start time as the kernel records it, or null where that cannot be read. */
function startTimeOf(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm (field 2) may hold spaces and parentheses: fields after the LAST ')' are fixed.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19] ?? null; // field 22, starttime
  } catch {
    return null;
  }
}

const OWN_START = startTimeOf(process.pid);

/** Whether the holder is provably gone (never true for another host, or for a live holder). */
function holderGone(h: LockBody): boolean {
  if (h.host !== hostname() || !Number.isSafeInteger(h.pid) || h.pid <= 0) return false;
  try {
    process.kill(h.pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
  // Alive: the same process only if it started when the holder did (a recycled pid is another process).
  if (h.started === null) return false;
  const now = startTimeOf(h.pid);
  return now !== null && now !== h.started;
}

function readBody(path: string): { body: LockBody | undefined; raw: string } | undefined {
  let raw: string;
  try {
    raw = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const j = JSON.parse(raw) as Partial<LockBody>;
    if (typeof j.pid === 'number' && typeof j.host === 'string' && typeof j.nonce === 'string') {
      return {
        raw,
        body: {
          pid: j.pid,
          host: j.host,
          started: typeof j.started === 'string' ? j.started : null,
          created: typeof j.created === 'number' ? j.created : 0,
          nonce: j.nonce,
          purpose: typeof j.purpose === 'string' ? j.purpose : 'rotate-key',
        },
      };
    }
  } catch {
    // not ours: see below
  }
  return { body: undefined, raw };
}

/**
 * Move a dead holder's lock aside and check it is the one judged dead; if another lock replaced it
 * meanwhile, put that one back (link fails if yet another appeared).
 */
function breakLock(path: string, raw: string): void {
  const aside = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.stale`;
  try {
    renameSync(path, aside);
  } catch {
    return; // released or broken by someone else
  }
  let moved: string | undefined;
  try {
    moved = readFileSync(aside, 'utf8');
  } catch {
    moved = undefined;
  }
  if (moved !== raw) {
    try {
      linkSync(aside, path);
    } catch {
      // a newer lock is in place; the one moved aside was not stale after all, but it is not ours to restore
    }
  }
  try {
    unlinkSync(aside);
  } catch {
    // gone
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * The file a config path really is (symlinks resolved), so that every path to one file shares one lock and
 * an edit lands in that file (not over the symlink). A file that does not exist yet: its real folder.
 */
export function realConfigPath(configFile: string): string {
  try {
    return realpathSync(configFile);
  } catch {
    try {
      return join(realpathSync(dirname(configFile)), basename(configFile));
    } catch {
      return configFile;
    }
  }
}

/**
 * Take the key-list lock of `configFile` (beside the real file, symlinks resolved), waiting for a live holder.
 * @throws ConfigError when a live holder keeps it past the timeout, or the lock path is not a regular file
 */
export async function acquireConfigLock(configFile: string, opts: ConfigLockOptions = {}): Promise<ConfigLock> {
  const path = `${realConfigPath(configFile)}.lock`;
  const timeoutMs = opts.timeoutMs ?? CONFIG_LOCK_TIMEOUT_MS;
  const purpose = opts.purpose ?? 'rotate-key';
  const nonce = randomBytes(12).toString('hex');
  const body: LockBody = { pid: process.pid, host: hostname(), started: OWN_START, created: Date.now(), nonce, purpose };
  const text = JSON.stringify(body);
  const deadline = Date.now() + timeoutMs;
  let unreadableSince: number | undefined;
  for (let attempt = 0; ; attempt++) {
    const draft = `${path}.${process.pid}.${nonce}.tmp`;
    try {
      writeFileSync(draft, text, { mode: 0o600, flag: 'wx' });
      try {
        linkSync(draft, path);
        return held(path, nonce);
      } finally {
        try {
          unlinkSync(draft);
        } catch {
          // already gone
        }
      }
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      if (code !== 'EEXIST') throw new ConfigError(`cannot lock ${configFile} (${code}): cannot create ${path}`, { path, cause: err });
    }
    const st = lstatSync(path, { throwIfNoEntry: false });
    if (st === undefined) continue; // released meanwhile
    if (!st.isFile()) {
      throw new ConfigError(`${path} is not a lock file (${st.isDirectory() ? 'a folder' : st.isSymbolicLink() ? 'a symlink' : 'not a regular file'}); remove it and retry`, { path });
    }
    const found = readBody(path);
    if (found === undefined) continue;
    if (found.body === undefined) {
      // Locks are linked into place complete, so unreadable content was not written by a holder: debris.
      unreadableSince ??= Date.now();
      if (Date.now() - unreadableSince > 1000) {
        breakLock(path, found.raw);
        unreadableSince = undefined;
        continue;
      }
    } else if (holderGone(found.body)) {
      breakLock(path, found.raw);
      continue;
    }
    if (Date.now() >= deadline) {
      const h = found.body;
      const who = h === undefined ? 'an unreadable lock' : `${h.purpose} (process ${h.pid}${h.host === hostname() ? '' : ` on ${h.host}`})`;
      throw new ConfigError(
        `${configFile} is locked by ${who}; waited ${timeoutMs} ms. ` +
          `If no credstash process is running${h !== undefined && h.host !== hostname() ? ` on ${h.host}` : ''}, remove "${path}"`,
        { path },
      );
    }
    await sleep(Math.min(100, 5 + attempt * 5) + Math.random() * 10);
  }
}

function held(path: string, nonce: string): ConfigLock {
  const ours = (): boolean => readBody(path)?.body?.nonce === nonce;
  let released = false;
  return {
    path,
    assertHeld() {
      if (released || !ours()) {
        throw new ConfigError(`the lock ${path} was removed or replaced while this process held it; nothing more was changed. Retry`, { path });
      }
    },
    release() {
      if (released) return;
      released = true;
      try {
        if (ours()) unlinkSync(path);
      } catch {
        // already gone
      }
    },
  };
}

/**
 * Run `fn` holding the key-list lock of `configFile`; the lock is released however `fn` ends.
 */
export async function withConfigLock<T>(configFile: string, opts: ConfigLockOptions, fn: (lock: ConfigLock) => Promise<T> | T): Promise<T> {
  const lock = await acquireConfigLock(configFile, opts);
  try {
    return await fn(lock);
  } finally {
    lock.release();
  }
}
