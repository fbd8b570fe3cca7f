import { pathToFileURL } from 'node:url';

/**
 * import() of a file by its path (a custom store module). A module of its own so that the CLI's fast-path
 * bundle, which must hold no import() of a file it does not bundle, replaces it with one that hands the
 * command line to the full build (src/cli/fast-path.ts, esbuild.config.mjs).
 */
export function importFile(path: string): Promise<unknown> {
  return import(pathToFileURL(path).href);
}
