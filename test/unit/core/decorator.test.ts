/**
 * One rule for the tier extras (setup, key rotation): every decorator over one store (cache, audit, and the
 * two stacked either way) offers exactly the extras the store under it offers, and calls them with the same
 * arguments and answer; a chain offers setup when a member can be set up (setting up every such member, in
 * order, naming each), and no key rotation (each member has its own keys).
 */
import { describe, expect, it } from 'vitest';
import { withAudit, type AuditRecord } from '../../../src/audit/index.js';
import { STORE_EXTRAS } from '../../../src/core/decorator.js';
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
