/**
 * The one way credstash-ts writes a file that holds secrets (config with a Fernet key, rendered templates,
 * exports): a temp file in the same folder created with O_EXCL and the final mode, every byte written,
 * fsync, then rename over the target (or link, when an existing target must not be replaced), then fsync the
 * folder. A reader sees the old file or the new one, never half of one. A failed write removes its temp file;
 * a writer killed outright (SIGKILL, power loss) leaves one, named `.<target>.<pid>.<12 hex>.tmp`, and the
 * next write of the same target removes every such file whose pid is no longer alive on this host.
 * Throws the fs error as it is (callers wrap it in their own typed error, naming the path).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fchmodSync, fsyncSync, linkSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { removeDeadLeftovers } from './file-lock.js';

export interface AtomicWriteOptions {
  /** File mode of the result (default 0600). */
  mode?: number;
  /** Replace an existing target (default true); false fails with EEXIST when the target exists. */
  replace?: boolean;
}

export function writeFileAtomic(target: string, data: string | Uint8Array, opts: AtomicWriteOptions = {}): void {
  const mode = opts.mode ?? 0o600;
  removeDeadLeftovers(dirname(target), atomicTempPattern(target), Date.now());
  const tmp = join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', mode);
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    // On the descriptor, not the name: a chmod by name would follow a symlink swapped in for the temp file.
    fchmodSync(fd, mode); // the umask may have narrowed or (for other modes) changed it
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    if (opts.replace === false) {
      linkSync(tmp, target); // EEXIST when the target appeared meanwhile: never overwritten
      unlinkSync(tmp);
    } else {
      renameSync(tmp, target);
    }
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // never created, or already renamed
    }
    throw err;
  }
  fsyncDir(dirname(target));
}

/** The names writeFileAtomic gives the temp files of `target` (group 1: the writer's pid). */
export function atomicTempPattern(target: string): RegExp {
  const b = basename(target).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  return new RegExp(`^\\.${b}\\.(\\d+)\\.[0-9a-f]{12}\\.tmp$`);
}

/** Make a rename durable. Some filesystems refuse to fsync a folder; the rename is atomic regardless. */
export function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // see above
  }
}
