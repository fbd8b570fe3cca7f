/**
 * Credential values kept as one string by a backend with no type field of its own (SSM parameters,
 * environment variables): how text and structured credentials share that string without either ever being
 * taken for the other.
 *
 * - A structured credential is its compact JSON (`JSON.stringify`), as it always was.
 * - On read, a string is structured only when it is exactly that: a JSON object whose compact JSON is the
 *   string itself. Reading it as JSON then loses nothing (no key order, number form such as `1.0` or a
 *   20-digit integer, duplicate key, escape or whitespace is dropped), and printing it gives the same string.
 *   Any other string is text, byte for byte.
 * - Text that would read as structured (compact JSON-object text), or that begins with {@link TEXT_MARKER}, is
 *   kept as the marker followed by the text; the marker is removed on read. All other text is kept as is, so
 *   what other tools write and read (`aws ssm get-parameter`, an ECS secret, a shell `export`) stays plain.
 */
import type { JsonObject } from './types.js';

/** Prefix that marks a string as text whatever follows it. */
export const TEXT_MARKER = 'credstash:text:';

/**
 * The string to store for a text or structured value (see the module comment).
 *
 * @example
 * ```ts
 * encodeStringValue('hunter2');          // 'hunter2'
 * encodeStringValue('{"a":1}');          // 'credstash:text:{"a":1}' (text that would read as structured)
 * encodeStringValue({ a: 1 });           // '{"a":1}'
 * ```
 */
export function encodeStringValue(value: string | JsonObject): string {
  if (typeof value !== 'string') return JSON.stringify(value);
  return value.startsWith(TEXT_MARKER) || typeof decodeStringValue(value) !== 'string' ? TEXT_MARKER + value : value;
}

/**
 * The value a stored string stands for: marked text without its marker, a structured credential when the
 * string is exactly the compact JSON of an object, otherwise the string itself.
 *
 * @example
 * ```ts
 * decodeStringValue('{"a":1}');                 // { a: 1 }
 * decodeStringValue('{"a": 1}');                // '{"a": 1}' (text: its JSON form is not the string)
 * decodeStringValue('credstash:text:{"a":1}');  // '{"a":1}'
 * ```
 */
export function decodeStringValue(raw: string): string | JsonObject {
  if (raw.startsWith(TEXT_MARKER)) return raw.slice(TEXT_MARKER.length);
  if (!raw.startsWith('{') || !raw.endsWith('}')) return raw;
  try {
    const parsed: unknown = JSON.parse(raw);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return raw;
    // Structured only when nothing was lost: the compact JSON of what was parsed is the string itself.
    return JSON.stringify(parsed) === raw ? (parsed as JsonObject) : raw;
  } catch {
    // Not JSON (or too deep to serialise again): text. The parser's message would quote the value.
    return raw;
  }
}
