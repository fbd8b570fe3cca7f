/**
 * Whose files credstash takes its configuration and code from: a credstash.toml (found in the working
 * directory or the user folder, or named by --config / CREDSTASH_CONFIG) and a `credential_store.module`
 * must belong to the current user or root and not be writable by group or others; no folder on the way to
 * a module may let someone else replace it (a sticky folder like /tmp only over an entry of ours). Files of
 * another uid are made with chown, which needs root; those cases say so in their names and are skipped
 * otherwise.
 */
import { chmodSync, chownSync, existsSync, lchownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { assertTrustedFile } from '../../../src/core/file-trust.js';
import { loadConfig } from '../../../src/config/merge.js';
import { openConfiguredStore } from '../../../src/stores/open.js';
import { ConfigError } from '../../../src/core/errors.js';
import { unregisterCredentialStore } from '../../../src/stores/registry.js';
import { runCliInProcess } from '../../helpers/cli-in-process.js';
import { rejectionOf as rejection } from '../../helpers/no-leak.js';

const ROOT = process.getuid?.() === 0;
const NOBODY = 65534;
const KEY = `${'A'.repeat(43)}=`;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'credstash-trust-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));
afterAll(() => {
  unregisterCredentialStore('trusttest');
  process.exitCode = 0;
});

function configFile(path: string, text = '[credential_store]\ntype = "local"\n'): string {
  writeFileSync(path, text, { mode: 0o600 });
  chmodSync(path, 0o600);
  return path;
}

/** A module that leaves a marker file when it runs, and registers `trusttest`. */
function moduleFile(path: string): { path: string; ran: string } {
  const ran = `${path}.ran`;
  writeFileSync(
    path,
    `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(ran)}, 'x');\nconst reg = globalThis[Symbol.for('credstash-ts.custom-stores')];\nreg.set('trusttest', () => { throw new Error('not opened in this test'); });\n`,
    { mode: 0o600 },
  );
  chmodSync(path, 0o600);
  return { path, ran };
}

function moduleConfig(modulePath: string): string {
  return configFile(join(dir, 'credstash.toml'), `[credential_store]\ntype = "trusttest"\nmodule = ${JSON.stringify(modulePath)}\n`);
}

describe('config files', () => {
  it.skipIf(!ROOT)('refuses ./credstash.toml owned by another user, naming the file and the fix (needs root to chown)', () => {
    const file = configFile(join(dir, 'credstash.toml'));
    chownSync(file, NOBODY, NOBODY);
    const err = (() => {
      try {
        loadConfig({ cwd: dir, env: { HOME: dir } });
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error('expected a ConfigError');
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toBe(`config file ${file} belongs to uid ${NOBODY}, not to you (uid 0) or root; refusing to use it (if you trust it: chown 0 ${file})`);
  });

  it.skipIf(!ROOT)('refuses a config named by --config or CREDSTASH_CONFIG, or the user config, owned by another user (needs root to chown)', () => {
    const other = configFile(join(dir, 'other.toml'));
    chownSync(other, NOBODY, NOBODY);
    expect(() => loadConfig({ cwd: dir, env: { HOME: dir }, overrides: { configPath: other } })).toThrow(/^config file .*other\.toml belongs to uid 65534/);
    expect(() => loadConfig({ cwd: dir, env: { HOME: dir, CREDSTASH_CONFIG: other } })).toThrow(/^config file .*other\.toml belongs to uid 65534/);
    mkdirSync(join(dir, '.config', 'credstash'), { recursive: true });
    const user = configFile(join(dir, '.config', 'credstash', 'credstash.toml'));
    chownSync(user, NOBODY, NOBODY);
    expect(() => loadConfig({ cwd: join(dir, '.config'), env: { HOME: dir } })).toThrow(/^config file .*\.config\/credstash\/credstash\.toml belongs to uid 65534/);
  });

  it.skipIf(!ROOT)('refuses ./credstash.toml that is someone else’s symlink, even to a config file of ours (needs root to chown)', () => {
    const ours = configFile(join(dir, 'ours.toml'));
    symlinkSync(ours, join(dir, 'credstash.toml'));
    expect(loadConfig({ cwd: dir, env: { HOME: dir } }).file).toBe(join(dir, 'credstash.toml'));
    lchownSync(join(dir, 'credstash.toml'), NOBODY, NOBODY);
    expect(() => loadConfig({ cwd: dir, env: { HOME: dir } })).toThrow(
      `config file (a symbolic link) ${join(dir, 'credstash.toml')} belongs to uid ${NOBODY}, not to you (uid 0) or root; refusing to use it`,
    );
  });

  it('refuses a config file its group or others may write, naming the mode and the fix', () => {
    const file = configFile(join(dir, 'credstash.toml'));
    for (const [mode, who] of [[0o620, 'its group'], [0o602, 'others'], [0o666, 'group and others']] as const) {
      chmodSync(file, mode);
      expect(() => loadConfig({ cwd: dir, env: { HOME: dir } })).toThrow(
        `config file ${file} is writable by ${who} (mode 0${mode.toString(8)}); refusing to use it (chmod go-w ${file})`,
      );
    }
    chmodSync(file, 0o644);
    expect(loadConfig({ cwd: dir, env: { HOME: dir } }).file).toBe(file);
  });

  it('refuses through the CLI with one line and exit 1, before any store is opened', async () => {
    const file = configFile(join(dir, 'credstash.toml'), `[fernet]\nkeys = ["${KEY}"]\n[credential_store]\ntype = "local"\n`);
    chmodSync(file, 0o666);
    const r = await runCliInProcess(['put', 'x', 'secret-value'], { cwd: dir, env: { HOME: dir } });
    expect(r).toEqual({ code: 1, stdout: '', stderr: `credstash: config file ${file} is writable by group and others (mode 0666); refusing to use it (chmod go-w ${file})\n` });
    expect(existsSync(join(dir, '.credstash'))).toBe(false);
  });

  it('accepts files of the current user and of root, quoting a path with spaces in the suggested command', () => {
    expect(() => assertTrustedFile({ uid: 1000, mode: 0o100600 }, '/x', 'config file', 1000)).not.toThrow();
    expect(() => assertTrustedFile({ uid: 0, mode: 0o100644 }, '/x', 'config file', 1000)).not.toThrow();
    expect(() => assertTrustedFile({ uid: 1001, mode: 0o100600 }, "/a b/it's.toml", 'config file', 1000)).toThrow(
      "config file /a b/it's.toml belongs to uid 1001, not to you (uid 1000) or root; refusing to use it (if you trust it: chown 1000 '/a b/it'\\''s.toml')",
    );
  });
});

describe('credential_store.module', () => {
  const open = (): Promise<unknown> => openConfiguredStore(loadConfig({ cwd: dir, env: { HOME: dir } }), { HOME: dir });

  it.skipIf(!ROOT)('is never run when another user owns it (needs root to chown)', async () => {
    const mod = moduleFile(join(dir, 'evil.mjs'));
    chownSync(mod.path, NOBODY, NOBODY);
    moduleConfig('./evil.mjs');
    const err = await rejection(open());
    expect(err.message).toBe(`${join(dir, 'credstash.toml')}: credential_store.module ${mod.path} belongs to uid ${NOBODY}, not to you (uid 0) or root; refusing to use it (if you trust it: chown 0 ${mod.path})`);
    expect(existsSync(mod.ran)).toBe(false);
  });

  it('is never run when its group or others may write it', async () => {
    const mod = moduleFile(join(dir, 'store.mjs'));
    chmodSync(mod.path, 0o664);
    moduleConfig('./store.mjs');
    expect((await rejection(open())).message).toMatch(/credential_store\.module .*store\.mjs is writable by its group \(mode 0664\); refusing to use it \(chmod go-w /);
    expect(existsSync(mod.ran)).toBe(false);
  });

  it('is never run from a folder others may write (not sticky), nor from below one', async () => {
    mkdirSync(join(dir, 'shared', 'deep'), { recursive: true });
    chmodSync(join(dir, 'shared'), 0o777);
    const mod = moduleFile(join(dir, 'shared', 'deep', 'store.mjs'));
    moduleConfig('./shared/deep/store.mjs');
    expect((await rejection(open())).message).toContain(
      `credential_store.module ${mod.path} is inside folder ${join(dir, 'shared')}, which group and others can write (mode 0777), so ${join(dir, 'shared', 'deep')} could be replaced; refusing to load it`,
    );
    expect(existsSync(mod.ran)).toBe(false);
  });

  it.skipIf(!ROOT)('is never run from a folder another user owns, nor through a symlink another user owns in a sticky folder (needs root to chown)', async () => {
    mkdirSync(join(dir, 'theirs'));
    const mod = moduleFile(join(dir, 'theirs', 'store.mjs'));
    chownSync(join(dir, 'theirs'), NOBODY, NOBODY);
    moduleConfig('./theirs/store.mjs');
    expect((await rejection(open())).message).toContain(`is inside folder ${join(dir, 'theirs')}, which belongs to uid ${NOBODY}`);
    expect(existsSync(mod.ran)).toBe(false);

    // A sticky, world-writable folder: an entry of ours is safe in it, a symlink of theirs is not.
    mkdirSync(join(dir, 'tmp'));
    chmodSync(join(dir, 'tmp'), 0o1777);
    const mine = moduleFile(join(dir, 'mine.mjs'));
    symlinkSync(mine.path, join(dir, 'tmp', 'link.mjs'));
    lchownSync(join(dir, 'tmp', 'link.mjs'), NOBODY, NOBODY);
    moduleConfig('./tmp/link.mjs');
    expect((await rejection(open())).message).toContain(`which group and others can write (mode 01777), so ${join(dir, 'tmp', 'link.mjs')} could be replaced`);
    expect(existsSync(mine.ran)).toBe(false);
  });

  it('runs from a sticky world-writable folder when the module there is ours (as in /tmp), and from an ordinary folder', async () => {
    mkdirSync(join(dir, 'tmp'));
    chmodSync(join(dir, 'tmp'), 0o1777);
    const mod = moduleFile(join(dir, 'tmp', 'store.mjs'));
    moduleConfig('./tmp/store.mjs');
    // The module registers its type with a factory that throws: reaching the factory means it was trusted and run.
    expect((await rejection(open())).message).toBe('not opened in this test');
    expect(existsSync(mod.ran)).toBe(true);
  });

  it('a missing module is a one-line error naming it', async () => {
    moduleConfig('./missing.mjs');
    expect((await rejection(open())).message).toBe(`${join(dir, 'credstash.toml')}: credential_store.module: cannot load ${join(dir, 'missing.mjs')} (ENOENT)`);
  });
});

describe('credstash config', () => {
  it('says which config file is in use and how it was found, without a key or a store config value', async () => {
    const file = configFile(join(dir, 'credstash.toml'), `audit_log = "a.jsonl"\n[fernet]\nkeys = ["${KEY}"]\n[credential_store]\ntype = "local"\n[credential_store.config]\npath = "secret-path-value.json"\n`);
    const r = await runCliInProcess(['config'], { cwd: dir, env: { HOME: dir } });
    expect(r).toEqual({
      code: 0,
      stderr: '',
      stdout: `config file: ${file} (found in the working directory)\nstore: local (from the config file)\nstore config keys: path\naudit log: ${join(dir, 'a.jsonl')}\nfernet keys: 1 (from the config file)\n`,
    });
    expect(r.stdout).not.toContain(KEY);
    expect(r.stdout).not.toContain('secret-path-value');
    const named = await runCliInProcess(['--config', file, 'config'], { cwd: tmpdir(), env: { HOME: dir } });
    expect(named.stdout.split('\n')[0]).toBe(`config file: ${file} (named by --config)`);
    mkdirSync(join(dir, 'empty'));
    const none = await runCliInProcess(['config'], { cwd: join(dir, 'empty'), env: { HOME: join(dir, 'empty') } });
    expect(none.stdout.split('\n').slice(0, 2)).toEqual(['config file: none (built-in defaults: the DynamoDB table of Python credstash)', 'store: dynamodb (from the defaults)']);
  });

  it('never runs the store module', async () => {
    const mod = moduleFile(join(dir, 'store.mjs'));
    moduleConfig('./store.mjs');
    const r = await runCliInProcess(['config'], { cwd: dir, env: { HOME: dir } });
    expect(r.stdout).toContain(`store module: ${mod.path}\n`);
    expect(existsSync(mod.ran)).toBe(false);
    expect(readFileSync(join(dir, 'credstash.toml'), 'utf8')).toContain('trusttest');
  });
});
