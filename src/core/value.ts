import { ValidationError } from './errors.js';
import type { CredentialValue, JsonObject, ValueKind } from './types.js';

/** Encode a value to bytes plus its kind. JSON objects are serialised with sorted keys for stable bytes. */
export function encodeValue(value: CredentialValue): { kind: ValueKind; bytes: Buffer } {
  if (typeof value === 'string') return { kind: 'text', bytes: Buffer.from(value, 'utf8') };
  if (value instanceof Uint8Array) return { kind: 'binary', bytes: Buffer.from(value) };
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    return { kind: 'json', bytes: Buffer.from(JSON.stringify(value), 'utf8') };
  }
  throw new ValidationError('credential value must be a string, bytes, or a JSON object');
}

/**
 * Decode bytes of a known kind. A JSON parse failure never passes Node's message along (it quotes the input).
 * @throws ValidationError when bytes claimed as text or JSON do not decode.
 */
export function decodeValue(kind: ValueKind, bytes: Uint8Array, credentialId: string): CredentialValue {
  if (kind === 'binary') return Buffer.from(bytes);
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  if (kind === 'text') return text;
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as JsonObject;
  } catch {
    // fall through: the parse message quotes the secret
  }
  throw new ValidationError(`value of credential "${credentialId}" is not a JSON object`, { credentialId });
}

export function isValueKind(s: unknown): s is ValueKind {
  return s === 'text' || s === 'binary' || s === 'json';
}

/** The value as text for printing: text as is, JSON compactly, bytes as base64. */
export function valueToText(value: CredentialValue): string {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  return JSON.stringify(value);
}

/**
 * Encoded size in bytes, as `encodeValue(value).bytes.length`, without copying a text or binary value into a
 * new buffer (the size check of every put would otherwise leave an unzeroed plaintext copy behind).
 * @throws ValidationError for a value that is not a string, bytes or a JSON object (as encodeValue)
 */
export function valueByteLength(value: CredentialValue): number {
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8');
  if (value instanceof Uint8Array) return value.byteLength;
  return encodeValue(value).bytes.length;
}
