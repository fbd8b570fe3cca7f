/**
 * Formats for `get <wildcard>`, `getall` and `export` (docs/cli.md "Formats"). Each returns what Python credstash's
 * dump function returns: the caller adds the trailing newline Python's `print` adds (getall) or not
 * (wildcard get). Text values print as they are, binary values as base64, structured (JSON) values as
 * nested objects in json/yaml and as compact JSON text in csv/dotenv. dotenv names are shell identifiers built
 * as `credstash exec` builds them (dotenv.ts).
 */
import type { JsonValue, StoredCredential } from '../../core/types.js';
import { valueToText } from '../../core/value.js';
import { credentialsToEnv } from '../../ops/env-names.js';
import { csvDump } from './csv.js';
import { dotenvDump } from './dotenv.js';
import { pythonJson } from './json.js';
import { yamlDump } from './yaml.js';

export { OUTPUT_FORMATS, type OutputFormat } from './formats.js';
import type { OutputFormat } from './formats.js';

export interface FormatOptions {
  /** dotenv: protected variable names (src/ops/env-names.ts) that may be written all the same (`--allow-env`). */
  allowEnv?: readonly string[];
}

/**
 * @throws ValidationError for dotenv when two ids give one variable name, a name is protected, or a value
 *   holds NUL (a shell variable cannot)
 */
export function formatCredentials(creds: readonly StoredCredential[], format: OutputFormat, opts: FormatOptions = {}): string {
  if (format === 'dotenv') return dotenvDump(credentialsToEnv(creds, opts.allowEnv === undefined ? {} : { allow: opts.allowEnv }));
  // Object.fromEntries, not `obj[c.id] = ...`: a credential named `__proto__` would set the prototype and
  // silently vanish from the output.
  if (format === 'json' || format === 'yaml') {
    const obj: Record<string, JsonValue> = Object.fromEntries(
      creds.map((c) => [c.id, typeof c.value === 'string' || c.value instanceof Uint8Array ? valueToText(c.value) : c.value]),
    );
    return format === 'json' ? pythonJson(obj) : yamlDump(obj);
  }
  const rows: Record<string, string> = Object.fromEntries(creds.map((c) => [c.id, valueToText(c.value)]));
  return csvDump(rows);
}
