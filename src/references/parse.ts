/**
 * Parsing of credential references (docs/references.md):
 *
 *   ${credential:ID}                 the whole credential
 *   ${credential:ID}.field.sub       one field of a structured (JSON object) credential; numeric segments index arrays
 *   ${credential:ID?env=prod&x=y}    the same, read with an encryption context
 *   ${credential:ID?}                explicitly no context (a default context given to the resolver does not apply)
 *   ${credential:ID?@LABEL}          the version label LABEL points at (`${credential:db?@current}.password`)
 *   ${credential:ID?env=prod&@LABEL} a label and a context
 *
 * Inside the braces: the id runs up to `?` or `}`; context pairs are `key=value` joined by `&`, both
 * percent-decoded (write `%26` for `&`, `%3D` for `=`, `%7D` for `}`, `%25` for `%`). After the closing
 * brace, `.name` segments (`[A-Za-z0-9_-]+`) are a field path. A part of the query that starts with `@` (and
 * has no `=`: a context pair without `=` is an error, so this form cannot mean a context key) names a label;
 * at most one. A label alone (`?@current`) does not make the context explicit: a resolver's default
 * context still applies, as it does without `?`. An id may contain `@` (`${credential:user@host}` is the id
 * `user@host`), so the label is never read from the id, nor from anything after the closing brace. Escapes: `\${credential:` is the literal
 * text `${credential:`; `\.` right after a reference is a literal dot that ends the field path.
 * Imports core only.
 */
import { canonicalContext } from '../core/context.js';
import { CredentialReferenceError, ValidationError } from '../core/errors.js';
import { validateLabel } from '../core/lifecycle.js';
import type { EncryptionContext } from '../core/types.js';

const OPEN = '${credential:';

/** One reference found in a string. */
export interface ParsedReference {
  /** The reference as written, e.g. `${credential:db?env=prod}.password` (holds no value). */
  text: string;
  id: string;
  context: EncryptionContext;
  /**
   * The reference wrote a context (`?env=prod`, or an empty `?`): its context is its own, a default context
   * does not apply. A label alone (`?@current`) leaves it false.
   */
  explicitContext: boolean;
  /** The label to read through (`?@current`), when the reference names one. */
  label?: string;
  /** Field path after the reference (`['password']`), empty for the whole credential. */
  field: string[];
  /** Offsets of `text` in the source string. */
  start: number;
  end: number;
}

/** A string split into literal text and references, in order. */
export type Segment = { kind: 'text'; text: string } | { kind: 'ref'; ref: ParsedReference };

/**
 * Split a string into literal text and references. `where` names the location for error messages.
 * @throws CredentialReferenceError for an unterminated reference, an empty id or a malformed context
 */
export function parseReferences(input: string, where = '$'): Segment[] {
  const out: Segment[] = [];
  let text = '';
  let i = 0;
  while (i < input.length) {
    const at = input.indexOf(OPEN, i);
    if (at < 0) {
      text += input.slice(i);
      break;
    }
    // `\${credential:` is literal text (the backslash is dropped).
    if (at > 0 && input[at - 1] === '\\') {
      text += input.slice(i, at - 1) + OPEN;
      i = at + OPEN.length;
      continue;
    }
    text += input.slice(i, at);
    const close = input.indexOf('}', at + OPEN.length);
    if (close < 0) {
      throw new CredentialReferenceError(`unterminated credential reference at ${where}: missing "}"`, { path: where });
    }
    const inner = input.slice(at + OPEN.length, close);
    const q = inner.indexOf('?');
    const id = q < 0 ? inner : inner.slice(0, q);
    const head = `${OPEN}${inner}}`;
    if (id.trim().length === 0 || id !== id.trim()) {
      throw new CredentialReferenceError(`credential reference ${quoteRef(head)} at ${where} has an empty id or surrounding spaces`, { path: where });
    }
    const query = q < 0 ? undefined : parseQuery(inner.slice(q + 1), head, where);
    const context = query?.context ?? canonicalContext(undefined);
    let j = close + 1;
    const field: string[] = [];
    for (;;) {
      const m = /^\.([A-Za-z0-9_-]+)/.exec(input.slice(j, j + 257));
      if (m === null) break;
      field.push(m[1] as string);
      j += m[0].length;
    }
    const ref: ParsedReference = { text: input.slice(at, j), id, context, explicitContext: query?.explicit ?? false, field, start: at, end: j };
    if (query?.label !== undefined) ref.label = query.label;
    if (text.length > 0) out.push({ kind: 'text', text });
    text = '';
    out.push({ kind: 'ref', ref });
    // `\.` right after a reference: a literal dot, not a field.
    if (input.startsWith('\\.', j)) {
      text = '.';
      j += 2;
    }
    i = j;
  }
  if (text.length > 0) out.push({ kind: 'text', text });
  return out;
}

/** The part after `?`: context pairs and at most one `@label`; `explicit` unless the label is all there is. */
function parseQuery(query: string, head: string, where: string): { context: EncryptionContext; explicit: boolean; label?: string } {
  // A Map, not `pairs[key] = value`: that would drop a `__proto__=a` pair (it sets the prototype) and the
  // reference would read the credential under a weaker context than written.
  const pairs = new Map<string, string>();
  if (query.length === 0) return { context: canonicalContext(undefined), explicit: true };
  let label: string | undefined;
  for (const part of query.split('&')) {
    if (part.startsWith('@') && !part.includes('=')) {
      if (label !== undefined) throw new CredentialReferenceError(`credential reference ${quoteRef(head)} at ${where} names more than one label`, { path: where });
      try {
        label = validateLabel(part.slice(1));
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err;
        throw new CredentialReferenceError(`credential reference ${quoteRef(head)} at ${where}: ${err.message}`, { path: where });
      }
      continue;
    }
    const eq = part.indexOf('=');
    if (eq <= 0) {
      throw new CredentialReferenceError(`credential reference ${quoteRef(head)} at ${where}: context must be key=value pairs (and at most one @label) joined by &`, { path: where });
    }
    let key: string;
    let value: string;
    try {
      key = decodeURIComponent(part.slice(0, eq));
      value = decodeURIComponent(part.slice(eq + 1));
    } catch {
      throw new CredentialReferenceError(`credential reference ${quoteRef(head)} at ${where}: bad %-escape in the context`, { path: where });
    }
    if (pairs.has(key)) {
      throw new CredentialReferenceError(`credential reference ${quoteRef(head)} at ${where}: context key "${key}" is given twice`, { path: where });
    }
    pairs.set(key, value);
  }
  const context = canonicalContext(Object.fromEntries(pairs));
  return label === undefined ? { context, explicit: true } : { context, explicit: pairs.size > 0, label };
}

/** References are config text, not secrets; still keep messages one line and bounded. */
export function quoteRef(text: string): string {
  const one = text.replace(/[\u0000-\u001f]/g, '?');
  return `"${one.length > 200 ? `${one.slice(0, 197)}...` : one}"`;
}

/** The single reference when `value` is exactly one reference (with an optional field path), else undefined. */
function wholeReference(value: unknown): ParsedReference | undefined {
  if (typeof value !== 'string' || !value.startsWith(OPEN)) return undefined;
  try {
    const segs = parseReferences(value);
    const only = segs[0];
    return segs.length === 1 && only?.kind === 'ref' ? only.ref : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether `value` is a string that is exactly one credential reference, optionally with a field path.
 *
 * @example
 * ```ts
 * isCredentialReference('${credential:db_prod}.password'); // true
 * isCredentialReference('postgres://${credential:db_user}@db'); // false (an interpolation)
 * ```
 */
export function isCredentialReference(value: unknown): value is string {
  return wholeReference(value) !== undefined;
}

/**
 * Whether `value` is a string that contains at least one credential reference.
 *
 * @example
 * ```ts
 * containsCredentialReference('postgres://${credential:db_user}@db'); // true
 * containsCredentialReference('\\${credential:x}');                 // false (escaped)
 * ```
 * @throws CredentialReferenceError for a malformed reference; ValidationError for an empty context value (`?env=`)
 */
export function containsCredentialReference(value: unknown): boolean {
  return typeof value === 'string' && value.includes(OPEN) && parseReferences(value).some((s) => s.kind === 'ref');
}

/**
 * The credential id of a whole reference, or undefined when `value` is not exactly one reference.
 *
 * @example
 * ```ts
 * extractCredentialId('${credential:db_prod?env=prod}.password'); // 'db_prod'
 * ```
 */
export function extractCredentialId(value: unknown): string | undefined {
  return wholeReference(value)?.id;
}
