/**
 * Python's `json.dumps(obj, sort_keys=True, indent=4, separators=(',', ': '))`, byte for byte: keys sorted by
 * code point, 4-space indent, and `ensure_ascii` (every non-ASCII character as a lower-case `\uXXXX`,
 * astral characters as surrogate pairs). No trailing newline, like json.dumps.
 */
import type { JsonValue } from '../../core/types.js';

export function pythonJson(value: JsonValue, indent = 4, level = 0): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return pythonString(value);
  if (typeof value === 'number') return Number.isFinite(value) ? pythonNumber(value) : 'NaN';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  const pad = ' '.repeat(indent * (level + 1));
  const end = ' '.repeat(indent * level);
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((v) => pad + pythonJson(v, indent, level + 1)).join(',\n')}\n${end}]`;
  }
  const keys = Object.keys(value).sort(compareCodePoints);
  if (keys.length === 0) return '{}';
  return `{\n${keys.map((k) => `${pad}${pythonString(k)}: ${pythonJson(value[k] as JsonValue, indent, level + 1)}`).join(',\n')}\n${end}}`;
}

/** Python sorts str by code point; JS's default sort compares UTF-16 units (differs above U+FFFF). */
export function compareCodePoints(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done === true) return y.done === true ? 0 : -1;
    if (y.done === true) return 1;
    const d = (x.value.codePointAt(0) ?? 0) - (y.value.codePointAt(0) ?? 0);
    if (d !== 0) return d;
  }
}

function pythonString(s: string): string {
  // JSON.stringify already escapes " \ and control characters as Python does (\n \r \t \b \f, else \u00xx).
  return JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => (c === '\u007f' ? c : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
}

function pythonNumber(n: number): string {
  if (Number.isInteger(n)) return String(n);
  const s = String(n);
  // Python repr: 1e+21 -> 1e+21, 1e-07 -> 1e-07 (two-digit exponent)
  return s.replace(/e([+-])(\d)$/, 'e$10$2');
}
