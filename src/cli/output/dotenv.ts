/**
 * `dotenv` output: one `NAME='value'` line per credential, NAME upper-cased only (dots and dashes kept,
 * as Python credstash does). Unlike Python credstash, which wraps the value in single quotes without
 * escaping (so a `'` in a value breaks `eval`), an embedded `'` is written as `'\''`, so that
 * `eval "$(credstash getall -f dotenv)"` reproduces every value exactly (docs/cli.md).
 */
import { compareCodePoints } from './json.js';

export function dotenvDump(rows: Record<string, string>): string {
  return Object.keys(rows)
    .sort(compareCodePoints)
    .map((name) => `${name.toUpperCase()}=${shellQuote(rows[name] ?? '')}\n`)
    .join('');
}

/** POSIX single-quoting: `it's` -> `'it'\''s'`. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
