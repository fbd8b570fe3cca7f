import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../../../src/stores/registry.js';
import { VaultStore, decodeKv, encodeKv } from '../../../../src/stores/vault/index.js';
import { runStoreContract } from '../../../contract/credential-store.contract.js';
import { startVaultServer, type VaultFixture } from '../../../fixtures/vault-server.js';
import { CANARY, expectNoLeak, rejectionOf } from '../../../helpers/no-leak.js';

let vault: VaultFixture;
let n = 0;
beforeAll(async () => {
  vault = await startVaultServer({ mounts: ['secret', 'kv'], approle: { roleId: 'role-1', secretId: CANARY, ttlSeconds: 3 } });
});
afterAll(async () => {
  await vault.close();
});

/** Each store gets its own scope prefix, so tests never see each other's secrets. */
function fresh(extra: Partial<ConstructorParameters<typeof VaultStore>[0]> = {}): VaultStore {
  return new VaultStore({ address: vault.address, token: vault.rootToken, prefix: `t${++n}/`, env: {}, ...extra });
}

// Verified against the fixture (test/fixtures/vault-server.ts), which follows Vault's documented KV v2 API.
runStoreContract('vault (KV v2 fixture)', async () => fresh(), {
  context: false,
  maxValueBytes: 512 * 1024,
  versionGaps: false,
  readDefinition: (store, id) => (store as VaultStore).getDefinition(id),
});

describe('VaultStore requests', () => {
  it('a configured maxValueBytes is the limit: 1000 bytes work, 1001 are ValueTooLargeError and never sent', async () => {
    const store = fresh({ maxValueBytes: 1000 });
    await store.storeCredential('limit.ok', `é${'x'.repeat(998)}`);
    expect((await store.getCredential('limit.ok', { required: true })).value).toBe(`é${'x'.repeat(998)}`);
    const err = await rejectionOf(store.storeCredential('limit.over', CANARY + 'y'.repeat(1001 - CANARY.length)));
    expect(err).toMatchObject({ code: 'ERR_VALUE_TOO_LARGE', credentialId: 'limit.over' });
    expect(err.message).toContain('1001');
    expect(err.message).toContain('1000');
    expectNoLeak(err, CANARY);
    expect(await store.credentialExists('limit.over')).toBe(false);
  });

  it('writes with cas = version - 1 into <mount>/data/<prefix><id> and reads with ?version=N', async () => {
    const store = fresh({ mount: 'kv', prefix: 'prod/' });
    const before = vault.requests.length;
    await store.storeCredential('db', { user: 'app', password: CANARY });
    await store.storeCredential('db', 'second', { autoVersion: true });
    await store.getCredential('db', { version: 1 });
    const reqs = vault.requests.slice(before).map((r) => `${r.method} ${r.path}${r.query}`);
    expect(reqs).toEqual([
      'POST /v1/kv/data/prod/db',
      'GET /v1/kv/metadata/prod/db',
      'POST /v1/kv/data/prod/db',
      'GET /v1/kv/data/prod/db?version=1',
    ]);
    expect(vault.requests.slice(before).filter((r) => r.method === 'POST').map((r) => (r.body as { options: unknown }).options)).toEqual([{ cas: 0 }, { cas: 1 }]);
    expect(vault.secret('', 'kv', 'prod/db')?.versions.get(1)?.data).toEqual({ user: 'app', password: CANARY });
    expect(vault.secret('', 'kv', 'prod/db')?.versions.get(2)?.data).toEqual({ value: 'second' });
    expect(vault.requests.slice(before).every((r) => r.token === vault.rootToken)).toBe(true);
  });

  it('sends X-Vault-Namespace and keeps namespaces apart', async () => {
    const a = fresh({ namespace: 'team-a', prefix: 'shared/' });
    const b = new VaultStore({ address: vault.address, token: vault.rootToken, prefix: 'shared/', env: { VAULT_NAMESPACE: 'team-b' } });
    await a.storeCredential('x', 'in-a');
    expect(await b.getCredential('x')).toBeUndefined();
    expect(vault.requests.at(-1)?.namespace).toBe('team-b');
    expect((await a.getCredential('x'))?.value).toBe('in-a');
    expect(a.description).toContain('namespace "team-a"');
  });

  it('soft-deletes one version (recoverable), destroys with deleteMode destroy, and removes all via metadata', async () => {
    const store = fresh();
    await store.storeCredential('d', '1');
    await store.storeCredential('d', '2', { autoVersion: true });
    await store.storeCredential('d', '3', { autoVersion: true });
    expect(await store.deleteCredential('d', { version: 3 })).toEqual({ id: 'd', deleted: ['3'] });
    const path = `t${n}/d`;
    expect(vault.secret('', 'secret', path)?.versions.get(3)).toMatchObject({ destroyed: false });
    expect(vault.secret('', 'secret', path)?.versions.get(3)?.deletion_time).not.toBe('');
    // the current version is deleted: the newest live one answers
    expect(await store.getCredential('d')).toMatchObject({ version: '2', value: '2' });
    const destroyer = new VaultStore({ address: vault.address, token: vault.rootToken, prefix: `t${n}/`, env: {}, deleteMode: 'destroy' });
    expect(await destroyer.deleteCredential('d', { version: 1 })).toEqual({ id: 'd', deleted: ['1'] });
    expect(vault.secret('', 'secret', path)?.versions.get(1)).toMatchObject({ destroyed: true, data: null });
    const before = vault.requests.length;
    expect(await store.deleteCredential('d')).toEqual({ id: 'd', deleted: ['2'] });
    expect(vault.secret('', 'secret', path)).toBeUndefined();
    // The metadata read, the DELETE of everything, then the read of the lifecycle record (none: no labels to drop).
    expect(vault.requests.slice(before).map((r) => `${r.method} ${r.path}`)).toEqual([
      `GET /v1/secret/metadata/${path}`,
      `DELETE /v1/secret/metadata/${path}`,
      `GET /v1/secret/data/_credstash_lifecycle/${path}`,
    ]);
  });

  it('keeps definitions in custom_metadata', async () => {
    const store = fresh();
    // a typed value carries its type's required fields (checked by BaseStore on every tier)
    await store.storeCredential('def', { api_key: 'v' }, { definition: { id: 'def', name: 'Main', credential_type: 'api_key', description: 'the key', metadata: { owner: 'a', n: 2 } } });
    expect(await store.getDefinition('def')).toEqual({ id: 'def', name: 'Main', credential_type: 'api_key', description: 'the key', metadata: { owner: 'a', n: '2' } });
    expect(await store.getDefinition('none')).toBeUndefined();
    expect(await rejectionOf(store.storeCredential('def2', 'v', { comment: 'c'.repeat(600) }))).toMatchObject({ code: 'ERR_INVALID_INPUT' });
  });

  it('lists recursively through folders inside the scope', async () => {
    const store = fresh();
    await store.storeCredential('app/db/main', 'a');
    await store.storeCredential('app/api', 'b');
    await store.storeCredential('top', 'c');
    expect((await store.listCredentials()).map((s) => s.id)).toEqual(['app/api', 'app/db/main', 'top']);
    expect(await fresh().listCredentials()).toEqual([]);
  });

  it('encodes text, bytes and objects that look like text unambiguously', () => {
    for (const v of ['t', '', { value: 'x' }, { value: 'x', encoding: 'base64' }, { a: 1 }]) {
      expect(decodeKv(JSON.parse(JSON.stringify(encodeKv(v as never))) as Record<string, unknown>)).toEqual(v);
    }
    expect(Buffer.from(decodeKv(encodeKv(new Uint8Array([1, 255]))) as Uint8Array)).toEqual(Buffer.from([1, 255]));
    expect(() => encodeKv({ _credstash_json: 1 })).toThrow(/reserved key/);
  });

  it('rejects ids that are not vault paths and an encryption context on read', async () => {
    const store = fresh();
    for (const bad of ['/a', 'a/', 'a//b', 'a/../b', '.']) expect(await rejectionOf(store.getCredential(bad)), bad).toMatchObject({ code: 'ERR_INVALID_INPUT' });
    expect(await rejectionOf(store.getCredential('x', { context: { env: 'prod' } }))).toMatchObject({ code: 'ERR_UNSUPPORTED_OPERATION' });
  });
});

describe('VaultStore auth', () => {
  it('reads the token from a token file, relative to the config folder', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vault-token-'));
    writeFileSync(join(dir, 'token'), `${vault.rootToken}\n`, { mode: 0o600 });
    const store = await openStore({ type: 'vault', config: { address: vault.address, token_file: 'token', prefix: `tf${++n}` } }, { baseDir: dir, env: {} });
    await store.storeCredential('x', 'v');
    expect(vault.requests.at(-1)?.token).toBe(vault.rootToken);
    const missing = await openStore({ type: 'vault', config: { address: vault.address, token_file: 'nope' } }, { baseDir: dir, env: {} });
    expect(await rejectionOf(missing.getCredential('x'))).toMatchObject({ code: 'ERR_CONFIG', path: 'credential_store.config.token_file' });
  });

  it('takes VAULT_ADDR and VAULT_TOKEN from the environment', async () => {
    const store = await openStore({ type: 'vault', config: { prefix: `env${++n}/` } }, { env: { VAULT_ADDR: vault.address, VAULT_TOKEN: vault.rootToken } });
    await store.storeCredential('x', 'v');
    expect((await store.getCredential('x'))?.value).toBe('v');
  });

  it('logs in with AppRole, renews before expiry with renew-self, and logs in again when renewal fails', async () => {
    let t = Date.now();
    const store = new VaultStore({ address: vault.address, appRole: { roleId: 'role-1', secretId: CANARY }, prefix: `ar${++n}/`, env: {}, now: () => t });
    await store.storeCredential('x', 'v');
    const logins = (): number => vault.requests.filter((r) => r.path === '/v1/auth/approle/login').length;
    const renews = (): number => vault.requests.filter((r) => r.path === '/v1/auth/token/renew-self').length;
    const l0 = logins();
    const r0 = renews();
    await Promise.all([store.getCredential('x'), store.getCredential('x')]);
    expect(logins()).toBe(l0);
    t += 2100; // past 2/3 of the 3 s lease
    await Promise.all([store.getCredential('x'), store.getCredential('x')]);
    expect(renews()).toBe(r0 + 1);
    vault.failNext(/renew-self/, 403);
    t += 2100;
    expect((await store.getCredential('x'))?.value).toBe('v');
    expect(logins()).toBe(l0 + 1);
  });

  it('logs in again once when the token is refused (revoked)', async () => {
    const store = new VaultStore({ address: vault.address, appRole: { roleId: 'role-1', secretId: CANARY }, prefix: `rv${++n}/`, env: {} });
    await store.storeCredential('x', 'v');
    const tok = vault.requests.at(-1)?.token as string;
    vault.revokeToken(tok);
    expect((await store.getCredential('x'))?.value).toBe('v');
    expect(vault.requests.at(-1)?.token).not.toBe(tok);
  });

  it('fails a bad AppRole login with AccessDeniedError that does not show the secret_id', async () => {
    const store = new VaultStore({ address: vault.address, appRole: { roleId: 'role-1', secretId: 'wrong' + CANARY }, env: {} });
    const err = await rejectionOf(store.getCredential('x'));
    expect(err).toMatchObject({ code: 'ERR_ACCESS_DENIED' });
    expect(err.message).toContain('approle login');
    expectNoLeak(err, CANARY);
  });

  it('needs an address and some token', () => {
    expect(() => new VaultStore({ token: 't', env: {} })).toThrow(/needs an address/);
    expect(() => new VaultStore({ address: 'http://v', env: {} })).toThrow(/needs a token/);
  });
});

describe('VaultStore errors', () => {
  it('maps 403 to AccessDeniedError, 429 to ThrottlingError, 503 and 500 to StoreUnavailableError, 400 to ValidationError', async () => {
    const store = fresh();
    await store.storeCredential('e', CANARY);
    const cases: Array<[number, string]> = [[403, 'ERR_ACCESS_DENIED'], [429, 'ERR_THROTTLED'], [503, 'ERR_STORE_UNAVAILABLE'], [500, 'ERR_STORE_UNAVAILABLE'], [400, 'ERR_INVALID_INPUT']];
    for (const [status, code] of cases) {
      vault.failNext(/\/data\//, status, 1, ['permission denied']);
      const err = await rejectionOf(store.getCredential('e'));
      expect(err, String(status)).toMatchObject({ code, credentialId: 'e' });
      expectNoLeak(err, CANARY);
    }
    vault.failNext(/\/data\//, 403, 1, ['permission denied']);
    expect((await rejectionOf(store.storeCredential('e', CANARY, { autoVersion: true }))).message).toContain('permission denied');
    vault.failNext(/\/metadata\//, 500);
    expect(await rejectionOf(store.listCredentials())).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
    vault.failNext(/\/metadata\//, 403);
    expect(await rejectionOf(store.deleteCredential('e'))).toMatchObject({ code: 'ERR_ACCESS_DENIED' });
  });

  it('refuses a bad token with AccessDeniedError naming the store', async () => {
    const store = new VaultStore({ address: vault.address, token: 'hvs.bogus', env: {} });
    const err = await rejectionOf(store.getCredential('x'));
    expect(err).toMatchObject({ code: 'ERR_ACCESS_DENIED', store: store.description });
    expect(err.message).toContain('permission denied');
  });

  it('reports an unreachable server as StoreUnavailableError', async () => {
    const store = new VaultStore({ address: 'http://127.0.0.1:1', token: 't', env: {} });
    const err = await rejectionOf(store.storeCredential('x', CANARY));
    expect(err).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
    expect(err.message).toContain('vault at http://127.0.0.1:1 is unreachable');
    expectNoLeak(err, CANARY);
  });

  it('an answer that is not Vault JSON (a web page at the address) is StoreUnavailableError, never a miss or a write that stored nothing', async () => {
    for (const [status, body] of [[200, '<html>portal</html>'], [404, '<html>Not Found</html>'], [200, ''], [200, '[1]'], [201, 'ok']] as const) {
      let calls = 0;
      const store = new VaultStore({
        address: 'http://vault.example:8200',
        token: 't',
        env: {},
        fetch: async () => {
          calls++;
          return new Response(body, { status, headers: { 'content-type': 'text/html' } });
        },
      });
      for (const p of [store.getCredential('x'), store.storeCredential('x', CANARY), store.credentialExists('x'), store.listCredentials()]) {
        const err = await rejectionOf(p);
        expect(err, `${status} ${body}`).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE', message: `the answer of http://vault.example:8200 (HTTP ${status}) is not a Vault API response (an HTML page or another service?); check the vault address` });
        expectNoLeak(err, CANARY, 'portal');
      }
      expect(calls).toBe(4);
    }
  });

  it('rejects bad config with ConfigError', async () => {
    for (const [config, path] of [
      [{ address: vault.address, token: 't', bogus: 1 }, 'credential_store.config.bogus'],
      [{ address: vault.address, token: 't', delete_mode: 'shred' }, 'credential_store.config.delete_mode'],
      [{ address: vault.address, approle: { role_id: 1 } }, 'credential_store.config.approle'],
      [{ address: vault.address, token: 't', max_value_bytes: -1 }, 'credential_store.config.max_value_bytes'],
      [{ address: 'vault:8200', token: 't' }, 'credential_store.config.address'],
    ] as Array<[Record<string, unknown>, string]>) {
      expect(await rejectionOf(openStore({ type: 'vault', config }, { env: {} })), path).toMatchObject({ code: 'ERR_CONFIG', path });
    }
  });
});
