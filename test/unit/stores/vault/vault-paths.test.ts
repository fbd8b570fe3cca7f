/**
 * Vault paths from the config: the scope prefix and the mounts are checked when the store is made, so that no
 * configured path can reach outside its mount (`..`, `%2e%2e`), or name a path Vault reads differently from
 * what credstash shows (empty segments, backslashes, a leading `/`, control characters).
 */
import { describe, expect, it } from 'vitest';
import { createVaultStore, VaultStore } from '../../../../src/stores/vault/index.js';

const base = { address: 'http://127.0.0.1:1', token: 't', env: {} };

describe('vault prefix and mount checks', () => {
  const badPrefixes = ['..', '../', 'prod/../other/', 'a/./b/', './', 'a//b/', '/prod/', '//', '%2e%2e/', 'a/%2E%2E/', '..%2f', 'a\\..\\b', 'a\\b/', 'pr\u0000od/', 'a/ /b/', ' /'];
  for (const prefix of badPrefixes) {
    it(`refuses the prefix ${JSON.stringify(prefix)} with a ConfigError naming the key, not the value`, () => {
      let err: unknown;
      try {
        new VaultStore({ ...base, prefix });
      } catch (e) {
        err = e;
      }
      expect(err).toMatchObject({ code: 'ERR_CONFIG', path: 'credential_store.config.prefix' });
      expect((err as Error).message).toMatch(/^vault "prefix" must be relative folders such as "prod\/"/);
      if (prefix.length > 2) expect((err as Error).message).not.toContain(prefix);
    });
  }

  it('takes plain relative folders, with or without the trailing /', () => {
    expect(new VaultStore({ ...base, prefix: 'prod' }).description).toBe('vault kv "secret/prod/" at http://127.0.0.1:1');
    expect(new VaultStore({ ...base, prefix: 'team/app.v2/' }).description).toBe('vault kv "secret/team/app.v2/" at http://127.0.0.1:1');
    expect(new VaultStore({ ...base }).description).toBe('vault kv "secret/" at http://127.0.0.1:1');
  });

  for (const mount of ['..', 'a/../b', 'se cret', 'secret?x=1', 'secret#', 'a//b', '%2e%2e', 'a\\b']) {
    it(`refuses the mount ${JSON.stringify(mount)} (it goes into the URL unencoded)`, () => {
      expect(() => new VaultStore({ ...base, mount })).toThrow(/^vault "mount" must be a path such as "secret"/);
      expect(() => new VaultStore({ ...base, appRole: { roleId: 'r', secretId: 's', mount } })).toThrow(/^vault "approle\.mount" must be a path/);
    });
  }

  it('the config factory applies the same checks', async () => {
    const ctx = { baseDir: '/', env: {}, openStore: () => Promise.reject(new Error('no nested stores here')) };
    expect(() => createVaultStore({ address: base.address, token: 't', prefix: '../x/' }, ctx)).toThrow(/vault "prefix" must be relative folders/);
    expect((await createVaultStore({ address: base.address, token: 't', mount: '/kv/', prefix: 'a/' }, ctx)).description).toBe('vault kv "kv/a/" at http://127.0.0.1:1');
  });
});

describe('a put whose metadata write fails after the value was stored', () => {
  it('says the version WAS stored (so that nobody retries it and adds one)', async () => {
    const { startVaultServer } = await import('../../../fixtures/vault-server.js');
    const vault = await startVaultServer({ mounts: ['secret'] });
    try {
      const store = new VaultStore({ address: vault.address, token: vault.rootToken, prefix: 'meta-fail/', env: {} });
      vault.failNext(/\/metadata\//, 500);
      let err: (Error & { code?: string }) | undefined;
      try {
        await store.storeCredential('app.db', 'v', { version: 1, comment: 'note' }); // explicit version: no metadata read before
      } catch (e) {
        err = e as Error & { code?: string };
      }
      expect(err?.message).toMatch(/writing the comment or definition of credential "app\.db".*; the value WAS stored as version 1, without that comment or definition: do not retry the put$/);
      expect((await store.getCredential('app.db', { required: true })).version).toBe('1');
    } finally {
      await vault.close();
    }
  });
});
