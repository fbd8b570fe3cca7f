import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decryptGcm, encryptGcm, gcmAad, GCM_FORMAT_TAG } from '../../../src/crypto/envelope-gcm.js';
import { CANARY, caught as thrown, expectNoLeak } from '../../helpers/no-leak.js';

interface Vector {
  dataKeyHex: string;
  ivHex: string;
  name: string;
  version: number;
  paddedVersion: string;
  kind: string;
  plaintextUtf8: string;
  aadHex: string;
  ciphertextHex: string;
  tagHex: string;
}
const fixture = JSON.parse(readFileSync(new URL('../../fixtures/vectors/format-gcm.json', import.meta.url), 'utf8')) as {
  formatTag: string;
  vectors: Vector[];
};

describe('gcmAad', () => {
  it('is the length-prefixed format tag, name, padded version and kind, as docs/FORMAT.md §3 says', () => {
    const aad = gcmAad({ name: 'ab', paddedVersion: '0000000000000000001', kind: 'text' });
    const expected = Buffer.concat([
      Buffer.from([0, 0, 0, GCM_FORMAT_TAG.length]),
      Buffer.from(GCM_FORMAT_TAG),
      Buffer.from([0, 0, 0, 2]),
      Buffer.from('ab'),
      Buffer.from([0, 0, 0, 19]),
      Buffer.from('0000000000000000001'),
      Buffer.from([0, 0, 0, 4]),
      Buffer.from('text'),
    ]);
    expect(aad.equals(expected)).toBe(true);
  });

  it('is injective: moving bytes between name and version changes the AAD', () => {
    const a = gcmAad({ name: 'a0', paddedVersion: '01', kind: 'text' });
    const b = gcmAad({ name: 'a', paddedVersion: '001', kind: 'text' });
    expect(a.equals(b)).toBe(false);
  });
});

describe('encryptGcm / decryptGcm known-answer vectors (test/fixtures/vectors/format-gcm.json)', () => {
  expect(fixture.formatTag).toBe(GCM_FORMAT_TAG);
  for (const v of fixture.vectors) {
    it(`reproduces the documented AAD, ciphertext and tag for "${v.name}" version ${v.version} (${v.kind})`, () => {
      const aad = gcmAad({ name: v.name, paddedVersion: v.paddedVersion, kind: v.kind });
      expect(aad.toString('hex')).toBe(v.aadHex);
      expect(v.paddedVersion).toBe(String(v.version).padStart(19, '0'));
      const sealed = encryptGcm({ plaintext: Buffer.from(v.plaintextUtf8, 'utf8'), dataKey: Buffer.from(v.dataKeyHex, 'hex'), aad, iv: Buffer.from(v.ivHex, 'hex') });
      expect(sealed.ciphertext.toString('hex')).toBe(v.ciphertextHex);
      expect(sealed.tag.toString('hex')).toBe(v.tagHex);
      const plain = decryptGcm({
        ciphertext: Buffer.from(v.ciphertextHex, 'hex'),
        dataKey: Buffer.from(v.dataKeyHex, 'hex'),
        iv: Buffer.from(v.ivHex, 'hex'),
        tag: Buffer.from(v.tagHex, 'hex'),
        aad,
        credentialId: v.name,
      });
      expect(plain.toString('utf8')).toBe(v.plaintextUtf8);
    });
  }
});

describe('encryptGcm', () => {
  it('uses a fresh random 96-bit IV each time and zeroes the data key it was given', () => {
    const key1 = Buffer.alloc(32, 7);
    const key2 = Buffer.alloc(32, 7);
    const aad = gcmAad({ name: 'n', paddedVersion: '0000000000000000001', kind: 'text' });
    const a = encryptGcm({ plaintext: Buffer.from('same'), dataKey: key1, aad });
    const b = encryptGcm({ plaintext: Buffer.from('same'), dataKey: key2, aad });
    expect(a.iv).toHaveLength(12);
    expect(a.tag).toHaveLength(16);
    expect(a.iv.equals(b.iv)).toBe(false);
    expect(a.ciphertext.equals(b.ciphertext)).toBe(false);
    expect(key1.every((x) => x === 0)).toBe(true);
    expect(key2.every((x) => x === 0)).toBe(true);
  });

  it('refuses a data key that is not 32 bytes, and still zeroes it', () => {
    const key = Buffer.alloc(16, 9);
    expect(() => encryptGcm({ plaintext: Buffer.from('x'), dataKey: key, aad: Buffer.alloc(0) })).toThrow(RangeError);
    expect(key.every((x) => x === 0)).toBe(true);
  });
});

describe('decryptGcm', () => {
  const keyHex = 'a'.repeat(64);
  const seal = (name: string, version: string, kind = 'text') => {
    const aad = gcmAad({ name, paddedVersion: version, kind });
    return encryptGcm({ plaintext: Buffer.from(CANARY), dataKey: Buffer.from(keyHex, 'hex'), aad });
  };
  const open = (s: ReturnType<typeof seal>, aadFields: { name: string; v: string; kind?: string }, over: Partial<{ tag: Buffer; ciphertext: Buffer; key: Buffer; iv: Buffer }> = {}) =>
    decryptGcm({
      ciphertext: over.ciphertext ?? s.ciphertext,
      dataKey: over.key ?? Buffer.from(keyHex, 'hex'),
      iv: over.iv ?? s.iv,
      tag: over.tag ?? s.tag,
      aad: gcmAad({ name: aadFields.name, paddedVersion: aadFields.v, kind: aadFields.kind ?? 'text' }),
      credentialId: aadFields.name,
      version: '3',
    });
  const v3 = '0000000000000000003';

  it('round-trips and zeroes the data key', () => {
    const s = seal('app', v3);
    const key = Buffer.from(keyHex, 'hex');
    expect(open(s, { name: 'app', v: v3 }, { key }).toString()).toBe(CANARY);
    expect(key.every((x) => x === 0)).toBe(true);
  });

  const cases: Array<[string, (s: ReturnType<typeof seal>) => Error]> = [
    ['another name', (s) => thrown(() => open(s, { name: 'other', v: v3 }))],
    ['another version', (s) => thrown(() => open(s, { name: 'app', v: '0000000000000000004' }))],
    ['another value kind', (s) => thrown(() => open(s, { name: 'app', v: v3, kind: 'binary' }))],
    ['a flipped tag bit', (s) => thrown(() => open(s, { name: 'app', v: v3 }, { tag: Buffer.from(s.tag.map((b, i) => (i === 0 ? b ^ 1 : b))) }))],
    ['a flipped ciphertext bit', (s) => thrown(() => open(s, { name: 'app', v: v3 }, { ciphertext: Buffer.from(s.ciphertext.map((b, i) => (i === 0 ? b ^ 1 : b))) }))],
    ['a wrong data key', (s) => thrown(() => open(s, { name: 'app', v: v3 }, { key: Buffer.alloc(32, 1) }))],
    ['a truncated tag', (s) => thrown(() => open(s, { name: 'app', v: v3 }, { tag: s.tag.subarray(0, 12) }))],
    ['a short IV', (s) => thrown(() => open(s, { name: 'app', v: v3 }, { iv: s.iv.subarray(0, 8) }))],
  ];
  for (const [what, run] of cases) {
    it(`throws one IntegrityError without cause for ${what}`, () => {
      const err = run(seal('app', v3));
      expect(err).toMatchObject({ code: 'ERR_INTEGRITY', message: expect.stringContaining('failed its integrity check') });
      expect((err as Error & { cause?: unknown }).cause).toBeUndefined();
      expectNoLeak(err, CANARY, Buffer.from(keyHex, 'hex'));
    });
  }
});

describe('docs/FORMAT.md', () => {
  it('shows the same known-answer vector as test/fixtures/vectors/format-gcm.json', () => {
    const doc = readFileSync(new URL('../../../docs/FORMAT.md', import.meta.url), 'utf8');
    const v = fixture.vectors[0] as Vector;
    const aadRow = /\| AAD \(hex\) \| `([0-9a-f ]+)` \|/.exec(doc)?.[1]?.replace(/ /g, '');
    expect(aadRow).toBe(v.aadHex);
    expect(doc).toContain(`| ciphertext (hex) | \`${v.ciphertextHex}\` |`);
    expect(doc).toContain(`| tag (hex) | \`${v.tagHex}\` |`);
    expect(doc).toContain(`| data key (hex) | \`${v.dataKeyHex}\` |`);
    expect(doc).toContain(`| iv (hex) | \`${v.ivHex}\` |`);
    expect(doc).toContain(`format tag = "${GCM_FORMAT_TAG}"`);
  });
});
