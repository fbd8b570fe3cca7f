import { describe, expect, it } from 'vitest';
import { prune } from '../../../src/ops/prune.js';
import { MemoryStore } from '../../fixtures/memory-store.js';
import { rejectionOf } from '../../helpers/no-leak.js';

async function withVersions(n: number): Promise<MemoryStore> {
  const s = new MemoryStore();
  for (let i = 1; i <= n; i++) await s.storeCredential('a', `v${i}`, { version: i === 10 ? 10 : i });
  await s.storeCredential('ab', 'other');
  return s;
}

describe('prune', () => {
  it('deletes all but the newest N, ordering versions numerically', async () => {
    const s = await withVersions(11);
    const r = await prune(s, 'a', 2);
    expect(r).toEqual({ id: 'a', kept: ['10', '11'], deleted: ['1', '2', '3', '4', '5', '6', '7', '8', '9'] });
    expect((await s.listCredentials()).map((x) => `${x.id}@${x.version}`)).toEqual(['a@10', 'a@11', 'ab@1']);
  });

  it('keeps everything when there are no more than N versions', async () => {
    const s = await withVersions(2);
    expect(await prune(s, 'a', 5)).toEqual({ id: 'a', kept: ['1', '2'], deleted: [] });
  });

  it('dry run deletes nothing', async () => {
    const s = await withVersions(3);
    expect((await prune(s, 'a', 1, { dryRun: true })).deleted).toEqual(['1', '2']);
    expect(await s.listCredentials({ pattern: 'a' })).toHaveLength(3);
  });

  it('refuses --keep 0 (the newest is never deleted) and an unknown id', async () => {
    const s = await withVersions(2);
    expect((await rejectionOf(prune(s, 'a', 0))).message).toBe('--keep must be a positive integer (the newest version is never deleted)');
    expect((await rejectionOf(prune(s, 'a', 1.5))).code).toBe('ERR_INVALID_INPUT');
    expect((await rejectionOf(prune(s, 'nope', 1))).message).toBe('credential "nope" not found in memory store "memory"');
  });
});
