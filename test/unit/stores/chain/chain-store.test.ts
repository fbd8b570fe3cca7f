import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessDeniedError, type PartialResultError } from '../../../../src/core/errors.js';
import type { ResolvedReadOptions } from '../../../../src/core/store.js';
import type { StoredCredential } from '../../../../src/core/types.js';
import { ChainStore } from '../../../../src/stores/chain/index.js';
import { chainSpecs } from '../../../../src/stores/chain/index.js';
import { EnvStore } from '../../../../src/stores/env/index.js';
import { openStore, registerCredentialStore, unregisterCredentialStore } from '../../../../src/stores/registry.js';
import { MemoryStore } from '../../../fixtures/memory-store.js';
import { runReadOnlyStoreContract, runStoreContract } from '../../../contract/credential-store.contract.js';
import { CANARY, expectNoLeak, rejectionOf } from '../../../helpers/no-leak.js';

// A chain whose first member is writable passes the whole contract (writes land there, reads fall through
// an empty env member); a chain of read-only members passes the read-only contract.
runStoreContract('chain (memory, then env)', async () => new ChainStore([{ name: 'primary', store: new MemoryStore('primary') }, new EnvStore({ env: {} })]), {
  context: true,
  maxValueBytes: 64 * 1024,
});
runReadOnlyStoreContract('chain (env only)', async (seed) =>
  new ChainStore([new EnvStore({ env: Object.fromEntries(Object.entries(seed).map(([id, v]) => [`CREDSTASH_CREDENTIAL_${id.toUpperCase()}`, v])) })]), { context: false });

class BrokenStore extends MemoryStore {
  constructor(label: string, private readonly failWith: () => unknown) {
    super(label);
  }
  protected override async _get(id: string, opts: ResolvedReadOptions): Promise<StoredCredential | undefined> {
    void id;
    void opts;
    throw this.failWith();
  }
}

async function mem(label: string, entries: Record<string, string>): Promise<MemoryStore> {
  const s = new MemoryStore(label);
  for (const [k, v] of Object.entries(entries)) await s.storeCredential(k, v);
  s.reads = 0;
  return s;
}

describe('ChainStore.getCredential', () => {
  it('answers from the first store that has the credential; not found falls through', async () => {
    const a = await mem('a', { shared: 'from-a' });
    const b = await mem('b', { shared: 'from-b', only_b: 'b-val' });
    const chain = new ChainStore([a, { name: 'second', store: b }]);
    expect((await chain.getCredential('shared'))?.value).toBe('from-a');
    expect((await chain.getCredential('only_b'))?.value).toBe('b-val');
    expect(b.reads).toBe(1);
    expect(await chain.getCredential('nowhere')).toBeUndefined();
    const err = await rejectionOf(chain.getCredential('nowhere', { required: true }));
    expect(err).toMatchObject({ code: 'ERR_CREDENTIAL_NOT_FOUND', credentialId: 'nowhere' });
    expect(err.message).toBe('credential "nowhere" not found in chain (memory, second)');
  });

  it('stops at a failing store and names it; never falls back to a lower-priority value', async () => {
    const broken = new BrokenStore('broken', () => Object.assign(new Error(`socket hang up ${CANARY}`), { name: 'NetworkError' }));
    const b = await mem('b', { shared: CANARY });
    const chain = new ChainStore([{ name: 'primary', store: broken }, { name: 'fallback', store: b }]);
    const err = await rejectionOf(chain.getCredential('shared'));
    expect(err).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE', store: 'memory store "broken"' });
    expect(err.message).toContain('memory store "broken" failed (NetworkError)');
    expect(b.reads).toBe(0);
    expect(err.message).not.toContain(CANARY);
  });

  it('re-throws a typed error from a member unchanged (access denied stops the search)', async () => {
    const denied = new BrokenStore('denied', () => new AccessDeniedError('not allowed to read', { store: 'memory store "denied"' }));
    const b = await mem('b', { x: 'v' });
    const chain = new ChainStore([denied, b]);
    const err = await rejectionOf(chain.getCredential('x'));
    expect(err).toBeInstanceOf(AccessDeniedError);
    expect(b.reads).toBe(0);
  });

  it('wraps a non-BaseStore member failure naming the member', async () => {
    const raw = await mem('raw', {});
    const custom = Object.assign(Object.create(raw) as MemoryStore, { getCredential: async () => { throw new TypeError('boom'); } });
    const chain = new ChainStore([{ name: 'custom-one', store: custom }]);
    const err = await rejectionOf(chain.getCredential('x'));
    expect(err).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE', store: 'custom-one' });
    expect(err.message).toBe('chain store "custom-one" (memory store "raw") failed (TypeError) on credential "x"; the search stopped there');
  });

  it('skips stores that cannot bind a context when a context is given', async () => {
    const env = new EnvStore({ env: { CREDSTASH_CREDENTIAL_X: 'env-x' } });
    const m = new MemoryStore('m');
    await m.storeCredential('x', 'ctx-x', { context: { env: 'prod' } });
    const chain = new ChainStore([env, m]);
    expect((await chain.getCredential('x', { context: { env: 'prod' } }))?.value).toBe('ctx-x');
    expect((await chain.getCredential('x'))?.value).toBe('env-x');
  });

  it('passes versions through: the first store holding that version answers', async () => {
    const a = await mem('a', { v: 'a1' });
    const b = await mem('b', { v: 'b1' });
    await b.storeCredential('v', 'b2', { version: 2 });
    const chain = new ChainStore([a, b]);
    expect((await chain.getCredential('v', { version: 2 }))?.value).toBe('b2');
    expect((await chain.getCredential('v', { version: 1 }))?.value).toBe('a1');
  });
});

describe('ChainStore writes', () => {
  it('writes and deletes in the first writable store unless a store name is given', async () => {
    const env = new EnvStore({ env: {} });
    const a = new MemoryStore('a');
    const b = new MemoryStore('b');
    const chain = new ChainStore([env, { name: 'a', store: a }, { name: 'b', store: b }]);
    expect(chain.capabilities).toEqual({ write: true, delete: true, context: true, versions: true, formats: true });
    await chain.storeCredential('k', 'v1');
    expect(a.items.has('k')).toBe(true);
    await chain.storeCredential('k', 'vb', { store: 'b' });
    expect(b.items.has('k')).toBe(true);
    expect(await chain.deleteCredential('k', { store: 'b' })).toEqual({ id: 'k', deleted: ['1'] });
    expect(await chain.deleteCredential('k')).toEqual({ id: 'k', deleted: ['1'] });
    expect(await rejectionOf(chain.storeCredential('k', 'v', { store: 'env' }))).toMatchObject({ code: 'ERR_UNSUPPORTED_OPERATION' });
    expect(await rejectionOf(chain.storeCredential('k', 'v', { store: 'zzz' }))).toMatchObject({ code: 'ERR_INVALID_INPUT' });
  });

  it("passes a member's ValidationError through unchanged: a bad version or context is the caller's input, not a store failure", async () => {
    const chain = new ChainStore([{ name: 'a', store: new MemoryStore('a') }]);
    for (const p of [chain.storeCredential('k', CANARY, { version: 0 }), chain.storeCredential('k', CANARY, { context: { env: '' } }), chain.storeCredential('k*', CANARY)]) {
      const err = await rejectionOf(p);
      expect(err).toMatchObject({ name: 'ValidationError', code: 'ERR_INVALID_INPUT' });
      expect(err.message).not.toContain('chain store');
      expectNoLeak(err, CANARY);
    }
  });

  it('refuses a context with UnsupportedOperationError when no member can bind one, on get and getAll', async () => {
    const chain = new ChainStore([new EnvStore({ env: { CREDSTASH_CREDENTIAL_K: 'v' } })]);
    expect(await rejectionOf(chain.getCredential('k', { context: { env: 'prod' } }))).toMatchObject({ code: 'ERR_UNSUPPORTED_OPERATION' });
    expect(await rejectionOf(chain.getAllCredentials({ context: { env: 'prod' } }))).toMatchObject({ code: 'ERR_UNSUPPORTED_OPERATION' });
    expect((await chain.getCredential('k'))?.value).toBe('v');
  });

  it('refuses writes when no member is writable', async () => {
    const chain = new ChainStore([new EnvStore({ env: {} })]);
    const err = await rejectionOf(chain.storeCredential('k', CANARY));
    expect(err).toMatchObject({ code: 'ERR_UNSUPPORTED_OPERATION' });
    expectNoLeak(err, CANARY);
    expect(await rejectionOf(chain.deleteCredential('k'))).toMatchObject({ code: 'ERR_UNSUPPORTED_OPERATION' });
  });

  it('rejects an empty chain and duplicate names', () => {
    expect(() => new ChainStore([])).toThrow(/at least one store/);
    expect(() => new ChainStore([{ name: 'x', store: new MemoryStore() }, { name: 'x', store: new MemoryStore() }])).toThrow(/used twice/);
    expect(new ChainStore([new MemoryStore(), new MemoryStore()]).members.map((m) => m.name)).toEqual(['memory', 'memory#2']);
  });
});

describe('ChainStore list, exists, getAll', () => {
  it('merges listings with the first store winning per id', async () => {
    const a = await mem('a', { shared: 'a', only_a: 'x' });
    const b = await mem('b', { shared: 'b', only_b: 'y' });
    await b.storeCredential('shared', 'b2', { version: 2 });
    const chain = new ChainStore([a, b]);
    expect((await chain.listCredentials()).map((s) => `${s.id}@${s.version}`)).toEqual(['only_a@1', 'only_b@1', 'shared@1']);
    expect(await chain.credentialExists('only_b')).toBe(true);
    expect(await chain.credentialExists('none')).toBe(false);
    const all = await chain.getAllCredentials();
    expect(all.credentials.map((c) => [c.id, c.value])).toEqual([['only_a', 'x'], ['only_b', 'y'], ['shared', 'a']]);
  });

  it('getAll -v N: an id without version N in one store falls through to the next; one found nowhere is a failure naming it', async () => {
    const a = await mem('a', { x: 'a1', y: 'y1' });
    const b = await mem('b', { x: 'b1' });
    await b.storeCredential('x', 'b2', { version: 2 });
    const chain = new ChainStore([a, b]);
    const err = await rejectionOf(chain.getAllCredentials({ version: 2 }));
    expect(err).toMatchObject({ code: 'ERR_PARTIAL_RESULT' });
    expect((err as unknown as PartialResultError).failures.map((f) => [f.credentialId, f.code])).toEqual([['y', 'ERR_CREDENTIAL_NOT_FOUND']]);
    const some = await chain.getAllCredentials({ version: 2, skipErrors: true });
    expect(some.credentials.map((c) => [c.id, c.value])).toEqual([['x', 'b2']]);
    expect(some.skipped.map((s) => s.id)).toEqual(['y']);
    expect((await chain.getAllCredentials({ version: 1 })).credentials.map((c) => [c.id, c.value])).toEqual([['x', 'a1'], ['y', 'y1']]);
  });

  it('stops getAll and list at a failing store', async () => {
    const a = await mem('a', { x: 'x' });
    const bad = Object.assign(Object.create(a) as MemoryStore, { listCredentials: async () => { throw new Error('down'); }, getAllCredentials: async () => { throw new Error('down'); } });
    const chain = new ChainStore([a, { name: 'bad', store: bad }]);
    expect(await rejectionOf(chain.listCredentials())).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE', store: 'bad' });
    expect(await rejectionOf(chain.getAllCredentials())).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE', store: 'bad' });
  });
});

describe('chain from config', () => {
  beforeAll(() => {
    registerCredentialStore('chaintest-mem', (config) => {
      const s = new MemoryStore(String(config.label ?? 'm'));
      void s.storeCredential('who', String(config.label ?? 'm'));
      return s;
    });
  });
  afterAll(() => {
    unregisterCredentialStore('chaintest-mem');
  });

  it('opens members through ctx.openStore in order', async () => {
    const chain = (await openStore(
      { type: 'chain', config: { stores: [{ type: 'env', name: 'env' }, { type: 'chaintest-mem', name: 'one', config: { label: 'one' } }, { type: 'chaintest-mem', config: { label: 'two' } }] } },
      { env: { CREDSTASH_CREDENTIAL_E: 'from-env' } },
    )) as ChainStore;
    expect(chain.members.map((m) => m.name)).toEqual(['env', 'one', 'chaintest-mem#3']);
    expect((await chain.getCredential('who'))?.value).toBe('one');
    expect((await chain.getCredential('e'))?.value).toBe('from-env');
  });

  it('builds the airflow preset: backend, then database, then env', () => {
    expect(chainSpecs({ preset: 'airflow', backend: { type: 'vault', config: { address: 'http://v' } }, database: { type: 'sql', config: { table: 't' } }, env: { prefix: 'P_' } })).toEqual([
      { type: 'vault', name: 'backend', config: { address: 'http://v' } },
      { type: 'sql', name: 'database', config: { table: 't' } },
      { type: 'env', name: 'env', config: { prefix: 'P_' } },
    ]);
    expect(chainSpecs({ preset: 'airflow' })).toEqual([{ type: 'sql', name: 'database' }, { type: 'env', name: 'env', config: {} }]);
  });

  it('rejects bad chain configs with ConfigError naming the key', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{}, 'credential_store.config.stores'],
      [{ stores: [] }, 'credential_store.config.stores'],
      [{ stores: [{ name: 'x' }] }, 'credential_store.config.stores[0].type'],
      [{ stores: [{ type: 'env', cfg: {} }] }, 'credential_store.config.stores[0].cfg'],
      [{ stores: [{ type: 'env', name: 'a' }, { type: 'env', name: 'a' }] }, 'credential_store.config.stores[1].name'],
      [{ preset: 'spring' }, 'credential_store.config.preset'],
      [{ preset: 'airflow', stores: [] }, 'credential_store.config.stores'],
      [{ preset: 'airflow', extra: 1 }, 'credential_store.config.extra'],
      [{ stores: [{ type: 'env' }], extra: 1 }, 'credential_store.config.extra'],
    ];
    for (const [config, path] of cases) {
      expect(await rejectionOf(openStore({ type: 'chain', config })), JSON.stringify(config)).toMatchObject({ code: 'ERR_CONFIG', path });
    }
    expect(await rejectionOf(openStore({ type: 'chain', config: { stores: [{ type: 'env' }, { type: 'no-such-type' }] } }))).toMatchObject({ code: 'ERR_CONFIG' });
  });
});
