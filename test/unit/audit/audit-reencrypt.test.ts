/**
 * Re-encrypting a whole Fernet store (`rotate-key`, `reencryptAll`) decrypts every stored version: through an
 * audited store it is recorded like any write, before ("started") and after (its outcome), and a store that
 * cannot rotate does not gain the method by being audited.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { withAudit, type AuditRecord } from '../../../src/audit/index.js';
import { generateFernetKey } from '../../../src/config/init.js';
import { isKeyRotationCapable } from '../../../src/stores/fernet-rotation.js';
import { LocalStore } from '../../../src/stores/local/local-store.js';
import { MemoryStore } from '../../fixtures/memory-store.js';
import { CANARY, expectNoLeak } from '../../helpers/no-leak.js';
import { runCliInProcess } from '../../helpers/cli-in-process.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'credstash-audit-reenc-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));
afterAll(() => {
  process.exitCode = 0;
});

describe('audited re-encryption', () => {
  it('records reencryptAll as a write: started, then ok with the number of versions', async () => {
    const key = generateFernetKey();
    const records: AuditRecord[] = [];
    const local = new LocalStore({ path: join(dir, 'ks.json'), fernetKeys: [key] });
    await local.storeCredential('a', CANARY);
    await local.storeCredential('a', 'two', { autoVersion: true });
    const audited = withAudit(local, (r) => void records.push(r), { user: 'u' });
    expect(isKeyRotationCapable(audited)).toBe(true);
    const result = await (audited as unknown as LocalStore).reencryptAll({ keys: [generateFernetKey(), key] });
    expect(result.reencrypted).toBe(2);
    expect(records.map((r) => [r.action, r.outcome, r.count])).toEqual([['reencrypt', 'started', undefined], ['reencrypt', 'ok', 2]]);
    expectNoLeak(records, CANARY);
    expect(isKeyRotationCapable(withAudit(new MemoryStore('m'), () => undefined))).toBe(false);
  });

  it('credstash rotate-key leaves its re-encryption in the audit log', async () => {
    const env = { HOME: dir, CREDSTASH_AUDIT_LOG: join(dir, 'audit.jsonl') };
    expect((await runCliInProcess(['init'], { cwd: dir, env })).code).toBe(0);
    expect((await runCliInProcess(['put', 'x', CANARY], { cwd: dir, env })).code).toBe(0);
    const r = await runCliInProcess(['rotate-key'], { cwd: dir, env });
    expect(r.code).toBe(0);
    const lines = readFileSync(join(dir, 'audit.jsonl'), 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as AuditRecord);
    expect(lines.filter((l) => l.action === 'reencrypt').map((l) => [l.outcome, l.count])).toEqual([['started', undefined], ['ok', 1]]);
    expectNoLeak(readFileSync(join(dir, 'audit.jsonl'), 'utf8'), CANARY);
  });
});
