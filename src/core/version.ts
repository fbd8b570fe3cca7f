import { isDigits, stripLeadingZeros } from './chars.js';
import { ValidationError } from './errors.js';

/** Python credstash's PAD_LEN: "number of digits in sys.maxint" (docs/FORMAT.md §7). */
export const PAD_LEN = 19;
/** The largest version that still fits in 19 digits without losing precision in a JS number. */
export const MAX_VERSION = Number.MAX_SAFE_INTEGER;

/**
 * Left-pad with zeros to 19 characters, as Python credstash does for any string; longer strings stay.
 *
 * @example
 * ```ts
 * padVersion(3); // '0000000000000000003' (the DynamoDB range key)
 * ```
 */
export function padVersion(version: string | number): string {
  const s = String(version);
  return s.length >= PAD_LEN ? s : '0'.repeat(PAD_LEN - s.length) + s;
}

/**
 * The stored range key as users write it: `0000000000000000003` → `"3"`, `00000000000000000v5` → `"v5"`.
 *
 * @example
 * ```ts
 * displayVersion(padVersion(12)); // '12'
 * ```
 */
export function displayVersion(stored: string): string {
  const stripped = stripLeadingZeros(stored);
  return stripped === '' ? '0' : stripped;
}

/**
 * The stored range keys a read version may name, in the order a tier tries them: the padded form (how
 * Python credstash and credstash-ts write versions), then the same version unpadded, as clients before
 * Python credstash padded versions wrote it (`1`, `10`, `v5`). A tier that can hold both tries the second
 * only when the first is not there, so reads of padded tables cost nothing more.
 *
 * @example
 * ```ts
 * storedVersionForms(parseReadVersion('1')); // ['0000000000000000001', '1']
 * ```
 */
export function storedVersionForms(padded: string): string[] {
  const unpadded = displayVersion(padded);
  return unpadded === padded ? [padded] : [padded, unpadded];
}

/** Integer value of a stored version, or undefined when it is not an integer (legacy `v5`). */
export function versionNumber(stored: string): number | undefined {
  if (!isDigits(stored)) return undefined;
  const n = Number(stored);
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * For finding the highest version: the integer value of a stored version, `Infinity` for an integer beyond
 * MAX_VERSION (written by another client: no JS number holds it exactly), undefined for a non-integer.
 */
export function versionMagnitude(stored: string): number | undefined {
  if (!isDigits(stored)) return undefined;
  const n = Number(stored);
  return Number.isSafeInteger(n) ? n : Number.POSITIVE_INFINITY;
}

/**
 * The version an autoversioned write (`put -a`) creates after `highest`. Never a number that is not exact:
 * after MAX_VERSION (or a foreign version beyond it) there is no next one.
 * @throws ValidationError naming the credential, never a value
 */
export function nextAutoVersion(highest: number, where: { credentialId: string; store?: string }): number {
  if (!Number.isSafeInteger(highest) || highest >= MAX_VERSION) {
    throw new ValidationError(
      `cannot add the next version of credential "${where.credentialId}": its highest version is at or beyond ${MAX_VERSION}, the largest credstash numbers exactly; pass -v with an unused lower version`,
      { credentialId: where.credentialId, store: where.store },
    );
  }
  return highest + 1;
}

/**
 * A version for a new write: a positive integer. Strings of digits are accepted (CLI input).
 * @throws ValidationError for anything else (`-v v5`, `0`, `-1`, `1.5`, too large).
 */
export function parseWriteVersion(input: number | string): number {
  const n =
    typeof input === 'number' ? input : typeof input === 'string' && /^\d+$/.test(input.trim()) ? Number(input.trim()) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new ValidationError(`version must be a positive integer up to ${MAX_VERSION}`);
  }
  return n;
}

/**
 * A version to read: integers, or any non-empty stored string (legacy tables hold `v5` and unpadded values).
 * Returns the stored (padded) form.
 * @throws ValidationError for empty, non-string/non-number, negative or fractional input.
 */
export function parseReadVersion(input: number | string): string {
  if (typeof input === 'number') {
    if (!Number.isSafeInteger(input) || input < 0) throw new ValidationError('version must be a non-negative integer');
    return padVersion(input);
  }
  if (typeof input !== 'string' || input.length === 0 || input.length > 1024 || /[\u0000-\u001f]/.test(input)) {
    throw new ValidationError('version must be a non-empty string without control characters');
  }
  const t = input.trim();
  if (/^\d+$/.test(t)) {
    if (t.length > PAD_LEN) return t;
    return padVersion(t.replace(/^0+(?=\d)/, ''));
  }
  return padVersion(t);
}
