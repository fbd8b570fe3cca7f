/**
 * The character-class loops of the cold `get` path (src/core/chars.ts) answer exactly as the regular
 * expressions they replace, for any string: digits, control characters, table-name characters, leading zeros,
 * region names and header-safe text.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hasControlChar, isDigits, isNameChars, isRegionChars, isVisibleAscii, stripLeadingZeros } from '../../../src/core/chars.js';

/** Strings of the characters at the edges of each class, and of any code unit. */
const EDGES = ['0', '9', '/', ':', 'a', 'z', 'A', 'Z', '@', '[', '`', '{', '_', '.', '-', ' ', '\t', '\n', '\u0000', '\u001f', '\u007f', '\u0080', '\u00a0', '\u0660', '\uff10', 'é'];
const strings = fc.oneof(fc.string({ unit: fc.constantFrom(...EDGES), maxLength: 12 }), fc.string({ unit: 'binary', maxLength: 12 }), fc.string({ unit: fc.constantFrom('0', '1', 'v'), maxLength: 22 }));

describe('core/chars: the same answers as the regular expressions', () => {
  it('isDigits is /^\\d+$/', () => {
    fc.assert(fc.property(strings, (s) => void expect(isDigits(s)).toBe(/^\d+$/.test(s))), { numRuns: 2000 });
    expect([isDigits(''), isDigits('0'), isDigits('007'), isDigits('1 '), isDigits('\u0661')]).toEqual([false, true, true, false, false]);
  });

  it('hasControlChar is /[\\u0000-\\u001f\\u007f]/', () => {
    fc.assert(fc.property(strings, (s) => void expect(hasControlChar(s)).toBe(/[\u0000-\u001f\u007f]/.test(s))), { numRuns: 2000 });
    expect([hasControlChar('a.b'), hasControlChar('a\nb'), hasControlChar('\u007f'), hasControlChar('\u0080')]).toEqual([false, true, true, false]);
  });

  it('isNameChars is /^[A-Za-z0-9_.-]+$/', () => {
    fc.assert(fc.property(strings, (s) => void expect(isNameChars(s)).toBe(/^[A-Za-z0-9_.-]+$/.test(s))), { numRuns: 2000 });
    expect([isNameChars('credential-store'), isNameChars(''), isNameChars('a b'), isNameChars('a/b'), isNameChars('é')]).toEqual([true, false, false, false, false]);
  });

  it("stripLeadingZeros is s.replace(/^0+/, '')", () => {
    fc.assert(fc.property(strings, (s) => void expect(stripLeadingZeros(s)).toBe(s.replace(/^0+/, ''))), { numRuns: 2000 });
    expect([stripLeadingZeros('0000000000000000003'), stripLeadingZeros('000'), stripLeadingZeros('v5'), stripLeadingZeros('10')]).toEqual(['3', '', 'v5', '10']);
  });

  it('isRegionChars is /^[a-z0-9-]{1,63}$/', () => {
    const regions = fc.oneof(strings, fc.string({ unit: fc.constantFrom('a', 'z', '0', '-', 'A'), minLength: 60, maxLength: 66 }));
    fc.assert(fc.property(regions, (s) => void expect(isRegionChars(s)).toBe(/^[a-z0-9-]{1,63}$/.test(s))), { numRuns: 2000 });
    expect([isRegionChars('us-east-1'), isRegionChars(''), isRegionChars('US-EAST-1'), isRegionChars('a'.repeat(63)), isRegionChars('a'.repeat(64))]).toEqual([true, false, false, true, false]);
  });

  it('isVisibleAscii is !/[^\\x21-\\x7e]/', () => {
    fc.assert(fc.property(strings, (s) => void expect(isVisibleAscii(s)).toBe(!/[^\x21-\x7e]/.test(s))), { numRuns: 2000 });
    expect([isVisibleAscii('AKIAFAKE/+='), isVisibleAscii(''), isVisibleAscii('a b'), isVisibleAscii('~'), isVisibleAscii('\u007f')]).toEqual([true, true, false, true, false]);
  });
});
