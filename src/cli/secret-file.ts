/**
 * Write a file that holds secrets (`export -o`, `render -o`): 0600, atomic (src/core/atomic-file.ts), so a
 * reader never sees half a file and a crash leaves the old file or none. An existing target is replaced
 * only with `overwrite`; without it the final link fails if the target exists, even if it appeared meanwhile.
 */
import { resolve } from 'node:path';
import { writeFileAtomic } from '../core/atomic-file.js';
import { ValidationError } from '../core/errors.js';

export function writeSecretFile(target: string, data: string | Uint8Array, opts: { overwrite?: boolean } = {}): string {
  const abs = resolve(target);
  try {
    writeFileAtomic(abs, data, { replace: opts.overwrite === true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err instanceof Error ? err.name : 'error');
    if (code === 'EEXIST') throw new ValidationError(`${abs} already exists; use --force to replace it`, { path: abs });
    throw new ValidationError(`cannot write ${abs} (${code})`, { path: abs, cause: err });
  }
  return abs;
}
