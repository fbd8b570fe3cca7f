import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  InvalidFernetTokenError,
  MultiFernet,
  fernetDecrypt,
  fernetEncrypt,
  fernetTimestamp,
  generateFernetKey,
  parseFernetKey,
} from '../../../src/crypto/fernet.js';
import { CANARY, expectNoLeak } from '../../helpers/no-leak.js';

// The Fernet spec's own vectors (github.com/fernet/spec), the ones Python `cryptography` is tested with.
interface Vector {
  desc?: string;
  token: string;
  now: string;
  iv?: number[];
  src?: string;
  secret: string;
  ttl_sec?: number;
}
const load = (name: string): Vector[] => JSON.parse(readFileSync(new URL(`../../fixtures/vectors/fernet-${name}.json`, import.meta.url), 'utf8')) as Vector[];
const seconds = (iso: string): number => Math.floor(Date.parse(iso) / 1000);

describe('fernet spec vectors', () => {
  for (const v of load('generate')) {
    it(`generate: produces the exact token for "${v.src}" at ${v.now}`, () => {
      const token = fernetEncrypt(parseFernetKey(v.secret), Buffer.from(v.src as string), { now: seconds(v.now), iv: Uint8Array.from(v.iv as number[]) });
      expect(token).toBe(v.token);
    });
  }
  for (const v of load('verify')) {
    it(`verify: decrypts to "${v.src}" with ttl ${v.ttl_sec} at ${v.now}`, () => {
      const out = fernetDecrypt(parseFernetKey(v.secret), v.token, { now: seconds(v.now), ttlSeconds: v.ttl_sec });
      expect(out.toString('utf8')).toBe(v.src);
    });
  }
  for (const v of load('invalid')) {
    it(`invalid: refuses "${v.desc}" with the one generic error`, () => {
      let caught: unknown;
      try {
        fernetDecrypt(parseFernetKey(v.secret), v.token, { now: seconds(v.now), ttlSeconds: v.ttl_sec });
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(InvalidFernetTokenError);
      expect((caught as Error).message).toBe('fernet token is invalid');
      expect((caught as Error & { cause?: unknown }).cause).toBeUndefined();
      expectNoLeak(caught, v.secret);
      // multi-key decrypt refuses it the same way
      expect(() => new MultiFernet([generateFernetKey(), v.secret]).decrypt(v.token, { now: seconds(v.now), ttlSeconds: v.ttl_sec })).toThrow(
        InvalidFernetTokenError,
      );
    });
  }
});

describe('fernet time rules', () => {
  const key = parseFernetKey(generateFernetKey());
  const at = 1_000_000;
  const token = fernetEncrypt(key, Buffer.from('x'), { now: at });

  it('accepts a token exactly ttl seconds old and refuses one a second older', () => {
    expect(fernetDecrypt(key, token, { ttlSeconds: 60, now: at + 60 }).toString()).toBe('x');
    expect(() => fernetDecrypt(key, token, { ttlSeconds: 60, now: at + 61 })).toThrow(InvalidFernetTokenError);
  });

  it('accepts a timestamp up to 60 s in the future and refuses 61 s when a ttl is checked', () => {
    expect(fernetDecrypt(key, token, { ttlSeconds: 3600, now: at - 60 }).toString()).toBe('x');
    expect(() => fernetDecrypt(key, token, { ttlSeconds: 3600, now: at - 61 })).toThrow(InvalidFernetTokenError);
  });

  it('ignores age and skew without a ttl, as Python does (stored credentials never expire)', () => {
    expect(fernetDecrypt(key, token, { now: at + 10 ** 9 }).toString()).toBe('x');
    expect(fernetDecrypt(key, token, { now: 0 }).toString()).toBe('x');
    expect(fernetTimestamp(token)).toBe(at);
  });
});

describe('fernet keys and tokens', () => {
  it('generates 44-character url-safe keys that round-trip any bytes, including the empty string', () => {
    const k = generateFernetKey();
    expect(k).toMatch(/^[A-Za-z0-9_-]{43}=$/);
    const key = parseFernetKey(k);
    for (const p of [Buffer.alloc(0), Buffer.from([0, 255, 1]), Buffer.alloc(16, 7), Buffer.alloc(100_000, 3)]) {
      const token = fernetEncrypt(key, p);
      expect(token).toMatch(/^[A-Za-z0-9_-]+=*$/);
      expect(token.length % 4).toBe(0);
      expect(fernetDecrypt(key, token)).toEqual(p);
    }
  });

  it('accepts a key without its padding and refuses standard-base64, short and non-string keys without echoing them', () => {
    const k = generateFernetKey();
    expect(parseFernetKey(k.replace(/=$/, '')).signing).toEqual(parseFernetKey(k).signing);
    const bad = [k.slice(0, 40), `${k.slice(0, 42)}+=`, `${k}AAAA`, 'not a key', ''];
    for (const b of bad) {
      let err: unknown;
      try {
        parseFernetKey(b, 'fernet.keys[1]');
      } catch (e) {
        err = e;
      }
      expect(err).toMatchObject({ code: 'ERR_CONFIG', message: expect.stringContaining('fernet.keys[1] is not a Fernet key') });
      if (b.length > 0) expectNoLeak(err, b);
    }
  });

  it('refuses a token under another key, a flipped bit anywhere, and a truncated token', () => {
    const k1 = parseFernetKey(generateFernetKey());
    const token = fernetEncrypt(k1, Buffer.from(CANARY));
    expect(() => fernetDecrypt(parseFernetKey(generateFernetKey()), token)).toThrow(InvalidFernetTokenError);
    const raw = Buffer.from(token, 'base64url');
    for (let i = 0; i < raw.length; i += 7) {
      const flipped = Buffer.from(raw);
      flipped[i] = (flipped[i] as number) ^ 1;
      expect(() => fernetDecrypt(k1, flipped.toString('base64url'))).toThrow(InvalidFernetTokenError);
    }
    expect(() => fernetDecrypt(k1, token.slice(0, -8))).toThrow(InvalidFernetTokenError);
    expect(() => fernetDecrypt(k1, `${token.slice(0, 10)}!${token.slice(11)}`)).toThrow(InvalidFernetTokenError);
    expect(() => fernetDecrypt(k1, 42 as unknown as string)).toThrow(InvalidFernetTokenError);
  });
});

describe('MultiFernet', () => {
  it('encrypts with the first key and decrypts with any', () => {
    const [a, b] = [generateFernetKey(), generateFernetKey()];
    const old = new MultiFernet([b]).encrypt(Buffer.from('old'));
    const f = new MultiFernet([a, b]);
    expect(f.decrypt(old).toString()).toBe('old');
    expect(f.keyIndexOf(old)).toBe(1);
    const fresh = f.encrypt(Buffer.from('new'));
    expect(new MultiFernet([a]).decrypt(fresh).toString()).toBe('new');
    expect(() => new MultiFernet([b]).decrypt(fresh)).toThrow(InvalidFernetTokenError);
  });

  it('rotate re-encrypts under the first key, keeping plaintext and timestamp', () => {
    const [a, b] = [generateFernetKey(), generateFernetKey()];
    const old = fernetEncrypt(parseFernetKey(b), Buffer.from('v'), { now: 12345 });
    const rotated = new MultiFernet([a, b]).rotate(old);
    expect(new MultiFernet([a]).decrypt(rotated).toString()).toBe('v');
    expect(fernetTimestamp(rotated)).toBe(12345);
    expect(new MultiFernet([a, b]).keyIndexOf(rotated)).toBe(0);
  });

  it('refuses an empty key list and names the position of a bad key, never the key', () => {
    expect(() => new MultiFernet([])).toThrow(/no Fernet key configured/);
    const good = generateFernetKey();
    let err: unknown;
    try {
      new MultiFernet([good, 'AAAA']);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'ERR_CONFIG', message: expect.stringContaining('fernet key 2 of 2') });
    expectNoLeak(err, good);
  });
});
