import { describe, expect, it } from 'vitest';
import { openStore } from '../../../../src/stores/registry.js';
import { EnvStore, envNameForId } from '../../../../src/stores/env/index.js';
import { runReadOnlyStoreContract } from '../../../contract/credential-store.contract.js';
import { CANARY, expectNoLeak, rejectionOf } from '../../../helpers/no-leak.js';

function envOf(seed: Record<string, string>, prefix = 'CREDSTASH_CREDENTIAL_'): NodeJS.ProcessEnv {
  return { PATH: '/usr/bin', ...Object.fromEntries(Object.entries(seed).map(([id, v]) => [prefix + envNameForId(id), v])) };
}

runReadOnlyStoreContract('env', async (seed) => new EnvStore({ env: envOf(seed) }), { context: false });
runReadOnlyStoreContract('env (prefix APP_SECRET_)', async (seed) => new EnvStore({ prefix: 'APP_SECRET_', env: envOf(seed, 'APP_SECRET_') }), { context: false });

describe('EnvStore', () => {
  const env = {
    CREDSTASH_CREDENTIAL_DB_PROD: '{"user":"app","password":"' + CANARY + '"}',
    CREDSTASH_CREDENTIAL_API_KEY: 'k-1',
    CREDSTASH_CREDENTIAL_EMPTY: '',
    CREDSTASH_CREDENTIAL_BROKEN_JSON: '{"user": ' + CANARY,
    CREDSTASH_CREDENTIAL_ARRAY: '[1,2]',
    OTHER: 'x',
  };

  it('maps ids to upper-cased names with non-alphanumerics as _', () => {
    expect(envNameForId('db.prod-eu/x')).toBe('DB_PROD_EU_X');
  });

  it('reads text, the empty string, and a JSON object as a structured credential', async () => {
    const store = new EnvStore({ env });
    expect(await store.getCredential('db.prod')).toEqual({ id: 'db.prod', version: '1', value: { user: 'app', password: CANARY } });
    expect((await store.getCredential('api_key'))?.value).toBe('k-1');
    expect(await store.getCredential('empty')).toEqual({ id: 'empty', version: '1', value: '' });
    expect((await store.getCredential('broken.json'))?.value).toBe('{"user": ' + CANARY);
    expect((await store.getCredential('array'))?.value).toBe('[1,2]');
  });

  it('reads a value as structured only when it is exactly the compact JSON of an object; any other value, and credstash:text: + anything, is text byte for byte', async () => {
    const raw = {
      CREDSTASH_CREDENTIAL_SPACED: '{"user": "app"}',
      CREDSTASH_CREDENTIAL_BIG: '{"n":12345678901234567891}',
      CREDSTASH_CREDENTIAL_FLOAT: '{"port":5432.0}',
      CREDSTASH_CREDENTIAL_DUP: '{"a":1,"a":2}',
      CREDSTASH_CREDENTIAL_ORDER: '{"b":1,"1":2}',
      CREDSTASH_CREDENTIAL_PRETTY: '{\n  "a": 1\n}\n',
      CREDSTASH_CREDENTIAL_PADDED: ' {"a":1}',
      CREDSTASH_CREDENTIAL_MARKED: 'credstash:text:{"a":1}',
      CREDSTASH_CREDENTIAL_COMPACT: '{"b":1,"a":[true,null]}',
    };
    const store = new EnvStore({ env: raw });
    for (const [name, value] of Object.entries(raw)) {
      const id = name.slice('CREDSTASH_CREDENTIAL_'.length).toLowerCase();
      const expected = id === 'marked' ? '{"a":1}' : id === 'compact' ? { b: 1, a: [true, null] } : value;
      expect((await store.getCredential(id))?.value, id).toStrictEqual(expected);
    }
  });

  it('has only version 1: other versions are not found', async () => {
    const store = new EnvStore({ env });
    expect((await store.getCredential('api_key', { version: 1 }))?.value).toBe('k-1');
    expect(await store.getCredential('api_key', { version: 2 })).toBeUndefined();
    expect(await store.credentialExists('api_key', { version: 2 })).toBe(false);
    expect(await store.credentialExists('api_key')).toBe(true);
    expect(await store.credentialExists('nope')).toBe(false);
    expect(await rejectionOf(store.getCredential('nope', { required: true }))).toMatchObject({ code: 'ERR_CREDENTIAL_NOT_FOUND', credentialId: 'nope' });
  });

  it('refuses writes, deletes and an encryption context with UnsupportedOperationError', async () => {
    const store = new EnvStore({ env });
    const put = await rejectionOf(store.storeCredential('x', CANARY));
    expect(put).toMatchObject({ code: 'ERR_UNSUPPORTED_OPERATION' });
    expect(put.message).toBe('environment variables CREDSTASH_CREDENTIAL_* does not support writes');
    expectNoLeak(put, CANARY);
    expect(await rejectionOf(store.deleteCredential('api_key'))).toMatchObject({ code: 'ERR_UNSUPPORTED_OPERATION' });
    expect(await rejectionOf(store.getCredential('api_key', { context: { env: 'prod' } }))).toMatchObject({ code: 'ERR_UNSUPPORTED_OPERATION' });
  });

  it('lists the prefixed variables as lower-cased ids, and getAll reads them', async () => {
    const store = new EnvStore({ env });
    expect((await store.listCredentials()).map((s) => s.id)).toEqual(['api_key', 'array', 'broken_json', 'db_prod', 'empty']);
    const all = await store.getAllCredentials({ pattern: 'db*' });
    expect(all.credentials).toEqual([{ id: 'db_prod', version: '1', value: { user: 'app', password: CANARY } }]);
  });

  it('takes a configurable prefix and reads the live environment', async () => {
    const live: NodeJS.ProcessEnv = {};
    const store = await openStore({ type: 'env', config: { prefix: 'APP_SECRET_' } }, { env: live });
    expect(await store.getCredential('token')).toBeUndefined();
    live.APP_SECRET_TOKEN = 't';
    expect((await store.getCredential('token'))?.value).toBe('t');
    expect(store.description).toBe('environment variables APP_SECRET_*');
  });

  it('rejects a bad config with ConfigError', async () => {
    expect(await rejectionOf(openStore({ type: 'env', config: { prefix: '' } }))).toMatchObject({ code: 'ERR_CONFIG' });
    expect(await rejectionOf(openStore({ type: 'env', config: { prefx: 'A' } }))).toMatchObject({ code: 'ERR_CONFIG', path: 'credential_store.config.prefx' });
  });
});
