/**
 * Every tier reads its `[credential_store.config]` the same way (core/factory.ts): one message for an unknown
 * key, naming the key path, the tier and the keys it knows; and one `~` rule for the paths a config names
 * (core/paths.ts).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkStoreConfigKeys, readStoreConfig } from '../../../src/core/factory.js';
import { expandHome, homeDir, resolveUserPath } from '../../../src/core/paths.js';
import { generateFernetKey } from '../../../src/crypto/fernet.js';
import { openStore } from '../../../src/stores/registry.js';
import { createLocalStore } from '../../../src/stores/local/index.js';
import { VaultStore } from '../../../src/stores/vault/index.js';
import { rejectionOf } from '../../helpers/no-leak.js';

const home = mkdtempSync(join(tmpdir(), 'credstash-home-'));
afterAll(() => rmSync(home, { recursive: true, force: true }));
const key = generateFernetKey();

describe('store config: one reader for every tier', () => {
  const minimal: Record<string, Record<string, unknown>> = {
    env: {},
    ssm: { region: 'eu-west-1' },
    vault: { address: 'http://127.0.0.1:1', token: 't' },
    dynamodb: { region: 'eu-west-1' },
    local: { path: join(home, 'keystore.json') },
    sql: { engine: { name: 'sqlite', config: { path: ':memory:' } } },
    chain: { stores: [{ type: 'env' }] },
  };
  for (const [type, config] of Object.entries(minimal)) {
    it(`${type}: an unknown key has the one message, naming the path, the tier and the known keys`, async () => {
      const err = await rejectionOf(openStore({ type, config: { ...config, bogus_key: 1 } }, { fernetKeys: [key], env: {} }));
      expect(err).toMatchObject({ code: 'ERR_CONFIG', path: 'credential_store.config.bogus_key' });
      expect(err.message).toMatch(new RegExp(`^unknown key credential_store\\.config\\.bogus_key for the ${type} store \\(known: [a-z_]+(, [a-z_]+)*\\)$`));
    });
  }

  it('the airflow chain preset says the same', async () => {
    const err = await rejectionOf(openStore({ type: 'chain', config: { preset: 'airflow', extra: 1 } }));
    expect(err.message).toBe('unknown key credential_store.config.extra for the chain (preset "airflow") store (known: preset, backend, database, env)');
  });

  it('the reader: strings, positive integers (digits too where asked), one-of, with one message per mistake', () => {
    const c = readStoreConfig('demo', { s: 'x', n: '12', m: 3, e: 'b', bad: '' }, ['s', 'n', 'm', 'e', 'bad', 'unset']);
    expect(c.string('s')).toBe('x');
    expect(c.string('unset')).toBeUndefined();
    expect(c.positiveInt('n', { fromString: true })).toBe(12);
    expect(c.positiveInt('m')).toBe(3);
    expect(c.oneOf('e', ['a', 'b'])).toBe('b');
    expect(() => c.string('bad')).toThrow('demo store "bad" must be a non-empty string');
    expect(() => c.positiveInt('n')).toThrow('demo store "n" must be a positive integer');
    expect(() => c.oneOf('s', ['a', 'b'])).toThrow('demo store "s" must be "a" or "b"');
    expect(() => c.oneOf('s', ['a', 'b', 'c'])).toThrow('demo store "s" must be one of a, b, c');
    expect(() => checkStoreConfigKeys('demo', { __proto__x: 1 }, ['a'])).toThrow('unknown key credential_store.config.__proto__x for the demo store (known: a)');
  });
});

describe('one ~ rule', () => {
  const env = { HOME: home };
  it('expands ~ and ~/x to HOME (the OS home when HOME is unset or blank), leaves ~user and the rest alone', () => {
    expect(homeDir(env)).toBe(home);
    expect(homeDir({ HOME: '  ' })).not.toBe('  ');
    expect(expandHome('~', env)).toBe(home);
    expect(expandHome('~/a/b', env)).toBe(join(home, 'a/b'));
    expect(expandHome('~user/a', env)).toBe('~user/a');
    expect(expandHome('a/~/b', env)).toBe('a/~/b');
    expect(resolveUserPath('a', '/base', env)).toBe('/base/a');
    expect(resolveUserPath('/abs/../x', '/base', env)).toBe('/x');
    expect(resolveUserPath('~/k.json', '/base', env)).toBe(join(home, 'k.json'));
  });

  it('the local keystore path, the sqlite path and the vault token_file all expand ~', async () => {
    expect(createLocalStore({ path: '~/ks.json' }, { baseDir: '/base', fernetKeys: [key], env }).description).toContain(join(home, 'ks.json'));
    const sql = await openStore({ type: 'sql', config: { engine: { name: 'sqlite', config: { path: '~/c.db' } } } }, { baseDir: '/base', fernetKeys: [key], env });
    expect(sql.description).toContain(join(home, 'c.db'));
    await sql.close();
    writeFileSync(join(home, 'token'), 's.token-from-file\n', { mode: 0o600 });
    const vault = (await openStore({ type: 'vault', config: { address: 'http://127.0.0.1:1', token_file: '~/token' } }, { baseDir: '/base', env })) as VaultStore;
    // The token file is read from HOME, not from /base/~/token: a missing file there would be a ConfigError.
    const err = await rejectionOf(vault.getCredential('x'));
    expect(err.code).not.toBe('ERR_CONFIG');
    await vault.close();
  });
});
