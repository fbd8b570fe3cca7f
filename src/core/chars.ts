/**
 * Character-class checks the cold path of a `get` runs, written as loops instead of regular expressions:
 * V8 compiles a regular expression on its first match and again to machine code on its second, a few
 * hundredths of a millisecond each, and a cold `get` would run a dozen. Each is exactly the expression its
 * comment names (`\d` is ASCII only there, as in a non-unicode expression).
 */

/** `/^\d+$/`: at least one character, all ASCII digits. */
export function isDigits(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** `/[\u0000-\u001f\u007f]/`: a C0 control character or DEL anywhere. */
export function hasControlChar(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x1f || c === 0x7f) return true;
  }
  return false;
}

/** `/^[A-Za-z0-9_.-]+$/`: at least one character, all ASCII letters, digits, `_`, `.` or `-`. */
export function isNameChars(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 46 || c === 45)) return false;
  }
  return true;
}

/** `s.replace(/^0+/, '')`: without its leading zeros. */
export function stripLeadingZeros(s: string): string {
  let i = 0;
  while (i < s.length && s.charCodeAt(i) === 48) i++;
  return i === 0 ? s : s.slice(i);
}

/** `/^[a-z0-9-]{1,63}$/`: 1 to 63 characters, all lower-case ASCII letters, digits or `-` (an AWS region's shape). */
export function isRegionChars(s: string): boolean {
  if (s.length === 0 || s.length > 63) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 122) || c === 45)) return false;
  }
  return true;
}

/** `!/[^\x21-\x7e]/.test(s)`: every character visible ASCII (no space, no control, nothing else); true for ''. */
export function isVisibleAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}
