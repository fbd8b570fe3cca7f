import { describe, expect, it } from 'vitest';
import { MultiFernet, generateFernetKey } from '../../../src/crypto/fernet.js';
import { FernetCodec } from '../../../src/stores/fernet-codec.js';
import { CANARY, caught, expectNoLeak } from '../../helpers/no-leak.js';

const KEY = generateFernetKey();
const V1 = '0000000000000000001';
const V2 = '0000000000000000002';
const where = (id: string, version = V1, context = {}) => ({ id, version, context, store: 'test store' });

describe('FernetCodec', () => {
  const codec = new FernetCodec([KEY]);

  it('seals a version into one Fernet token whose plaintext binds id, version, kind, context, comment and definition', () => {
    const definition = { id: 'a', credential_type: 'custom' as const };
    const token = codec.seal({ id: 'a', version: V1, value: CANARY, context: { env: 'prod' }, comment: 'c', definition });
    expect(token).not.toContain(CANARY);
    const plaintext = new MultiFernet([KEY]).decrypt(token).toString('utf8');
    expect(plaintext.split('\n')[0]).toBe('credstash-ts/fernet/v1');
    expect(JSON.parse(plaintext.split('\n')[1] as string)).toEqual({ id: 'a', version: V1, kind: 'text', context: { env: 'prod' }, comment: 'c', definition });
    expect(codec.open(token, where('a', V1, { env: 'prod' }))).toEqual({ id: 'a', version: '1', value: CANARY, comment: 'c', definition });
  });

  it('round-trips bytes and JSON, keeping the kind', () => {
    const bytes = codec.seal({ id: 'b', version: V1, value: new Uint8Array([0, 10, 255]), context: {} });
    expect(Buffer.from(codec.open(bytes, where('b')).value as Uint8Array)).toEqual(Buffer.from([0, 10, 255]));
    const json = codec.seal({ id: 'j', version: V1, value: { a: 1, nested: { b: [true] } }, context: {} });
    expect(codec.open(json, where('j')).value).toEqual({ a: 1, nested: { b: [true] } });
  });

  it('a token opened under another id or version is an IntegrityError, not a context error', () => {
    const token = codec.seal({ id: 'a', version: V1, value: CANARY, context: {} });
    for (const w of [where('b'), where('a', V2)]) {
      const err = caught(() => codec.open(token, w));
      expect(err).toMatchObject({ code: 'ERR_INTEGRITY', message: `credential "${w.id}" version ${w.version === V1 ? 1 : 2} failed its integrity check in test store` });
      expectNoLeak(err, CANARY, KEY);
    }
  });

  it('a wrong context is EncryptionContextMismatchError; a damaged token or another key is IntegrityError', () => {
    const token = codec.seal({ id: 'a', version: V1, value: CANARY, context: { env: 'prod' } });
    expect(caught(() => codec.open(token, where('a', V1, { env: 'dev' })))).toMatchObject({ code: 'ERR_ENCRYPTION_CONTEXT_MISMATCH' });
    expect(caught(() => codec.open(token, where('a', V1, {})))).toMatchObject({ code: 'ERR_ENCRYPTION_CONTEXT_MISMATCH' });
    const damaged = `${token.slice(0, 40)}${token[40] === 'A' ? 'B' : 'A'}${token.slice(41)}`;
    const err = caught(() => codec.open(damaged, where('a', V1, { env: 'prod' })));
    expect(err).toMatchObject({ code: 'ERR_INTEGRITY' });
    expect((err as { cause?: unknown }).cause).toBeUndefined();
    expect(caught(() => new FernetCodec([generateFernetKey()]).open(token, where('a', V1, { env: 'prod' })))).toMatchObject({ code: 'ERR_INTEGRITY' });
  });

  it('a well-formed token no configured key verifies says so in words (another key, or altered); a malformed one fails its integrity check', () => {
    const token = codec.seal({ id: 'a', version: V1, value: CANARY, context: {} });
    const other = generateFernetKey();
    const unreadable = `credential "a" version 1 in test store is not readable with the configured Fernet key(s): it was written under a key that is not in the list, or it was altered`;
    const wrongKey = caught(() => new FernetCodec([other]).open(token, where('a')));
    expect(wrongKey).toMatchObject({ code: 'ERR_INTEGRITY', message: unreadable });
    expect(caught(() => new FernetCodec([other]).rotate(token, { id: 'a', version: V1, store: 'test store' }))).toMatchObject({ code: 'ERR_INTEGRITY', message: unreadable });
    // a flipped bit in the MAC: a MAC cannot tell it from another key, and the message says both
    const flipped = `${token.slice(0, -3)}${token.at(-3) === 'A' ? 'B' : 'A'}${token.slice(-2)}`;
    expect(caught(() => codec.open(flipped, where('a')))).toMatchObject({ code: 'ERR_INTEGRITY', message: unreadable });
    // not a Fernet token at all (truncated to a partial block, or a foreign version byte): damaged
    const damaged = 'credential "a" version 1 failed its integrity check in test store';
    expect(caught(() => codec.open(token.slice(0, 80), where('a')))).toMatchObject({ code: 'ERR_INTEGRITY', message: damaged });
    const raw = Buffer.from(token, 'base64url');
    raw[0] = 0x81;
    expect(caught(() => codec.open(raw.toString('base64url'), where('a')))).toMatchObject({ code: 'ERR_INTEGRITY', message: damaged });
    for (const e of [wrongKey]) expectNoLeak(e, CANARY, KEY, other);
  });

  it('a token whose plaintext is not the credential layout (valid MAC, foreign content) is an IntegrityError', () => {
    const f = new MultiFernet([KEY]);
    for (const p of [CANARY, `credstash-ts/fernet/v1\n{"id":"a"}\n${CANARY}`, 'credstash-ts/fernet/v1\nnot json\nx']) {
      const err = caught(() => codec.open(f.encrypt(Buffer.from(p)), where('a')));
      expect(err).toMatchObject({ code: 'ERR_INTEGRITY' });
      expectNoLeak(err, CANARY);
    }
  });

  it('an authentic token in the credential layout whose value does not decode (json kind, not an object) is a ValidationError naming the credential, not an integrity failure', () => {
    const f = new MultiFernet([KEY]);
    const p = `credstash-ts/fernet/v1\n{"id":"a","version":"0000000000000000001","kind":"json","context":{}}\n["${CANARY}"]`;
    const err = caught(() => codec.open(f.encrypt(Buffer.from(p)), where('a')));
    expect(err).toMatchObject({ code: 'ERR_INVALID_INPUT', message: expect.stringContaining('"a"') });
    expectNoLeak(err, CANARY);
  });

  it('without keys, sealing and opening are a ConfigError pointing at credstash init', () => {
    const none = new FernetCodec(undefined);
    expect(caught(() => none.seal({ id: 'a', version: V1, value: 'x', context: {} }))).toMatchObject({ code: 'ERR_CONFIG', message: expect.stringContaining('credstash init') });
    expect(none.keyCount).toBe(0);
  });

  it('rotate moves a token to the first key and reports whether a token is current', () => {
    const old = generateFernetKey();
    const token = new FernetCodec([old]).seal({ id: 'a', version: V1, value: 'v', context: {} });
    const both = new FernetCodec([KEY, old]);
    expect(both.isCurrent(token)).toBe(false);
    const rotated = both.rotate(token, { id: 'a', version: V1, store: 's' });
    expect(both.isCurrent(rotated)).toBe(true);
    expect(new FernetCodec([KEY]).open(rotated, where('a')).value).toBe('v');
    expect(caught(() => new FernetCodec([KEY]).rotate(token, { id: 'a', version: V1, store: 's' }))).toMatchObject({ code: 'ERR_INTEGRITY', credentialId: 'a', version: '1' });
  });
});
