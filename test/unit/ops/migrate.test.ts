import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateFernetKey } from '../../../src/config/init.js';
import { withAtRest } from '../../../src/core/at-rest.js';
import type { CredentialStore, ResolvedReadOptions, ResolvedWriteOptions } from '../../../src/core/store.js';
import type { CredentialValue, StoredCredential } from '../../../src/core/types.js';
import { padVersion } from '../../../src/core/version.js';
import { migrate, type MigrateProgress } from '../../../src/ops/migrate.js';
import { LocalStore } from '../../../src/stores/local/local-store.js';
import { SqlStore } from '../../../src/stores/sql/sql-store.js';
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

/**
 * A memory store that reports each version's at-rest format as a tier does after decrypting it: versions
 * written through it are in `preferred` (or in the `format` a write asked for); `seedOld` plants versions in
 * an old format, as a table writer copying legacy items would.
 */
class FormatStore extends MemoryStore {
  readonly formats = new Map<string, string>();
  constructor(label: string, readonly preferred = 'new') {
    super(label);
  }
  protected override async _get(id: string, opts: ResolvedReadOptions): Promise<StoredCredential | undefined> {
    const found = await super._get(id, opts);
    if (found === undefined) return undefined;
    const format = this.formats.get(`${id}@${found.version}`) ?? 'old';
    return withAtRest(found, { format, preferred: this.preferred });
  }
  protected override async _put(id: string, value: CredentialValue, opts: ResolvedWriteOptions): Promise<void> {
    await super._put(id, value, opts);
    this.formats.set(`${id}@${opts.version}`, opts.format ?? this.preferred);
  }
  seedOld(id: string, version: number, value: CredentialValue, comment?: string): void {
    const versions = this.items.get(id) ?? new Map();
    versions.set(padVersion(version), { value, context: {}, ...(comment === undefined ? {} : { comment }) });
    this.items.set(id, versions);
    this.formats.delete(`${id}@${version}`);
  }
}

async function seededOld(): Promise<FormatStore> {
  const s = new FormatStore('src');
  s.seedOld('app.db', 1, 'v1', 'first');
  s.seedOld('app.db', 2, 'v2');
  s.seedOld('app.db', 3, 'v3', 'third');
  s.seedOld('app.api', 5, { key: CANARY });
  return s;
}

describe('migrate (reencrypt in place)', () => {
  it('writes each newest version in an old format again as a new version with a note, once', async () => {
    const s = await seededOld();
    const first = await migrate(s, s, { reencrypt: true });
    expect(first.copied.map((c) => [c.id, c.version, c.to])).toEqual([['app.api', '5', '6'], ['app.db', '3', '4']]);
    expect(await s.getCredential('app.db', { required: true })).toMatchObject({ version: '4', value: 'v3', comment: 'third [re-encrypted from version 3]' });
    expect(await s.getCredential('app.api', { required: true })).toMatchObject({ version: '6', value: { key: CANARY }, comment: '[re-encrypted from version 5]' });
    const second = await migrate(s, s, { reencrypt: true });
    expect(second.copied).toEqual([]);
    expect(second.present.map((p) => `${p.id}@${p.version}`)).toEqual(['app.api@6', 'app.db@4']);
  });

  it('decides what is done from the format decryption established, never from the comment', async () => {
    const s = new FormatStore('src');
    // A table writer keeps an item in the old format by giving it the note a re-encrypted version carries.
    s.seedOld('planted', 2, 'still-old', 'x [re-encrypted from version 1]');
    // A version already in the preferred format, written without any note, needs nothing.
    await s.storeCredential('fresh', 'new-format', { version: 1 });
    const report = await migrate(s, s, { reencrypt: true });
    expect(report.copied.map((c) => `${c.id}@${c.version}->${c.to}`)).toEqual(['planted@2->3']);
    expect(report.present.map((p) => `${p.id}@${p.version}`)).toEqual(['fresh@1']);
    expect((await s.getCredential('planted', { required: true })).atRest).toEqual({ format: 'new', preferred: 'new' });
  });

  it('re-encrypts again when someone wrote a newer version in an old format after the last run', async () => {
    const s = await seededOld();
    await migrate(s, s, { reencrypt: true });
    s.seedOld('app.db', 5, 'v5');
    const again = await migrate(s, s, { reencrypt: true });
    expect(again.copied.map((c) => `${c.id}@${c.version}->${c.to}`)).toEqual(['app.db@5->6']);
  });

  it('with a format, compares with that format and passes it through to the store', async () => {
    const s = await seededOld();
    await s.storeCredential('app.gcm', 'g', { version: 1, format: 'aes-gcm' });
    const formats: Array<string | undefined> = [];
    const orig = s.storeCredential.bind(s);
    s.storeCredential = async (id, value, opts) => {
      formats.push(opts?.format);
      return orig(id, value, opts);
    };
    const report = await migrate(s, s, { reencrypt: true, format: 'aes-gcm' });
    expect(formats).toEqual(['aes-gcm', 'aes-gcm']);
    expect(report.present.map((p) => p.id)).toEqual(['app.gcm']);
  });

  it('refuses a store that does not report how its versions are encrypted, writing nothing', async () => {
    const s = await seeded();
    const before = versions(s);
    const err = await rejectionOf(migrate(s, s, { reencrypt: true }));
    expect(err.message).toBe('memory store "src" does not support --reencrypt: it does not report how each version is encrypted, so which ones are done cannot be told (dynamodb, local and sql do)');
    expect(versions(s)).toEqual(before);
  });
});

describe('migrate (copy) with a format', () => {
  it('reports a destination version that exists in another format instead of counting it as done', async () => {
    const from = await seeded();
    const to = new FormatStore('dst', 'aes-gcm');
    // Someone put the same value there in the old format (e.g. a copied legacy item).
    to.seedOld('app.db', 3, 'v3');
    const report = await migrate(from, to, { format: 'aes-gcm' });
    expect(report.failed.map((f) => [f.id, f.reason])).toEqual([
      ['app.db', 'credential "app.db" version 3 already exists in memory store "dst" in the old format, not aes-gcm; it was left as it is'],
    ]);
    expect(report.copied.map((c) => c.id)).toEqual(['app.api']);
    // Without a format asked for, the same value there is simply present.
    const plain = await migrate(from, to);
    expect(plain.present.map((p) => p.id)).toEqual(['app.api', 'app.db']);
  });
});

describe('migrate (reencrypt) on the Fernet tiers', () => {
  const tiers: Array<[string, (dir: string, keys: string[]) => CredentialStore]> = [
    ['local keystore', (dir, keys) => new LocalStore({ path: join(dir, 'ks.json'), fernetKeys: keys })],
    ['SQLite', (dir, keys) => new SqlStore({ engine: { name: 'sqlite', path: join(dir, 'c.db') }, fernetKeys: keys })],
  ];

  it.each(tiers)('%s: re-encrypts what is under an older key, whatever its comment, once', async (_name, open) => {
    const dir = mkdtempSync(join(tmpdir(), 'credstash-mig-fernet-'));
    try {
      const oldKey = generateFernetKey();
      const before = open(dir, [oldKey]);
      await before.storeCredential('noted', CANARY, { comment: 'by hand [re-encrypted from version 1]' });
      await before.storeCredential('plain', 'p');
      await before.close();
      const s = open(dir, [generateFernetKey(), oldKey]);
      await s.storeCredential('fresh', 'f');
      const first = await migrate(s, s, { reencrypt: true });
      expect(first.copied.map((c) => `${c.id}@${c.version}->${c.to}`)).toEqual(['noted@1->2', 'plain@1->2']);
      expect(first.present.map((p) => p.id)).toEqual(['fresh']);
      expect((await s.getCredential('noted', { required: true })).atRest).toEqual({ format: 'fernet', preferred: 'fernet' });
      expect((await s.getCredential('noted', { version: 1, required: true })).atRest).toEqual({ format: 'fernet-old-key', preferred: 'fernet' });
      expect((await migrate(s, s, { reencrypt: true })).copied).toEqual([]);
      expectNoLeak(first, CANARY);
      await s.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
