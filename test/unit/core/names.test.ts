import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../src/core/errors.js';
import { globToRegExp, matchesGlob, validateId, validateWriteId } from '../../../src/core/names.js';

const PRINTABLE = Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i)).filter((c) => c !== '*');

describe('globToRegExp / matchesGlob', () => {
  it('treats every printable ASCII character other than * literally (a `-` or `.` once threw or matched anything; `?` and `[` are ordinary, as in Python credstash)', () => {
    for (const c of PRINTABLE) {
      expect(() => globToRegExp(`a${c}*`), `character ${JSON.stringify(c)}`).not.toThrow();
      expect(matchesGlob(`a${c}*`, `a${c}rest`), `character ${JSON.stringify(c)}`).toBe(true);
      expect(matchesGlob(c, c)).toBe(true);
      if (c !== 'x') expect(matchesGlob(`a${c}b`, 'axb'), `character ${JSON.stringify(c)} must not be a wildcard`).toBe(false);
    }
  });

  it('`*` matches any run (also empty, across dots and astral code points); `?` and `[` match only themselves', () => {
    expect(matchesGlob('myapp.*', 'myapp.db.prod')).toBe(true);
    expect(matchesGlob('myapp.*', 'myappXdb')).toBe(false);
    expect(matchesGlob('*', '')).toBe(true);
    expect(matchesGlob('a*c', 'a😀c')).toBe(true);
    expect(matchesGlob('a?c', 'a✓c')).toBe(false);
    expect(matchesGlob('a?c', 'a?c')).toBe(true);
    expect(matchesGlob('a[bc]*', 'ab')).toBe(false);
    expect(matchesGlob('a[bc]*', 'a[bc]d')).toBe(true);
    expect(matchesGlob('line*', 'line1\nline2')).toBe(true);
  });

  it('refuses a non-string pattern with ValidationError', () => {
    expect(() => matchesGlob(5 as unknown as string, 'x')).toThrow(ValidationError);
  });
});

describe('validateId / validateWriteId', () => {
  it('accepts Python credstash names (dots, slashes, dashes) and refuses empty, control characters and over-long ids', () => {
    expect(validateId('myapp.db-prod/primary')).toBe('myapp.db-prod/primary');
    for (const bad of ['', 'a\u0000b', 'tab\there', 'x'.repeat(2049)]) expect(() => validateId(bad)).toThrow(ValidationError);
  });

  it('refuses the wildcard `*` only when writing; `?` and `[` are ordinary characters of a name', () => {
    expect(validateId('legacy*name')).toBe('legacy*name');
    expect(() => validateWriteId('new*name')).toThrow(ValidationError);
    expect(validateWriteId('new?name')).toBe('new?name');
    expect(validateWriteId('new[1]')).toBe('new[1]');
  });
});
