/**
 * The lifecycle operations through an audited store: a label move, an unlabel, a rollback and a state write are
 * recorded as writes (started, then the outcome), a labelled get names its label, history and a state read
 * are recorded as reads; no record holds a value or sealed state.
 */
import { describe, expect, it } from 'vitest';
import { withAudit, type AuditRecord } from '../../../src/audit/index.js';
import type { LifecycleCapable } from '../../../src/core/store.js';
import { MemoryStore } from '../../fixtures/memory-store.js';
import { CANARY, rejectionOf } from '../../helpers/no-leak.js';

describe('audited lifecycle operations', () => {
  it('records label, unlabel, rollback, history and state with ids, labels and versions only', async () => {
    const records: AuditRecord[] = [];
    const store = withAudit(new MemoryStore('a'), (r) => void records.push(r), { user: 'alice' }) as ReturnType<typeof withAudit> & LifecycleCapable;
    await store.storeCredential('app.db', CANARY);
    await store.storeCredential('app.db', `${CANARY}-2`, { autoVersion: true });
    records.length = 0;
    await store.labelCredential('app.db', 'current', { version: 2 });
    await store.getCredential('app.db', { label: 'current', required: true });
    await store.credentialHistory('app.db');
    await store.rollbackCredential('app.db', { to: 1, labels: ['current'] });
    await store.unlabelCredential('app.db', 'current');
    await store.writeState('app.db', 'rotation', Buffer.from(`pending ${CANARY}`), {});
    await store.readState('app.db', 'rotation');
    await rejectionOf(store.labelCredential('app.db', 'current', { version: 9 }));
    const rows = records.map((r) => [r.action, r.outcome, r.id, r.label, r.version, r.from, r.key, r.count].filter((x) => x !== undefined));
    expect(rows).toEqual([
      ['label', 'started', 'app.db', 'current', '2'],
      ['label', 'ok', 'app.db', 'current', '2'],
      ['get', 'ok', 'app.db', 'current', '2'],
      ['history', 'ok', 'app.db', 2],
      ['rollback', 'started', 'app.db', 'current', '1'],
      // the rollback's own put and label move go through the inner store: one audited operation
      ['rollback', 'ok', 'app.db', 'current', '3', '1'],
      ['unlabel', 'started', 'app.db', 'current'],
      ['unlabel', 'ok', 'app.db', 'current', '3'],
      ['state_write', 'started', 'app.db', 'rotation'],
      ['state_write', 'ok', 'app.db', 'rotation'],
      ['state_read', 'ok', 'app.db', 'rotation'],
      ['label', 'started', 'app.db', 'current', '9'],
      ['label', 'not_found', 'app.db', 'current', '9'],
    ]);
    expect(JSON.stringify(records)).not.toContain(CANARY);
    expect(JSON.stringify(records)).not.toContain('pending');
  });
});
