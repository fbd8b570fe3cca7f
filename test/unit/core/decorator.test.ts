/**
 * One rule for the tier extras (setup, key rotation): every decorator over one store (cache, audit, and the
 * two stacked either way) offers exactly the extras the store under it offers, and calls them with the same
 * arguments and answer; a chain offers setup when a member can be set up (setting up every such member, in
 * order, naming each), and no key rotation (each member has its own keys).
 */
import { describe, expect, it } from 'vitest';
import { withAudit, type AuditRecord } from '../../../src/audit/index.js';
import { STORE_EXTRAS, StoreDecorator } from '../../../src/core/decorator.js';
import { isSetupCapable, type CredentialStore } from '../../../src/core/store.js';
import type { SetupOptions } from '../../../src/core/types.js';
import { withCache } from '../../../src/stores/cache/index.js';
import { ChainStore } from '../../../src/stores/chain/index.js';
import { EnvStore } from '../../../src/stores/env/index.js';
import { isKeyRotationCapable } from '../../../src/stores/fernet-rotation.js';
import { MemoryStore } from '../../fixtures/memory-store.js';
import { rejectionOf } from '../../helpers/no-leak.js';

/** A memory store with the extras asked for; each records its calls and answers with what it was given. */
function storeWith(extras: ReadonlyArray<'setup' | 'reencryptAll'>, label = 'm'): MemoryStore & { calls: Array<[string, unknown]> } {
  const s = Object.assign(new MemoryStore(label), { calls: [] as Array<[string, unknown]> });
  if (extras.includes('setup')) {
    Object.assign(s, { setup: async (o?: SetupOptions) => (s.calls.push(['setup', o]), { created: true, message: `made ${label}` }) });
  }
  if (extras.includes('reencryptAll')) {
    Object.assign(s, { reencryptAll: async (o?: unknown) => (s.calls.push(['reencryptAll', o]), { reencrypted: 2, alreadyCurrent: 1, message: 'done' }) });
  }
  return s;
}

const decorators: Array<[string, (s: CredentialStore) => CredentialStore]> = [
  ['withCache', (s) => withCache(s, { maxAge: 5 })],
  ['withAudit', (s) => withAudit(s, () => undefined)],
  ['withAudit(withCache)', (s) => withAudit(withCache(s, { maxAge: 5 }), () => undefined)],
  ['withCache(withAudit)', (s) => withCache(withAudit(s, () => undefined), { maxAge: 5 })],
];

/**
 * A store that answers every CredentialStore method and every extra of STORE_EXTRAS with an answer of its own
 * (well-formed, so that the audit log can describe it) and records each call with its arguments.
 */
function recordingStore(): { store: CredentialStore; calls: Array<[string, unknown[]]>; answers: Record<string, unknown> } {
  const calls: Array<[string, unknown[]]> = [];
  const answers: Record<string, unknown> = {
    getCredential: { id: 'a.b', version: '7', value: 'v' },
    storeCredential: { id: 'a.b', version: 7 },
    deleteCredential: { id: 'a.b', deleted: ['7'] },
    listCredentials: [{ id: 'a.b', version: '7' }],
    credentialExists: true,
    getAllCredentials: { credentials: [{ id: 'a.b', version: '7', value: 'v' }], skipped: [] },
    close: undefined,
  };
  for (const extra of STORE_EXTRAS) answers[extra.method] = { reencrypted: 1, alreadyCurrent: 0, message: `answer of ${extra.method}` };
  const store: Record<string, unknown> = { kind: 'rec', description: 'recording store', capabilities: { write: true, delete: true, context: true, versions: true, formats: false } };
  for (const method of Object.keys(answers)) {
    store[method] = async (...args: unknown[]) => {
      calls.push([method, args]);
      return answers[method];
    };
  }
  return { store: store as unknown as CredentialStore, calls, answers };
}

/** The CredentialStore methods StoreDecorator forwards by default, read from the class itself. */
const STORE_METHODS = Object.getOwnPropertyNames(StoreDecorator.prototype).filter(
  (k) => k !== 'constructor' && typeof Object.getOwnPropertyDescriptor(StoreDecorator.prototype, k)?.value === 'function' && k !== 'decorateExtra',
);

/** Arguments for each method: an id the audit log accepts and options every decorator passes on. */
const ARGS: Record<string, unknown[]> = {
  getCredential: ['a.b', { version: 7 }],
  storeCredential: ['a.b', 'v', { version: 7 }],
  deleteCredential: ['a.b', { version: 7 }],
  listCredentials: [{ pattern: 'a.*' }],
  credentialExists: ['a.b', { version: 7 }],
  getAllCredentials: [{ pattern: 'a.*' }],
  close: [],
};

describe('every decorator forwards every method', () => {
  it('StoreDecorator forwards the CredentialStore methods', () => {
    expect(STORE_METHODS.sort()).toEqual(['close', 'credentialExists', 'deleteCredential', 'getAllCredentials', 'getCredential', 'listCredentials', 'storeCredential']);
  });

  for (const [name, wrap] of decorators) {
    it(`${name}: each CredentialStore method and each extra reaches the store under it once, with its arguments, and returns its answer`, async () => {
      for (const method of [...STORE_METHODS, ...STORE_EXTRAS.map((e) => e.method)]) {
        const { store, calls, answers } = recordingStore();
        const d = wrap(store) as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
        const args = ARGS[method] ?? [{ option: method }];
        expect(typeof d[method], `${name}.${method}`).toBe('function');
        const answer = await d[method]?.(...args);
        expect(calls.map(([m]) => m), `${name}.${method}`).toEqual([method]);
        expect(calls[0]?.[1], `${name}.${method}`).toEqual(args);
        expect(answer, `${name}.${method}`).toEqual(answers[method]);
      }
    });
  }
});

describe('tier extras through decorators', () => {
  it('the table names setup, key rotation and the lifecycle operations', () => {
    expect(STORE_EXTRAS.map((e) => e.method)).toEqual([
      'setup',
      'reencryptAll',
      'labelCredential',
      'unlabelCredential',
      'rollbackCredential',
      'writeState',
      'readState',
      'listLabels',
      'credentialHistory',
      'expiringCredentials',
    ]);
  });

  for (const [name, wrap] of decorators) {
    it(`${name} offers exactly the extras of the store under it, with the same arguments and answer`, async () => {
      for (const extras of [[], ['setup'], ['reencryptAll'], ['setup', 'reencryptAll']] as ReadonlyArray<ReadonlyArray<'setup' | 'reencryptAll'>>) {
        const inner = storeWith(extras);
        const d = wrap(inner);
        expect(isSetupCapable(d), `${name} ${extras.join()}`).toBe(isSetupCapable(inner));
        expect(isKeyRotationCapable(d), `${name} ${extras.join()}`).toBe(isKeyRotationCapable(inner));
        for (const extra of STORE_EXTRAS) expect(typeof (d as unknown as Record<string, unknown>)[extra.method]).toBe(typeof (inner as unknown as Record<string, unknown>)[extra.method]);
        if (isSetupCapable(d)) expect(await d.setup({ billing: 'on-demand' })).toEqual({ created: true, message: 'made m' });
        if (isKeyRotationCapable(d)) expect(await d.reencryptAll({ keys: ['k'] })).toMatchObject({ reencrypted: 2, alreadyCurrent: 1 });
        expect(inner.calls).toEqual([
          ...(extras.includes('setup') ? [['setup', { billing: 'on-demand' }]] : []),
          ...(extras.includes('reencryptAll') ? [['reencryptAll', { keys: ['k'] }]] : []),
        ]);
      }
    });
  }

  it('the cache drops its entries after a key rotation; the audit log records it as a write and setup not at all', async () => {
    const inner = storeWith(['setup', 'reencryptAll']);
    await inner.storeCredential('a', 'one');
    const records: AuditRecord[] = [];
    const cached = withCache(withAudit(inner, (r) => void records.push(r)), { maxAge: 60 });
    await cached.getCredential('a');
    await cached.getCredential('a');
    expect(records.filter((r) => r.action === 'get')).toHaveLength(1);
    if (!isKeyRotationCapable(cached) || !isSetupCapable(cached)) throw new Error('extras missing');
    await cached.setup();
    await cached.reencryptAll({ keys: ['k'] });
    await cached.getCredential('a');
    expect(records.map((r) => `${r.action}:${r.outcome}`)).toEqual(['get:ok', 'reencrypt:started', 'reencrypt:ok', 'get:ok']);
    expect(records.find((r) => r.action === 'reencrypt' && r.outcome === 'ok')?.count).toBe(3);
  });

  it('a chain sets up every member that can be set up, in order, naming each, and says which need none', async () => {
    const first = storeWith(['setup'], 'first');
    const env = new EnvStore({ env: {} });
    const third = storeWith(['setup', 'reencryptAll'], 'third');
    const chain = new ChainStore([{ name: 'primary', store: first }, { name: 'env', store: env }, { name: 'extra', store: third }]);
    expect(isSetupCapable(chain)).toBe(true);
    expect(isKeyRotationCapable(chain)).toBe(false);
    if (!isSetupCapable(chain)) return;
    expect(await chain.setup({ billing: 'provisioned', readCapacity: 1, writeCapacity: 1 })).toEqual({
      created: true,
      message: ['chain store "primary": made first', `chain store "env": ${env.description} needs no setup`, 'chain store "extra": made third'].join('\n'),
    });
    expect(first.calls).toEqual([['setup', { billing: 'provisioned', readCapacity: 1, writeCapacity: 1 }]]);
    expect(third.calls).toEqual([['setup', { billing: 'provisioned', readCapacity: 1, writeCapacity: 1 }]]);
    // The same through the decorators over the chain.
    expect(isSetupCapable(withCache(chain))).toBe(true);
    expect(isSetupCapable(withAudit(chain, () => undefined))).toBe(true);
  });

  it('a chain whose first member is set up by setup (e.g. DynamoDB) sets it up; a failing member stops there, named', async () => {
    const table = storeWith(['setup'], 'table');
    const chain = new ChainStore([{ name: 'aws', store: table }, new EnvStore({ env: {} })]);
    expect(isSetupCapable(chain) && (await chain.setup()).message.split('\n')[0]).toBe('chain store "aws": made table');
    const broken = Object.assign(new MemoryStore('b'), { setup: async () => { throw new Error('boom'); } });
    const after = storeWith(['setup'], 'after');
    const failing = new ChainStore([{ name: 'bad', store: broken }, { name: 'after', store: after }]);
    const err = await rejectionOf(isSetupCapable(failing) ? failing.setup() : Promise.resolve());
    expect(err).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE', message: expect.stringContaining('chain store "bad"') });
    expect(after.calls).toEqual([]);
  });

  it('a chain of members without setup offers none', () => {
    expect(isSetupCapable(new ChainStore([new MemoryStore('a'), new EnvStore({ env: {} })]))).toBe(false);
  });
});
