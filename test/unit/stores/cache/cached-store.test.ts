import { describe, expect, it } from 'vitest';
import { withCache } from '../../../../src/stores/cache/index.js';
import { MemoryStore } from '../../../fixtures/memory-store.js';
import { EnvStore } from '../../../../src/stores/env/index.js';
import { runReadOnlyStoreContract, runStoreContract } from '../../../contract/credential-store.contract.js';
import { rejectionOf } from '../../../helpers/no-leak.js';

// The cache is transparent: over a writable store it passes the whole contract, over env the read-only one.
runStoreContract('withCache over memory', async () => withCache(new MemoryStore('cached'), { maxAge: 5 }), { context: true, maxValueBytes: 64 * 1024 });
runReadOnlyStoreContract('withCache over env', async (seed) =>
  withCache(new EnvStore({ env: Object.fromEntries(Object.entries(seed).map(([id, v]) => [`CREDSTASH_CREDENTIAL_${id.toUpperCase()}`, v])) }), { maxAge: 5 }), { context: false });

function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1_000_000;
  return { now: () => t, advance: (ms) => { t += ms; } };
}

async function seeded(): Promise<MemoryStore> {
  const inner = new MemoryStore('cache');
  await inner.storeCredential('a', 'one');
  await inner.storeCredential('a', 'two', { autoVersion: true });
  await inner.storeCredential('c', 'ctx', { context: { env: 'prod', app: 'x' } });
  inner.reads = 0;
  return inner;
}

describe('withCache', () => {
  it('serves repeated gets from memory until maxAge passes', async () => {
    const inner = await seeded();
    const c = clock();
    const store = withCache(inner, { maxAge: 5, now: c.now });
    expect((await store.getCredential('a'))?.value).toBe('two');
    expect((await store.getCredential('a'))?.value).toBe('two');
    expect(inner.reads).toBe(1);
    c.advance(4999);
    await store.getCredential('a');
    expect(inner.reads).toBe(1);
    c.advance(1);
    await store.getCredential('a');
    expect(inner.reads).toBe(2);
  });

  it('keys entries by id, version and canonical context', async () => {
    const inner = await seeded();
    const store = withCache(inner, { maxAge: 60 });
    expect((await store.getCredential('a', { version: 1 }))?.value).toBe('one');
    expect((await store.getCredential('a', { version: '1' }))?.value).toBe('one');
    expect((await store.getCredential('a'))?.value).toBe('two');
    expect(inner.reads).toBe(2);
    await store.getCredential('c', { context: { env: 'prod', app: 'x' } });
    await store.getCredential('c', { context: { app: 'x', env: 'prod' } });
    expect(inner.reads).toBe(3);
    expect(await rejectionOf(store.getCredential('c', { context: { env: 'dev', app: 'x' } }))).toMatchObject({ code: 'ERR_ENCRYPTION_CONTEXT_MISMATCH' });
  });

  it('forceFetch reads again and refreshes the entry; clear() drops everything', async () => {
    const inner = await seeded();
    const store = withCache(inner, { maxAge: 60 });
    await store.getCredential('a');
    await inner.storeCredential('a', 'three', { autoVersion: true }); // behind the cache's back
    expect((await store.getCredential('a'))?.value).toBe('two');
    expect((await store.getCredential('a', { forceFetch: true }))?.value).toBe('three');
    expect((await store.getCredential('a'))?.value).toBe('three');
    await inner.storeCredential('a', 'four', { autoVersion: true });
    store.clear();
    expect((await store.getCredential('a'))?.value).toBe('four');
  });

  it('shares one fetch between concurrent gets of one key', async () => {
    const inner = await seeded();
    const store = withCache(inner, { maxAge: 60 });
    const got = await Promise.all(Array.from({ length: 20 }, () => store.getCredential('a')));
    expect(new Set(got.map((g) => g?.value))).toEqual(new Set(['two']));
    expect(inner.reads).toBe(1);
  });

  it('does not cache failures or misses, and applies required', async () => {
    const inner = await seeded();
    const store = withCache(inner, { maxAge: 60 });
    await rejectionOf(store.getCredential('c'));
    await rejectionOf(store.getCredential('c'));
    expect(inner.reads).toBe(2);
    expect(await store.getCredential('missing')).toBeUndefined();
    await inner.storeCredential('missing', 'now');
    expect((await store.getCredential('missing'))?.value).toBe('now');
    expect(await rejectionOf(store.getCredential('nope', { required: true }))).toMatchObject({ code: 'ERR_CREDENTIAL_NOT_FOUND', credentialId: 'nope' });
  });

  it('invalidates an id on writes and deletes through the cache, including a fetch in flight', async () => {
    const inner = await seeded();
    const store = withCache(inner, { maxAge: 60 });
    await store.getCredential('a');
    await store.storeCredential('a', 'three', { autoVersion: true });
    expect((await store.getCredential('a'))?.value).toBe('three');
    // A read that has its answer (version 3) but has not returned when the delete invalidates the id: it must
    // not be cached after the invalidation (the delete's clear ran before the read finished).
    const realGet = inner.getCredential.bind(inner);
    let answered!: () => void;
    const hasAnswer = new Promise<void>((r) => (answered = r));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    inner.getCredential = (async (id: string, opts?: Parameters<typeof realGet>[1]) => {
      const found = await realGet(id, opts);
      answered();
      await gate;
      return found;
    }) as typeof inner.getCredential;
    const inflight = store.getCredential('a', { forceFetch: true });
    await hasAnswer;
    await store.deleteCredential('a', { version: 3 });
    release();
    expect((await inflight)?.value).toBe('three');
    inner.getCredential = realGet;
    expect((await store.getCredential('a'))?.value).toBe('two');
  });

  it('takes maxAge from CREDSTASH_CACHE_MAX_AGE, defaults to 5 s, and validates it', async () => {
    const inner = await seeded();
    expect(withCache(inner, { env: {} }).maxAgeMs).toBe(5000);
    expect(withCache(inner, { env: { CREDSTASH_CACHE_MAX_AGE: '30' } }).maxAgeMs).toBe(30000);
    expect(withCache(inner, { env: { CREDSTASH_CACHE_MAX_AGE: '0.5' } }).maxAgeMs).toBe(500);
    expect(() => withCache(inner, { env: { CREDSTASH_CACHE_MAX_AGE: 'ten' } })).toThrow(/CREDSTASH_CACHE_MAX_AGE/);
    expect(() => withCache(inner, { maxAge: -1 })).toThrow(/non-negative/);
    const off = withCache(inner, { maxAge: 0 });
    await off.getCredential('a');
    await off.getCredential('a');
    expect(inner.reads).toBe(2);
  });

  it('passes list, exists, getAll and close through', async () => {
    const inner = await seeded();
    const store = withCache(inner);
    expect(store.kind).toBe('memory');
    expect((await store.listCredentials({ latestOnly: true })).map((s) => s.id)).toEqual(['a', 'c']);
    expect(await store.credentialExists('a', { version: 2 })).toBe(true);
    expect((await store.getAllCredentials({ pattern: 'a' })).credentials.map((c) => c.value)).toEqual(['two']);
    await store.close();
  });
});
