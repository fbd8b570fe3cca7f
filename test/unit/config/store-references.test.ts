import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/merge.js';
import { openConfiguredStore } from '../../../src/stores/open.js';
import { resolveStoreConfigReferences } from '../../../src/references/store-config.js';
import { registerCredentialStore, unregisterCredentialStore } from '../../../src/stores/registry.js';
import { MemoryStore } from '../../fixtures/memory-store.js';
import { CANARY, expectNoLeak, rejectionOf } from '../../helpers/no-leak.js';

let source: MemoryStore;
let opened = 0;
let closed = 0;
let received: Record<string, unknown> | undefined;

beforeAll(() => {
  registerCredentialStore('refsrc', () => {
    opened++;
    const s = source;
    return Object.assign(Object.create(s) as MemoryStore, { close: async () => void closed++ });
  });
  registerCredentialStore('needsecret', (config) => {
    received = config;
    return new MemoryStore('target');
  });
});
afterAll(() => {
  unregisterCredentialStore('refsrc');
  unregisterCredentialStore('needsecret');
});
beforeEach(async () => {
  source = new MemoryStore('src');
  await source.storeCredential('pg_password', CANARY);
  await source.storeCredential('pg', { user: 'app', host: 'db' });
  opened = 0;
  closed = 0;
  received = undefined;
});

describe('resolveStoreConfigReferences', () => {
  it('returns the spec untouched and opens nothing when the config has no reference', async () => {
    const spec = { type: 'needsecret', config: { password: 'literal' } };
    expect(await resolveStoreConfigReferences(spec, { type: 'refsrc' }, {})).toBe(spec);
    expect(opened).toBe(0);
  });

  it('resolves references anywhere in the config (nested, chain members) and closes the source', async () => {
    const spec = {
      type: 'chain',
      config: { stores: [{ type: 'sql', config: { engine: { name: 'postgres', config: { user: '${credential:pg}.user', password: '${credential:pg_password}', url: 'postgres://${credential:pg}.host/x' } } } }] },
    };
    const out = await resolveStoreConfigReferences(spec, { type: 'refsrc' }, {});
    expect(out.config).toEqual({ stores: [{ type: 'sql', config: { engine: { name: 'postgres', config: { user: 'app', password: CANARY, url: 'postgres://db/x' } } } }] });
    expect(spec.config.stores[0]?.config.engine.config.password).toBe('${credential:pg_password}');
    expect([opened, closed]).toEqual([1, 1]);
  });

  it('names the config path of a missing reference and never the value', async () => {
    const err = await rejectionOf(resolveStoreConfigReferences({ type: 'needsecret', config: { auth: { token: '${credential:nope}' }, password: '${credential:pg_password}' } }, { type: 'refsrc' }, {}));
    expect(err).toMatchObject({ code: 'ERR_REFERENCE', path: 'credential_store.config.auth.token', credentialId: 'nope' });
    expectNoLeak(err, CANARY);
    expect(closed).toBe(1);
  });

  it('refuses references inside references_from itself', async () => {
    const err = await rejectionOf(resolveStoreConfigReferences({ type: 'needsecret', config: { p: '${credential:pg_password}' } }, { type: 'refsrc', config: { key: '${credential:x}' } }, {}));
    expect(err).toMatchObject({ code: 'ERR_CONFIG', path: 'credential_store.references_from' });
    expect(opened).toBe(0);
  });

  it('defaults to the local keystore', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'refs-default-'));
    try {
      // No keystore there: the local tier reports the missing credential, named by its config path.
      const err = await rejectionOf(resolveStoreConfigReferences({ type: 'needsecret', config: { p: '${credential:pg_password}' } }, undefined, { baseDir: dir, fernetKeys: [] }));
      expect(err.code).toBe('ERR_REFERENCE');
      expect(err.message).toContain('at credential_store.config.p');
      expect(err.message).toContain('local keystore');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('credstash.toml [credential_store.references_from]', () => {
  it('is read by loadConfig and applied by openConfiguredStore', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'refs-config-'));
    try {
      writeFileSync(
        join(dir, 'credstash.toml'),
        '[credential_store]\ntype = "needsecret"\n[credential_store.config]\npassword = "${credential:pg_password}"\nuser = "${credential:pg}.user"\n[credential_store.references_from]\ntype = "refsrc"\n',
      );
      const config = loadConfig({ cwd: dir, env: { HOME: dir } });
      expect(config.referencesFrom).toEqual({ type: 'refsrc', config: {} });
      const store = await openConfiguredStore(config, { HOME: dir });
      expect(store.description).toBe('memory store "target"');
      expect(received).toEqual({ password: CANARY, user: 'app' });
      writeFileSync(join(dir, 'credstash.toml'), '[credential_store]\ntype = "needsecret"\n[credential_store.references_from]\ntype = "refsrc"\nbogus = 1\n');
      expect(() => loadConfig({ cwd: dir, env: { HOME: dir } })).toThrow(/bogus/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
