/**
 * The one-string encoding of text and structured values (SSM parameters, environment variables): any text
 * comes back as the same text, any structured value as an equal structured value, and a string is read as
 * structured only when reading it as JSON loses nothing.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeStringValue, encodeStringValue, TEXT_MARKER } from '../../../src/core/string-values.js';
import type { JsonObject } from '../../../src/core/types.js';
import { TRICKY_OBJECTS, TRICKY_TEXTS } from '../../contract/credential-store.contract.js';

// Text that looks like JSON objects more often than fc.string() alone would produce it.
const jsonish = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.jsonValue().map((v) => JSON.stringify(v, null, 1)),
  fc.object().map((o) => JSON.stringify(o) ?? '{}'),
  fc.string({ maxLength: 20 }).map((s) => TEXT_MARKER + s),
);
const objects = fc.dictionary(fc.string({ unit: 'binary', maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 6 }) as fc.Arbitrary<JsonObject>;

describe('string-values: text and structured values in one string', () => {
  it('gives back any text as the same text (property)', () => {
    fc.assert(fc.property(jsonish, (t) => decodeStringValue(encodeStringValue(t)) === t), { numRuns: 2000 });
  });

  it('gives back any structured value as an equal structured value with the same JSON (property)', () => {
    fc.assert(
      fc.property(objects, (o) => {
        const back = decodeStringValue(encodeStringValue(o));
        return typeof back === 'object' && JSON.stringify(back) === JSON.stringify(o);
      }),
      { numRuns: 1000 },
    );
  });

  it('reads a string as structured only when its compact JSON is the string itself (property)', () => {
    fc.assert(
      fc.property(jsonish, (raw) => {
        const v = decodeStringValue(raw);
        return typeof v === 'string' || JSON.stringify(v) === raw;
      }),
      { numRuns: 2000 },
    );
  });

  it('the contract suite\'s tricky values round-trip', () => {
    for (const t of TRICKY_TEXTS) expect(decodeStringValue(encodeStringValue(t)), JSON.stringify(t)).toBe(t);
    for (const o of TRICKY_OBJECTS) expect(decodeStringValue(encodeStringValue(o))).toStrictEqual(o);
  });

  it('stores plain text as is and marks only text that would read as structured or starts with the marker', () => {
    expect(encodeStringValue('hunter2')).toBe('hunter2');
    expect(encodeStringValue('{"a": 1}')).toBe('{"a": 1}');
    expect(encodeStringValue('[1]')).toBe('[1]');
    expect(encodeStringValue('{"a":1}')).toBe('credstash:text:{"a":1}');
    expect(encodeStringValue('credstash:text:')).toBe('credstash:text:credstash:text:');
    expect(encodeStringValue({ b: 1, a: 2 })).toBe('{"b":1,"a":2}');
    expect(decodeStringValue('credstash:text:')).toBe('');
    expect(decodeStringValue('{"a":1}')).toEqual({ a: 1 });
    for (const lossy of ['{"n":12345678901234567891}', '{"x":1.0}', '{"a":1,"a":2}', '{"b":1,"1":2}', '{"a":"\\u0041"}', '{ "a":1}', '{"a":1}\n']) {
      expect(decodeStringValue(lossy), lossy).toBe(lossy);
    }
  });

  it('a JSON object too deep to serialise again reads as text instead of throwing', () => {
    const deep = `${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}`;
    expect(decodeStringValue(deep)).toBe(deep);
  });
});
