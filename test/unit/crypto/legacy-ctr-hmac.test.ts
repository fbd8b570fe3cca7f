import { createCipheriv, createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeLegacyHmac, LEGACY_DIGESTS, LEGACY_NONCE, openLegacy, sealLegacy } from '../../../src/crypto/legacy-ctr-hmac.js';
import { CANARY, expectNoLeak } from '../../helpers/no-leak.js';

/** docs/FORMAT.md §5, step by step, independent of the module under test. */
function pythonCredstashSeal(plaintext: string, dataKey: Buffer, nodeHash: string): { ciphertext: Buffer; hmacHex: string } {
  const cipher = createCipheriv('aes-256-ctr', dataKey.subarray(0, 32), Buffer.from('00000000000000000000000000000001', 'hex'));
  const ciphertext = Buffer.concat([cipher.update(Buffer.from(plaintext, 'utf8')), cipher.final()]);
  return { ciphertext, hmacHex: createHmac(nodeHash, dataKey.subarray(32, 64)).update(ciphertext).digest('hex') };
}

const NODE_HASH: Record<string, string> = { SHA: 'sha1', SHA224: 'sha224', SHA256: 'sha256', SHA384: 'sha384', SHA512: 'sha512', MD5: 'md5' };

describe('legacy AES-256-CTR + HMAC (Python credstash)', () => {
  it('uses the fixed initial counter block 00..01', () => {
    expect(Buffer.from(LEGACY_NONCE).toString('hex')).toBe('00000000000000000000000000000001');
  });

  for (const digest of LEGACY_DIGESTS) {
    it(`sealLegacy matches the documented steps with digest ${digest} and openLegacy reads them back`, () => {
      const dataKey = randomBytes(64);
      const expected = pythonCredstashSeal(`${CANARY} ✓`, dataKey, NODE_HASH[digest] as string);
      const sealed = sealLegacy({ plaintext: Buffer.from(`${CANARY} ✓`), dataKey: Buffer.from(dataKey), digest });
      expect(sealed.ciphertext.equals(expected.ciphertext)).toBe(true);
      expect(sealed.hmac.toString('hex')).toBe(expected.hmacHex);
      const plain = openLegacy({ ciphertext: expected.ciphertext, dataKey: Buffer.from(dataKey), hmac: Buffer.from(expected.hmacHex, 'hex'), digest, credentialId: 'x' });
      expect(plain.toString('utf8')).toBe(`${CANARY} ✓`);
    });
  }

  it('treats a missing digest as SHA256', () => {
    const dataKey = randomBytes(64);
    const expected = pythonCredstashSeal('v', dataKey, 'sha256');
    expect(openLegacy({ ciphertext: expected.ciphertext, dataKey, hmac: Buffer.from(expected.hmacHex, 'hex'), credentialId: 'x' }).toString()).toBe('v');
  });

  it('reads RIPEMD items (credstash 1.13–1.14) when OpenSSL provides ripemd160', () => {
    const dataKey = randomBytes(64);
    const expected = pythonCredstashSeal('r', dataKey, 'ripemd160');
    expect(openLegacy({ ciphertext: expected.ciphertext, dataKey, hmac: Buffer.from(expected.hmacHex, 'hex'), digest: 'RIPEMD', credentialId: 'x' }).toString()).toBe('r');
  });

  it('zeroes the data key on seal and open', () => {
    const k1 = randomBytes(64);
    const sealed = sealLegacy({ plaintext: Buffer.from('a'), dataKey: k1 });
    expect(k1.every((b) => b === 0)).toBe(true);
    const k2 = Buffer.alloc(64, 3);
    expect(() => openLegacy({ ciphertext: sealed.ciphertext, dataKey: k2, hmac: sealed.hmac, credentialId: 'x' })).toThrow();
    expect(k2.every((b) => b === 0)).toBe(true);
  });

  it('refuses to write a digest Python credstash 1.15+ cannot read', () => {
    expect(() => sealLegacy({ plaintext: Buffer.from('a'), dataKey: randomBytes(64), digest: 'RIPEMD' })).toThrow(/digest must be one of/);
  });

  const failures: Array<[string, (k: Buffer, ct: Buffer, mac: Buffer) => Parameters<typeof openLegacy>[0]]> = [
    ['a wrong HMAC', (k, ct, mac) => ({ ciphertext: ct, dataKey: k, hmac: Buffer.from(mac.map((b, i) => (i === 0 ? b ^ 1 : b))), credentialId: 'app' })],
    ['a truncated HMAC', (k, ct, mac) => ({ ciphertext: ct, dataKey: k, hmac: mac.subarray(0, 16), credentialId: 'app' })],
    ['a changed ciphertext', (k, ct, mac) => ({ ciphertext: Buffer.concat([ct, Buffer.from([0])]), dataKey: k, hmac: mac, credentialId: 'app' })],
    ['the wrong digest', (k, ct, mac) => ({ ciphertext: ct, dataKey: k, hmac: mac, digest: 'SHA512', credentialId: 'app' })],
    ['an unknown digest', (k, ct, mac) => ({ ciphertext: ct, dataKey: k, hmac: mac, digest: 'WHIRLPOOL', credentialId: 'app' })],
    ['a 32-byte data key', (k, ct, mac) => ({ ciphertext: ct, dataKey: k.subarray(0, 32), hmac: mac, credentialId: 'app' })],
  ];
  for (const [what, input] of failures) {
    it(`throws one IntegrityError without cause for ${what}`, () => {
      const dataKey = randomBytes(64);
      const keyCopy = Buffer.from(dataKey);
      const s = pythonCredstashSeal(CANARY, dataKey, 'sha256');
      let err: Error | undefined;
      try {
        openLegacy({ ...input(dataKey, s.ciphertext, Buffer.from(s.hmacHex, 'hex')), version: '2' });
      } catch (e) {
        err = e as Error;
      }
      expect(err).toMatchObject({ code: 'ERR_INTEGRITY', message: 'credential "app" version 2 failed its integrity check' });
      expect((err as Error & { cause?: unknown }).cause).toBeUndefined();
      expectNoLeak(err, CANARY, keyCopy);
    });
  }
});

describe('decodeLegacyHmac', () => {
  it('reads S hex (Python 2 / pycrypto era) and B ASCII-hex bytes (Python 3 boto3)', () => {
    expect(decodeLegacyHmac({ S: 'a1b2' })?.toString('hex')).toBe('a1b2');
    expect(decodeLegacyHmac({ B: Buffer.from('A1B2', 'ascii') })?.toString('hex')).toBe('a1b2');
  });
  it('returns undefined for missing, empty, odd-length or non-hex values', () => {
    for (const a of [undefined, {}, { S: '' }, { S: 'abc' }, { S: 'zz' }, { B: Buffer.from([0xa1, 0xb2]) }]) expect(decodeLegacyHmac(a)).toBeUndefined();
  });
});
