import type { CredentialValue, JsonValue } from '../core/types.js';

/** Same kind and same content: text by ===, bytes byte for byte, JSON objects by canonical (sorted-key) form. */
export function valuesEqual(a: CredentialValue, b: CredentialValue): boolean {
  if (typeof a === 'string' || typeof b === 'string') return a === b;
  const ab = a instanceof Uint8Array;
  const bb = b instanceof Uint8Array;
  if (ab || bb) return ab && bb && Buffer.from(a as Uint8Array).equals(Buffer.from(b as Uint8Array));
  return canonicalJson(a) === canonicalJson(b);
}

function canonicalJson(v: JsonValue): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k] as JsonValue)}`).join(',')}}`;
}
