/**
 * The JSON-lines audit file. Created 0600 in a folder created 0700; opened with O_APPEND, and each record
 * is ONE write() of one whole line. On a local POSIX filesystem the kernel positions and writes an O_APPEND
 * write to a regular file atomically with respect to other O_APPEND writers, so concurrent processes
 * interleave whole lines, never parts of lines. (PIPE_BUF, 4096 bytes on Linux, bounds atomicity only for
 * pipes and FIFOs; records are far smaller anyway. NFS does not honour O_APPEND across clients: keep the log
 * on a local disk.)
 *
 * The log is opened with O_NOFOLLOW: a symlink at its path (planted, or left by a tool) is refused, never
 * followed. What is opened must be a regular file with one link, owned by the user running credstash, and is
 * made 0600 whatever mode it had (fchmod on the open descriptor).
 */
import { constants, promises as fsp } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError } from '../core/errors.js';
import { mkdirPrivate } from '../core/private-dir.js';
import type { AuditRecord, AuditSink } from './audit-store.js';

/** An AuditSink appending JSON lines to a file; `path` is absolute. */
export interface FileAuditSink extends AuditSink {
  readonly path: string;
  /** Close the file (the next record reopens it). */
  close(): Promise<void>;
}

/**
 * An audit sink appending one JSON line per record to `path` (created 0600, its folder 0700; an existing
 * file is made 0600; a symlink, a non-file, another user's file or a file with other hard links is refused
 * with a ConfigError); the file is opened on the first record.
 *
 * @example
 * ```ts
 * const store = withAudit(inner, fileAuditSink('.credstash/audit.jsonl'));
 * ```
 * @throws nothing itself; a record that cannot be written rejects with the fs error, which
 *   {@link withAudit} turns into StoreUnavailableError
 */
export function fileAuditSink(path: string): FileAuditSink {
  const abs = resolve(path);
  let handle: Promise<fsp.FileHandle> | undefined;
  const refuse = (why: string): ConfigError => new ConfigError(`audit log "${abs}" ${why}`, { path: abs });
  const open = async (): Promise<fsp.FileHandle> => {
    // Each folder it creates exactly 0700, whatever the umask (mkdir's mode is masked by it).
    mkdirPrivate(dirname(abs));
    let fh: fsp.FileHandle;
    try {
      // O_NONBLOCK: a FIFO planted at the path fails or opens at once instead of hanging (and is refused below).
      fh = await fsp.open(abs, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK, 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw refuse('is a symbolic link; credstash does not follow one (set audit_log to the file itself)');
      throw err;
    }
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw refuse('is not a regular file');
      const uid = process.getuid?.();
      if (uid !== undefined && st.uid !== uid) throw refuse(`belongs to another user (uid ${st.uid}); credstash appends only to a log of its own user`);
      if (st.nlink > 1) throw refuse(`has ${st.nlink} hard links; credstash appends only to a log with one (another name could be any file)`);
      // Mode applies only when the file is created: make an existing log private too.
      if ((st.mode & 0o777) !== 0o600) await fh.chmod(0o600);
      return fh;
    } catch (err) {
      await fh.close().catch(() => undefined);
      throw err;
    }
  };
  const sink = (async (record: AuditRecord): Promise<void> => {
    const line = Buffer.from(`${JSON.stringify(record)}\n`, 'utf8');
    handle ??= open();
    let fh: fsp.FileHandle;
    try {
      fh = await handle;
    } catch (err) {
      handle = undefined; // let a later record retry (e.g. the folder was created meanwhile)
      throw err;
    }
    const { bytesWritten } = await fh.write(line, 0, line.length);
    if (bytesWritten !== line.length) {
      // A short write on a regular file means the disk is full: say so instead of leaving half a line.
      throw Object.assign(new Error('short write to the audit log'), { code: 'ENOSPC' });
    }
  }) as FileAuditSink;
  Object.defineProperty(sink, 'path', { value: abs, enumerable: true });
  sink.close = async () => {
    const h = handle;
    handle = undefined;
    if (h !== undefined) await (await h.catch(() => undefined))?.close();
  };
  return sink;
}
