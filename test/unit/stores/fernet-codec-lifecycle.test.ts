import { createHmac, hkdfSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { labelProofInput } from '../../../src/core/lifecycle.js';
import { fernetTimestamp, generateFernetKey, MultiFernet, parseFernetKey } from '../../../src/crypto/fernet.js';
import { fernetCreatedAt, FernetCodec } from '../../../src/stores/fernet-codec.js';
import { CANARY, caught, expectNoLeak } from '../../helpers/no-leak.js';

const KEY = generateFernetKey();
const V1 = '0000000000000000001';
const V3 = '0000000000000000003';
const where = (id: string, version = V1, context = {}) => ({ id, version, context, store: 'test store' });

// A test key and a token sealed by the codec as it was before the lifecycle header fields existed.
const OLD_KEY = 'vi-90osENQCiyWLYIynVtWctqu8rGMDGiT5sLaEYJVc=';
const OLD_TOKEN =
  'gAAAAABrD3IDGB_fkPluQLVR6pt1a7R-cAAtA-OOqzfBnNMkKHemc1AyMFWxwERH-kSzTkMcay8NxVfB6uX6Rj4ii7fQTqkYBNXm8_RDcSh2Uh5vHDd4qHTYp1SQ1r2HTRdrgLw-D7UC20g_aroi-xwp0H59EiuYqa-gm1yK3-hJHPHNgpZaLHjBiJiM7A-irmy6j44VXX_UkrJhymYlnnpjQ5YFPdz85SxPRuCd8TfoChQ7Rqy3oBD7Aquof1sv_V1ulEwT3GJagUp_RSRv_qmjR6GwVrdrEA==';

describe('FernetCodec: lifecycle facts in the header', () => {
  const codec = new FernetCodec([KEY]);
  const meta = { createdAt: '2026-12-02T01:00:00.000Z', writtenBy: 'ops@host', expiresAt: '2027-03-01T00:00:00.000Z' };

  it('a token written before the lifecycle fields opens as before; createdAt comes from its own timestamp', () => {
    const got = new FernetCodec([OLD_KEY]).open(OLD_TOKEN, where('old.cred', V3, { env: 'prod' }));
    expect(got).toEqual({ id: 'old.cred', version: '3', value: 'old value ✓', comment: 'from before' });
    expect(got.createdAt).toBe(new Date(fernetTimestamp(OLD_TOKEN) * 1000).toISOString());
    expect(got.writtenBy).toBeUndefined();
    expect(got.expiresAt).toBeUndefined();
    // and the header a write without facts makes is byte for byte the old one
    const plain = new MultiFernet([OLD_KEY]).decrypt(OLD_TOKEN);
    const again = new FernetCodec([OLD_KEY]).seal({ id: 'old.cred', version: V3, value: 'old value ✓', context: { env: 'prod' }, comment: 'from before' });
    expect(new MultiFernet([OLD_KEY]).decrypt(again)).toEqual(plain);
  });

  it('keeps createdAt, writtenBy and expiresAt in the authenticated header and returns them not enumerable', () => {
    const token = codec.seal({ id: 'a', version: V1, value: CANARY, context: {}, meta });
    const header = JSON.parse(new MultiFernet([KEY]).decrypt(token).toString('utf8').split('\n')[1] as string) as Record<string, unknown>;
    expect(header).toMatchObject(meta);
    const got = codec.open(token, where('a'));
    expect([got.createdAt, got.writtenBy, got.expiresAt]).toEqual([meta.createdAt, meta.writtenBy, meta.expiresAt]);
    expect(Object.keys(got)).toEqual(['id', 'version', 'value']);
  });

  it('a header whose lifecycle field is not a string fails its integrity check', () => {
    const p = `credstash-ts/fernet/v1\n{"id":"a","version":"${V1}","kind":"text","context":{},"expiresAt":5}\nx`;
    expect(caught(() => codec.open(new MultiFernet([KEY]).encrypt(Buffer.from(p)), where('a')))).toMatchObject({ code: 'ERR_INTEGRITY' });
  });

  it('fernetCreatedAt reads the timestamp from the first 12 characters, and refuses what is not a token', () => {
    const token = codec.seal({ id: 'a', version: V1, value: 'x', context: {} });
    const iso = new Date(fernetTimestamp(token) * 1000).toISOString();
    expect(fernetCreatedAt(token)).toBe(iso);
    expect(fernetCreatedAt(token.slice(0, 12))).toBe(iso);
    expect(fernetCreatedAt('hAAAAABrD3ID')).toBeUndefined();
    expect(fernetCreatedAt('short')).toBeUndefined();
    expect(fernetCreatedAt('gAAAA$BrD3ID')).toBeUndefined();
  });
});

describe('FernetCodec: label proofs', () => {
  it('is HMAC-SHA256 under HKDF-SHA256(signing key, info "credstash-ts label") over labelProofInput', () => {
    const codec = new FernetCodec([KEY]);
    const k = Buffer.from(hkdfSync('sha256', parseFernetKey(KEY).signing, Buffer.alloc(0), 'credstash-ts label', 32));
    const want = createHmac('sha256', k).update(labelProofInput('app.db', 'current', V3)).digest('base64url');
    expect(codec.labelProof('app.db', 'current', V3)).toBe(want);
  });

  it('verifies under any configured key and refuses another id, label, version, key or a missing proof', () => {
    const old = generateFernetKey();
    const proof = new FernetCodec([old]).labelProof('app.db', 'current', V3);
    const both = new FernetCodec([KEY, old]);
    expect(both.labelProofKeyIndex('app.db', 'current', V3, proof)).toBe(1);
    expect(both.labelProofKeyIndex('app.db', 'current', V3, both.labelProof('app.db', 'current', V3))).toBe(0);
    expect(both.labelProofKeyIndex('app.dc', 'current', V3, proof)).toBe(-1);
    expect(both.labelProofKeyIndex('app.db', 'next', V3, proof)).toBe(-1);
    expect(both.labelProofKeyIndex('app.db', 'current', V1, proof)).toBe(-1);
    expect(both.labelProofKeyIndex('app.db', 'current', V3, undefined)).toBe(-1);
    expect(both.labelProofKeyIndex('app.db', 'current', V3, `${proof}x`)).toBe(-1);
    expect(new FernetCodec([KEY]).labelProofKeyIndex('app.db', 'current', V3, proof)).toBe(-1);
  });
});

describe('FernetCodec: sealed state', () => {
  const codec = new FernetCodec([KEY]);
  it('round-trips, and refuses another id or state key (IntegrityError), another context (mismatch), a value token', () => {
    const sealed = codec.sealState('app.db', 'rotation', Buffer.from(CANARY), { env: 'prod' });
    expect(sealed).not.toContain(CANARY);
    expect(Buffer.from(codec.openState('app.db', 'rotation', sealed, { env: 'prod' }, 's')).toString()).toBe(CANARY);
    for (const [id, key] of [['app.dc', 'rotation'], ['app.db', 'other']] as const) {
      const err = caught(() => codec.openState(id, key, sealed, { env: 'prod' }, 's'));
      expect(err).toMatchObject({ code: 'ERR_INTEGRITY' });
      expectNoLeak(err, CANARY, KEY);
    }
    expect(caught(() => codec.openState('app.db', 'rotation', sealed, { env: 'dev' }, 's'))).toMatchObject({ code: 'ERR_ENCRYPTION_CONTEXT_MISMATCH' });
    expect(caught(() => new FernetCodec([generateFernetKey()]).openState('app.db', 'rotation', sealed, { env: 'prod' }, 's'))).toMatchObject({ code: 'ERR_INTEGRITY' });
    // a credential token is never accepted as state, nor state as a credential
    const value = codec.seal({ id: 'app.db', version: V1, value: CANARY, context: { env: 'prod' } });
    expect(caught(() => codec.openState('app.db', 'rotation', value, { env: 'prod' }, 's'))).toMatchObject({ code: 'ERR_INTEGRITY' });
    expect(caught(() => codec.open(sealed, where('app.db', V1, { env: 'prod' })))).toMatchObject({ code: 'ERR_INTEGRITY' });
  });

  it('rotateState moves state to the first key; state no key opens is an IntegrityError naming the credential', () => {
    const old = generateFernetKey();
    const sealed = new FernetCodec([old]).sealState('a', 'rotation', Buffer.from('x'), {});
    const both = new FernetCodec([KEY, old]);
    const rotated = both.rotateState(sealed, { id: 'a', store: 's' });
    expect(Buffer.from(new FernetCodec([KEY]).openState('a', 'rotation', rotated, {}, 's')).toString()).toBe('x');
    expect(caught(() => new FernetCodec([KEY]).rotateState(sealed, { id: 'a', store: 's' }))).toMatchObject({ code: 'ERR_INTEGRITY', credentialId: 'a' });
  });
});
