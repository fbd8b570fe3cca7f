/**
 * The CLI's fast path: `bin/credstash` runs `credstash get …` (and `--version`) from one CommonJS file,
 * dist/cli/fast.cjs, instead of the code-split ES module build in dist/cli/. On Node 20 an ES module entry
 * costs about 8 ms before any code runs and every further module file about 1 ms more; the split build puts
 * some 30 files on the `get` path (BENCHMARKS.md, "CLI cold start").
 *
 * fast.cjs is main.ts itself, built without code splitting, holding only the modules a plain `get` on the
 * DynamoDB tier (the SDK-free client) or the local keystore loads: every other dynamic import() in it is
 * replaced at build time by a module that throws NeedsFullCli (esbuild.config.mjs, `full-cli-only`). Such
 * a throw means "this command line needs code fast.cjs does not hold": main() rethrows it instead of
 * reporting it, and bin/credstash runs the same command line again with the full build. Nothing is lost
 * by that: the fast path writes its output only at the end (bufferedIO), and what it did before the
 * throw is reading (argv, config, a store's reads).
 */

const loaded = new Set<string>();

/**
 * Called by each module the fast path loads lazily (the tiers, the get command), when it loads: the build
 * adds the call (esbuild.config.mjs). bin/credstash compares what a run loaded with what its code cache of
 * fast.cjs was made with, and makes the cache again when the run loaded more.
 */
export function noteLoaded(module: string): void {
  loaded.add(module);
}

/** The lazily loaded modules this run loaded (source paths, sorted). */
export function loadedModules(): string[] {
  return [...loaded].sort();
}

/** A command line needs code the fast-path bundle does not hold. */
export class NeedsFullCli extends Error {
  readonly needsFullCli = true;
  constructor(what: string) {
    super(`the fast path does not hold ${what}`);
    this.name = 'NeedsFullCli';
  }
}

/** Whether `err`, or any error in its `cause` chain, is a NeedsFullCli. */
export function needsFullCli(err: unknown): boolean {
  for (let e = err, depth = 0; e !== null && typeof e === 'object' && depth < 16; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as { needsFullCli?: unknown }).needsFullCli === true) return true;
  }
  return false;
}

/** Only written to stdout / stderr when it is known the fast path ran the command to its end. */
export interface BufferedIO {
  stdout: { write(chunk: string | Uint8Array): boolean };
  stderr: { write(chunk: string): boolean; isTTY?: boolean };
  /** Write what was held, in order, to the real streams. */
  flush(): void;
}

/**
 * Stand-ins for stdout and stderr that hold every write, in order, until flush(); dropped if the
 * command line is handed to the full build. stderr's isTTY is the real one's (a warning may say
 * more on a terminal).
 */
export function bufferedIO(stdout: { write(chunk: string | Uint8Array): unknown }, stderr: { write(chunk: string): unknown; readonly isTTY?: boolean | undefined }): BufferedIO {
  const held: Array<[0 | 1, string | Uint8Array]> = [];
  return {
    stdout: { write: (chunk) => (held.push([0, chunk]), true) },
    stderr: {
      write: (chunk) => (held.push([1, chunk]), true),
      // Asked only when there is something to say (a notice): finding out may cost a module load.
      get isTTY() {
        return stderr.isTTY;
      },
    },
    flush() {
      for (const [fd, chunk] of held.splice(0)) {
        if (fd === 0) stdout.write(chunk);
        else stderr.write(chunk as string);
      }
    },
  };
}
