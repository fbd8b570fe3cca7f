/**
 * Entry of dist/cli/fast.cjs, the CLI's fast path (fast-path.ts): main() on held output, handed back to
 * bin/credstash when the command line needs the full build.
 */
import { bufferedIO, needsFullCli } from './fast-path.js';
import { defaultIO, main } from './main.js';
import { directOutput, type DirectOutput } from './stdio.js';

/** For bin/credstash's code cache (fast-path.ts). */
export { loadedModules } from './fast-path.js';

let outputs: DirectOutput[] = [];

/**
 * Run the command line on the fast path: its exit status (also set as process.exitCode), or undefined when
 * the full build must run it, in which case nothing was written.
 */
export async function runFast(argv: readonly string[]): Promise<number | undefined> {
  // Written to the descriptors themselves, with the full build's rules for a failed write (stdio.ts).
  const stderr = directOutput(2);
  const stdout = directOutput(1, stderr);
  outputs = [stdout, stderr];
  const out = bufferedIO(stdout, stderr);
  try {
    const code = await main(argv, defaultIO(out.stdout, out.stderr));
    out.flush();
    return code;
  } catch (err) {
    if (needsFullCli(err)) return undefined;
    throw err;
  }
}

/**
 * Whether all the run's output has left the process (or failed to): nothing waits in a stream, so
 * bin/credstash may exit without turning the event loop again.
 */
export function outputSettled(): boolean {
  return outputs.length > 0 && outputs.every((o) => o.settled);
}
