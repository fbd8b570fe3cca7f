import { describe, expect, it } from 'vitest';
import { parseKeystore, serializeKeystore, type KeystoreEntry } from '../../../../src/stores/local/local-keystore-file.js';
import { CANARY, caught, expectNoLeak } from '../../../helpers/no-leak.js';

const P = '/p/keystore.json';

describe('keystore file format', () => {
  it('serialises one entry per line, sorted by id then version, and parses back', () => {
    const entries: KeystoreEntry[] = [
      { id: 'b', version: '0000000000000000001', token: 'gAAAA_b1' },
      { id: 'a', version: '0000000000000000010', token: 'gAAAA_a10', comment: 'ten' },
      { id: 'a', version: '0000000000000000002', token: 'gAAAA_a2' },
    ];
    const text = serializeKeystore(entries);
    const lines = text.split('\n');
    expect(lines[0]).toBe('{"format":"credstash-ts-keystore","format_version":1,"credentials":[');
    expect(lines.slice(1, 4).map((l) => (JSON.parse(l.replace(/,$/, '')) as KeystoreEntry).token)).toEqual(['gAAAA_a2', 'gAAAA_a10', 'gAAAA_b1']);
    const data = parseKeystore(text, P);
    expect(data.count).toBe(3);
    expect(data.entries.get('a')?.get('0000000000000000010')).toEqual({ id: 'a', version: '0000000000000000010', token: 'gAAAA_a10', comment: 'ten' });
    expect(parseKeystore(serializeKeystore([]), P).count).toBe(0);
  });

  it('keeps ids such as __proto__ and constructor as plain data', () => {
    const data = parseKeystore(serializeKeystore([{ id: '__proto__', version: '0000000000000000001', token: 't' }, { id: 'constructor', version: '0000000000000000001', token: 'u' }]), P);
    expect([...data.entries.keys()].sort()).toEqual(['__proto__', 'constructor']);
  });

  const bad: Array<[string, string, string]> = [
    ['syntax error', `{"format":"credstash-ts-keystore",\n"credentials":[${CANARY}]}`, 'is not valid JSON'],
    ['a JSON array', `["${CANARY}"]`, 'is not a credstash-ts keystore (no "format" header)'],
    ['another tool\'s JSON', JSON.stringify({ format: 'other', secret: CANARY }), 'is not a credstash-ts keystore (no "format" header)'],
    ['an unknown format version', JSON.stringify({ format: 'credstash-ts-keystore', format_version: '1', credentials: [] }), 'has an unknown format version'],
    ['no credentials list', JSON.stringify({ format: 'credstash-ts-keystore', format_version: 1 }), 'has no "credentials" list'],
    ['an entry that is not an object', JSON.stringify({ format: 'credstash-ts-keystore', format_version: 1, credentials: [CANARY] }), 'entry 1 is not an object'],
    ['a bad version', JSON.stringify({ format: 'credstash-ts-keystore', format_version: 1, credentials: [{ id: 'a', version: CANARY, token: 'x' }] }), 'entry 1 has no valid version'],
    ['a duplicate version', JSON.stringify({ format: 'credstash-ts-keystore', format_version: 1, credentials: [{ id: 'a', version: '0000000000000000001', token: 'x' }, { id: 'a', version: '0000000000000000001', token: 'y' }] }), 'entry 2 repeats a version of an earlier entry'],
    ['a non-string comment', JSON.stringify({ format: 'credstash-ts-keystore', format_version: 1, credentials: [{ id: 'a', version: '0000000000000000001', token: 'x', comment: 5 }] }), 'entry 1 has a comment that is not a string'],
  ];
  for (const [what, text, message] of bad) {
    it(`refuses ${what} with a CorruptStoreError that names the file, not the content`, () => {
      const err = caught(() => parseKeystore(text, P));
      expect(err).toMatchObject({ code: 'ERR_CORRUPT_STORE', path: P });
      expect(err.message.startsWith(`keystore "${P}" ${message}`)).toBe(true);
      expect(err.message.endsWith('; it was left untouched')).toBe(true);
      expectNoLeak(err, CANARY);
    });
  }
});
