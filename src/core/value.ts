import { isUtf8 } from 'node:buffer';
import { ValidationError } from './errors.js';
import type { CredentialValue, JsonObject, ValueKind } from './types.js';

/**
 * How deep a JSON tree from untrusted input may nest (structured values, import files, `--json`, templates).
 * Deeper trees are refused up front with a ValidationError: JSON.parse reads any depth, but everything that
 * walks the tree afterwards (JSON.stringify, the definition check, reference resolution) recurses and would
 * die with a RangeError.
 */
export const MAX_JSON_DEPTH = 100;

/**
 * The bound for a structured value read back from a store: looser, so that a value stored before the write
 * bound existed still reads, and still far from where the recursive walks overflow (thousands of levels).
 */
export const MAX_STORED_JSON_DEPTH = 1000;

/** How many alias expansions a YAML document from untrusted input may make before it is taken for an alias bomb. */
export const MAX_YAML_ALIASES = 100;

/**
 * UTF-8 bytes as text, byte for byte: a leading BOM is kept and nothing is replaced. Undefined when the
 * bytes are not valid UTF-8 (TextDecoder's default would strip the BOM and turn bad bytes into U+FFFD).
 * Validated first (buffer.isUtf8, the WHATWG rules a fatal TextDecoder applies), then decoded: no decoder
 * object and no thrown error, both of which cost a cold `get` more than the check.
 */
export function decodeUtf8Exact(bytes: Uint8Array): string | undefined {
  if (!isUtf8(bytes)) return undefined;
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}

/**
 * Refuse a tree that nests deeper than `max` arrays/objects. Iterative, so the check itself cannot overflow.
 * @throws ValidationError naming `what`, never the content
 */
export function assertJsonDepth(tree: unknown, what: string, max = MAX_JSON_DEPTH): void {
  if (tree === null || typeof tree !== 'object') return;
  const stack: Array<[unknown, number]> = [[tree, 1]];
  // A tree from a YAML document may share nodes (aliases): revisit a node only when reached deeper, so the
  // walk stays bounded, a shared node's deepest use counts, and a cycle ends as "too deep".
  const deepest = new Map<unknown, number>();
  while (stack.length > 0) {
    const [node, depth] = stack.pop() as [unknown, number];
    if (depth > max) throw new ValidationError(`${what} nests deeper than ${max} levels`);
    if ((deepest.get(node) ?? 0) >= depth) continue;
    deepest.set(node, depth);
    for (const v of Array.isArray(node) ? node : Object.values(node as Record<string, unknown>)) {
      if (v !== null && typeof v === 'object') stack.push([v, depth + 1]);
    }
  }
}

/** Encode a value to bytes plus its kind. JSON objects are serialised with sorted keys for stable bytes. */
export function encodeValue(value: CredentialValue): { kind: ValueKind; bytes: Buffer } {
  if (typeof value === 'string') {
    assertEncodableText(value);
    return { kind: 'text', bytes: Buffer.from(value, 'utf8') };
  }
  if (value instanceof Uint8Array) return { kind: 'binary', bytes: Buffer.from(value) };
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    assertJsonDepth(value, 'structured credential value');
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
  const text = decodeUtf8Exact(bytes);
  // Text bytes that are not UTF-8 (a foreign writer) come back as the bytes themselves, never with U+FFFD.
  if (kind === 'text') return text ?? Buffer.from(bytes);
  try {
    const parsed: unknown = text === undefined ? undefined : JSON.parse(text);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
      assertJsonDepth(parsed, `value of credential "${credentialId}"`, MAX_STORED_JSON_DEPTH);
      return parsed as JsonObject;
    }
  } catch (err) {
    if (err instanceof ValidationError) throw new ValidationError(err.message, { credentialId });
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
 * @throws ValidationError for a value that is not a string, bytes or a JSON object, or text UTF-8 cannot hold
 *   (as encodeValue)
 */
export function valueByteLength(value: CredentialValue): number {
  if (typeof value === 'string') {
    assertEncodableText(value);
    return Buffer.byteLength(value, 'utf8');
  }
  if (value instanceof Uint8Array) return value.byteLength;
  return encodeValue(value).bytes.length;
}

/**
 * A JS string with a lone UTF-16 surrogate has no UTF-8 form: Buffer.from would store U+FFFD in its place.
 * @throws ValidationError (the value is never quoted)
 */
function assertEncodableText(value: string): void {
  if (!value.isWellFormed()) {
    throw new ValidationError('credential value is text with a lone UTF-16 surrogate, which UTF-8 cannot hold; store it as bytes (a Uint8Array)');
  }
}
