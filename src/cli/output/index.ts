/**
 * Formats for `get <wildcard>` and `getall` (credstash-format.md §9). Each returns what Python credstash's
 * dump function returns: the caller adds the trailing newline Python's `print` adds (getall) or not
 * (wildcard get). Text values print as they are, binary values as base64, structured (JSON) values as
 * nested objects in json/yaml and as compact JSON text in csv/dotenv.
 */
import type { JsonValue, StoredCredential } from '../../core/types.js';
import { valueToText } from '../../core/value.js';
import { csvDump } from './csv.js';
import { dotenvDump } from './dotenv.js';
import { pythonJson } from './json.js';
import { yamlDump } from './yaml.js';

export const OUTPUT_FORMATS = ['json', 'yaml', 'csv', 'dotenv'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export function formatCredentials(creds: readonly StoredCredential[], format: OutputFormat): string {
  if (format === 'json' || format === 'yaml') {
    const obj: Record<string, JsonValue> = {};
    for (const c of creds) obj[c.id] = typeof c.value === 'string' || c.value instanceof Uint8Array ? valueToText(c.value) : c.value;
    return format === 'json' ? pythonJson(obj) : yamlDump(obj);
  }
  const rows: Record<string, string> = {};
  for (const c of creds) rows[c.id] = valueToText(c.value);
  return format === 'csv' ? csvDump(rows) : dotenvDump(rows);
}
