/**
 * src/ops/diff.ts: what differs between two values, two versions, two stores — without a value in the answer
 * unless `showValues`, and reading only the names present on both sides of a store diff.
 */
import { describe, expect, it } from 'vitest';
import { CredentialNotFoundError, EncryptionContextMismatchError } from '../../../src/core/errors.js';
import { compareValues, diffStores, diffVersions } from '../../../src/ops/diff.js';
import { MemoryStore } from '../../fixtures/memory-store.js';
import { CANARY, expectNoLeak, rejectionOf } from '../../helpers/no-leak.js';

describe('compareValues', () => {
  it('structured values: added, removed, changed by path, nested objects by dotted path, arrays whole, key order ignored', () => {
    const d = compareValues(
      { a: 1, b: { x: 1, y: [1, 2] }, gone: CANARY, 'odd.key': 's', same: { k: 1, j: 2 } },
      { a: 2, b: { x: 1, y: [2, 1] }, added: CANARY, 'odd.key': 't', same: { j: 2, k: 1 } },
    );
    expect(d).toEqual({
      same: false,
      kinds: ['structured', 'structured'],
      fields: [
        { path: '["odd.key"]', change: 'changed' },
        { path: 'a', change: 'changed' },
        { path: 'added', change: 'added' },
        { path: 'b.y', change: 'changed' },
        { path: 'gone', change: 'removed' },
      ],
    });
    expectNoLeak(JSON.stringify(d), CANARY);
    expect(compareValues({ a: 1, b: 2 }, { b: 2, a: 1 })).toEqual({ same: true, kinds: ['structured', 'structured'], fields: [] });
  });

  it('with showValues: the values of what differs, and only of that', () => {
    const d = compareValues({ user: 'u', password: 'p1' }, { user: 'u', password: 'p2' }, { showValues: true });
    expect(d.fields).toEqual([{ path: 'password', change: 'changed', from: 'p1', to: 'p2' }]);
    expect([d.from, d.to]).toEqual([{ user: 'u', password: 'p1' }, { user: 'u', password: 'p2' }]);
    expect(compareValues('a', 'a', { showValues: true })).toEqual({ same: true, kinds: ['text', 'text'] });
  });

  it('text, bytes and a change of kind', () => {
    expect(compareValues('a', 'b')).toEqual({ same: false, kinds: ['text', 'text'] });
    expect(compareValues(new Uint8Array([1, 2]), new Uint8Array([1, 2]))).toEqual({ same: true, kinds: ['bytes', 'bytes'] });
    expect(compareValues('x', { x: 1 })).toEqual({ same: false, kinds: ['text', 'structured'] });
    expect(compareValues('\u0001\u0002', new Uint8Array([1, 2]))).toMatchObject({ same: false });
  });
});

describe('diffVersions and diffStores', () => {
  it('diffVersions reads both versions with the context and names them', async () => {
    const s = new MemoryStore('s');
    await s.storeCredential('db', { p: `${CANARY}-1` }, { context: { env: 'prod' } });
    await s.storeCredential('db', { p: `${CANARY}-2` }, { autoVersion: true, context: { env: 'prod' } });
    const d = await diffVersions(s, 'db', { a: 1, b: 2, context: { env: 'prod' } });
    expect(d).toEqual({ id: 'db', versions: ['1', '2'], same: false, kinds: ['structured', 'structured'], fields: [{ path: 'p', change: 'changed' }] });
    expectNoLeak(JSON.stringify(d), CANARY);
    expect(await rejectionOf(diffVersions(s, 'db', { a: 1, b: 7, context: { env: 'prod' } }))).toBeInstanceOf(CredentialNotFoundError);
  });

  it('diffStores reads only names on both sides, once per side, and collects read failures per name', async () => {
    const a = new MemoryStore('a');
    const b = new MemoryStore('b');
    for (const [id, v] of [['same', 'x'], ['diff', 'one'], ['only.a', CANARY], ['ctx', 'c']] as const) await a.storeCredential(id, v);
    for (const [id, v] of [['same', 'x'], ['diff', 'two'], ['only.b', CANARY]] as const) await b.storeCredential(id, v);
    await b.storeCredential('ctx', 'c', { context: { env: 'prod' } });
    const d = await diffStores(a, b);
    expect({ ...d, failed: d.failed.map((f) => [f.id, f.side, f.code]) }).toEqual({
      onlyInFirst: ['only.a'],
      onlyInSecond: ['only.b'],
      different: [{ id: 'diff', diff: { same: false, kinds: ['text', 'text'] } }],
      same: ['same'],
      failed: [['ctx', 'second', EncryptionContextMismatchError.code]],
    });
    expect([a.reads, b.reads]).toEqual([3, 3]);
    expectNoLeak(JSON.stringify(d), CANARY);
    const only = await diffStores(a, b, { pattern: 'only.*' });
    expect([only.onlyInFirst, only.onlyInSecond, a.reads, b.reads]).toEqual([['only.a'], ['only.b'], 3, 3]);
  });
});
