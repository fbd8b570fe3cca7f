import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { wrapWords } from '../../../src/cli/help-wrap.js';

const words = (s: string): string[] => s.split(/[ \n]+/).filter((w) => w !== '');

describe('wrapWords (the help layout wraps at spaces)', () => {
  it('breaks between words, never inside one', () => {
    expect(wrapWords("Print the credentials as shell `export NAME='value'` lines", 40)).toBe("Print the credentials as shell `export\nNAME='value'` lines");
    expect(wrapWords('Create credstash.toml with a new Fernet key', 21)).toBe('Create credstash.toml\nwith a new Fernet key');
  });

  it('keeps line breaks, drops spaces at a break, and cuts only a word longer than a line', () => {
    expect(wrapWords('a b\nc  d', 10)).toBe('a b\nc d');
    expect(wrapWords('x abcdefghij y', 4)).toBe('x\nabcd\nefgh\nij y');
    expect(wrapWords('', 5)).toBe('');
    expect(wrapWords('no width', 0)).toBe('no width');
  });

  it('for any text and width: lines fit, and the words are the same words in the same order', () => {
    const word = fc.stringMatching(/^[a-zA-Z0-9`'"$().,=-]{1,12}$/);
    fc.assert(
      fc.property(fc.array(word, { maxLength: 40 }), fc.integer({ min: 12, max: 120 }), (ws, width) => {
        const text = ws.join(' ');
        const out = wrapWords(text, width);
        for (const line of out.split('\n')) expect([...line].length).toBeLessThanOrEqual(width);
        expect(words(out)).toEqual(ws);
      }),
    );
  });
});
