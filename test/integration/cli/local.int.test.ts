import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CANARY, expectNoLeak } from '../../helpers/no-leak.js';
import { LocalStore } from '../../../src/stores/local/index.js';
import { cleanEnv, expectCleanStderr, runCli, type CliResult } from '../../helpers/cli.js';

// The CLI as a real process against the local keystore tier (credstash init + Fernet), no AWS at all.
let dir: string;
let env: NodeJS.ProcessEnv;
let fernetKey: string;
const cli = (args: string[], input?: string): Promise<CliResult> => runCli(args, { cwd: dir, env, input });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'credstash-cli-local-'));
  env = cleanEnv(dir);
  const r = await cli(['init']);
  expect(r.code).toBe(0);
  fernetKey = /keys = \["([^"]+)"\]/.exec(readFileSync(join(dir, 'credstash.toml'), 'utf8'))?.[1] ?? '';
  expect(fernetKey).toHaveLength(44);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('credstash init', () => {
  it('writes credstash.toml 0600 with a Fernet key and creates the keystore folder 0700', async () => {
    const d = mkdtempSync(join(tmpdir(), 'credstash-init-'));
    const r = await runCli(['init'], { cwd: d, env: cleanEnv(d) });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`created ${join(d, 'credstash.toml')} with a new Fernet key; credentials will be stored in ${join(d, '.credstash/keystore.json')}\n`);
    expect(statSync(join(d, 'credstash.toml')).mode & 0o777).toBe(0o600);
    expect(statSync(join(d, '.credstash')).mode & 0o777).toBe(0o700);
    const text = readFileSync(join(d, 'credstash.toml'), 'utf8');
    expect(text).toMatch(/\[credential_store\]\ntype = "local"/);
    expectNoLeak(r.stdout + r.stderr, /keys = \["([^"]+)"\]/.exec(text)?.[1]);
    rmSync(d, { recursive: true, force: true });
  });

  it('refuses to overwrite without --force and replaces the key with it', async () => {
    const before = readFileSync(join(dir, 'credstash.toml'), 'utf8');
    const r = await cli(['init']);
    expect(r).toMatchObject({ code: 1, stdout: '' });
    expect(r.stderr).toBe(`credstash: ${join(dir, 'credstash.toml')} already exists; use --force to replace it (its Fernet keys are kept after the new one, and the old file is backed up)\n`);
    expect(readFileSync(join(dir, 'credstash.toml'), 'utf8')).toBe(before);
    const other = join(dir, 'other');
    mkdirSync(other);
    expect((await cli(['init', '--path', 'other'])).code).toBe(0);
    const first = readFileSync(join(other, 'credstash.toml'), 'utf8');
    expect((await cli(['init', '--path', 'other/credstash.toml', '--force'])).code).toBe(0);
    expect(readFileSync(join(other, 'credstash.toml'), 'utf8')).not.toBe(first);
  });

  it('warns on stderr when the file is in a git work tree and not ignored, and not once it is ignored', async () => {
    const repo = mkdtempSync(join(tmpdir(), 'credstash-git-'));
    execFileSync('git', ['init', '-q'], { cwd: repo });
    const r1 = await runCli(['init'], { cwd: repo, env: cleanEnv(repo) });
    expect(r1.code).toBe(0);
    expect(r1.stderr).toBe(`credstash: warning: ${join(repo, 'credstash.toml')} holds a Fernet key and is inside a git work tree but not ignored; add "credstash.toml" to .gitignore\n`);
    writeFileSync(join(repo, '.gitignore'), 'credstash.toml\ncredstash.toml.*.bak\n');
    const r2 = await runCli(['init', '--force'], { cwd: repo, env: cleanEnv(repo) });
    expect(r2).toMatchObject({ code: 0, stderr: '' });
    rmSync(repo, { recursive: true, force: true });
  });
});

describe('credstash put / get on the local keystore', () => {
  it('stores and prints a value with a newline, or without one with -n', async () => {
    expect(await cli(['put', 'app.token', CANARY])).toEqual({ code: 0, stdout: 'app.token has been stored\n', stderr: '' });
    expect(await cli(['get', 'app.token'])).toEqual({ code: 0, stdout: `${CANARY}\n`, stderr: '' });
    expect(await cli(['get', '-n', 'app.token'])).toEqual({ code: 0, stdout: CANARY, stderr: '' });
  });

  it('reads @file verbatim (trailing newline kept, ~ expanded) and - from stdin', async () => {
    writeFileSync(join(dir, 'cert.pem'), 'line1\nline2\n');
    expect((await cli(['put', 'file.val', '@~/cert.pem'])).code).toBe(0);
    expect((await cli(['get', '-n', 'file.val'])).stdout).toBe('line1\nline2\n');
    expect((await cli(['put', 'stdin.val', '-'], 'from stdin')).code).toBe(0);
    expect((await cli(['get', 'stdin.val'])).stdout).toBe('from stdin\n');
  });

  it('-P prompts on stderr and reads the value without echo; on a pipe, the first line of stdin (Python getpass)', async () => {
    const r = await cli(['put', '-P', 'prompted', 'ignored-positional', 'env=dev'], `${CANARY}\nsecond line\n`);
    expect(r).toEqual({ code: 0, stdout: 'prompted has been stored\n', stderr: 'prompted: \n' });
    expect(await cli(['get', 'prompted', 'env=dev', '--noline'])).toEqual({ code: 0, stdout: CANARY, stderr: '' });
    // an empty line is an empty value; end of input before a newline is an error (Python's EOFError)
    const empty = await cli(['put', '--prompt', 'prompted.empty'], '\n');
    expect(empty).toEqual({ code: 0, stdout: 'prompted.empty has been stored\n', stderr: 'prompted.empty: \n' });
    expect((await cli(['get', 'prompted.empty'])).stdout).toBe('\n');
    const eof = await cli(['put', '--prompt', 'prompted.eof'], '');
    expect(eof.code).toBe(1);
    expect(eof.stderr).toMatch(/^prompted\.eof: \ncredstash: no value entered/);
  });

  it('accepts Python\'s --log-level / --log-file and writes no log file', async () => {
    const r = await cli(['--log-level', 'DEBUG', '--log-file', 'cs.log', 'get', 'app.token', '-n']);
    expect(r).toEqual({ code: 0, stdout: CANARY, stderr: '' });
    expect(() => statSync(join(dir, 'cs.log'))).toThrow();
  });

  it('fails with exit 2 and Python\'s message for an unreadable @file', async () => {
    const r = await cli(['put', 'x', '@nope.txt']);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe('credstash: Unable to read file nope.txt');
  });

  it('versions: -v N, -a, get -v, and a conflict on an existing version', async () => {
    expect((await cli(['put', 'ver', 'one'])).code).toBe(0);
    expect((await cli(['put', 'ver', 'two', '-a'])).code).toBe(0);
    expect((await cli(['put', 'ver', 'ten', '-v', '10'])).code).toBe(0);
    expect((await cli(['get', 'ver'])).stdout).toBe('ten\n');
    expect((await cli(['get', 'ver', '-v', '2'])).stdout).toBe('two\n');
    const r = await cli(['put', 'ver', CANARY, '-v', '2']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^credstash: credential "ver" version 2 already exists in local keystore/);
    expectNoLeak(r.stderr, CANARY);
  });

  it('exits 2 for a non-integer put -v', async () => {
    const r = await cli(['put', 'ver', 'x', '-v', '1.5']);
    expect(r.code).toBe(2);
    expectCleanStderr(r.stderr);
  });

  it('binds the encryption context: a wrong or missing context is an error that prints no value', async () => {
    expect((await cli(['put', 'ctx.val', CANARY, 'env=prod', 'k=a=b'])).code).toBe(0);
    expect((await cli(['get', 'ctx.val', 'k=a=b', 'env=prod'])).stdout).toBe(`${CANARY}\n`);
    for (const ctx of [['env=dev', 'k=a=b'], []]) {
      const r = await cli(['get', 'ctx.val', ...ctx]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe('credstash: credential "ctx.val" version 1 could not be decrypted with the given encryption context; pass the exact key=value pairs it was stored with\n');
      expectNoLeak(r.stdout + r.stderr, CANARY, fernetKey);
    }
  });

  it('prints the real error class in a CREDSTASH_DEBUG stack, although the CLI bundle is minified', async () => {
    const r = await runCli(['get', 'nope'], { cwd: dir, env: { ...env, CREDSTASH_DEBUG: '1' } });
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n')[1]).toMatch(/^CredentialNotFoundError: credential "nope" not found/);
  });

  it('reports a missing credential and a missing version with exit 1', async () => {
    const r1 = await cli(['get', 'nope']);
    expect(r1.code).toBe(1);
    expect(r1.stderr).toMatch(/^credstash: credential "nope" not found in local keystore ".*keystore\.json"\n$/);
    const r2 = await cli(['get', 'app.token', '-v', '7']);
    expect(r2.stderr).toMatch(/^credstash: credential "app.token" version 7 not found/);
  });

  it('rejects a value that is too large, naming sizes but not the value', async () => {
    const big = 'x'.repeat(1024 * 1024 + 1);
    const r = await cli(['put', 'big', '-'], big);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^credstash: value of credential "big" is 1048577 bytes; local keystore .* accepts at most 1048576\n$/);
  });

  it('stores a structured credential with --json --type and prints one field with --field', async () => {
    const data = JSON.stringify({ user: 'app', password: CANARY, port: 5432 });
    expect(await cli(['put', 'db.prod', '--json', data, '--type', 'database'])).toMatchObject({ code: 0, stdout: 'db.prod has been stored\n' });
    expect((await cli(['get', 'db.prod', '--field', 'password'])).stdout).toBe(`${CANARY}\n`);
    expect((await cli(['get', 'db.prod', '--field', 'port'])).stdout).toBe('5432\n');
    expect(JSON.parse((await cli(['get', 'db.prod'])).stdout)).toEqual({ user: 'app', password: CANARY, port: 5432 });
    const missing = await cli(['get', 'db.prod', '--field', 'host']);
    expect(missing).toMatchObject({ code: 1, stderr: 'credstash: credential "db.prod" has no field "host"\n' });
    expectNoLeak(missing.stderr, CANARY);
  });

  it('checks a typed value for its required fields, naming the field and not the value', async () => {
    const r = await cli(['put', 'aws.ci', '--data', JSON.stringify({ aws_access_key_id: CANARY }), '--type', 'aws']);
    expect(r).toEqual({ code: 1, stdout: '', stderr: 'credstash: credential "aws.ci" of type aws is missing field "aws_secret_access_key"\n' });
    const bad = await cli(['put', 'j', '--json', `{"a": ${CANARY}`]);
    expect(bad).toEqual({ code: 1, stdout: '', stderr: 'credstash: --json value is not valid JSON\n' });
  });
});

describe('credstash getall / get wildcard / list / keys / delete / putall / setup on the local keystore', () => {
  let d: string;
  let e: NodeJS.ProcessEnv;
  const c = (args: string[], input?: string): Promise<CliResult> => runCli(args, { cwd: d, env: e, input });

  beforeAll(async () => {
    d = mkdtempSync(join(tmpdir(), 'credstash-cli-local2-'));
    e = cleanEnv(d);
    expect((await c(['init'])).code).toBe(0);
    const r = await c(['putall', '-', 'team=a'], JSON.stringify({ 'svc.a': "it's", 'svc.b': 'two words', other: 'o' }));
    expect(r).toEqual({ code: 0, stdout: 'svc.a has been stored\nsvc.b has been stored\nother has been stored\n', stderr: '' });
    expect((await c(['put', 'svc.a', 'v2', '-a', 'team=a', '-c', 'second'])).code).toBe(0);
  });
  afterAll(() => rmSync(d, { recursive: true, force: true }));

  it('getall prints every latest value in each format, with Python\'s trailing newline', async () => {
    expect((await c(['getall', 'team=a'])).stdout).toBe('{\n    "other": "o",\n    "svc.a": "v2",\n    "svc.b": "two words"\n}\n');
    expect((await c(['getall', 'team=a', '-f', 'dotenv'])).stdout).toBe("OTHER='o'\nSVC_A='v2'\nSVC_B='two words'\n\n");
    expect((await c(['getall', 'team=a', '-f', 'csv'])).stdout).toBe('other,o\nsvc.a,v2\nsvc.b,two words\n\n');
    expect((await c(['getall', 'team=a', '-f', 'yaml'])).stdout).toBe('other: o\nsvc.a: v2\nsvc.b: two words\n\n');
    expect((await c(['getall', '-v', '1', 'team=a', '-f', 'dotenv'])).stdout).toBe("OTHER='o'\nSVC_A='it'\\''s'\nSVC_B='two words'\n\n");
  });

  it('get with a glob prints matches without a trailing newline; a dot is a dot', async () => {
    expect((await c(['get', 'svc.*', 'team=a'])).stdout).toBe('{\n    "svc.a": "v2",\n    "svc.b": "two words"\n}');
    // csv, dotenv and yaml end their last row with the format's own line end, and nothing is added after it
    expect((await c(['get', 'svc.*', 'team=a', '-f', 'csv'])).stdout).toBe('svc.a,v2\nsvc.b,two words\n');
    expect((await c(['get', 'svc.*', 'team=a', '-f', 'dotenv'])).stdout).toBe("SVC_A='v2'\nSVC_B='two words'\n");
    expect((await c(['get', 'svc.*', 'team=a', '-f', 'yaml'])).stdout).toBe('svc.a: v2\nsvc.b: two words\n');
    expect((await c(['get', 'svc.*', 'team=a', '-v', '1', '-f', 'json'])).stdout).toBe('{\n    "svc.a": "it\'s",\n    "svc.b": "two words"\n}');
    // only * is a wildcard, as in Python credstash: `svc?a` is a plain name, and there is none
    expect(await c(['get', 'svc?a', 'team=a'])).toMatchObject({ code: 1, stdout: '' });
    expect((await c(['get', 'svcXa*', 'team=a'])).stdout).toBe('{}');
  });

  it('getall fails as a whole on any unreadable credential, and --skip-errors names what it skipped', async () => {
    expect((await c(['put', 'odd', CANARY, 'team=b'])).code).toBe(0);
    const r = await c(['getall', 'team=a']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^credstash: 1 credential\(s\) in local keystore .* could not be read; first: credential "odd" version 1 could not be decrypted/);
    const s = await c(['getall', 'team=a', '--skip-errors', '-f', 'csv']);
    expect(s.code).toBe(0);
    expect(s.stdout).toBe('other,o\nsvc.a,v2\nsvc.b,two words\n\n');
    expect(s.stderr).toMatch(/^credstash: skipped "odd": credential "odd" version 1 could not be decrypted/);
    expectNoLeak(r.stderr + s.stderr + s.stdout, CANARY);
    expect((await c(['delete', 'odd'])).code).toBe(0);
  });

  it('list prints Python\'s layout; --latest and --json', async () => {
    expect((await c(['list'])).stdout).toBe(
      'other -- version 0000000000000000001 -- comment \n' +
        'svc.a -- version 0000000000000000001 -- comment \n' +
        'svc.a -- version 0000000000000000002 -- comment second\n' +
        'svc.b -- version 0000000000000000001 -- comment \n',
    );
    expect((await c(['list', '--latest'])).stdout.split('\n')).toHaveLength(4);
    expect(JSON.parse((await c(['list', '--latest', '--json'])).stdout)).toEqual([
      { name: 'other', version: '1', comment: '' },
      { name: 'svc.a', version: '2', comment: 'second' },
      { name: 'svc.b', version: '1', comment: '' },
    ]);
  });

  it('keys prints unique names', async () => {
    expect(await c(['keys'])).toEqual({ code: 0, stdout: 'other\nsvc.a\nsvc.b\n', stderr: '' });
  });

  it('delete -v removes one version, delete removes all, an unknown name is exit 1', async () => {
    expect((await c(['put', 'gone', 'a'])).code).toBe(0);
    expect((await c(['put', 'gone', 'b', '-a'])).code).toBe(0);
    expect(await c(['delete', 'gone', '-v', '1'])).toEqual({ code: 0, stdout: 'Deleting gone -- version 0000000000000000001\n', stderr: '' });
    expect((await c(['get', 'gone'])).stdout).toBe('b\n');
    expect(await c(['delete', 'gone'])).toEqual({ code: 0, stdout: 'Deleting gone -- version 0000000000000000002\n', stderr: '' });
    const r = await c(['delete', 'gone']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^credstash: credential "gone" not found in local keystore/);
  });

  it('putall reads the JSON object from @file (~ expanded), with -a and a comment', async () => {
    writeFileSync(join(d, 'batch.json'), JSON.stringify({ 'batch.one': '1', 'batch.two': { user: 'u', password: CANARY } }));
    const r = await c(['putall', '@~/batch.json', '-a', '-c', 'from file']);
    expect(r).toEqual({ code: 0, stdout: 'batch.one has been stored\nbatch.two has been stored\n', stderr: '' });
    expect((await c(['get', 'batch.two', '--field', 'password'])).stdout).toBe(`${CANARY}\n`);
    expect((await c(['list'])).stdout).toContain('batch.one -- version 0000000000000000001 -- comment from file\n');
    const missing = await c(['putall', '@~/nope.json']);
    expect(missing.code).toBe(2);
    expect(missing.stderr.split('\n')[0]).toBe('credstash: Unable to read file ~/nope.json');
    const notObject = await c(['putall', '["a"]']);
    expect(notObject).toEqual({ code: 1, stdout: '', stderr: 'credstash: credentials value must be a JSON object\n' });
    expect((await c(['delete', 'batch.one'])).code).toBe(0);
    expect((await c(['delete', 'batch.two'])).code).toBe(0);
  });

  it('putall reports a failed item on stderr and exits 1', async () => {
    const r = await c(['putall', JSON.stringify({ ok1: 'x', 'bad*': CANARY }), '-v', '3']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('ok1 has been stored\n');
    expect(r.stderr).toBe('credstash: "bad*" was not stored: credential id must not contain * (it is the wildcard)\ncredstash: 1 of 2 credential(s) were not stored\n');
    expectNoLeak(r.stderr, CANARY);
    expect((await c(['get', 'ok1', '-v', '3'])).stdout).toBe('x\n');
  });

  it('setup is idempotent on the local tier', async () => {
    const r = await c(['setup']);
    expect(r.code).toBe(0);
    expectCleanStderr(r.stderr);
  });
});

describe('[[credentials]] definitions in credstash.toml', () => {
  it('checks put against the definition of that id and stores the definition with the credential', async () => {
    const d = mkdtempSync(join(tmpdir(), 'credstash-defs-'));
    try {
      writeFileSync(
        join(d, 'credstash.toml'),
        `[fernet]\nkeys = ["${fernetKey}"]\n[credential_store]\ntype = "local"\n\n` +
          `[[credentials]]\nid = "aws.ci"\nname = "CI deploy"\ncredential_type = "aws"\ndescription = "deploys from CI"\n[credentials.metadata]\nowner = "platform"\n\n` +
          `[[credentials]]\nid = "db.main"\ncredential_type = "database"\n`,
        { mode: 0o600 },
      );
      const e = cleanEnv(d);
      const c = (args: string[], input?: string): Promise<CliResult> => runCli(args, { cwd: d, env: e, input });
      const plain = await c(['put', 'aws.ci', CANARY]);
      expect(plain).toEqual({ code: 1, stdout: '', stderr: 'credstash: credential "aws.ci" of type aws must be a JSON object with the fields aws_access_key_id, aws_secret_access_key; store it with --json\n' });
      const partial = await c(['put', 'aws.ci', '--json', '-'], JSON.stringify({ aws_access_key_id: 'AKIA1', aws_secret_access_key: '' }));
      expect(partial).toEqual({ code: 1, stdout: '', stderr: 'credstash: credential "aws.ci" of type aws is missing field "aws_secret_access_key"\n' });
      const putall = await c(['putall', JSON.stringify({ 'db.main': { user: 'app' }, free: 'x' })]);
      expect(putall.code).toBe(1);
      expect(putall.stdout).toBe('free has been stored\n');
      expect(putall.stderr).toBe('credstash: "db.main" was not stored: credential "db.main" of type database is missing field "password"\ncredstash: 1 of 2 credential(s) were not stored\n');
      expectNoLeak(plain.stderr + partial.stderr + putall.stderr, CANARY);

      expect((await c(['put', 'aws.ci', '--data', JSON.stringify({ aws_access_key_id: 'AKIA1', aws_secret_access_key: CANARY })])).code).toBe(0);
      expect((await c(['get', 'aws.ci', '--field', 'aws_secret_access_key'])).stdout).toBe(`${CANARY}\n`);
      // --type on the command line overrides the configured type and keeps the rest of the definition
      expect((await c(['put', 'aws.ci', '-a', '--json', JSON.stringify({ token: 't' }), '--type', 'custom'])).code).toBe(0);
      const store = new LocalStore({ path: join(d, '.credstash/keystore.json'), fernetKeys: [fernetKey] });
      expect((await store.getCredential('aws.ci', { version: 1, required: true })).definition).toEqual({
        id: 'aws.ci',
        name: 'CI deploy',
        credential_type: 'aws',
        description: 'deploys from CI',
        metadata: { owner: 'platform' },
      });
      expect((await store.getCredential('aws.ci', { version: 2, required: true })).definition).toMatchObject({ id: 'aws.ci', credential_type: 'custom', name: 'CI deploy' });
      expect((await store.getCredential('free', { required: true })).definition).toBeUndefined();
      await store.close();
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('a bad definition in credstash.toml is exit 1 naming its key path', async () => {
    const d = mkdtempSync(join(tmpdir(), 'credstash-defs-bad-'));
    try {
      writeFileSync(join(d, 'credstash.toml'), `[fernet]\nkeys = ["${fernetKey}"]\n[credential_store]\ntype = "local"\n[[credentials]]\nid = "x"\ncredential_type = "password"\n`);
      const r = await runCli(['get', 'x'], { cwd: d, env: cleanEnv(d) });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^credstash: .*credstash\.toml line 7: credentials\[0\]\.credential_type: expected one of "aws", "database", /);
      expectNoLeak(r.stderr, fernetKey);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});

describe('configuration errors through the CLI', () => {
  it('a malformed credstash.toml is exit 1 with the line, never the content', async () => {
    const d = mkdtempSync(join(tmpdir(), 'credstash-badcfg-'));
    writeFileSync(join(d, 'credstash.toml'), `[fernet]\nkeys = ["${fernetKey}"\n[credential_store]\ntype = "local"\n`);
    const r = await runCli(['get', 'a'], { cwd: d, env: cleanEnv(d) });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^credstash: ${join(d, 'credstash.toml').replace(/[.]/g, '\\.')} line \\d+, column \\d+: invalid TOML`));
    expectNoLeak(r.stderr, fernetKey);
    expectCleanStderr(r.stderr);
    rmSync(d, { recursive: true, force: true });
  });

  it('an unknown store type is exit 1 listing the known types', async () => {
    const r = await runCli(['--store-type', 'nosuch', 'get', 'a'], { cwd: dir, env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^credstash: unknown store type "nosuch"; known types: .*dynamodb.*local/);
  });

  it('an AWS flag on the local store is named as not applicable', async () => {
    const r = await cli(['-t', 'mytable', 'get', 'app.token']);
    expect(r).toEqual({ code: 1, stdout: '', stderr: 'credstash: -t/--table does not apply to the local store\n' });
  });

  it('a Fernet key from CREDSTASH_FERNET_KEY that is not the keystore\'s fails the integrity check, printing no key', async () => {
    const other = 'A'.repeat(43) + '=';
    const r = await runCli(['get', 'app.token'], { cwd: dir, env: { ...env, CREDSTASH_FERNET_KEY: other } });
    expect(r.code).toBe(1);
    expectCleanStderr(r.stderr);
    expectNoLeak(r.stdout + r.stderr, CANARY, fernetKey, other);
  });
});
