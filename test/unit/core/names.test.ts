import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../src/core/errors.js';
import { globToRegExp, matchesGlob, validateId, validateWriteId } from '../../../src/core/names.js';

const PRINTABLE = Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i)).filter((c) => c !== '*' && c !== '?');

describe('globToRegExp / matchesGlob', () => {
  it('treats every printable ASCII character other than * and ? literally (a `-` or `.` once threw or matched anything)', () => {
    for (const c of PRINTABLE) {
      expect(() => globToRegExp(`a${c}*`), `character ${JSON.stringify(c)}`).not.toThrow();
      expect(matchesGlob(`a${c}*`, `a${c}rest`), `character ${JSON.stringify(c)}`).toBe(true);
      expect(matchesGlob(c, c)).toBe(true);
      if (c !== 'x') expect(matchesGlob(`a${c}b`, 'axb'), `character ${JSON.stringify(c)} must not be a wildcard`).toBe(false);
    }
  });

  it('`*` matches any run (also empty and across dots), `?` exactly one code point', () => {
    expect(matchesGlob('myapp.*', 'myapp.db.prod')).toBe(true);
    expect(matchesGlob('myapp.*', 'myappXdb')).toBe(false);
    expect(matchesGlob('*', '')).toBe(true);
    expect(matchesGlob('a?c', 'a✓c')).toBe(true);
    expect(matchesGlob('a?c', 'a😀c')).toBe(true);
    expect(matchesGlob('a?c', 'ac')).toBe(false);
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

  it('refuses glob characters only when writing', () => {
    expect(validateId('legacy*name')).toBe('legacy*name');
    expect(() => validateWriteId('new*name')).toThrow(ValidationError);
    expect(() => validateWriteId('new?name')).toThrow(ValidationError);
  });
});
