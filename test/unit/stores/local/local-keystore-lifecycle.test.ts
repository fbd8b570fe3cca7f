import { describe, expect, it } from 'vitest';
import { parseKeystore, serializeKeystore, type KeystoreEntry, type LifecycleSection } from '../../../../src/stores/local/local-keystore-file.js';
import { CANARY, caught, expectNoLeak } from '../../../helpers/no-leak.js';

const P = '/p/keystore.json';
const V1 = '0000000000000000001';
const HEAD = '{"format":"credstash-ts-keystore","format_version":1,"credentials":[';

describe('keystore file: lifecycle fields and section', () => {
  it('keeps the plaintext createdAt, writtenBy and expiresAt of an entry, after the comment', () => {
    const e: KeystoreEntry = { id: 'a', version: V1, token: 'gAAAA_a', comment: 'c', createdAt: '2026-01-01T00:00:00.000Z', writtenBy: 'u@h', expiresAt: '2027-01-01T00:00:00.000Z' };
    const text = serializeKeystore([e]);
    expect(text.split('\n')[1]).toBe(JSON.stringify(e));
    expect(parseKeystore(text, P).entries.get('a')?.get(V1)).toEqual(e);
  });

  it('a file without lifecycle data is byte for byte the earlier layout', () => {
    expect(serializeKeystore([{ id: 'a', version: V1, token: 't', comment: 'c' }])).toBe(`${HEAD}\n{"id":"a","version":"${V1}","token":"t","comment":"c"}\n]}\n`);
  });

  it('writes the section after the credentials, one record per line sorted by id, and parses it back; format_version stays 1', () => {
    const lifecycle: LifecycleSection = {
      epoch: '0123456789ab',
      rev: 7,
      records: new Map([
        ['z', { rev: 7, doc: { labels: { current: { v: V1, proof: 'p' } }, state: {} } }],
        ['__proto__', { rev: 2, doc: { labels: {}, state: { rotation: 'gAAAA' } } }],
      ]),
    };
    const text = serializeKeystore([{ id: 'a', version: V1, token: 't' }], lifecycle);
    const lines = text.split('\n');
    expect(lines[0]).toBe(HEAD);
    expect(lines[2]).toBe('],"lifecycle":{"epoch":"0123456789ab","rev":7,"records":[');
    expect(lines[3]).toBe('{"id":"__proto__","rev":2,"doc":{"labels":{},"state":{"rotation":"gAAAA"}}},');
    expect(JSON.parse(text)).toMatchObject({ format: 'credstash-ts-keystore', format_version: 1 });
    const back = parseKeystore(text, P);
    expect(back.lifecycle?.epoch).toBe('0123456789ab');
    expect(back.lifecycle?.rev).toBe(7);
    expect([...(back.lifecycle?.records.keys() ?? [])].sort()).toEqual(['__proto__', 'z']);
    expect(back.lifecycle?.records.get('z')).toEqual({ rev: 7, doc: { labels: { current: { v: V1, proof: 'p' } }, state: {} } });
    expect(serializeKeystore([{ id: 'a', version: V1, token: 't' }], back.lifecycle)).toBe(text);
  });

  it('ignores top-level keys it does not know (an additive section of a newer writer)', () => {
    const text = JSON.stringify({ format: 'credstash-ts-keystore', format_version: 1, credentials: [{ id: 'a', version: V1, token: 't' }], later: { x: 1 } });
    expect(parseKeystore(text, P).count).toBe(1);
  });

  const doc = (lifecycle: unknown): string => JSON.stringify({ format: 'credstash-ts-keystore', format_version: 1, credentials: [], lifecycle });
  const bad: Array<[string, string, string]> = [
    ['a section that is not an object', doc([CANARY]), 'not an object'],
    ['a bad epoch', doc({ epoch: CANARY, rev: 1, records: [] }), 'epoch'],
    ['a negative section rev', doc({ epoch: 'ab', rev: -1, records: [] }), 'rev'],
    ['no records list', doc({ epoch: 'ab', rev: 1 }), 'no records list'],
    ['a record without id', doc({ epoch: 'ab', rev: 1, records: [{ rev: 1, doc: {} }] }), 'record 1 has no id'],
    ['a record rev above the section rev', doc({ epoch: 'ab', rev: 1, records: [{ id: 'a', rev: 2, doc: {} }] }), 'record 1 has no valid rev'],
    ['a record without doc', doc({ epoch: 'ab', rev: 1, records: [{ id: 'a', rev: 1, doc: CANARY }] }), 'record 1 has no doc'],
    ['a repeated record id', doc({ epoch: 'ab', rev: 2, records: [{ id: 'a', rev: 1, doc: {} }, { id: 'a', rev: 2, doc: {} }] }), 'record 2 repeats an earlier id'],
  ];
  for (const [what, text, where] of bad) {
    it(`refuses ${what} with a CorruptStoreError naming the file, not the content`, () => {
      const err = caught(() => parseKeystore(text, P));
      expect(err).toMatchObject({ code: 'ERR_CORRUPT_STORE', path: P, message: `keystore "${P}" has a lifecycle section that is not valid (${where}); it was left untouched` });
      expectNoLeak(err, CANARY);
    });
  }

  it('refuses an entry whose expiresAt is not a string', () => {
    const text = JSON.stringify({ format: 'credstash-ts-keystore', format_version: 1, credentials: [{ id: 'a', version: V1, token: 't', expiresAt: 5 }] });
    expect(caught(() => parseKeystore(text, P))).toMatchObject({ code: 'ERR_CORRUPT_STORE', message: expect.stringContaining('entry 1 has an expiresAt field that is not a string') });
  });
});
