/**
 * Property-based attacks on src/core: names, versions, contexts and the value codec. Whatever the input,
 * core either answers or throws a typed ValidationError; it never throws a foreign error, never echoes a
 * value, and its canonical forms are stable.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalContext, contextsEqual, parseContextArgs } from '../../src/core/context.js';
import { CredstashError, ValidationError } from '../../src/core/errors.js';
import { globToRegExp, matchesGlob, MAX_ID_BYTES, validateId, validateWriteId } from '../../src/core/names.js';
import { decodeUtf8Exact, decodeValue, encodeValue, valueToText } from '../../src/core/value.js';
import { displayVersion, PAD_LEN, padVersion, parseReadVersion, parseWriteVersion } from '../../src/core/version.js';
import { MemoryStore } from '../fixtures/memory-store.js';
import { CANARY, expectNoLeak } from '../helpers/no-leak.js';

const RUNS = { numRuns: 300 };
/** Any string, including lone surrogates and control characters. */
const anyString = fc.string({ unit: 'binary', maxLength: 40 });
const anyInput = fc.oneof(anyString, fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constant(undefined), fc.object(), fc.array(fc.string()));

function typedOrValue<T>(fn: () => T): { ok: true; value: T } | { ok: false; err: unknown } {
  try {
    return { ok: true, value: fn() };
  } catch (err) {
    return { ok: false, err };
  }
}

function expectValidationError(err: unknown): void {
  expect(err).toBeInstanceOf(ValidationError);
  expect((err as CredstashError).code).toBe('ERR_INVALID_INPUT');
}

describe('names under arbitrary input', () => {
  it('validateId accepts exactly the non-empty, control-free strings of at most 2048 UTF-8 bytes, else ValidationError', () => {
    fc.assert(
      fc.property(anyInput, (input) => {
        const r = typedOrValue(() => validateId(input));
        const valid =
          typeof input === 'string' && input.length > 0 && Buffer.byteLength(input, 'utf8') <= MAX_ID_BYTES && !/[\u0000-\u001f\u007f]/.test(input);
        if (r.ok) {
          expect(valid).toBe(true);
          expect(r.value).toBe(input);
        } else {
          expect(valid).toBe(false);
          expectValidationError(r.err);
        }
      }),
      RUNS,
    );
  });

  it('validateId rejects an id of 2049 bytes and accepts one of 2048 (multi-byte characters counted as bytes)', () => {
    expect(validateId('é'.repeat(1024))).toHaveLength(1024);
    const over = typedOrValue(() => validateId(`${'é'.repeat(1024)}x`));
    expect(over.ok).toBe(false);
    if (!over.ok) expectValidationError(over.err);
  });

  it('validateWriteId additionally refuses the wildcard *, and never echoes a rejected id that could hold a secret', () => {
    fc.assert(
      fc.property(anyString, (id) => {
        const r = typedOrValue(() => validateWriteId(id));
        if (!r.ok) expectValidationError(r.err);
        else expect(id.includes('*')).toBe(false);
      }),
      RUNS,
    );
    const star = typedOrValue(() => validateWriteId(`${CANARY}*`));
    expect(star.ok).toBe(false);
    if (!star.ok) expectNoLeak(star.err, CANARY);
    const err = typedOrValue(() => validateId(`${CANARY}\n`));
    expect(err.ok).toBe(false);
    if (!err.ok) expectNoLeak(err.err, CANARY);
  });

  it('a glob without wildcards matches only the identical id; every pattern compiles', () => {
    fc.assert(
      fc.property(anyString, anyString, (pattern, id) => {
        const re = typedOrValue(() => globToRegExp(pattern));
        expect(re.ok).toBe(true);
        if (!pattern.includes('*')) expect(matchesGlob(pattern, id)).toBe(pattern === id);
        expect(matchesGlob(pattern, pattern.replace(/\*/g, ''))).toBe(true);
      }),
      RUNS,
    );
  });

  it('`*` matches any run, with every other character (`?`, `[` and regex metacharacters) literal', () => {
    fc.assert(
      fc.property(anyString.filter((s) => !s.includes('*')), anyString.filter((s) => !s.includes('*')), anyString, (pre, post, mid) => {
        expect(matchesGlob(`${pre}*${post}`, `${pre}${mid}${post}`)).toBe(true);
        expect(matchesGlob(`${pre}?${post}`, `${pre}?${post}`)).toBe(true);
        expect(matchesGlob(`${pre}?${post}`, `${pre}x${post}`)).toBe(false);
      }),
      RUNS,
    );
    expect(matchesGlob('a.b', 'axb')).toBe(false);
    expect(matchesGlob('(a|b)+', 'a')).toBe(false);
  });
});

describe('versions under arbitrary input', () => {
  it('parseWriteVersion returns a positive safe integer or throws ValidationError', () => {
    fc.assert(
      fc.property(fc.oneof(anyString, fc.integer({ min: -5, max: 5 }), fc.double(), fc.bigInt().map(String), fc.nat().map(String)), (input) => {
        const r = typedOrValue(() => parseWriteVersion(input as number | string));
        if (r.ok) {
          expect(Number.isSafeInteger(r.value)).toBe(true);
          expect(r.value).toBeGreaterThan(0);
        } else expectValidationError(r.err);
      }),
      RUNS,
    );
  });

  it('parseReadVersion returns a padded string of at least 19 characters or throws ValidationError', () => {
    fc.assert(
      fc.property(fc.oneof(anyString, fc.integer(), fc.double(), fc.nat().map(String)), (input) => {
        const r = typedOrValue(() => parseReadVersion(input as number | string));
        if (r.ok) expect(r.value.length).toBeGreaterThanOrEqual(PAD_LEN);
        else expectValidationError(r.err);
      }),
      RUNS,
    );
  });

  it('integer versions round-trip through padding and sort numerically as strings (unpadded versions mis-sort after 9)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), (a, b) => {
        expect(displayVersion(padVersion(a))).toBe(String(a));
        expect(parseReadVersion(String(a))).toBe(padVersion(a));
        expect(parseReadVersion(a)).toBe(padVersion(a));
        expect(padVersion(a) < padVersion(b)).toBe(a < b);
      }),
      RUNS,
    );
  });

  it('reads of "007" and 7 address the same stored version', () => {
    expect(parseReadVersion('007')).toBe(parseReadVersion(7));
    expect(parseReadVersion(' 7 ')).toBe(padVersion(7));
  });
});

describe('encryption contexts under arbitrary input (KMS semantics)', () => {
  const ctxArb = fc.dictionary(fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }), fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }), { maxKeys: 6 });

  it('canonicalContext sorts keys by UTF-8 bytes, freezes, and is insensitive to input order', () => {
    fc.assert(
      fc.property(ctxArb, (ctx) => {
        const c = canonicalContext(ctx);
        expect(Object.isFrozen(c)).toBe(true);
        const keys = Object.keys(c);
        const sorted = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
        expect(keys).toEqual(sorted);
        const reversed = Object.fromEntries(Object.entries(ctx).reverse());
        expect(contextsEqual(c, canonicalContext(reversed))).toBe(true);
        expect(Object.keys(c)).toHaveLength(Object.keys(ctx).length);
      }),
      RUNS,
    );
  });

  it('a wrong, missing or extra pair is never equal (exact match, case-sensitive)', () => {
    fc.assert(
      fc.property(ctxArb.filter((c) => Object.keys(c).length > 0), fc.string({ minLength: 1, maxLength: 5 }), (ctx, extra) => {
        const c = canonicalContext(ctx);
        const [k0] = Object.keys(c) as [string];
        const { [k0]: _dropped, ...missing } = c;
        expect(contextsEqual(c, canonicalContext(missing))).toBe(false);
        expect(contextsEqual(c, canonicalContext({ ...c, [k0]: `${c[k0]}${extra}` }))).toBe(false);
        const extraKey = `${k0}${extra}`;
        if (!(extraKey in c)) expect(contextsEqual(c, canonicalContext({ ...c, [extraKey]: 'x' }))).toBe(false);
      }),
      RUNS,
    );
  });

  it('anything but an object of non-empty string pairs is a ValidationError, never a foreign error', () => {
    fc.assert(
      fc.property(fc.oneof(anyInput, fc.dictionary(anyString, anyInput, { maxKeys: 3 })), (input) => {
        const r = typedOrValue(() => canonicalContext(input));
        if (!r.ok) expectValidationError(r.err);
      }),
      RUNS,
    );
  });

  it('refuses an empty value, as KMS does (ValidationException: Invalid EncryptionContext), naming the key only', () => {
    const r = typedOrValue(() => canonicalContext({ env: '' }));
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expectValidationError(r.err);
      expect((r.err as Error).message).toMatch(/"env".*must not be empty/);
    }
    expect(() => parseContextArgs(['env='])).toThrow(ValidationError);
  });

  it('keeps a `__proto__` key as a real pair (it was silently dropped, weakening the context)', () => {
    const fromJson = canonicalContext(JSON.parse('{"__proto__":"x","a":"b"}'));
    expect(Object.keys(fromJson)).toEqual(['__proto__', 'a']);
    expect(contextsEqual(fromJson, canonicalContext({ a: 'b' }))).toBe(false);
    const fromArgs = parseContextArgs(['__proto__=x', 'a=b']);
    expect(contextsEqual(fromArgs, fromJson)).toBe(true);
    expect(() => parseContextArgs(['__proto__=x', '__proto__=y'])).toThrow(/given twice/);
  });

  it('parseContextArgs splits on the first `=` (values may contain `=`) and agrees with canonicalContext', () => {
    const keyArb = fc.string({ unit: 'binary', minLength: 1, maxLength: 10 }).filter((k) => !k.includes('='));
    fc.assert(
      fc.property(fc.dictionary(keyArb, fc.string({ unit: 'binary', minLength: 1, maxLength: 10 }), { maxKeys: 5 }), (ctx) => {
        const args = Object.entries(ctx).map(([k, v]) => `${k}=${v}`);
        expect(contextsEqual(parseContextArgs(args), canonicalContext(ctx))).toBe(true);
      }),
      RUNS,
    );
    expect(parseContextArgs(['k=a=b=c'])).toEqual({ k: 'a=b=c' });
  });

  it('parseContextArgs answers any argument vector with a context or a ValidationError', () => {
    fc.assert(
      fc.property(fc.array(anyString, { maxLength: 6 }), (args) => {
        const r = typedOrValue(() => parseContextArgs(args));
        if (!r.ok) expectValidationError(r.err);
      }),
      RUNS,
    );
  });
});

describe('value codec under arbitrary input', () => {
  const jsonObject = fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 5 });

  it('text, bytes and JSON objects round-trip exactly through encode/decode', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'grapheme', maxLength: 50 }), fc.uint8Array({ maxLength: 64 }), jsonObject), (value) => {
        const { kind, bytes } = encodeValue(value as never);
        const back = decodeValue(kind, bytes, 'id');
        if (value instanceof Uint8Array) expect(Buffer.from(back as Uint8Array).equals(Buffer.from(value))).toBe(true);
        else expect(back).toEqual(JSON.parse(JSON.stringify(value)));
        expect(typeof valueToText(back)).toBe('string');
      }),
      RUNS,
    );
  });

  it('bytes claimed as JSON that are not a JSON object fail with ValidationError that never quotes them', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.string().map((s) => Buffer.from(`${CANARY}${s}`))), (bytes) => {
        const r = typedOrValue(() => decodeValue('json', bytes, 'app.cfg'));
        if (!r.ok) {
          expectValidationError(r.err);
          expectNoLeak(r.err, CANARY);
          expect((r.err as Error).cause).toBeUndefined();
        }
      }),
      RUNS,
    );
  });

  it('anything that is not a string, bytes or a JSON object is a ValidationError', () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.constant(undefined), fc.array(fc.string())), (input) => {
        const r = typedOrValue(() => encodeValue(input as never));
        expect(r.ok).toBe(false);
        if (!r.ok) expectValidationError(r.err);
      }),
      { numRuns: 50 },
    );
  });
});

describe('BaseStore under arbitrary public-API input (in-process, MemoryStore)', () => {
  it('every public method answers or throws a CredstashError for arbitrary ids, versions, contexts and options', async () => {
    await fc.assert(
      fc.asyncProperty(anyInput, anyInput, anyInput, anyInput, async (id, version, context, value) => {
        const store = new MemoryStore();
        const calls: Array<() => Promise<unknown>> = [
          () => store.storeCredential(id as string, value as string, { version: version as number, context: context as Record<string, string> }),
          () => store.storeCredential(id as string, CANARY, { autoVersion: true, context: context as Record<string, string> }),
          () => store.getCredential(id as string, { version: version as number, context: context as Record<string, string>, required: true }),
          () => store.credentialExists(id as string, { version: version as number }),
          () => store.deleteCredential(id as string, { version: version as number }),
          () => store.listCredentials({ pattern: id as string }),
          () => store.getAllCredentials({ version: version as number, context: context as Record<string, string>, concurrency: version as number }),
        ];
        for (const call of calls) {
          try {
            await call();
          } catch (err) {
            expect(err).toBeInstanceOf(CredstashError);
            expectNoLeak(err, CANARY);
          }
        }
      }),
      { numRuns: 150 },
    );
  });
});

describe('exact UTF-8 decoding under arbitrary bytes', () => {
  const fatal = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  const reference = (bytes: Uint8Array): string | undefined => {
    try {
      return fatal.decode(bytes);
    } catch {
      return undefined;
    }
  };
  // Bytes near UTF-8's edges: BOMs, surrogates encoded as UTF-8 (CESU), overlong forms, code points past
  // U+10FFFF, truncated sequences, and valid text of every length.
  const tricky = fc.constantFrom(0x00, 0x7f, 0x80, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xbb, 0xf0, 0xf4, 0xf5, 0xff, 0xa0, 0x9f);
  const bytes = fc.oneof(
    fc.uint8Array({ maxLength: 24 }),
    fc.array(tricky, { maxLength: 12 }).map((a) => Uint8Array.from(a)),
    fc.string({ unit: 'binary', maxLength: 16 }).map((s) => new Uint8Array(Buffer.from(s, 'utf8'))),
  );

  it('decodeUtf8Exact gives what a fatal, BOM-keeping TextDecoder gives, and undefined where that one throws', () => {
    fc.assert(
      fc.property(bytes, fc.nat(3), (b, offset) => {
        // Also as a view into a larger buffer: only the viewed bytes count.
        const padded = new Uint8Array(b.length + offset + 2).fill(0xff);
        padded.set(b, offset);
        const view = padded.subarray(offset, offset + b.length);
        expect(decodeUtf8Exact(b)).toBe(reference(b));
        expect(decodeUtf8Exact(view)).toBe(reference(b));
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps a leading BOM and refuses encoded surrogates, overlong forms and truncated sequences', () => {
    expect(decodeUtf8Exact(Uint8Array.from([0xef, 0xbb, 0xbf, 0x61]))).toBe('\ufeffa');
    for (const bad of [[0xed, 0xa0, 0x80], [0xc0, 0xaf], [0xe2, 0x82], [0xf4, 0x90, 0x80, 0x80], [0xff]]) {
      expect(decodeUtf8Exact(Uint8Array.from(bad))).toBeUndefined();
    }
  });
});
