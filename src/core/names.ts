import { hasControlChar } from './chars.js';
import { ValidationError } from './errors.js';

/** DynamoDB's limit for a partition key; every tier uses the same rule so that ids move between tiers. */
export const MAX_ID_BYTES = 2048;

/**
 * Check a credential id for reading: non-empty, at most 2048 UTF-8 bytes, no control characters.
 * Python credstash validated nothing, so reads stay permissive.
 * @throws ValidationError describing (not echoing) the problem.
 */
export function validateId(id: unknown): string {
  if (typeof id !== 'string') throw new ValidationError('credential id must be a string');
  if (id.length === 0) throw new ValidationError('credential id must not be empty');
  if (Buffer.byteLength(id, 'utf8') > MAX_ID_BYTES) throw new ValidationError(`credential id is longer than ${MAX_ID_BYTES} bytes`);
  if (hasControlChar(id)) throw new ValidationError('credential id must not contain control characters');
  return id;
}

/** The one wildcard character, as in Python credstash (`WILDCARD_CHAR = "*"`): `?`, `[` and `.` are literal. */
export const WILDCARD_CHAR = '*';

/**
 * Check a credential id for writing: the read rules, plus no `*`, which would make the credential
 * unreachable by name from the CLI's wildcard `get`. Every other character is ordinary (`a?b` is a name).
 */
export function validateWriteId(id: unknown): string {
  const ok = validateId(id);
  if (ok.includes(WILDCARD_CHAR)) throw new ValidationError('credential id must not contain * (it is the wildcard)');
  return ok;
}

/** Whether a name given to `get` is a pattern: it contains `*`, as in Python credstash. */
export function isGlob(pattern: string): boolean {
  return pattern.includes(WILDCARD_CHAR);
}

/**
 * A pattern: `*` any run of characters, everything else literal (a `.` is a dot — Python credstash turned
 * `.` into "any character"; `?` and `[` are ordinary characters, as they are to Python credstash).
 * Anchored at both ends.
 */
export function globToRegExp(pattern: string): RegExp {
  let re = '^';
  for (const ch of pattern) {
    if (ch === WILDCARD_CHAR) re += '.*';
    // Escape exactly the regex syntax characters: under the `u` flag any other escape (`\-`) is a SyntaxError.
    else re += ch.replace(/[.?+^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`${re}$`, 'su');
}

const globCache = new Map<string, RegExp>();

/** Whether `id` matches the glob (no pattern matches everything). Compiled patterns are memoised. */
export function matchesGlob(pattern: string | undefined, id: string): boolean {
  if (pattern === undefined) return true;
  if (typeof pattern !== 'string') throw new ValidationError('pattern must be a string');
  let re = globCache.get(pattern);
  if (re === undefined) {
    if (globCache.size > 256) globCache.clear();
    re = globToRegExp(pattern);
    globCache.set(pattern, re);
  }
  return re.test(id);
}
