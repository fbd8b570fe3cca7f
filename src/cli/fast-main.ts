/**
 * Entry of dist/cli/fast.cjs, the CLI's fast path (fast-path.ts): main() on held output, handed back to
 * bin/credstash when the command line needs the full build.
 */
import { bufferedIO, needsFullCli } from './fast-path.js';
import { defaultIO, main } from './main.js';
import { guardStdio } from './stdio.js';

/**
 * Run the command line on the fast path: its exit status (also set as process.exitCode), or undefined when
 * the full build must run it, in which case nothing was written.
 */
export async function runFast(argv: readonly string[]): Promise<number | undefined> {
  const out = bufferedIO(process.stdout, process.stderr);
  try {
    const code = await main(argv, defaultIO(out.stdout, out.stderr));
    // The real streams' write errors (EPIPE, ENOSPC) set the exit status as in the full build (stdio.ts).
    guardStdio(process.stdout, process.stderr);
    out.flush();
    return code;
  } catch (err) {
    if (needsFullCli(err)) return undefined;
    throw err;
  }
}
