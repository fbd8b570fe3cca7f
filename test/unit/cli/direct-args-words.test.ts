/**
 * The two word readers of direct-args.ts, written as loops for the cold `get` path, answer exactly as the
 * regular expressions they replace: an option's camel-case key, and a positional of a yargs command string.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { camel, positionalWord } from '../../../src/cli/direct-args.js';

const words = fc.oneof(
  fc.string({ unit: fc.constantFrom('-', 'a', 'z', 'A', 'Z', '`', '{', '0', 'é'), maxLength: 10 }),
  fc.string({ unit: fc.constantFrom('<', '>', '[', ']', '.', 'a', 'b', '-', ' '), maxLength: 10 }),
  fc.string({ unit: 'binary', maxLength: 8 }),
);

describe('direct-args word readers: the same answers as the regular expressions', () => {
  it('camel is s.replace(/-([a-z])/g, upper-case)', () => {
    const re = (s: string) => s.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
    fc.assert(fc.property(words, (s) => void expect(camel(s)).toBe(re(s))), { numRuns: 3000 });
    expect([camel('allow-env'), camel('a--b'), camel('x-'), camel('-a-b'), camel('a-B')]).toEqual(['allowEnv', 'a-B', 'x-', 'AB', 'a-B']);
  });

  it('positionalWord is /^[<[]([^\\]>.]+)(\\.\\.)?[\\]>]$/', () => {
    const re = (w: string) => {
      const m = /^[<[]([^\]>.]+)(\.\.)?[\]>]$/.exec(w);
      return m === null ? undefined : { key: m[1], variadic: m[2] !== undefined };
    };
    fc.assert(fc.property(words, (w) => void expect(positionalWord(w)).toEqual(re(w))), { numRuns: 3000 });
    expect([positionalWord('<credential>'), positionalWord('[context..]'), positionalWord('[a.]'), positionalWord('<..>'), positionalWord('<a]')]).toEqual([
      { key: 'credential', variadic: false },
      { key: 'context', variadic: true },
      undefined,
      undefined,
      { key: 'a', variadic: false },
    ]);
  });
});
