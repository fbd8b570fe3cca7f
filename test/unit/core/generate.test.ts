import { randomBytes, randomInt } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  CHAR_CLASS_CHARS,
  GENERATE_PRESETS,
  ValidationError,
  formatGeneratePolicy,
  generateValue,
  parseGeneratePolicy,
  policyAlphabet,
  policyEntropyBits,
  presetPolicy,
  type GenerateOptions,
  type GeneratePolicy,
} from '../../../src/index.js';

// ---------------------------------------------------------------------------------------------------------
// The statistical check: chi-square of character counts against the exact distribution of a generator that
// is uniform over the values a policy allows. Without require-each that is uniform over the alphabet; with
// it, a character of a rarely drawn class is more frequent than 1/N (the value is conditioned on holding
// one), and the expected frequency of each character is computed exactly below.
// ---------------------------------------------------------------------------------------------------------

/** The characters of each class within the policy's alphabet (the generator's rule, restated independently). */
function classSets(policy: GeneratePolicy): string[] {
  const excluded = new Set(policy.exclude ?? '');
  return policy.classes.map((c) => [...new Set(c === 'symbol' && policy.symbols !== undefined ? policy.symbols : CHAR_CLASS_CHARS[c])].filter((ch) => !excluded.has(ch)).join(''));
}

/** P(m uniform draws from an alphabet of n hit every set in `sets`), by inclusion-exclusion. */
function coverProbability(n: number, m: number, sets: string[]): number {
  let p = 0;
  for (let mask = 0; mask < 1 << sets.length; mask++) {
    const missed = new Set<string>();
    let k = 0;
    sets.forEach((s, i) => {
      if ((mask & (1 << i)) !== 0) {
        k++;
        for (const ch of s) missed.add(ch);
      }
    });
    p += (k % 2 === 0 ? 1 : -1) * ((n - missed.size) / n) ** m;
  }
  return p;
}

/** Expected probability of each character at one position of a value uniform over the allowed set. */
function expectedFrequencies(policy: GeneratePolicy): Map<string, number> {
  const alphabet = policyAlphabet(policy);
  const n = alphabet.length;
  const out = new Map<string, number>();
  if (policy.requireEach !== true) {
    for (const ch of alphabet) out.set(ch, 1 / n);
    return out;
  }
  const sets = classSets(policy);
  const all = coverProbability(n, policy.length, sets);
  // P(pos = c and valid) = 1/n * P(the other length-1 draws hit every class that c is not in)
  for (const ch of alphabet) out.set(ch, coverProbability(n, policy.length - 1, sets.filter((s) => !s.includes(ch))) / n / all);
  return out;
}

/**
 * Wilson-Hilferty approximation of the chi-square quantile for `df` degrees of freedom at z standard
 * deviations. z = 6.5 is a one-sided tail of about 4e-11: a correct generator fails a check once in tens of
 * billions of runs (the approximation overstates the extreme quantile at small df, which only lowers that).
 */
function chiSquareThreshold(df: number, z = 6.5): number {
  const a = 2 / (9 * df);
  return df * (1 - a + z * Math.sqrt(a)) ** 3;
}

type Generator = (policy: GeneratePolicy) => string;

/** Draw `values` values (fixed sample size) and return the chi-square statistic and its threshold. */
function chiSquare(gen: Generator, policy: GeneratePolicy, values: number): { stat: number; threshold: number } {
  const expected = expectedFrequencies(policy);
  const counts = new Map<string, number>([...expected.keys()].map((k) => [k, 0]));
  for (let i = 0; i < values; i++) {
    for (const ch of gen(policy)) {
      const c = counts.get(ch);
      if (c === undefined) throw new Error('a character outside the alphabet');
      counts.set(ch, c + 1);
    }
  }
  const total = values * policy.length;
  let stat = 0;
  for (const [ch, p] of expected) stat += ((counts.get(ch) as number) - total * p) ** 2 / (total * p);
  return { stat, threshold: chiSquareThreshold(expected.size - 1) };
}

const real: Generator = (p) => generateValue(p);
/** A modulo-biased source: one random byte reduced mod n (what crypto.randomInt's rejection avoids). */
const moduloBiased: Generator = (p) => generateValue(p, { randomInt: (n) => (randomBytes(1)[0] as number) % n });
/**
 * A generator that "fixes up" a value missing a class by overwriting a random position with a character of
 * that class, instead of drawing the whole value again: not uniform over the allowed set.
 */
const fixUp: Generator = (p) => {
  const chars = [...generateValue({ ...p, requireEach: false })];
  for (const set of classSets(p)) {
    if (!chars.some((ch) => set.includes(ch))) chars[randomInt(chars.length)] = set[randomInt(set.length)] as string;
  }
  return chars.join('');
};

/** A small policy where require-each conditions strongly: '-' is missing from 56% of plain draws. */
const SKEWED = parseGeneratePolicy('len=6,classes=digit+symbol,symbols=-,require-each');

describe('generateValue: statistical check (chi-square over character frequencies, fixed sample sizes)', () => {
  it.each([...GENERATE_PRESETS])('preset %s: character frequencies match a uniform draw over its allowed values', (name) => {
    const { stat, threshold } = chiSquare(real, presetPolicy(name), 4000);
    expect(stat).toBeLessThan(threshold);
  });

  it('require-each with a strongly conditioning policy matches the exact conditional frequencies', () => {
    const { stat, threshold } = chiSquare(real, SKEWED, 20000);
    expect(stat).toBeLessThan(threshold);
  });

  it('exclusions and custom symbols: uniform over what is left', () => {
    const policy = parseGeneratePolicy('len=20,classes=upper+lower+digit+symbol,exclude="0O1lI",symbols="!#%+=",require-each');
    const { stat, threshold } = chiSquare(real, policy, 4000);
    expect(stat).toBeLessThan(threshold);
  });

  // (hex and base64url have 16 and 64 characters, which divide 256: a byte modulo those is not biased.)
  it.each(['alnum', 'postgres', 'redis'] as const)('the check detects a modulo-biased source (preset %s)', (name) => {
    const { stat, threshold } = chiSquare(moduloBiased, presetPolicy(name), 4000);
    expect(stat).toBeGreaterThan(threshold);
  });

  it('the check detects a generator that fixes up positions instead of drawing the whole value again', () => {
    const { stat, threshold } = chiSquare(fixUp, SKEWED, 20000);
    expect(stat).toBeGreaterThan(threshold);
  });

  it('the expected frequencies model is exact: they sum to 1 and a rare class is favoured under require-each', () => {
    const f = expectedFrequencies(SKEWED);
    expect([...f.values()].reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(f.get('-') as number).toBeGreaterThan(1 / 11);
  });
});

describe('generateValue: require-each draws the whole value again', () => {
  it('a draw missing a class is thrown away whole, not patched (the next draw is returned as drawn)', () => {
    // alphabet of SKEWED: '0'..'9' then '-' (index 10). First draw: six digits (no '-'); second: 3,-,5,5,5,5.
    const seq = [1, 2, 3, 4, 5, 6, 3, 10, 5, 5, 5, 5];
    const opts: GenerateOptions = { randomInt: () => seq.shift() as number };
    expect(generateValue(SKEWED, opts)).toBe('3-5555');
    expect(seq).toHaveLength(0);
  });

  it('every value of every preset holds each required class and only alphabet characters', () => {
    for (const name of GENERATE_PRESETS) {
      const policy = presetPolicy(name);
      const alphabet = policyAlphabet(policy);
      for (let i = 0; i < 200; i++) {
        const v = generateValue(policy);
        expect(v).toHaveLength(policy.length);
        for (const ch of v) expect(alphabet).toContain(ch);
        if (policy.requireEach === true) for (const set of classSets(policy)) expect([...v].some((ch) => set.includes(ch))).toBe(true);
      }
    }
  });

  it('a random source returning an index out of range is an error, not a short or wrong value', () => {
    expect(() => generateValue(presetPolicy('hex'), { randomInt: (n) => n })).toThrow(new ValidationError('generate: randomInt returned an index out of range'));
    expect(() => generateValue(presetPolicy('hex'), { randomInt: () => 0.5 })).toThrow(ValidationError);
    expect(() => generateValue(presetPolicy('hex'), { randomInt: () => -1 })).toThrow(ValidationError);
  });

  it('a random source that never meets require-each ends with an error instead of looping for ever', () => {
    expect(() => generateValue(SKEWED, { randomInt: () => 0 })).toThrow(new ValidationError('generate: no value met require-each (the random source is not uniform)'));
  });

  it('accepts policy text directly', () => {
    expect(generateValue('hex:8')).toMatch(/^[0-9a-f]{8}$/);
  });
});

describe('presets', () => {
  const table: Record<string, { length: number; alphabet: RegExp; bits: number }> = {
    postgres: { length: 32, alphabet: /^[A-Za-z0-9._-]+$/, bits: 192 },
    mysql: { length: 32, alphabet: /^[A-Za-z0-9._-]+$/, bits: 192 },
    redis: { length: 40, alphabet: /^[A-Za-z0-9._-]+$/, bits: 240 },
    alnum: { length: 32, alphabet: /^[A-Za-z0-9]+$/, bits: 190 },
    hex: { length: 64, alphabet: /^[0-9a-f]+$/, bits: 256 },
    base64url: { length: 43, alphabet: /^[A-Za-z0-9_-]+$/, bits: 258 },
  };

  it.each([...GENERATE_PRESETS])('%s: the length, alphabet and entropy docs/lifecycle.md states (at least 128 bits)', (name) => {
    const p = presetPolicy(name);
    const want = table[name] as { length: number; alphabet: RegExp; bits: number };
    expect(p.length).toBe(want.length);
    expect(policyAlphabet(p)).toMatch(want.alphabet);
    expect(Math.floor(policyEntropyBits(p))).toBe(want.bits);
    expect(policyEntropyBits(p)).toBeGreaterThanOrEqual(128);
  });

  it('server presets leave out every character that needs quoting in SQL, URLs, pgpass, option files or shells', () => {
    for (const name of ['postgres', 'mysql', 'redis'] as const) {
      const alphabet = policyAlphabet(presetPolicy(name));
      for (const bad of `'"\\\`@:/%#?&=;+ $!{}[]()<>|*~,^`) expect(alphabet).not.toContain(bad);
    }
  });

  it('presetPolicy returns a copy and refuses an unknown name', () => {
    const p = presetPolicy('alnum');
    (p.classes as string[]).push('hex');
    expect(presetPolicy('alnum').classes).toEqual(['upper', 'lower', 'digit']);
    expect(() => presetPolicy('nope' as never)).toThrow(new ValidationError('generate policy: unknown preset; presets are postgres, mysql, redis, alnum, hex, base64url'));
  });

  it('entropy accounts for what require-each rules out', () => {
    const plain = parseGeneratePolicy('len=6,classes=digit+symbol,symbols=-');
    expect(policyEntropyBits(SKEWED)).toBeCloseTo(policyEntropyBits(plain) + Math.log2(1 - (10 / 11) ** 6 - (1 / 11) ** 6), 9);
  });
});

describe('parseGeneratePolicy', () => {
  it('reads a preset, a preset with a length, and settings over a preset', () => {
    expect(parseGeneratePolicy('alnum')).toEqual(presetPolicy('alnum'));
    expect(parseGeneratePolicy('alnum:40')).toEqual({ ...presetPolicy('alnum'), length: 40 });
    expect(parseGeneratePolicy('postgres,len=48')).toEqual({ ...presetPolicy('postgres'), length: 48 });
    expect(parseGeneratePolicy('postgres,require-each=no')).toEqual({ ...presetPolicy('postgres'), requireEach: false });
    expect(parseGeneratePolicy('len=24')).toEqual({ ...presetPolicy('alnum'), length: 24 });
  });

  it('reads the full syntax: classes, symbols, quoted and escaped exclusions, require-each', () => {
    expect(parseGeneratePolicy('len=32,classes=upper+lower+digit+symbol,exclude="\'\\"\\\\`,",require-each')).toEqual({
      length: 32,
      classes: ['upper', 'lower', 'digit', 'symbol'],
      exclude: '\'"\\`,',
      requireEach: true,
    });
    expect(parseGeneratePolicy('length=10,classes=hex,exclude=abc\\,')).toEqual({ length: 10, classes: ['hex'], exclude: 'abc,', requireEach: false });
    expect(parseGeneratePolicy(' len = 12 , classes = upper + digit ')).toMatchObject({ length: 12, classes: ['upper', 'digit'] });
  });

  it('the documented example parses', () => {
    expect(parseGeneratePolicy('len=24,classes=upper+lower+digit+symbol,exclude="\\"\'\\\\`",require-each')).toMatchObject({ length: 24, exclude: '"\'\\`', requireEach: true });
  });

  it('formatGeneratePolicy writes text that reads back as the same policy', () => {
    for (const text of [...GENERATE_PRESETS, 'len=20,classes=upper+lower+digit+symbol,exclude="0O1lI",symbols="!#%+=\\"\\\\,",require-each', 'hex:8,exclude=f']) {
      const p = parseGeneratePolicy(text);
      expect(parseGeneratePolicy(formatGeneratePolicy(p))).toEqual(p);
    }
    expect(formatGeneratePolicy(presetPolicy('base64url'))).toBe('len=43,classes=upper+lower+digit+symbol,symbols="-_"');
  });

  const bad: Array<[string, string]> = [
    ['', 'generate policy: is empty; give a preset (postgres, mysql, redis, alnum, hex, base64url) or settings such as len=32'],
    ['   ', 'generate policy: is empty; give a preset (postgres, mysql, redis, alnum, hex, base64url) or settings such as len=32'],
    ['pstgres', 'generate policy: unknown preset or setting "pstgres" (item 1); presets are postgres, mysql, redis, alnum, hex, base64url'],
    ['alnum,colour=red', 'generate policy: unknown setting "colour" (item 2); settings are len, classes, symbols, exclude, require-each'],
    ['len=32,alnum', 'generate policy: a preset must be the first item (item 2)'],
    ['len=0', 'generate policy: len must be an integer from 1 to 1024'],
    ['len=1025', 'generate policy: len must be an integer from 1 to 1024'],
    ['len=3.5', 'generate policy: len must be an integer from 1 to 1024'],
    ['len=', 'generate policy: len must be an integer from 1 to 1024'],
    ['len', 'generate policy: len needs a value: len=N (item 1)'],
    ['alnum:', 'generate policy: the length after "alnum:" must be an integer from 1 to 1024'],
    ['alnum:x', 'generate policy: the length after "alnum:" must be an integer from 1 to 1024'],
    ['alnum:20,len=30', 'generate policy: "len" (item 2) is given twice'],
    ['len=20,length=30', 'generate policy: "length" (item 2) is given twice'],
    ['classes=upper+emoji', 'generate policy: classes: unknown class "emoji" (item 1); classes are upper, lower, digit, symbol, hex'],
    ['classes=', 'generate policy: classes needs a value: classes=upper+lower (item 1)'],
    ['classes=upper+upper', 'generate policy: classes: a class is named twice'],
    ['classes=symbol,symbols=ab', 'generate policy: symbols must be ASCII punctuation characters'],
    ['classes=symbol,symbols=', 'generate policy: symbols must name at least one character'],
    ['symbols=-', 'generate policy: symbols is given but classes has no "symbol"'],
    ['classes=digit,exclude=0123456789', 'generate policy: exclude leaves class "digit" empty'],
    ['exclude="abc', 'generate policy: unterminated quote in "exclude" (item 1)'],
    ['exclude="abc"d', 'generate policy: a quoted value must be followed by "," (item 1)'],
    ['exclude=abc\\', 'generate policy: a trailing "\\" escapes nothing (item 1)'],
    ['exclude', 'generate policy: exclude needs a value: exclude=CHARS (item 1)'],
    ['require-each=maybe', 'generate policy: require-each takes yes or no (item 1)'],
    ['len=2,classes=upper+lower+digit,require-each', 'generate policy: require-each needs len to be at least the number of classes'],
    ['len=4,classes=upper+lower+digit+symbol,exclude=BCDEFGHIJKLMNOPQRSTUVWXYZbcdefghijklmnopqrstuvwxyz123456789,require-each', 'generate policy: require-each is too unlikely to be met at this len (use a longer len or fewer classes)'],
    ['alnum,', 'generate policy: empty setting (item 2)'],
    [',alnum', 'generate policy: empty setting (item 1)'],
  ];
  it.each(bad)('%j is a ValidationError: %s', (text, message) => {
    let caught: unknown;
    try {
      parseGeneratePolicy(text);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ValidationError);
    expect((caught as Error).message).toBe(message);
    expect((caught as Error).message).not.toContain('\n');
  });

  it('a message names a setting but never quotes a value or anything that is not a setting name', () => {
    for (const text of ['exclude=Hunter2-S3CRET,Hunter2-S3CRET', 'alnum,Hunter2-S3CRET', 'classes=Hunter2-S3CRET', 'len=Hunter2-S3CRET', 'exclude="Hunter2-S3CRET']) {
      expect(() => parseGeneratePolicy(text)).toThrow(ValidationError);
      try {
        parseGeneratePolicy(text);
      } catch (err) {
        expect((err as Error).message).not.toMatch(/Hunter2|S3CRET/);
      }
    }
    expect(() => parseGeneratePolicy('x'.repeat(5000))).toThrow(new ValidationError('generate policy: is too long'));
  });

  it('policy objects from library code are checked too', () => {
    expect(() => generateValue({ length: 10, classes: [] })).toThrow(new ValidationError('generate policy: classes must name at least one of upper, lower, digit, symbol, hex'));
    expect(() => generateValue({ length: 10, classes: ['nope' as never] })).toThrow(new ValidationError('generate policy: classes: unknown class; classes are upper, lower, digit, symbol, hex'));
    expect(() => generateValue({ length: 10, classes: ['hex'], requireEach: 'yes' as never })).toThrow(new ValidationError('generate policy: require-each must be true or false'));
    expect(() => generateValue({ length: 10, classes: ['hex'], exclude: 5 as never })).toThrow(new ValidationError('generate policy: exclude must be a string'));
    expect(() => generateValue(null as never)).toThrow(new ValidationError('generate policy: must be an object'));
    expect(() => parseGeneratePolicy(5 as never)).toThrow(new ValidationError('generate policy: must be text'));
  });
});
