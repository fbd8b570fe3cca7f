/**
 * The CLI in a fleet that still has Python credstash hosts: the write format follows the table (`--format auto`
 * by default; `--format`, CREDSTASH_FORMAT, `format` in credstash.toml, `--legacy`, `-d`), the notice about it
 * goes to a terminal only, and `setup --save-kms-region` keeps whatever else ~/.credstash holds.
 */
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startAwsStack, type AwsStack } from '../../fixtures/aws-stack.js';
import { runCliInProcess } from '../../helpers/cli-in-process.js';
import { expectCleanStderr, runCli, type CliResult } from '../../helpers/cli.js';

let stack: AwsStack;
let dir: string;
let env: NodeJS.ProcessEnv;
let raw: DynamoDBClient;
let n = 0;
let table: string;
const cli = (args: string[], extraEnv: NodeJS.ProcessEnv = {}, input?: string): Promise<CliResult> =>
  runCli(['-t', table, ...args], { cwd: dir, env: { ...env, ...extraEnv }, input });

beforeAll(async () => {
  stack = await startAwsStack();
  dir = mkdtempSync(join(tmpdir(), 'credstash-cli-fleet-'));
  env = stack.env({ HOME: dir });
  raw = new DynamoDBClient({ region: stack.region, endpoint: stack.dynamodb.endpoint });
});
afterAll(async () => {
  raw?.destroy();
  await stack.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  table = `fleet-cli-${++n}`;
  expect((await cli(['setup'])).code).toBe(0);
});

/** name@version → 'gcm' | 'legacy' (with the digest), read straight from the table. */
async function formats(): Promise<Record<string, string>> {
  const out = await raw.send(new ScanCommand({ TableName: table }));
  const res: Record<string, string> = {};
  for (const it of out.Items ?? []) {
    res[`${it.name?.S}@${Number(it.version?.S)}`] = it.algorithm?.S === 'aes-256-gcm' ? 'gcm' : `legacy/${it.digest?.S ?? '?'}`;
  }
  return res;
}

describe('put / putall write format', () => {
  it('follows the table by default: legacy after Python items (put -a, new names, putall), gcm in a table credstash-ts started', async () => {
    expect((await cli(['put', 'py.one', 'v', '--format', 'legacy'])).code).toBe(0); // "Python credstash" filled it
    expect(await cli(['put', 'py.one', 'v2', '-a'])).toEqual({ code: 0, stdout: 'py.one has been stored\n', stderr: '' });
    expect((await cli(['put', 'new.one', 'n'])).code).toBe(0);
    expect((await cli(['putall', '{"all.a":"1","all.b":"2"}'])).code).toBe(0);
    expect(await formats()).toEqual({
      'py.one@1': 'legacy/SHA256',
      'py.one@2': 'legacy/SHA256',
      'new.one@1': 'legacy/SHA256',
      'all.a@1': 'legacy/SHA256',
      'all.b@1': 'legacy/SHA256',
    });
    table = `fleet-cli-${++n}`;
    expect((await cli(['setup'])).code).toBe(0);
    expect((await cli(['put', 'ts.one', 'v'])).code).toBe(0);
    expect((await cli(['put', 'ts.one', 'v2', '-a'])).code).toBe(0);
    expect(await formats()).toEqual({ 'ts.one@1': 'gcm', 'ts.one@2': 'gcm' });
  });

  it('takes --format over CREDSTASH_FORMAT over format in credstash.toml; --legacy is --format legacy; -d alone means legacy', async () => {
    const cfgDir = mkdtempSync(join(tmpdir(), 'credstash-cli-fleet-cfg-'));
    try {
      writeFileSync(join(cfgDir, 'credstash.toml'), `[credential_store]\ntype = "dynamodb"\n[credential_store.config]\ntable = "${table}"\nformat = "legacy"\n`);
      const inCfg = (args: string[], extra: NodeJS.ProcessEnv = {}) => runCli(args, { cwd: cfgDir, env: { ...env, ...extra } });
      expect((await inCfg(['put', 'f.file', 'v'])).code).toBe(0);
      expect((await inCfg(['put', 'f.env', 'v'], { CREDSTASH_FORMAT: 'gcm' })).code).toBe(0);
      expect((await inCfg(['put', 'f.flag', 'v', '--format', 'legacy'], { CREDSTASH_FORMAT: 'gcm' })).code).toBe(0);
      expect((await inCfg(['put', 'f.flag2', 'v', '--format', 'gcm'])).code).toBe(0);
      expect((await inCfg(['put', 'f.alias', 'v', '--legacy'], { CREDSTASH_FORMAT: 'gcm' })).code).toBe(0);
      expect((await inCfg(['put', 'f.digest', 'v', '-d', 'SHA512'], { CREDSTASH_FORMAT: 'gcm' })).code).toBe(0);
      expect((await inCfg(['putall', '{"f.all":"v"}', '-d', 'MD5'], { CREDSTASH_FORMAT: 'gcm' })).code).toBe(0);
    } finally {
      rmSync(cfgDir, { recursive: true, force: true });
    }
    expect(await formats()).toEqual({
      'f.file@1': 'legacy/SHA256',
      'f.env@1': 'gcm',
      'f.flag@1': 'legacy/SHA256',
      'f.flag2@1': 'gcm',
      'f.alias@1': 'legacy/SHA256',
      'f.digest@1': 'legacy/SHA512',
      'f.all@1': 'legacy/MD5',
    });
  });

  it('refuses contradictions and unknown formats with exit 2, and a bad CREDSTASH_FORMAT with exit 1 naming the choices', async () => {
    const digestGcm = await cli(['put', 'x', 'v', '--format', 'gcm', '-d', 'SHA512']);
    expect(digestGcm).toMatchObject({ code: 2, stdout: '' });
    expect(digestGcm.stderr).toMatch(/^credstash: -d\/--digest applies only to the legacy format, not --format gcm/);
    const legacyGcm = await cli(['put', 'x', 'v', '--legacy', '--format', 'gcm']);
    expect(legacyGcm).toMatchObject({ code: 2 });
    expect(legacyGcm.stderr).toMatch(/^credstash: --legacy contradicts --format gcm/);
    expect((await cli(['put', 'x', 'v', '--format', 'rot13'])).code).toBe(2);
    const badEnv = await cli(['put', 'x', 'v'], { CREDSTASH_FORMAT: 'rot13' });
    expect(badEnv.code).toBe(1);
    expect(badEnv.stderr).toMatch(/^credstash: .*write format must be "gcm", "legacy" or "auto"/);
    expectCleanStderr(digestGcm.stderr + legacyGcm.stderr + badEnv.stderr);
    expect(await formats()).toEqual({});
  });

  it('says on a terminal, once, why a write was legacy and how to finish the move; says nothing when stderr is not a terminal', async () => {
    expect((await cli(['put', 'py.one', 'v', '--legacy'])).code).toBe(0);
    const flags = ['-t', table, '--endpoint-url', stack.dynamodb.endpoint, '--kms-endpoint-url', stack.kms.endpoint];
    const tty = await runCliInProcess([...flags, 'putall', '{"a.one":"1","a.two":"2"}'], { cwd: dir, env: { HOME: dir }, stderrIsTTY: true });
    expect(tty).toMatchObject({ code: 0, stdout: 'a.one has been stored\na.two has been stored\n' });
    expect(tty.stderr).toBe(
      `credstash: note: wrote the legacy (Python credstash) format because dynamodb table "${table}" holds legacy items; ` +
        'once every reader (Python credstash, nodecredstash) is upgraded, set format = "gcm" and run `credstash migrate --reencrypt`\n',
    );
    const piped = await runCliInProcess([...flags, 'put', 'a.three', '3'], { cwd: dir, env: { HOME: dir }, stderrIsTTY: false });
    expect(piped).toEqual({ code: 0, stdout: 'a.three has been stored\n', stderr: '' });
  });
});

describe('format options on a store with one format', () => {
  it('refuses --format, --legacy and -d on the local keystore (exit 2) instead of ignoring them', async () => {
    const local = mkdtempSync(join(tmpdir(), 'credstash-cli-fleet-local-'));
    try {
      const run = (args: string[]) => runCli(args, { cwd: local, env: { PATH: process.env.PATH, HOME: local, LANG: 'C.UTF-8' } });
      expect((await run(['init'])).code).toBe(0);
      for (const args of [['put', 'x', 'v', '--format', 'gcm'], ['put', 'x', 'v', '--legacy'], ['put', 'x', 'v', '-d', 'SHA512'], ['putall', '{"x":"v"}', '--legacy']]) {
        const r = await run(args);
        expect(r).toMatchObject({ code: 2, stdout: '' });
        expect(r.stderr).toMatch(/^credstash: (--format|--legacy|-d\/--digest) chooses a DynamoDB item format; local keystore .* has only one/);
      }
      expect((await run(['get', 'x'])).code).toBe(1);
      expect(await run(['put', 'x', 'v'])).toMatchObject({ code: 0 });
    } finally {
      rmSync(local, { recursive: true, force: true });
    }
  });
});

describe('no AWS region anywhere', () => {
  it('uses us-east-1 as Python credstash does, with a note on a terminal only', async () => {
    expect((await cli(['put', 'r.one', 'v'])).code).toBe(0);
    const { AWS_REGION: _r, AWS_DEFAULT_REGION: _d, ...noRegion } = env;
    expect(await runCli(['-t', table, 'get', 'r.one'], { cwd: dir, env: noRegion })).toEqual({ code: 0, stdout: 'v\n', stderr: '' });
    const saved = { AWS_REGION: process.env.AWS_REGION, AWS_DEFAULT_REGION: process.env.AWS_DEFAULT_REGION };
    delete process.env.AWS_REGION;
    delete process.env.AWS_DEFAULT_REGION;
    try {
      const flags = ['-t', table, '--endpoint-url', stack.dynamodb.endpoint, '--kms-endpoint-url', stack.kms.endpoint];
      const tty = await runCliInProcess([...flags, 'get', 'r.one'], { cwd: dir, env: { HOME: dir }, stderrIsTTY: true });
      expect(tty).toEqual({
        code: 0,
        stdout: 'v\n',
        stderr: 'credstash: note: no AWS region configured; using us-east-1 as Python credstash does (pass -r/--region or set AWS_REGION to choose)\n',
      });
    } finally {
      Object.assign(process.env, saved);
    }
  });
});

describe('setup --save-kms-region', () => {
  const file = () => join(dir, '.credstash');

  it('merges into ~/.credstash, keeping every other key, 0600 whatever the umask', async () => {
    writeFileSync(file(), JSON.stringify({ 'kms-region': 'eu-west-1', 'other-tool': { keep: true }, note: 'mine' }), { mode: 0o644 });
    const old = process.umask(0);
    try {
      const r = await cli(['setup', '--save-kms-region', 'us-east-1']);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^KMS region set to us-east-1\n/);
    } finally {
      process.umask(old);
    }
    expect(JSON.parse(readFileSync(file(), 'utf8'))).toEqual({ 'kms-region': 'us-east-1', 'other-tool': { keep: true }, note: 'mine' });
    expect(statSync(file()).mode & 0o777).toBe(0o600);
    rmSync(file());
  });

  it('refuses a ~/.credstash that is not a JSON object with one clear line, leaving it as it was', async () => {
    for (const bad of ['{"kms-region": ', '[1, 2]', '"text"']) {
      writeFileSync(file(), bad);
      chmodSync(file(), 0o600);
      const r = await cli(['setup', '--save-kms-region', 'us-east-1']);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^credstash: .*\.credstash (is not valid JSON|is not a JSON object)/);
      expect(r.stderr.split('\n')).toHaveLength(2);
      expect(readFileSync(file(), 'utf8')).toBe(bad);
    }
    rmSync(file());
  });
});
