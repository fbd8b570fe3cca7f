import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/core/errors.js';
import { findConfigFile } from '../../../src/config/discover.js';
import { loadConfig } from '../../../src/config/merge.js';
import { parseConfigText } from '../../../src/config/schema.js';
import { locateKey } from '../../../src/config/toml.js';
import { generateFernetKey } from '../../../src/config/init.js';
import { parseFernetKey } from '../../../src/crypto/fernet.js';
import { expectNoLeak } from '../../helpers/no-leak.js';

let dir: string;
let home: string;
const KEY = generateFernetKey();
const KEY2 = generateFernetKey();

function write(path: string, text: string): string {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  return path;
}

function thrown(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'credstash-config-'));
  home = join(dir, 'home');
  mkdirSync(home);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('loadConfig', () => {
  it('behaves like Python credstash with no config at all: dynamodb, credential-store, alias/credstash', () => {
    const cfg = loadConfig({ cwd: dir, env: { HOME: home } });
    expect(cfg.file).toBeUndefined();
    expect(cfg.store).toEqual({ type: 'dynamodb', config: { table: 'credential-store', kms_key: 'alias/credstash' } });
    expect(cfg.fernetKeys).toEqual([]);
    expect(cfg.baseDir).toBe(dir);
  });

  it('reads ./credstash.toml and resolves against its folder', () => {
    write(join(dir, 'credstash.toml'), `audit_log = "logs/audit.jsonl"\n[fernet]\nkeys = ["${KEY}", "${KEY2}"]\n[credential_store]\ntype = "local"\n[credential_store.config]\npath = "ks.json"\n`);
    const cfg = loadConfig({ cwd: dir, env: { HOME: home } });
    expect(cfg.file).toBe(join(dir, 'credstash.toml'));
    expect(cfg.store).toEqual({ type: 'local', config: { path: 'ks.json' } });
    expect(cfg.fernetKeys).toEqual([KEY, KEY2]);
    expect(cfg.auditLog).toBe(join(dir, 'logs/audit.jsonl'));
  });

  it('falls back to $XDG_CONFIG_HOME/credstash/credstash.toml, then ~/.config/credstash/credstash.toml', () => {
    const xdg = write(join(dir, 'xdg', 'credstash', 'credstash.toml'), '[credential_store]\ntype = "env"\n');
    const dotConfig = write(join(home, '.config', 'credstash', 'credstash.toml'), '[credential_store]\ntype = "local"\n');
    expect(findConfigFile(dir, { HOME: home, XDG_CONFIG_HOME: join(dir, 'xdg') }, undefined)).toBe(xdg);
    expect(findConfigFile(dir, { HOME: home }, undefined)).toBe(dotConfig);
    expect(loadConfig({ cwd: dir, env: { HOME: home } }).baseDir).toBe(join(home, '.config', 'credstash'));
  });

  it('prefers --config over CREDSTASH_CONFIG over ./credstash.toml', () => {
    write(join(dir, 'credstash.toml'), '[credential_store]\ntype = "local"\n');
    const viaEnv = write(join(dir, 'env.toml'), '[credential_store]\ntype = "env"\n');
    const viaFlag = write(join(dir, 'flag.toml'), '[credential_store]\ntype = "ssm"\n');
    expect(loadConfig({ cwd: dir, env: { HOME: home } }).store.type).toBe('local');
    expect(loadConfig({ cwd: dir, env: { HOME: home, CREDSTASH_CONFIG: viaEnv } }).store.type).toBe('env');
    expect(loadConfig({ cwd: dir, env: { HOME: home, CREDSTASH_CONFIG: viaEnv }, overrides: { configPath: viaFlag } }).store.type).toBe('ssm');
  });

  it('fails naming the file when --config or CREDSTASH_CONFIG points nowhere', () => {
    const e1 = thrown(() => loadConfig({ cwd: dir, env: { HOME: home }, overrides: { configPath: 'missing.toml' } }));
    expect(e1.message).toBe(`config file ${join(dir, 'missing.toml')} (from --config) does not exist or is not a file`);
    const e2 = thrown(() => loadConfig({ cwd: dir, env: { HOME: home, CREDSTASH_CONFIG: '/nope/x.toml' } }));
    expect(e2.message).toContain('(from CREDSTASH_CONFIG)');
  });

  it('applies flags over env over file for store config keys', () => {
    write(join(dir, 'credstash.toml'), '[credential_store]\ntype = "dynamodb"\n[credential_store.config]\ntable = "from-file"\nregion = "eu-west-1"\n');
    const env = { HOME: home, CREDSTASH_DEFAULT_TABLE: 'from-env' };
    const fileOnly = loadConfig({ cwd: dir, env: { HOME: home } });
    expect(fileOnly.store.config).toEqual({ table: 'from-file', region: 'eu-west-1' });
    const withEnv = loadConfig({ cwd: dir, env });
    expect(withEnv.store.config?.table).toBe('from-env');
    expect(withEnv.storeSources.table).toBe('env');
    const withFlag = loadConfig({ cwd: dir, env, overrides: { storeConfig: { table: 'from-flag', region: undefined } } });
    expect(withFlag.store.config).toEqual({ table: 'from-flag', region: 'eu-west-1' });
    expect(withFlag.storeSources).toMatchObject({ table: 'flag', region: 'file', type: 'file' });
  });

  it('applies CREDSTASH_DEFAULT_TABLE only to the dynamodb store', () => {
    write(join(dir, 'credstash.toml'), '[credential_store]\ntype = "local"\n');
    expect(loadConfig({ cwd: dir, env: { HOME: home, CREDSTASH_DEFAULT_TABLE: 't' } }).store.config).toEqual({});
    rmSync(join(dir, 'credstash.toml'));
    expect(loadConfig({ cwd: dir, env: { HOME: home, CREDSTASH_DEFAULT_TABLE: 't' } }).store.config?.table).toBe('t');
  });

  it('reads the kms-region saved by `setup --save-kms-region` in ~/.credstash, below flags', () => {
    writeFileSync(join(home, '.credstash'), '{"kms-region": "eu-central-1"}');
    expect(loadConfig({ cwd: dir, env: { HOME: home } }).store.config?.kms_region).toBe('eu-central-1');
    expect(loadConfig({ cwd: dir, env: { HOME: home }, overrides: { storeConfig: { kms_region: 'us-west-2' } } }).store.config?.kms_region).toBe('us-west-2');
  });

  it('switches tier with --store-type / CREDSTASH_STORE_TYPE, dropping the other tier\'s config', () => {
    write(join(dir, 'credstash.toml'), '[credential_store]\ntype = "local"\n[credential_store.config]\npath = "x.json"\n');
    expect(loadConfig({ cwd: dir, env: { HOME: home, CREDSTASH_STORE_TYPE: 'env' } }).store).toEqual({ type: 'env', config: {} });
    const cfg = loadConfig({ cwd: dir, env: { HOME: home, CREDSTASH_STORE_TYPE: 'env' }, overrides: { storeType: 'local' } });
    expect(cfg.store).toEqual({ type: 'local', config: { path: 'x.json' } });
    expect(cfg.storeSources.type).toBe('flag');
  });

  it('resolves credential_store.module against the config folder or ~, and drops it when another type is selected', () => {
    const file = write(join(dir, 'cfg', 'credstash.toml'), '[credential_store]\ntype = "team"\nmodule = "./team-store.mjs"\n');
    expect(loadConfig({ cwd: dir, env: { HOME: home }, overrides: { configPath: file } }).storeModule).toBe(join(dir, 'cfg', 'team-store.mjs'));
    expect(loadConfig({ cwd: dir, env: { HOME: home }, overrides: { configPath: file, storeType: 'local' } }).storeModule).toBeUndefined();
    expect(loadConfig({ cwd: dir, env: { HOME: home, CREDSTASH_STORE_TYPE: 'team' }, overrides: { configPath: file } }).storeModule).toBe(join(dir, 'cfg', 'team-store.mjs'));
    write(file, '[credential_store]\ntype = "team"\nmodule = "~/stores/team.mjs"\n');
    expect(loadConfig({ cwd: dir, env: { HOME: home }, overrides: { configPath: file } }).storeModule).toBe(join(home, 'stores', 'team.mjs'));
    write(file, '[credential_store]\ntype = "team"\nmodule = "team-store"\n');
    expect(thrown(() => loadConfig({ cwd: dir, env: { HOME: home }, overrides: { configPath: file } })).message).toBe(
      `${file}: credential_store.module: expected a file path (./store.mjs, ~/store.mjs or /abs/store.mjs)`,
    );
    write(file, '[credential_store]\ntype = "team"\nmodule = 3\n');
    expect(thrown(() => loadConfig({ cwd: dir, env: { HOME: home }, overrides: { configPath: file } })).message).toBe(
      `${file} line 3: credential_store.module: expected a string, found a number`,
    );
  });

  it('takes CREDSTASH_FERNET_KEY (comma-separated) over [fernet] keys', () => {
    write(join(dir, 'credstash.toml'), `[fernet]\nkeys = ["${KEY}"]\n`);
    expect(loadConfig({ cwd: dir, env: { HOME: home, CREDSTASH_FERNET_KEY: ` ${KEY2} , ${KEY} ` } }).fernetKeys).toEqual([KEY2, KEY]);
  });

  it('reads a Fernet key by the one rule the stores use: the padding may be left out, a non-canonical encoding is refused', () => {
    // What the local and SQL tiers accept (crypto/fernet.ts parseFernetKey) is what the config accepts.
    const unpadded = KEY.replace(/=$/, '');
    expect(loadConfig({ cwd: dir, env: { HOME: home, CREDSTASH_FERNET_KEY: unpadded } }).fernetKeys).toEqual([unpadded]);
    expect(() => parseFernetKey(unpadded)).not.toThrow();
    // The same 32 bytes with the unused low bits of the last character set: Buffer decodes it alike, the stores refuse it.
    const last = KEY.charAt(42);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const twin = `${KEY.slice(0, 42)}${alphabet.charAt(alphabet.indexOf(last) ^ 1)}=`;
    expect(Buffer.from(twin, 'base64url')).toEqual(Buffer.from(KEY, 'base64url'));
    expect(() => parseFernetKey(twin)).toThrow(/is not a Fernet key/);
    const e = thrown(() => loadConfig({ cwd: dir, env: { HOME: home, CREDSTASH_FERNET_KEY: twin } }));
    expect(e.message).toBe('CREDSTASH_FERNET_KEY: key 1 of 1: not a Fernet key (expected 32 bytes as url-safe base64, 44 characters)');
    expectNoLeak(e, twin, KEY);
  });

  it('rejects a malformed Fernet key by position, without printing it', () => {
    const bad = `${KEY.slice(0, 20)}!!${KEY.slice(22)}`;
    const e1 = thrown(() => loadConfig({ cwd: dir, env: { HOME: home, CREDSTASH_FERNET_KEY: `${KEY},${bad}` } }));
    expect(e1.message).toBe('CREDSTASH_FERNET_KEY: key 2 of 2: not a Fernet key (expected 32 bytes as url-safe base64, 44 characters)');
    expectNoLeak(e1, bad, KEY);
    write(join(dir, 'credstash.toml'), `[fernet]\nkeys = ["${KEY}", "${bad}"]\n`);
    const e2 = thrown(() => loadConfig({ cwd: dir, env: { HOME: home } }));
    expect(e2.message).toBe(`${join(dir, 'credstash.toml')}: fernet.keys[1]: not a Fernet key (expected 32 bytes as url-safe base64, 44 characters)`);
    expectNoLeak(e2, bad, KEY);
  });
});

describe('parseConfigText', () => {
  const F = '/p/credstash.toml';

  it('reports a TOML syntax error with line and column and without the file content', () => {
    const text = `[fernet]\nkeys = ["${KEY}"\n[credential_store]\n`;
    const err = thrown(() => parseConfigText(text, F));
    expect(err.message).toMatch(/^\/p\/credstash\.toml line \d+, column \d+: invalid TOML/);
    expect(err.code).toBe('ERR_CONFIG');
    expectNoLeak(err, KEY);
  });

  it('names the key path and line of a wrong type', () => {
    const err = thrown(() => parseConfigText('[credential_store]\ntype = 3\n', F));
    expect(err.message).toBe('/p/credstash.toml line 2: credential_store.type: expected a string, found a number');
  });

  it('names a missing required key at its table header', () => {
    const err = thrown(() => parseConfigText('# c\n[credential_store]\n[credential_store.config]\npath = "x"\n', F));
    expect(err.message).toBe('/p/credstash.toml line 2: credential_store.type: is required (a string)');
  });

  it('names an unknown key (a typo) with its line', () => {
    const err = thrown(() => parseConfigText('[credential-store]\ntype = "local"\n', F));
    expect(err.message).toBe('/p/credstash.toml line 1: credential-store: unknown key');
  });

  it('names the array element of a bad definition, never the value', () => {
    const text = '[[credentials]]\nid = "a"\n\n[[credentials]]\nid = "b"\ncredential_type = "s3cr3t-type"\n';
    const err = thrown(() => parseConfigText(text, F));
    expect(err.message).toBe(
      '/p/credstash.toml line 6: credentials[1].credential_type: expected one of "aws", "database", "api_key", "oauth", "basic_auth", "certificate", "custom"',
    );
    expectNoLeak(err, 's3cr3t-type');
  });

  it('rejects a definition id given twice', () => {
    const err = thrown(() => parseConfigText('[[credentials]]\nid = "a"\n[[credentials]]\nid = "a"\n', F));
    expect(err.message).toBe('/p/credstash.toml line 4: credentials[1].id: id "a" is already defined by credentials[0]');
  });

  it('does not echo a string where a table was expected', () => {
    const err = thrown(() => parseConfigText(`fernet = "${KEY}"\n`, F));
    expect(err.message).toBe('/p/credstash.toml line 1: fernet: expected a table, found a string');
    expectNoLeak(err, KEY);
  });

  it('accepts the full agreed shape', () => {
    const cfg = parseConfigText(
      `audit_log = "a.log"\n[fernet]\nkeys = ["${KEY}"]\n[credential_store]\ntype = "sql"\nname = "db"\n[credential_store.config]\ntable = "t"\nengine = { name = "sqlite", config = { path = "d.db" } }\n` +
        '[[credentials]]\nid = "db_prod"\ncredential_type = "database"\ndescription = "main db"\n[credentials.metadata]\nowner = "ops"\n',
      F,
    );
    expect(cfg.credential_store).toEqual({ type: 'sql', name: 'db', config: { table: 't', engine: { name: 'sqlite', config: { path: 'd.db' } } } });
    expect(cfg.credentials).toEqual([{ id: 'db_prod', credential_type: 'database', description: 'main db', metadata: { owner: 'ops' } }]);
  });
});

describe('locateKey', () => {
  it('finds dotted keys, inline tables and array-of-table elements', () => {
    const text = '[a]\nb.c = 1\n[[x]]\ny = 1\n[[x]]\ny = 2\n[x.meta]\nz = 1\nq = { r = 1 }\n';
    expect(locateKey(text, ['a', 'b', 'c'])).toBe(2);
    expect(locateKey(text, ['x', 1, 'y'])).toBe(6);
    expect(locateKey(text, ['x', 1, 'meta', 'z'])).toBe(8);
    expect(locateKey(text, ['x', 1, 'meta', 'q', 'r'])).toBe(9);
    expect(locateKey(text, ['nope'])).toBeUndefined();
  });
});
