import { describe, expect, it } from 'vitest';
import { padVersion } from '../../../src/core/version.js';
import { migrate, type MigrateProgress } from '../../../src/ops/migrate.js';
import { MemoryStore } from '../../fixtures/memory-store.js';
import { CANARY, expectNoLeak, rejectionOf } from '../../helpers/no-leak.js';

async function seeded(): Promise<MemoryStore> {
  const s = new MemoryStore('src');
  await s.storeCredential('app.db', 'v1', { comment: 'first' });
  await s.storeCredential('app.db', 'v2', { autoVersion: true });
  await s.storeCredential('app.db', 'v3', { autoVersion: true, comment: 'third' });
  await s.storeCredential('app.api', { key: CANARY }, { version: 5 });
  return s;
}

function versions(s: MemoryStore): Array<[string, string, unknown, string | undefined]> {
  const out: Array<[string, string, unknown, string | undefined]> = [];
  for (const [id, vs] of [...s.items].sort(([a], [b]) => (a < b ? -1 : 1))) {
    for (const [v, e] of [...vs].sort(([a], [b]) => (a < b ? -1 : 1))) out.push([id, String(Number(v)), e.value, e.comment]);
  }
  return out;
}

describe('migrate (copy)', () => {
  it('copies only the newest version of each id by default, keeping its number and comment', async () => {
    const from = await seeded();
    const to = new MemoryStore('dst');
    const report = await migrate(from, to);
    expect(versions(to)).toEqual([['app.api', '5', { key: CANARY }, undefined], ['app.db', '3', 'v3', 'third']]);
    expect(report).toMatchObject({ total: 2, present: [], failed: [] });
    expect(report.copied.map((c) => [c.id, c.version, c.to])).toEqual([['app.api', '5', '5'], ['app.db', '3', '3']]);
  });

  it('copies every version with allVersions, and a second run copies nothing', async () => {
    const from = await seeded();
    const to = new MemoryStore('dst');
    const first = await migrate(from, to, { allVersions: true });
    expect(first.copied).toHaveLength(4);
    expect(versions(to)).toEqual(versions(from));
    const second = await migrate(from, to, { allVersions: true });
    expect(second.copied).toEqual([]);
    expect(second.present.map((p) => `${p.id}@${p.version}`)).toEqual(['app.api@5', 'app.db@1', 'app.db@2', 'app.db@3']);
    expect(versions(to)).toEqual(versions(from));
  });

  it('resumes an interrupted run: what was copied is recognised, the rest is copied', async () => {
    const from = await seeded();
    const to = new MemoryStore('dst');
    await to.storeCredential('app.db', 'v1', { version: 1, comment: 'first' }); // as a crashed run left it
    const report = await migrate(from, to, { allVersions: true });
    expect(report.present.map((p) => `${p.id}@${p.version}`)).toEqual(['app.db@1']);
    expect(report.copied.map((p) => `${p.id}@${p.version}`)).toEqual(['app.api@5', 'app.db@2', 'app.db@3']);
  });

  it('never overwrites a different value already at that version, and reports it without the value', async () => {
    const from = await seeded();
    const to = new MemoryStore('dst');
    await to.storeCredential('app.api', { key: 'something else' }, { version: 5 });
    const report = await migrate(from, to);
    expect(report.failed).toEqual([{
      id: 'app.api', version: '5', code: 'ERR_INVALID_INPUT',
      reason: 'credential "app.api" version 5 already exists in memory store "dst" with a different value; it was left as it is',
    }]);
    expect((await to.getCredential('app.api', { required: true })).value).toEqual({ key: 'something else' });
    expectNoLeak(report, CANARY);
  });

  it('reads and writes with the given context; items under another context are reported, not guessed', async () => {
    const from = new MemoryStore('src');
    await from.storeCredential('p', CANARY, { context: { env: 'prod' } });
    await from.storeCredential('d', 'dev', { context: { env: 'dev' } });
    const to = new MemoryStore('dst');
    const report = await migrate(from, to, { context: { env: 'prod' } });
    expect(report.copied.map((c) => c.id)).toEqual(['p']);
    expect(report.failed.map((f) => [f.id, f.code])).toEqual([['d', 'ERR_ENCRYPTION_CONTEXT_MISMATCH']]);
    expect((await to.getCredential('p', { context: { env: 'prod' }, required: true })).value).toBe(CANARY);
    expectNoLeak(report, CANARY);
  });

  it('reports a non-integer legacy version instead of renumbering it', async () => {
    const from = new MemoryStore('src');
    from.items.set('old', new Map([[padVersion('v5'), { value: 'x', context: {} }]]));
    const report = await migrate(from, new MemoryStore('dst'));
    expect(report.failed).toEqual([{ id: 'old', version: 'v5', code: 'ERR_INVALID_INPUT', reason: 'credential "old" version v5 is not a positive integer and cannot keep its number in memory store "dst"' }]);
  });

  it('reports progress once per version, with the running count', async () => {
    const seen: MigrateProgress[] = [];
    await migrate(await seeded(), new MemoryStore('dst'), { allVersions: true, concurrency: 1, onProgress: (p) => seen.push(p) });
    expect(seen.map((p) => [p.done, p.total, `${p.id}@${p.version}`, p.outcome])).toEqual([
      [1, 4, 'app.api@5', 'copied'], [2, 4, 'app.db@1', 'copied'], [3, 4, 'app.db@2', 'copied'], [4, 4, 'app.db@3', 'copied'],
    ]);
  });

  it('filters by pattern', async () => {
    const report = await migrate(await seeded(), new MemoryStore('dst'), { pattern: 'app.d*' });
    expect(report.copied.map((c) => c.id)).toEqual(['app.db']);
  });

  it('refuses the same store without reencrypt, and reencrypt with allVersions', async () => {
    const s = await seeded();
    expect((await rejectionOf(migrate(s, s))).message).toBe('source and destination are the same store; use --reencrypt to re-encrypt in place');
    expect((await rejectionOf(migrate(s, s, { reencrypt: true, allVersions: true }))).code).toBe('ERR_INVALID_INPUT');
  });
});

describe('migrate (reencrypt in place)', () => {
  it('writes the newest version again as a new version with a marker, once', async () => {
    const s = await seeded();
    const first = await migrate(s, s, { reencrypt: true });
    expect(first.copied.map((c) => [c.id, c.version, c.to])).toEqual([['app.api', '5', '6'], ['app.db', '3', '4']]);
    expect(await s.getCredential('app.db', { required: true })).toMatchObject({ version: '4', value: 'v3', comment: 'third [re-encrypted from version 3]' });
    expect(await s.getCredential('app.api', { required: true })).toMatchObject({ version: '6', value: { key: CANARY }, comment: '[re-encrypted from version 5]' });
    const second = await migrate(s, s, { reencrypt: true });
    expect(second.copied).toEqual([]);
    expect(second.present.map((p) => `${p.id}@${p.version}`)).toEqual(['app.api@6', 'app.db@4']);
  });

  it('re-encrypts again when someone wrote a newer version after the last run', async () => {
    const s = await seeded();
    await migrate(s, s, { reencrypt: true });
    await s.storeCredential('app.db', 'v5', { autoVersion: true });
    const again = await migrate(s, s, { reencrypt: true });
    expect(again.copied.map((c) => `${c.id}@${c.version}->${c.to}`)).toEqual(['app.db@5->6']);
  });

  it('passes the write format through to the store', async () => {
    const s = await seeded();
    const formats: Array<string | undefined> = [];
    const orig = s.storeCredential.bind(s);
    s.storeCredential = async (id, value, opts) => {
      formats.push(opts?.format);
      return orig(id, value, opts);
    };
    await migrate(s, s, { reencrypt: true, format: 'aes-gcm' });
    expect(formats).toEqual(['aes-gcm', 'aes-gcm']);
  });
});
