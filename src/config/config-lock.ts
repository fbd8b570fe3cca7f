/**
 * The lock that serialises every writer of a credstash.toml key list (`rotate-key`, `rotate-key
 * --reencrypt-only`, `init`): `<file>.lock` beside the real config file (symlinks resolved, so every path to
 * one file shares one lock), taken with the same lock code as the local keystore (src/core/file-lock.ts):
 * created 0600 and linked into place complete, holding pid, host, boot id and process start time; a live
 * holder's lock is never broken, however long it runs (a rotation of a large SQL table may take minutes);
 * another host's lock is judged by its heartbeat; breaking an abandoned one is serialised. A waiter gives up
 * after `timeoutMs` with a message naming the holder and the lock file.
 *
 * The holder checks it still holds the lock (synchronously, by the lock file's inode) before each step that
 * commits: the config rename, and the re-encryption's re-read of the key list.
 */
import { lstatSync, realpathSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { acquireFileLock, lockLeftoverPattern, removeDeadLeftovers } from '../core/file-lock.js';
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
  /** @throws ConfigError when the lock file is no longer this holder's (removed or replaced) */
  assertHeld(): void;
  /** Remove the lock if it is still ours. Never throws. */
  release(): Promise<void>;
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
 * Take the key-list lock of `configFile`, waiting for a live holder.
 * @throws StoreUnavailableError when a live holder keeps it past the timeout, or the lock path is a folder
 *   or another non-file, or cannot be created
 */
export async function acquireConfigLock(configFile: string, opts: ConfigLockOptions = {}): Promise<ConfigLock> {
  const real = realConfigPath(configFile);
  const path = `${real}.lock`;
  const held = await acquireFileLock(path, {
    timeoutMs: opts.timeoutMs ?? CONFIG_LOCK_TIMEOUT_MS,
    what: `${real} (${opts.purpose ?? 'rotate-key'})`,
    path: real,
  });
  // Drafts and moved-aside locks of writers killed outright; never a live process's. (Breaking a dead lock
  // just changed its inode, which its draft shares: count everything changed up to now, not only before
  // the lock was taken, and ctime has sub-millisecond precision.)
  removeDeadLeftovers(dirname(path), lockLeftoverPattern(path), Date.now() + 1);
  const mine = lstatSync(path, { bigint: true });
  return {
    path,
    assertHeld() {
      const now = lstatSync(path, { bigint: true, throwIfNoEntry: false });
      if (now === undefined || now.dev !== mine.dev || now.ino !== mine.ino) {
        throw new ConfigError(`the lock ${path} was removed or replaced while this process held it; nothing more was changed. Retry`, { path });
      }
    },
    release: () => held.release(),
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
    await lock.release();
  }
}
