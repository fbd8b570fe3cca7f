/**
 * `credstash init` as a real process: every folder it creates is 0700 whatever the umask (under umask 000
 * `mkdir -p` made 0777 folders, where another user could swap the config file for their own), a `--path`
 * ending in `/` names a folder, and a new key never silently orphans what is already stored: `--force` keeps
 * the replaced file's keys (and backs the file up 0600), and a keystore holding versions no key of the new
 * file can read (credstash.toml was deleted) makes init refuse unless `--allow-unreadable`.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../src/config/schema.js';
import { generateFernetKey } from '../../../src/crypto/fernet.js';
import { LocalStore } from '../../../src/stores/local/index.js';
import { CANARY, expectNoLeak } from '../../helpers/no-leak.js';
import { BIN, cleanEnv, runCli, type CliResult } from '../../helpers/cli.js';

const root = mkdtempSync(join(tmpdir(), 'credstash-init-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const project = (): string => {
  const d = join(root, `p${++n}`);
  mkdirSync(d, { mode: 0o700 });
  return d;
};
const cli = (dir: string, args: string[]): Promise<CliResult> => runCli(args, { cwd: dir, env: cleanEnv(dir) });
const mode = (p: string): number => statSync(p).mode & 0o777;
const keysOf = (file: string): string[] => parseConfigText(readFileSync(file, 'utf8'), file).fernet?.keys ?? [];
const oneLine = (r: CliResult, pattern: RegExp): void => {
  expect(r.code, r.stderr).toBe(1);
  expect(r.stdout).toBe('');
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
};

/** bin/credstash under `umask 000` (or another umask). */
function cliUmask0(dir: string, args: string[], umask = '000'): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', `umask ${umask} && exec "$0" "$@"`, process.execPath, BIN, ...args], { cwd: dir, env: cleanEnv(dir), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('credstash init: folders', () => {
  it('under umask 000, --path proj/sub/credstash.toml creates proj, proj/sub and the keystore folder 0700, the file 0600', async () => {
    const d = project();
    const r = await cliUmask0(d, ['init', '--path', 'proj/sub/credstash.toml']);
    expect(r.code, r.stderr).toBe(0);
    expect(mode(join(d, 'proj'))).toBe(0o700);
    expect(mode(join(d, 'proj', 'sub'))).toBe(0o700);
    expect(mode(join(d, 'proj', 'sub', '.credstash'))).toBe(0o700);
    expect(mode(join(d, 'proj', 'sub', 'credstash.toml'))).toBe(0o600);
    // and the store it points at, created by the first put under the same umask
    const put = await cliUmask0(join(d, 'proj', 'sub'), ['put', 'a', CANARY]);
    expect(put.code, put.stderr).toBe(0);
    expect(mode(join(d, 'proj', 'sub', '.credstash', 'keystore.json'))).toBe(0o600);
  });

  it('the keystore folder and the SQLite folder a first put creates are exactly 0700, under umask 000 and under umask 0277', async () => {
    for (const umask of ['000', '0277']) {
      const d = project();
      const key = generateFernetKey();
      writeFileSync(join(d, 'credstash.toml'), `[fernet]\nkeys = ["${key}"]\n[credential_store]\ntype = "local"\n[credential_store.config]\npath = "deep/er/keystore.json"\n`, { mode: 0o600 });
      const r = await cliUmask0(d, ['put', 'a', CANARY], umask);
      expect(r.code, r.stderr).toBe(0);
      for (const f of ['deep', 'deep/er']) expect(mode(join(d, f)), `${umask} ${f}`).toBe(0o700);
      expect(mode(join(d, 'deep', 'er', 'keystore.json'))).toBe(0o600);
      writeFileSync(join(d, 'credstash.toml'), `[fernet]\nkeys = ["${key}"]\n[credential_store]\ntype = "sql"\n[credential_store.config]\nengine = { name = "sqlite", config = { path = "db/sub/c.db" } }\n`, { mode: 0o600 });
      const s = await cliUmask0(d, ['put', 'a', CANARY], umask);
      expect(s.code, s.stderr).toBe(0);
      for (const f of ['db', 'db/sub']) expect(mode(join(d, f)), `${umask} ${f}`).toBe(0o700);
    }
  });

  it('a folder that already exists keeps its mode (it is not init\'s to change)', async () => {
    const d = project();
    mkdirSync(join(d, 'shared'), { mode: 0o755 });
    const r = await cli(d, ['init', '--path', 'shared/credstash.toml']);
    expect(r.code, r.stderr).toBe(0);
    expect(mode(join(d, 'shared'))).toBe(0o755);
  });

  it('--path a/b/c/ (trailing slash) means the folder a/b/c: credstash.toml inside it, every new folder 0700', async () => {
    const d = project();
    const r = await cliUmask0(d, ['init', '--path', 'a/b/c/']);
    expect(r.code, r.stderr).toBe(0);
    expect(statSync(join(d, 'a', 'b', 'c')).isDirectory()).toBe(true);
    expect(mode(join(d, 'a', 'b', 'c', 'credstash.toml'))).toBe(0o600);
    for (const f of ['a', 'a/b', 'a/b/c', 'a/b/c/.credstash']) expect(mode(join(d, f)), f).toBe(0o700);
    expect(r.stdout).toContain(`created ${join(d, 'a', 'b', 'c', 'credstash.toml')} with a new Fernet key`);
  });

  it('a path whose folder part is a file is one clean line, nothing written', async () => {
    const d = project();
    writeFileSync(join(d, 'afile'), 'x');
    oneLine(await cli(d, ['init', '--path', 'afile/credstash.toml']), /^credstash: cannot create folder .*afile \(ENOTDIR\)$/);
    oneLine(await cli(d, ['init', '--path', 'afile/']), /^credstash: cannot create folder .*afile \(ENOTDIR\)$/);
    expect(readFileSync(join(d, 'afile'), 'utf8')).toBe('x');
  });
});

describe('credstash init: a new key never silently orphans stored credentials', () => {
  it('after credstash.toml was deleted, init refuses while the keystore holds versions no new key reads; nothing is written', async () => {
    const d = project();
    expect((await cli(d, ['init'])).code).toBe(0);
    expect((await cli(d, ['put', 'app.db', CANARY])).code).toBe(0);
    expect((await cli(d, ['put', '-a', 'app.db', `${CANARY}-2`])).code).toBe(0);
    const keystore = join(d, '.credstash', 'keystore.json');
    const before = readFileSync(keystore, 'utf8');
    const oldKey = keysOf(join(d, 'credstash.toml'))[0] as string;
    unlinkSync(join(d, 'credstash.toml'));
    const r = await cli(d, ['init']);
    oneLine(
      r,
      /^credstash: .*keystore\.json already holds 2 credential version\(s\) that no key of the new credstash\.toml could read \(they were written under a Fernet key that is not in it; was credstash\.toml deleted\? restore it from a backup\)\. Nothing was written\. To start a new key anyway .* pass --allow-unreadable$/,
    );
    expect(existsSync(join(d, 'credstash.toml'))).toBe(false);
    expect(readFileSync(keystore, 'utf8')).toBe(before);
    expect(readdirSync(d).sort()).toEqual(['.credstash']);
    expectNoLeak(r.stderr, CANARY, oldKey);
  });

  it('--allow-unreadable writes the new key anyway, warns how many versions it cannot read, and a read of one says "not readable with the configured key(s)"', async () => {
    const d = project();
    expect((await cli(d, ['init'])).code).toBe(0);
    expect((await cli(d, ['put', 'old.one', CANARY])).code).toBe(0);
    unlinkSync(join(d, 'credstash.toml'));
    const r = await cli(d, ['init', '--allow-unreadable']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^credstash: warning: 1 credential version\(s\) in .*keystore\.json cannot be read with the keys in .*credstash\.toml\n$/);
    const get = await cli(d, ['get', 'old.one']);
    oneLine(get, /^credstash: credential "old\.one" version 1 in local keystore ".*" is not readable with the configured Fernet key\(s\): it was written under a key that is not in the list, or it was altered$/);
    expectNoLeak(get.stderr, CANARY);
    expect((await cli(d, ['put', 'new.one', 'fresh'])).code).toBe(0);
    expect((await cli(d, ['get', 'new.one'])).stdout).toBe('fresh\n');
  });

  it('--force over an existing file keeps its keys after the new one and backs it up 0600: every stored credential still reads', async () => {
    const d = project();
    expect((await cli(d, ['init'])).code).toBe(0);
    const file = join(d, 'credstash.toml');
    expect((await cli(d, ['put', 'kept', CANARY])).code).toBe(0);
    const oldText = readFileSync(file, 'utf8');
    const oldKeys = keysOf(file);
    const r = await cli(d, ['init', '--force']);
    expect(r.code, r.stderr).toBe(0);
    const backups = readdirSync(d).filter((f) => /^credstash\.toml\..+\.bak$/.test(f));
    expect(backups).toHaveLength(1);
    const backup = join(d, backups[0] as string);
    expect(readFileSync(backup, 'utf8')).toBe(oldText);
    expect(mode(backup)).toBe(0o600);
    expect(mode(file)).toBe(0o600);
    expect(r.stdout).toBe(
      `created ${file} with a new Fernet key; the 1 key(s) of the file it replaced are kept after it, and that file was backed up to ${backup}; credentials will be stored in ${join(d, '.credstash', 'keystore.json')}\n`,
    );
    const keys = keysOf(file);
    expect(keys).toHaveLength(2);
    expect(keys.slice(1)).toEqual(oldKeys);
    expect((await cli(d, ['get', 'kept'])).stdout).toBe(`${CANARY}\n`);
    expectNoLeak(r.stdout + r.stderr, CANARY, ...keys);
    // rotate-key then moves everything to the new first key
    expect((await cli(d, ['rotate-key'])).code).toBe(0);
  });

  it('--force over a file that does not parse backs it up, and still refuses while the keystore holds versions no new key reads', async () => {
    const d = project();
    expect((await cli(d, ['init'])).code).toBe(0);
    expect((await cli(d, ['put', 'x', CANARY])).code).toBe(0);
    const file = join(d, 'credstash.toml');
    const broken = readFileSync(file, 'utf8').replace('[fernet]', '[fernet');
    writeFileSync(file, broken, { mode: 0o600 });
    oneLine(await cli(d, ['init', '--force']), /already holds 1 credential version\(s\) that no key of the new credstash\.toml could read \(they were written under a Fernet key that is not in it\)\. Nothing was written/);
    expect(readFileSync(file, 'utf8')).toBe(broken);
    expect(readdirSync(d).filter((f) => f.endsWith('.bak'))).toEqual([]);
    const r = await cli(d, ['init', '--force', '--allow-unreadable']);
    expect(r.code, r.stderr).toBe(0);
    const backups = readdirSync(d).filter((f) => f.endsWith('.bak'));
    expect(backups).toHaveLength(1);
    expect(readFileSync(join(d, backups[0] as string), 'utf8')).toBe(broken);
    expect(r.stdout).toContain('the 0 key(s) of the file it replaced are kept after it');
  });

  it('--force over a config for another store (sql) keeps its keys, so that store stays readable with the new file', async () => {
    const d = project();
    const key = generateFernetKey();
    const file = join(d, 'credstash.toml');
    writeFileSync(file, `[fernet]\nkeys = ["${key}"]\n[credential_store]\ntype = "sql"\n[credential_store.config]\nengine = { name = "sqlite", config = { path = "c.db" } }\n`, { mode: 0o600 });
    expect((await cli(d, ['put', 'in.sql', CANARY])).code).toBe(0);
    expect((await cli(d, ['init', '--force'])).code).toBe(0);
    expect(keysOf(file).slice(1)).toEqual([key]);
  });

  it('--force in a git work tree warns when the backup (it holds keys) is not ignored', async () => {
    const d = project();
    execFileSync('git', ['init', '-q'], { cwd: d });
    writeFileSync(join(d, '.gitignore'), 'credstash.toml\n');
    expect((await cli(d, ['init'])).code).toBe(0);
    const r = await cli(d, ['init', '--force']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^credstash: warning: the backup .*credstash\.toml\.[^ ]+\.bak holds Fernet keys and is inside a git work tree but not ignored; add "credstash\.toml\.\*\.bak" to \.gitignore\n$/);
  });

  it('an empty keystore (or none) is no obstacle', async () => {
    const d = project();
    mkdirSync(join(d, '.credstash'), { mode: 0o700 });
    const store = new LocalStore({ path: join(d, '.credstash', 'keystore.json'), fernetKeys: [generateFernetKey()] });
    await store.setup();
    expect((await cli(d, ['init'])).code).toBe(0);
  });

  it('init waits for a live holder of the key-list lock (a rotate-key), then writes', async () => {
    const d = project();
    const lock = join(d, 'credstash.toml.lock');
    writeFileSync(lock, JSON.stringify({ pid: process.pid, host: hostname(), started: null, created: Date.now(), nonce: 'test', purpose: 'rotate-key' }), { mode: 0o600 });
    const pending = cli(d, ['init']);
    await new Promise((r) => setTimeout(r, 1000));
    expect(existsSync(join(d, 'credstash.toml'))).toBe(false);
    rmSync(lock);
    const r = await pending;
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(lock)).toBe(false);
    expect(keysOf(join(d, 'credstash.toml'))).toHaveLength(1);
  });
});
