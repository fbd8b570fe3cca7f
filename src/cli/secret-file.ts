/**
 * Write a file that holds secrets (`export -o`, `render -o`): 0600, atomic (src/core/atomic-file.ts), so a
 * reader never sees half a file and a crash leaves the old file or none. An existing target is replaced
 * only with `overwrite`; without it the final link fails if the target exists, even if it appeared meanwhile.
 *
 * Interrupted runs leave no plaintext behind:
 * - a failed write removes its temp file (writeFileAtomic);
 * - SIGINT, SIGTERM or SIGHUP during the write: Node's default action would end the process at once, between
 *   creating the temp file and renaming it. From the first secret file on, credstash handles these signals
 *   itself; the write is synchronous, so a handler runs only after it has completed or cleaned up, and the
 *   handler then lets the process die of the same signal. Node's signal watchers do not keep the event loop
 *   alive, so after the write the caller waits for one pass of the loop's poll phase, where a signal that
 *   arrived during the write is delivered;
 * - SIGKILL: the next write of the same target removes temp files whose writer is dead (writeFileAtomic).
 */
import { resolve } from 'node:path';
import { writeFileAtomic } from '../core/atomic-file.js';
import { ValidationError } from '../core/errors.js';

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

/**
 * Let the event loop run its poll phase once (the second setImmediate runs in the loop's next iteration,
 * after that iteration's poll), so that a signal received meanwhile reaches its handler before the process
 * can exit.
 */
function signalCheckpoint(): Promise<void> {
  return new Promise((done) => setImmediate(() => setImmediate(done)));
}

const TERMINATING: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
let holding = false;

/**
 * Handle SIGINT/SIGTERM/SIGHUP from now on (once per process) by dying of the signal, as the default action
 * would, but only once the synchronous code running when it arrived has finished. The handlers are never
 * removed early: a signal that arrived during the write is delivered on the next turn of the event loop and
 * must still find them.
 */
function holdTerminationSignals(): void {
  if (holding) return;
  holding = true;
  const die = (sig: NodeJS.Signals): void => {
    for (const s of TERMINATING) process.off(s, die);
    // No handler left: the signal's default action (termination) applies again.
    process.kill(process.pid, sig);
  };
  for (const s of TERMINATING) process.on(s, die);
}
