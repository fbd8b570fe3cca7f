/**
 * References and the chain end to end from a config file, through the real CLI process (bin/credstash,
 * the esbuild bundle built by the global setup): a chain of the local keystore and the env store, a TOML
 * template rendered with `credstash render`, and a store config whose secret (a Vault token) is itself a
 * reference into the local keystore.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateFernetKey } from '../../../src/crypto/fernet.js';
import { startVaultServer, type VaultFixture } from '../../fixtures/vault-server.js';
import { cleanEnv, runCli, type CliResult } from '../../helpers/cli.js';
import { CANARY, expectNoLeak } from '../../helpers/no-leak.js';

const root = mkdtempSync(join(tmpdir(), 'credstash-refs-'));
const KEY = generateFernetKey();
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The CLI as a child process (asynchronous: the Vault fixture answers from this same process). */
function credstash(args: string[], cwd: string, env: Record<string, string> = {}): Promise<CliResult> {
  return runCli(args, { cwd, env: cleanEnv(root, { CREDSTASH_FERNET_KEY: KEY, ...env }) });
}

describe('chain (local keystore, env) + render from a config file', () => {
  const dir = join(root, 'chain');
  const env = { CREDSTASH_CREDENTIAL_API_TOKEN: 'tok-from-env', CREDSTASH_CREDENTIAL_DB_PROD: '{"user":"shadowed","password":"never-used"}' };

  beforeAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'credstash.toml'),
      [
        '[credential_store]',
        'type = "chain"',
        '[credential_store.config]',
        'stores = [',
        '  { type = "local", name = "project", config = { path = ".credstash/keystore.json" } },',
        '  { type = "env", name = "env" },',
        ']',
        '',
      ].join('\n'),
    );
    // Writes go to the first writable member: the local keystore.
    for (const args of [
      ['put', 'db_prod', '--json', JSON.stringify({ host: 'db.internal', port: 5432, user: 'app', password: CANARY })],
      ['put', 'region_key', 'eu-key', 'env=prod', 'region=eu'],
      ['put', 'plain', 'p1'],
    ]) {
      const r = await credstash(args, dir, env);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    }
  });

  it('renders a TOML template: whole values, fields, interpolation, per-reference context, env fallthrough', async () => {
    writeFileSync(
      join(dir, 'app.toml'),
      [
        'name = "svc"',
        '[database]',
        'password = "${credential:db_prod}.password"',
        'port = "${credential:db_prod}.port"',
        'url = "postgres://${credential:db_prod}.user@${credential:db_prod}.host:${credential:db_prod}.port/app"',
        'regional = "${credential:region_key?region=eu&env=prod}"',
        '[api]',
        'token = "${credential:api_token}"',
        'list = ["${credential:plain}", "literal \\\\${credential:plain}"]',
        '',
      ].join('\n'),
    );
    const r = await credstash(['render', 'app.toml'], dir, env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const { parse } = await import('smol-toml');
    expect(parse(r.stdout)).toEqual({
      name: 'svc',
      database: { password: CANARY, port: 5432, url: 'postgres://app@db.internal:5432/app', regional: 'eu-key' },
      api: { token: 'tok-from-env', list: ['p1', 'literal ${credential:plain}'] },
    });
    // the local keystore's db_prod wins over the env store's
    expect(r.stdout).not.toContain('shadowed');
  });

  it('writes -o atomically with mode 0600, in another format', async () => {
    const r = await credstash(['render', 'app.toml', '-o', 'rendered.json', '--format', 'json'], dir, env);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(statSync(join(dir, 'rendered.json')).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(join(dir, 'rendered.json'), 'utf8'))).toMatchObject({ database: { password: CANARY } });
  });

  it('fails with exit 1 and one line naming the reference and its path, printing no value', async () => {
    writeFileSync(join(dir, 'bad.yaml'), 'svc:\n  creds:\n    - "${credential:db_prod}.passwd"\n');
    const r = await credstash(['render', 'bad.yaml'], dir, env);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('credstash: credential reference "${credential:db_prod}.passwd" at svc.creds[0]: credential "db_prod" has no field "passwd"\n');
    writeFileSync(join(dir, 'bad2.toml'), 'x = "pw=${credential:db_prod}"\n');
    const r2 = await credstash(['render', 'bad2.toml'], dir, env);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toContain('at x is inside a longer string but its value is an object');
    expectNoLeak(r2.stderr, CANARY);
    const r3 = await credstash(['render', 'app.toml'], dir, {});
    expect(r3.code).toBe(1);
    expect(r3.stderr).toBe('credstash: credential reference "${credential:api_token}" at api.token: credential "api_token" not found in chain (project, env)\n');
  });

  it('reads through the chain with get and lists the merged chain', async () => {
    const r = await credstash(['get', 'api_token'], dir, env);
    expect(r.stdout).toBe('tok-from-env\n');
    const l = await credstash(['list'], dir, env);
    expect(l.code).toBe(0);
    for (const id of ['api_token', 'db_prod', 'plain', 'region_key']) expect(l.stdout).toContain(id);
  });
});

describe('store config using a reference (a Vault token held in the local keystore)', () => {
  let vault: VaultFixture;
  const dir = join(root, 'vault');
  beforeAll(async () => {
    vault = await startVaultServer();
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir, { recursive: true });
  });
  afterAll(async () => {
    await vault.close();
  });

  it('resolves ${credential:vault_token} from [credential_store.references_from] before opening the store', async () => {
    // 1. the token goes into the local keystore (a config of its own)
    writeFileSync(join(dir, 'bootstrap.toml'), '[credential_store]\ntype = "local"\n[credential_store.config]\npath = "keys/keystore.json"\n');
    const put = await credstash(['--config', 'bootstrap.toml', 'put', 'vault_token', vault.rootToken], dir);
    expect(put.code).toBe(0);
    // 2. the real config: a Vault store whose token is a reference into that keystore
    writeFileSync(
      join(dir, 'credstash.toml'),
      [
        '[credential_store]',
        'type = "vault"',
        '[credential_store.config]',
        `address = "${vault.address}"`,
        'token = "${credential:vault_token}"',
        'prefix = "e2e/"',
        '[credential_store.references_from]',
        'type = "local"',
        'config = { path = "keys/keystore.json" }',
        '',
      ].join('\n'),
    );
    const r = await credstash(['put', 'svc.key', CANARY], dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(vault.secret('', 'secret', 'e2e/svc.key')?.versions.get(1)?.data).toEqual({ value: CANARY });
    expect(vault.requests.at(-1)?.token).toBe(vault.rootToken);
    const g = await credstash(['get', 'svc.key'], dir);
    expect(g.stdout).toBe(`${CANARY}\n`);
    // a missing reference in the store config names the config path and never opens the store
    writeFileSync(join(dir, 'missing.toml'), `[credential_store]\ntype = "vault"\n[credential_store.config]\naddress = "${vault.address}"\ntoken = "\${credential:nope}"\n[credential_store.references_from]\ntype = "local"\nconfig = { path = "keys/keystore.json" }\n`);
    const before = vault.requests.length;
    const m = await credstash(['--config', 'missing.toml', 'get', 'svc.key'], dir);
    expect(m.code).toBe(1);
    expect(m.stderr).toMatch(/^credstash: credential reference "\$\{credential:nope\}" at credential_store\.config\.token: credential "nope" not found in /);
    expect(vault.requests.length).toBe(before);
    expectNoLeak(m.stderr, vault.rootToken);
  });
});
