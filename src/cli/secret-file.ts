/**
 * Write a file that holds secrets (`export -o`, `render -o`): 0600, atomic (src/core/atomic-file.ts), so a
 * reader never sees half a file and a crash leaves the old file or none. An existing target is replaced
 * only with `overwrite`; without it the final link fails if the target exists, even if it appeared meanwhile.
 *
 * Interrupted runs leave no plaintext behind:
 * - a failed write removes its temp file (writeFileAtomic);
 * - SIGINT, SIGTERM or SIGHUP during the write: Node's default action would end the process at once, between
 *   creating the temp file and renaming it. The signals are held (signals.ts): the write is synchronous, so
 *   the listener runs only after it has completed or cleaned up, and then lets the process die of the same
 *   signal; after the write, one pass of the event loop's poll phase delivers a signal received meanwhile;
 * - SIGKILL: the next write of the same target removes temp files whose writer is dead (writeFileAtomic).
 */
import { resolve } from 'node:path';
import { writeFileAtomic } from '../core/atomic-file.js';
import { ValidationError } from '../core/errors.js';
import { holdTerminationSignals, signalCheckpoint } from './signals.js';

export async function writeSecretFile(target: string, data: string | Uint8Array, opts: { overwrite?: boolean } = {}): Promise<string> {
  const abs = resolve(target);
  holdTerminationSignals();
  try {
    writeFileAtomic(abs, data, { replace: opts.overwrite === true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err instanceof Error ? err.name : 'error');
    if (code === 'EEXIST') throw new ValidationError(`${abs} already exists; use --force to replace it`, { path: abs });
    throw new ValidationError(`cannot write ${abs} (${code})`, { path: abs, cause: err });
  } finally {
    await signalCheckpoint();
  }
  return abs;
}
