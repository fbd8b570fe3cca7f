/**
 * The one way credstash-ts writes a file that holds secrets (config with a Fernet key, rendered templates,
 * exports): a temp file in the same folder created with O_EXCL and the final mode, every byte written,
 * fsync, then rename over the target (or link, when an existing target must not be replaced), then fsync the
 * folder. A reader sees the old file or the new one, never half of one; a crash leaves at most a temp file.
 * Throws the fs error as it is (callers wrap it in their own typed error, naming the path).
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, fsyncSync, linkSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export interface AtomicWriteOptions {
  /** File mode of the result (default 0600). */
  mode?: number;
  /** Replace an existing target (default true); false fails with EEXIST when the target exists. */
  replace?: boolean;
}

export function writeFileAtomic(target: string, data: string | Uint8Array, opts: AtomicWriteOptions = {}): void {
  const mode = opts.mode ?? 0o600;
  const tmp = join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', mode);
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    chmodSync(tmp, mode); // the umask may have narrowed or (for other modes) changed it
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
