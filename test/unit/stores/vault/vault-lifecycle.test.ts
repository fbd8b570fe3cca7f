/**
 * The version lifecycle on Vault KV v2, against the KV v2 fixture: labels and sealed state in a companion secret
 * written with check-and-set, history from the metadata endpoint, expiry in the version's data and in
 * custom_metadata; the requests of each operation are counted at the fixture.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VaultStore } from '../../../../src/stores/vault/index.js';
import { runLifecycleContract } from '../../../contract/lifecycle.contract.js';
import { startVaultServer, type VaultFixture } from '../../../fixtures/vault-server.js';
import { CANARY, expectNoLeak, rejectionOf } from '../../../helpers/no-leak.js';

let vault: VaultFixture;
let n = 0;
beforeAll(async () => {
  vault = await startVaultServer({ mounts: ['secret', 'whole'] });
});
afterAll(async () => {
  await vault.close();
});

function fresh(extra: Partial<ConstructorParameters<typeof VaultStore>[0]> = {}): VaultStore {
  return new VaultStore({ address: vault.address, token: vault.rootToken, prefix: `lc${++n}/`, env: {}, ...extra });
}

/** The requests since `from`, as `METHOD path?query`. */
function since(from: number): string[] {
  return vault.requests.slice(from).map((r) => `${r.method} ${r.path}${r.query}`);
}

/** Write a KV v2 secret directly, as another Vault client with write access would. */
async function writeRaw(path: string, data: Record<string, unknown>, mount = 'secret'): Promise<void> {
  const res = await fetch(`${vault.address}/v1/${mount}/data/${path}`, { method: 'POST', headers: { 'X-Vault-Token': vault.rootToken, 'Content-Type': 'application/json' }, body: JSON.stringify({ data }) });
  expect(res.status).toBe(200);
}

// No forgeLabel: Vault holds no key of this tier's, so a label target is protected by Vault policy on the
// lifecycle folder only, as docs/SECURITY.md says (the test below shows a direct write is followed).
runLifecycleContract('vault (KV v2 fixture)', async () => fresh(), { context: false, expiry: true, history: true, state: true, serverVersions: true });

describe('Vault labels: a companion secret written with check-and-set', () => {
  it('a move reads the metadata and the record, then writes the record with cas; get --label is the record plus the usual get', async () => {
    const store = fresh();
    const p = `lc${n}`;
    for (const v of ['one', 'two', 'three']) await store.storeCredential('db', v, { autoVersion: true });
    let from = vault.requests.length;
    await store.labelCredential('db', 'current', { version: 2 });
    await store.labelCredential('db', 'previous', { version: 1 });
    expect(since(from)).toEqual([
      `GET /v1/secret/metadata/${p}/db`,
      `GET /v1/secret/data/_credstash_lifecycle/${p}/db`,
      `POST /v1/secret/data/_credstash_lifecycle/${p}/db`,
      `GET /v1/secret/metadata/${p}/db`,
      `GET /v1/secret/data/_credstash_lifecycle/${p}/db`,
      `POST /v1/secret/data/_credstash_lifecycle/${p}/db`,
    ]);
    expect(vault.requests.slice(from).filter((r) => r.method === 'POST').map((r) => (r.body as { options: unknown }).options)).toEqual([{ cas: 0 }, { cas: 1 }]);
    const record = vault.secret('', 'secret', `_credstash_lifecycle/${p}/db`);
    expect(record?.current_version).toBe(2);
    expect(JSON.parse(String(record?.versions.get(2)?.data?.lifecycle))).toMatchObject({ labels: { current: { v: '0000000000000000002' }, previous: { v: '0000000000000000001' } }, state: {} });
    from = vault.requests.length;
    const got = await store.getCredential('db', { label: 'current', required: true });
    expect(got).toMatchObject({ version: '2', value: 'two', label: 'current' });
    expect(since(from)).toEqual([`GET /v1/secret/data/_credstash_lifecycle/${p}/db`, `GET /v1/secret/data/${p}/db?version=2`]);
    from = vault.requests.length;
    expect((await store.getCredential('db', { required: true })).value).toBe('three');
    expect(since(from)).toEqual([`GET /v1/secret/data/${p}/db`]);
  });

  it('a writer that read an older record revision loses the check-and-set (LabelConflictError) and changes nothing', async () => {
    const store = fresh();
    const p = `lc${n}`;
    await store.storeCredential('cas', 'a');
    await store.storeCredential('cas', 'b', { autoVersion: true });
    await store.labelCredential('cas', 'current', { version: 1 });
    // Another client moves the label between this writer's read of the record and its write.
    const other = fresh({ prefix: `${p}/` });
    const original = globalThis.fetch;
    let once = false;
    const racing: typeof fetch = async (input, init) => {
      if (!once && init?.method === 'POST' && String(input).includes('/_credstash_lifecycle/')) {
        once = true;
        await other.labelCredential('cas', 'current', { version: 2 });
      }
      return original(input, init);
    };
    const slow = fresh({ prefix: `${p}/`, fetch: racing });
    const err = await rejectionOf(slow.labelCredential('cas', 'next', { version: 1 }));
    expect(err).toMatchObject({ code: 'ERR_LABEL_CONFLICT', label: 'next' });
    expect(await store.listLabels()).toEqual([{ id: 'cas', labels: { current: expect.objectContaining({ version: '2' }) } }]);
  });

  it('8 separate stores (as 8 processes would be) move one label at once: the check-and-set lets exactly the writers of distinct revisions through', async () => {
    const p = `lc${++n}`;
    const first = new VaultStore({ address: vault.address, token: vault.rootToken, prefix: `${p}/`, env: {} });
    for (let i = 1; i <= 8; i++) await first.storeCredential('race', `v${i}`, { autoVersion: true });
    const stores = Array.from({ length: 8 }, () => new VaultStore({ address: vault.address, token: vault.rootToken, prefix: `${p}/`, env: {} }));
    const results = await Promise.allSettled(stores.map((s, i) => s.labelCredential('race', 'current', { version: i + 1 })));
    const done = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.version] : []));
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'ERR_LABEL_CONFLICT', label: 'current' });
    expect(done.length).toBeGreaterThanOrEqual(1);
    // Every successful move wrote one new revision of the record; the lost ones wrote nothing.
    expect(vault.secret('', 'secret', `_credstash_lifecycle/${p}/race`)?.current_version).toBe(done.length);
    const got = await first.getCredential('race', { label: 'current', required: true });
    expect(done).toContain(got.version);
    expect(got.value).toBe(`v${got.version}`);
  });

  it('a label target written straight into the companion secret is followed: Vault policy, not a key, protects it (docs/SECURITY.md)', async () => {
    const store = fresh();
    const p = `lc${n}`;
    await store.storeCredential('f', 'genuine');
    await store.storeCredential('f', CANARY, { autoVersion: true });
    await store.labelCredential('f', 'current', { version: 1 });
    await writeRaw(`_credstash_lifecycle/${p}/f`, { lifecycle: JSON.stringify({ labels: { current: { v: '0000000000000000002' } }, state: {} }) });
    expect((await store.getCredential('f', { label: 'current', required: true })).value).toBe(CANARY);
    // A record that is not a lifecycle document is refused as a whole, naming the credential, never quoting it.
    await writeRaw(`_credstash_lifecycle/${p}/f`, { lifecycle: `{"labels":${CANARY}` });
    const err = await rejectionOf(store.getCredential('f', { label: 'current' }));
    expect(err).toMatchObject({ code: 'ERR_INVALID_INPUT' });
    expect(err.message).toContain('"f"');
    expectNoLeak(err, CANARY);
    await writeRaw(`_credstash_lifecycle/${p}/f`, { other: 'x' });
    expect(await rejectionOf(store.getCredential('f', { label: 'current' }))).toMatchObject({ code: 'ERR_CORRUPT_STORE' });
  });

  it('a record whose newest version was deleted by hand reads as empty, and the next move writes with cas = that version', async () => {
    const store = fresh();
    const p = `lc${n}`;
    await store.storeCredential('del', 'a');
    await store.labelCredential('del', 'current', { version: 1 });
    const res = await fetch(`${vault.address}/v1/secret/data/_credstash_lifecycle/${p}/del`, { method: 'DELETE', headers: { 'X-Vault-Token': vault.rootToken } });
    expect(res.status).toBe(204);
    expect(await store.getCredential('del', { label: 'current' })).toBeUndefined();
    const from = vault.requests.length;
    await store.labelCredential('del', 'current', { version: 1 });
    expect(vault.requests.slice(from).find((r) => r.method === 'POST')?.body).toMatchObject({ options: { cas: 1 } });
    expect((await store.getCredential('del', { label: 'current', required: true })).value).toBe('a');
  });

  it('over a whole mount (no scope prefix) the lifecycle folder is never listed as credentials, and ids inside it are refused', async () => {
    const store = new VaultStore({ address: vault.address, token: vault.rootToken, mount: 'whole', env: {} });
    await store.storeCredential('app', 'v');
    await store.storeCredential('team/db', 'w');
    await store.labelCredential('app', 'current', { version: 1 });
    await store.labelCredential('team/db', 'current', { version: 1 });
    expect(vault.secret('', 'whole', '_credstash_lifecycle/app')).toBeDefined();
    const from = vault.requests.length;
    expect((await store.listCredentials()).map((s) => s.id)).toEqual(['app', 'team/db']);
    expect((await store.getAllCredentials()).credentials.map((c) => c.id)).toEqual(['app', 'team/db']);
    // The listing's walk does not even enter the lifecycle folder.
    expect(vault.requests.slice(from).some((r) => r.path.includes('_credstash_lifecycle'))).toBe(false);
    expect((await store.listLabels()).map((r) => r.id)).toEqual(['app', 'team/db']);
    const err = await rejectionOf(store.storeCredential('_credstash_lifecycle/app', 'x'));
    expect(err).toMatchObject({ code: 'ERR_INVALID_INPUT' });
    expect(err.message).toContain('lifecycle_prefix');
    expect(await rejectionOf(store.getCredential('_credstash_lifecycle/app'))).toMatchObject({ code: 'ERR_INVALID_INPUT' });
    // Another folder, set by lifecycle_prefix; a scope inside the lifecycle folder is a configuration error.
    const other = new VaultStore({ address: vault.address, token: vault.rootToken, mount: 'whole', prefix: 'x/', lifecyclePrefix: 'meta/labels/', env: {} });
    await other.storeCredential('k', 'v');
    await other.labelCredential('k', 'stable', { version: 1 });
    expect(vault.secret('', 'whole', 'meta/labels/x/k')).toBeDefined();
    expect(() => new VaultStore({ address: vault.address, token: vault.rootToken, prefix: '_credstash_lifecycle/a/', env: {} })).toThrow(/must not lie inside "lifecycle_prefix"/);
    expect(() => new VaultStore({ address: vault.address, token: vault.rootToken, lifecyclePrefix: '../x/', env: {} })).toThrow(/vault "lifecycle_prefix" must be relative folders/);
  });
});

describe('Vault history and expiry', () => {
  it('history is one metadata read: created_time, created_by, comment and expiry per live version; soft-deleted versions are left out', async () => {
    const store = fresh();
    const p = `lc${n}`;
    await store.storeCredential('h', 'a', { comment: 'first' });
    await store.storeCredential('h', 'b', { version: 2, expiresAt: '2099-01-01' });
    await store.storeCredential('h', CANARY, { version: 3 });
    await store.deleteCredential('h', { version: 2 });
    const from = vault.requests.length;
    const h = await store.credentialHistory('h');
    expect(since(from)).toEqual([`GET /v1/secret/metadata/${p}/h`, `GET /v1/secret/data/_credstash_lifecycle/${p}/h`]);
    expect(h.map((v) => v.version)).toEqual(['1', '3']);
    expect(h[0]).toMatchObject({ version: '1', comment: 'first', writtenBy: 'root', labels: [] });
    expect(h[0]?.createdAt).toBe(vault.secret('', 'secret', `${p}/h`)?.versions.get(1)?.created_time);
    expect(JSON.stringify(h)).not.toContain(CANARY);
    // A Vault that does not report created_by: no writer, the rest the same.
    const old = await startVaultServer({ createdBy: false });
    try {
      const s2 = new VaultStore({ address: old.address, token: old.rootToken, env: {} });
      await s2.storeCredential('x', 'v', { expiresAt: '2099-01-01' });
      const [v1] = await s2.credentialHistory('x');
      expect(v1?.writtenBy).toBeUndefined();
      expect(v1).toMatchObject({ version: '1', expiresAt: '2099-01-01T00:00:00.000Z' });
    } finally {
      await old.close();
    }
  });

  it('an expiry is in the version data (_credstash_expires_at) and in custom_metadata; get knows it in one request, check reads only metadata', async () => {
    const store = fresh();
    const p = `lc${n}`;
    await store.storeCredential('e', { user: 'app', password: 'pw' }, { expiresAt: '2099-03-01', comment: 'q1' });
    const secret = vault.secret('', 'secret', `${p}/e`);
    expect(secret?.versions.get(1)?.data).toEqual({ user: 'app', password: 'pw', _credstash_expires_at: '2099-03-01T00:00:00.000Z' });
    expect(secret?.custom_metadata).toEqual({ credstash_comment_v1: 'q1', credstash_expires_v1: '2099-03-01T00:00:00.000Z' });
    let from = vault.requests.length;
    const got = await store.getCredential('e', { required: true });
    expect(got.value).toEqual({ user: 'app', password: 'pw' });
    expect(got.expiresAt).toBe('2099-03-01T00:00:00.000Z');
    expect(since(from)).toEqual([`GET /v1/secret/data/${p}/e`]);
    await store.storeCredential('t', 'text', { expiresAt: '2099-01-01' });
    expect((await store.getCredential('t', { required: true })).value).toBe('text');
    from = vault.requests.length;
    expect((await store.expiringCredentials({ withinMs: 100 * 365 * 86_400_000 })).map((e) => e.id)).toEqual(['e', 't']);
    expect(since(from).some((r) => r.includes('/data/'))).toBe(false);
    // An expired version (as a writer left it while its expiry was still ahead): a strict read refuses it.
    await writeRaw(`${p}/old`, { value: 'stale', _credstash_expires_at: '2020-01-01T00:00:00Z' });
    expect((await store.getCredential('old', { required: true })).expiresAt).toBe('2020-01-01T00:00:00.000Z');
    expect(await rejectionOf(store.getCredential('old', { strict: true }))).toMatchObject({ code: 'ERR_CREDENTIAL_EXPIRED' });
  });

  it('the expiry key is reserved in structured values, and one that is not a time is a damaged record', async () => {
    const store = fresh();
    const p = `lc${n}`;
    expect(await rejectionOf(store.storeCredential('r', { _credstash_expires_at: 'x', a: '1' }))).toMatchObject({ code: 'ERR_INVALID_INPUT' });
    expect(vault.secret('', 'secret', `${p}/r`)).toBeUndefined();
    await writeRaw(`${p}/bad`, { value: CANARY, _credstash_expires_at: 'tomorrow' });
    const err = await rejectionOf(store.getCredential('bad'));
    expect(err).toMatchObject({ code: 'ERR_CORRUPT_STORE', credentialId: 'bad' });
    expectNoLeak(err, CANARY);
  });
});

describe('Vault sealed state', () => {
  it('lives in the companion secret, never as a version of the credential, and is bound to its credential and key', async () => {
    const store = fresh();
    const p = `lc${n}`;
    await store.storeCredential('s', 'v1');
    await store.storeCredential('t', 'v1');
    expect(await store.writeState('s', 'rotation', Buffer.from(`pending ${CANARY}`))).toBe(true);
    expect(vault.secret('', 'secret', `${p}/s`)?.current_version).toBe(1);
    const record = vault.secret('', 'secret', `_credstash_lifecycle/${p}/s`)?.versions.get(1)?.data?.lifecycle;
    expect(typeof record).toBe('string');
    // Copied to another credential's record (a writer with access to the lifecycle folder): refused.
    await writeRaw(`_credstash_lifecycle/${p}/t`, { lifecycle: String(record) });
    const err = await rejectionOf(store.readState('t', 'rotation'));
    expect(err).toMatchObject({ code: 'ERR_INTEGRITY' });
    expectNoLeak(err, CANARY);
    expect(Buffer.from((await store.readState('s', 'rotation')).value ?? []).toString()).toBe(`pending ${CANARY}`);
  });
});
