/**
 * The `--allow-env` option's declaration, apart from its check (env-options.ts, which needs the variable-name
 * rules of ops/env-names.ts): `get` declares the option on every run but checks it only for a wildcard.
 */
import type { Options } from 'yargs';

/** Typed as written (not widened to Options), so that yargs infers `allowEnv: string[] | undefined`. */
export const ALLOW_ENV_OPTION = {
  type: 'string',
  array: true,
  requiresArg: true,
  describe: 'let a credential set this protected variable (LD_*, NODE_OPTIONS, PATH, ...); repeatable',
} as const satisfies Options;
