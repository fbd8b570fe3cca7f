/**
 * Write a file that holds secrets (`export -o`): created 0600 in its folder, atomically (a temp file with
 * O_EXCL in the same folder, fsync, rename), so a reader never sees half a file and a crash leaves the old
 * file or none. An existing target is replaced only with `overwrite`.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ValidationError } from '../core/errors.js';

export function writeSecretFile(target: string, data: string | Uint8Array, opts: { overwrite?: boolean } = {}): string {
  const abs = resolve(target);
  if (opts.overwrite !== true && existsSync(abs)) throw new ValidationError(`${abs} already exists; use --force to replace it`, { path: abs });
  const tmp = join(dirname(abs), `.${basename(abs)}.${randomBytes(6).toString('hex')}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', 0o600);
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, abs);
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // never created, or already renamed
    }
    const code = (err as NodeJS.ErrnoException).code ?? (err instanceof Error ? err.name : 'error');
    throw new ValidationError(`cannot write ${abs} (${code})`, { path: abs, cause: err });
  }
  try {
    const dfd = openSync(dirname(abs), 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    // not every filesystem lets a folder be fsynced; the rename itself is atomic
  }
  return abs;
}
