/**
 * A tiny YAML emitter in PyYAML's `yaml.dump(obj, default_flow_style=False)` style for credstash output:
 * block mappings with sorted keys, 2-space nesting, `- ` sequences. Strings are plain when unambiguous,
 * single-quoted when printable on one line, double-quoted (JSON escapes, valid YAML) otherwise. For the
 * common cases (plain words, URLs, empty strings, quotes) the bytes match PyYAML; for exotic strings the
 * quoting style may differ but the parsed value is the same (docs/cli.md "Formats").
 */
import type { JsonValue } from '../../core/types.js';
import { compareCodePoints } from './json.js';

export function yamlDump(value: JsonValue): string {
  if (value === null || typeof value !== 'object') return `${scalar(value)}\n...\n`;
  return block(value, 0) || (Array.isArray(value) ? '[]\n' : '{}\n');
}

function block(value: JsonValue[] | { [k: string]: JsonValue }, level: number): string {
  const pad = '  '.repeat(level);
  let out = '';
  if (Array.isArray(value)) {
    for (const item of value) {
      if (item !== null && typeof item === 'object' && !isEmpty(item)) {
        // PyYAML puts the first key of a nested mapping on the dash line
        const inner = block(item, level + 1);
        out += `${pad}- ${inner.slice(pad.length + 2)}`;
      } else out += `${pad}- ${scalarOrEmpty(item)}\n`;
    }
    return out;
  }
  for (const key of Object.keys(value).sort(compareCodePoints)) {
    const v = value[key] as JsonValue;
    if (v !== null && typeof v === 'object' && !isEmpty(v)) {
      // PyYAML indents sequences under a mapping key at the key's own column
      out += `${pad}${scalar(key)}:\n${block(v, Array.isArray(v) ? level : level + 1)}`;
    } else out += `${pad}${scalar(key)}: ${scalarOrEmpty(v)}\n`;
  }
  return out;
}

function isEmpty(v: JsonValue[] | { [k: string]: JsonValue }): boolean {
  return Array.isArray(v) ? v.length === 0 : Object.keys(v).length === 0;
}

function scalarOrEmpty(v: JsonValue): string {
  if (Array.isArray(v)) return '[]';
  if (v !== null && typeof v === 'object') return '{}';
  return scalar(v);
}

const RESERVED = /^(?:~|null|Null|NULL|true|True|TRUE|false|False|FALSE|yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF|=|<<)$/;
const NUMBERISH = /^[-+]?(?:\.?[0-9][0-9_.:eE+-]*|\.inf|\.Inf|\.INF|\.nan|\.NaN|\.NAN|0x[0-9a-fA-F_]+|0o?[0-7_]+|0b[01_]+)$/;

function scalar(v: JsonValue): string {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') return String(v);
  if (typeof v !== 'string') return "''";
  if (v === '') return "''";
  // JSON escapes are valid YAML, but JSON leaves DEL and C1 raw, which YAML does not allow in a document
  // (PyYAML refuses them) and which a terminal would act on: escape those too, and the bidi controls and
  // line separators, which a terminal would also act on (the parsed value is the same).
  if (/[^\x20-\x7e]/.test(v)) return JSON.stringify(v).replace(/[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (isPlain(v)) return v;
  return `'${v.replace(/'/g, "''")}'`;
}

function isPlain(s: string): boolean {
  if (RESERVED.test(s) || NUMBERISH.test(s)) return false;
  if (/^[\s\-?:,[\]{}#&*!|>'"%@`]/.test(s) && !/^-[^\s]/.test(s.slice(0, 2)) && !/^[?:][^\s]/.test(s.slice(0, 2))) return false;
  if (/^[,[\]{}#&*!|>'"%@`]/.test(s)) return false;
  if (/\s$/.test(s) || /: |:$| #/.test(s)) return false;
  if (/^(?:---|\.\.\.)/.test(s)) return false;
  return true;
}
