import { describe, expect, it } from 'vitest';
import type { ResolvedReadOptions } from '../../../src/core/store.js';
import type { StoredCredential } from '../../../src/core/types.js';
import { runStoreContract } from '../../contract/credential-store.contract.js';
import { MemoryStore } from '../../fixtures/memory-store.js';
import { rejectionOf } from '../../helpers/no-leak.js';

// The contract against the in-memory store checks BaseStore's generic half (validation, autoversion loop,
// required, listing, getAll) independently of any backend.
runStoreContract('memory (BaseStore)', async () => new MemoryStore(), { context: true, maxValueBytes: 64 * 1024 });

// A tier that cannot bind a context and whose read ignores it: BaseStore must refuse the context before the
// tier is asked, on every read and write, so that no tier can forget the rule.
class ForgetfulStore extends MemoryStore {
  override readonly capabilities = { write: true, delete: true, context: false, versions: true };
  protected override async _get(id: string, opts: ResolvedReadOptions): Promise<StoredCredential | undefined> {
    return super._get(id, { ...opts, context: {} });
  }
}

describe('BaseStore refuses a context on a store that cannot bind one', () => {
  it('on get, get -v, getall and every write, before the tier is called', async () => {
    const store = new ForgetfulStore();
    await store.storeCredential('x', 'v');
    store.reads = 0;
    const context = { env: 'prod' };
    for (const p of [
      store.getCredential('x', { context }),
      store.getCredential('x', { version: 1, context }),
      store.getAllCredentials({ context }),
      store.getAllCredentials({ context, skipErrors: true }),
      store.storeCredential('x', 'w', { context }),
      store.storeCredential('x', 'w', { autoVersion: true, context }),
    ]) {
      expect(await rejectionOf(p)).toMatchObject({ code: 'ERR_UNSUPPORTED_OPERATION', message: 'memory store "memory" does not support encryption context' });
    }
    expect(store.reads).toBe(0);
    expect((await store.listCredentials()).map((s) => s.version)).toEqual(['1']);
    // An empty context is no context; a malformed one is still a ValidationError.
    expect((await store.getCredential('x', { context: {} }))?.value).toBe('v');
    expect(await rejectionOf(store.getCredential('x', { context: { k: '' } }))).toMatchObject({ code: 'ERR_INVALID_INPUT' });
  });
});
