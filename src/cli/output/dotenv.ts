/**
 * `dotenv` output: one `NAME='value'` line per credential, sorted, the NAME built by the same rule as
 * `credstash exec` / `credstash env` (src/ops/env-names.ts: upper-cased, every character that is not an ASCII
 * letter or digit as `_`, clashes and protected names refused). Python credstash kept dots and dashes
 * (`DB.PASSWORD=`), which a shell cannot assign, and wrote the id verbatim, so a crafted id ran commands under
 * `eval`; it also wrapped the value in single quotes without escaping. Here every name is a shell identifier
 * and an embedded `'` is written as `'\''`, so that `eval "$(credstash getall -f dotenv)"` restores every
 * value exactly and can run nothing (docs/cli.md).
 */
import { SHELL_IDENTIFIER } from '../../ops/env-names.js';

/**
 * Lines for already-built variable names (credentialsToEnv).
 * @throws Error when a name is not a shell identifier (a programming error: names come from credentialsToEnv)
 */
export function dotenvDump(vars: ReadonlyMap<string, string>): string {
  return [...vars.keys()]
    .sort()
    .map((name) => {
      if (!SHELL_IDENTIFIER.test(name)) throw new Error('dotenv: a variable name is not a shell identifier');
      return `${name}=${shellQuote(vars.get(name) ?? '')}\n`;
    })
    .join('');
}

/** POSIX single-quoting: `it's` -> `'it'\''s'`. Inside single quotes a shell expands nothing. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
