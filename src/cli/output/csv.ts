/**
 * Python credstash's `csv` output: one `name,value` row per credential, written by Python's csv writer
 * with QUOTE_MINIMAL (a field is quoted when it holds `,`, `"`, `\r` or `\n`; `"` doubles), rows ending in
 * the OS line separator (`\n` on POSIX). Rows are sorted by name.
 */
import { compareCodePoints } from './json.js';

export function csvDump(rows: Record<string, string>, eol = '\n'): string {
  return Object.keys(rows)
    .sort(compareCodePoints)
    .map((name) => `${csvField(name)},${csvField(rows[name] ?? '')}${eol}`)
    .join('');
}

export function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
