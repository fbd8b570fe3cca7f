/**
 * Quoting of the statements the SQL rotators write (ALTER ROLE / ALTER USER take no bind parameters). The
 * servers themselves read these literals back in test/integration/rotation/quoting.int.test.ts; here the
 * exact text, and a property: undoing the quoting the way each server reads it gives back the input.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mysqlAccount, mysqlIdent, mysqlLiteral, pgIdent, pgLiteral } from '../../../src/rotation/quote.js';
import { canHashLocally, scramVerifier } from '../../../src/rotation/scram.js';

/** How PostgreSQL reads a literal: '...' (standard_conforming_strings on: `''` is `'`), E'...' (`\\` is `\`). */
function readPg(lit: string): string {
  const m = /^(E?)'((?:[^'\\]|''|\\.)*)'$/s.exec(lit);
  if (m === null) throw new Error('not one literal');
  return m[1] === 'E' ? (m[2] as string).replace(/\\(.)|''/gs, (x, c: string | undefined) => (c ?? "'")) : (m[2] as string).replace(/''/g, "'");
}

/** How MySQL reads a '...' literal, with and without NO_BACKSLASH_ESCAPES (only `\\` and `\'` matter for our output). */
function readMy(lit: string, nbe: boolean): string {
  const m = nbe ? /^'((?:[^']|'')*)'$/s.exec(lit) : /^'((?:[^'\\]|''|\\.)*)'$/s.exec(lit);
  if (m === null) throw new Error('not one literal');
  return nbe ? (m[1] as string).replace(/''/g, "'") : (m[1] as string).replace(/\\(.)|''/gs, (x, c: string | undefined) => (c ?? "'"));
}

describe('postgres quoting', () => {
  it('identifiers are double-quoted with " doubled, case kept', () => {
    expect(pgIdent('app')).toBe('"app"');
    expect(pgIdent('App User')).toBe('"App User"');
    expect(pgIdent('a"b')).toBe('"a""b"');
    expect(pgIdent('x"; DROP ROLE postgres; --')).toBe('"x""; DROP ROLE postgres; --"');
  });

  it("literals double ' and use E'' with doubled backslashes when there is a backslash", () => {
    expect(pgLiteral('abc')).toBe("'abc'");
    expect(pgLiteral("it's")).toBe("'it''s'");
    expect(pgLiteral('a\\b')).toBe("E'a\\\\b'");
    expect(pgLiteral("\\'; DROP ROLE x; --")).toBe("E'\\\\''; DROP ROLE x; --'");
  });

  it('a NUL is refused, never quoted', () => {
    expect(() => pgLiteral('a\u0000b')).toThrow(RangeError);
    expect(() => pgIdent('a\u0000b')).toThrow(RangeError);
  });

  it('reading back any literal gives the input (property)', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme' }).filter((s) => !s.includes('\u0000')), (s) => readPg(pgLiteral(s)) === s));
    fc.assert(fc.property(fc.stringMatching(/^['\\a-z]{0,20}$/), (s) => readPg(pgLiteral(s)) === s));
  });
});

describe('mysql quoting', () => {
  it("literals double ' and, unless NO_BACKSLASH_ESCAPES, double backslashes", () => {
    expect(mysqlLiteral("it's", false)).toBe("'it''s'");
    expect(mysqlLiteral('a\\b', false)).toBe("'a\\\\b'");
    expect(mysqlLiteral('a\\b', true)).toBe("'a\\b'");
    expect(mysqlLiteral("\\'", false)).toBe("'\\\\'''");
    expect(mysqlAccount('app', '%', false)).toBe("'app'@'%'");
    expect(mysqlAccount("o'k", 'h\\', false)).toBe("'o''k'@'h\\\\'");
    expect(mysqlIdent('a`b')).toBe('`a``b`');
  });

  it('reading back any literal gives the input in both sql modes (property)', () => {
    for (const nbe of [false, true]) {
      fc.assert(fc.property(fc.stringMatching(/^['\\a-z %_]{0,20}$/), (s) => readMy(mysqlLiteral(s, nbe), nbe) === s));
    }
  });
});

describe('SCRAM-SHA-256 verifier', () => {
  it('is the RFC 7677 form, and the same password and salt give the same verifier', () => {
    const salt = Buffer.alloc(16, 7);
    const v = scramVerifier('pencil', salt);
    expect(v).toMatch(/^SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/);
    expect(scramVerifier('pencil', salt)).toBe(v);
    expect(scramVerifier('pencil2', salt)).not.toBe(v);
    expect(v).not.toContain('pencil');
  });

  it('is made locally only for printable ASCII (SASLprep is the identity there)', () => {
    expect(canHashLocally('Abc-_.9 ~')).toBe(true);
    expect(canHashLocally('pässword')).toBe(false);
    expect(canHashLocally('')).toBe(false);
  });
});
