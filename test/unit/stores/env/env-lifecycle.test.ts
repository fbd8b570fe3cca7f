/**
 * The env tier holds no lifecycle: labels, labelled reads, history, rollback, expiry on writes and sealed state
 * are each an UnsupportedOperationError naming the store; the listings of labels and expiries are empty.
 */
import { describe, expect, it } from 'vitest';
import { EnvStore } from '../../../../src/stores/env/index.js';
import { runNoLabelsContract } from '../../../contract/lifecycle.contract.js';
import { CANARY, expectNoLeak, rejectionOf } from '../../../helpers/no-leak.js';

const env = { CREDSTASH_CREDENTIAL_DB: CANARY };

runNoLabelsContract('env', async () => new EnvStore({ env }));

describe('EnvStore lifecycle', () => {
  it('claims no labels, history or expiry', () => {
    expect(new EnvStore({ env }).capabilities).toMatchObject({ labels: false, history: false, expiry: false });
  });

  it('every lifecycle operation is an UnsupportedOperationError naming the store, with nothing of the value', async () => {
    const store = new EnvStore({ env });
    const attempts: Array<[string, Promise<unknown>]> = [
      ['label', store.labelCredential('db', 'current', { version: 1 })],
      ['unlabel', store.unlabelCredential('db', 'current')],
      ['get --label', store.getCredential('db', { label: 'current' })],
      ['history', store.credentialHistory('db')],
      ['rollback', store.rollbackCredential('db', { to: 1 })],
      ['rollback with labels', store.rollbackCredential('db', { to: 1, labels: ['current'] })],
      ['put --expires', store.storeCredential('db', 'x', { expiresAt: '30d' })],
      ['readState', store.readState('db', 'rotation')],
      ['writeState', store.writeState('db', 'rotation', Buffer.from('x'))],
    ];
    for (const [what, p] of attempts) {
      const err = await rejectionOf(p);
      expect(err, what).toMatchObject({ code: 'ERR_UNSUPPORTED_OPERATION' });
      expect(err.message, what).toContain('environment variables CREDSTASH_CREDENTIAL_*');
      expectNoLeak(err, CANARY);
    }
    expect(await store.listLabels()).toEqual([]);
    expect(await store.expiringCredentials({ withinMs: 365 * 86_400_000 })).toEqual([]);
    // The credential itself still reads.
    expect((await store.getCredential('db', { required: true })).value).toBe(CANARY);
  });
});
