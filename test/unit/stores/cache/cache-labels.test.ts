/**
 * The cache and the version lifecycle: a labelled read is cached under its own key (it reads the label's
 * version, never the newest one cached for the id), a label moved through the cache drops the entries, and
 * `strict` holds on a cache hit of a version that expired after it was fetched.
 */
import { describe, expect, it } from 'vitest';
import { CredentialExpiredError, CredentialNotFoundError } from '../../../../src/core/errors.js';
import type { LifecycleCapable } from '../../../../src/core/store.js';
import { CachedStore } from '../../../../src/stores/cache/index.js';
import { MemoryStore } from '../../../fixtures/memory-store.js';
import { rejectionOf } from '../../../helpers/no-leak.js';

async function labelled(): Promise<MemoryStore> {
  const m = new MemoryStore('m');
  await m.storeCredential('db', 'v1');
  await m.storeCredential('db', 'v2', { autoVersion: true });
  await m.labelCredential('db', 'current', { version: 1 });
  return m;
}

describe('CachedStore with labels', () => {
  it('a labelled read returns the labelled version, after and before a plain read of the same id', async () => {
    const m = await labelled();
    const cached = new CachedStore(m, { maxAge: 60 });
    expect((await cached.getCredential('db'))?.value).toBe('v2');
    expect((await cached.getCredential('db', { label: 'current' }))?.value).toBe('v1');
    expect((await cached.getCredential('db', { label: 'current' }))?.label).toBe('current');
    expect((await cached.getCredential('db'))?.value).toBe('v2');
    expect(m.reads).toBe(2);
  });

  it('a missing label is not found (required names the label), and is not cached as the newest', async () => {
    const m = await labelled();
    const cached = new CachedStore(m, { maxAge: 60 });
    expect(await cached.getCredential('db', { label: 'next' })).toBeUndefined();
    const err = await rejectionOf(cached.getCredential('db', { label: 'next', required: true }));
    expect(err).toBeInstanceOf(CredentialNotFoundError);
    expect(err.message).toMatch(/has no label "next"/);
  });

  it('a label moved through the cache is read at its new version at once', async () => {
    const m = await labelled();
    const cached = new CachedStore(m, { maxAge: 60 }) as CachedStore & LifecycleCapable;
    expect((await cached.getCredential('db', { label: 'current' }))?.value).toBe('v1');
    await cached.labelCredential('db', 'current', { version: 2 });
    expect((await cached.getCredential('db', { label: 'current' }))?.value).toBe('v2');
  });

  it('strict fails on a cached version that has expired since it was fetched', async () => {
    const m = new MemoryStore('m');
    await m.storeCredential('old', 'v', { expiresAt: new Date(Date.now() + 60) });
    const cached = new CachedStore(m, { maxAge: 60 });
    expect((await cached.getCredential('old', { strict: true }))?.value).toBe('v');
    await new Promise((r) => setTimeout(r, 90));
    expect(await rejectionOf(cached.getCredential('old', { strict: true }))).toBeInstanceOf(CredentialExpiredError);
    expect((await cached.getCredential('old'))?.value).toBe('v');
    expect(m.reads).toBe(1);
  });
});
