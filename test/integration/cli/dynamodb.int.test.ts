import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAwsStack, type AwsStack } from '../../fixtures/aws-stack.js';
import { CANARY, expectNoLeak } from '../../helpers/no-leak.js';
import { expectCleanStderr, runCli, type CliResult } from '../../helpers/cli.js';

// The CLI as a real process with no config file (Python credstash defaults: table credential-store, key
// alias/credstash) against dynalite and the KMS endpoint fixture, reached through AWS_ENDPOINT_URL_*.
let stack: AwsStack;
let dir: string;
let env: NodeJS.ProcessEnv;
const cli = (args: string[], input?: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<CliResult> =>
  runCli(args, { cwd: dir, env: { ...env, ...extraEnv }, input });

beforeAll(async () => {
  stack = await startAwsStack();
  dir = mkdtempSync(join(tmpdir(), 'credstash-cli-ddb-'));
  env = stack.env({ HOME: dir });
});
afterAll(async () => {
  await stack.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('credstash CLI on DynamoDB + KMS', () => {
  it('reports a missing table with the setup hint before setup', async () => {
    const r = await cli(['get', 'x']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^credstash: .*credential-store.*credstash setup/);
    expectCleanStderr(r.stderr);
  });

  it('setup creates the table with tags and is idempotent; --save-kms-region writes ~/.credstash', async () => {
    const r1 = await cli(['setup', '--tags', 'team=core', 'env=test']);
    expect(r1).toMatchObject({ code: 0, stderr: '' });
    expect(r1.stdout).toMatch(/created dynamodb table "credential-store".*on-demand/);
    const r2 = await cli(['setup', '--save-kms-region', 'us-east-1']);
    expect(r2.code).toBe(0);
    expect(r2.stdout).toMatch(/^KMS region set to us-east-1\n.*already exists/);
    expect(JSON.parse(readFileSync(join(dir, '.credstash'), 'utf8'))).toEqual({ 'kms-region': 'us-east-1' });
    expect((await cli(['setup', '--tags', 'novalue'])).code).toBe(2);
  });

  it('put / get / -a / -v / context round-trip, and a wrong context is the KMS message without the value', async () => {
    expect(await cli(['put', 'db.pass', CANARY, 'env=prod'])).toEqual({ code: 0, stdout: 'db.pass has been stored\n', stderr: '' });
    expect(await cli(['put', 'db.pass', 'second', '-a', 'env=prod', '-c', 'rotated'])).toMatchObject({ code: 0 });
    expect((await cli(['get', 'db.pass', 'env=prod'])).stdout).toBe('second\n');
    expect((await cli(['get', 'db.pass', 'env=prod', '-v', '1'])).stdout).toBe(`${CANARY}\n`);
    const wrong = await cli(['get', 'db.pass', 'env=dev', '-v', '1']);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr.split('\n')).toHaveLength(2);
    expect(wrong.stderr).toMatch(/^credstash: .*db\.pass.*context/);
    expectNoLeak(wrong.stdout + wrong.stderr, CANARY);
  });

  it('reads and writes the Python credstash (legacy) format with -d', async () => {
    expect((await cli(['put', 'legacy.one', 'old-style', '--legacy', '-d', 'SHA512'])).code).toBe(0);
    expect((await cli(['get', 'legacy.one'])).stdout).toBe('old-style\n');
    // the item as Python credstash writes it: hmac an S hex string, digest named, no algorithm attribute
    const raw = new DynamoDBClient({ region: stack.region, endpoint: stack.dynamodb.endpoint });
    try {
      const item = (await raw.send(new GetItemCommand({ TableName: 'credential-store', Key: { name: { S: 'legacy.one' }, version: { S: '0000000000000000001' } } }))).Item ?? {};
      // plus the lifecycle attributes, which Python credstash ignores (docs/FORMAT.md §8)
      expect(Object.keys(item).sort()).toEqual(['contents', 'created_at', 'digest', 'hmac', 'key', 'name', 'size', 'version', 'written_by']);
      expect(item.digest).toEqual({ S: 'SHA512' });
      expect(item.hmac?.S).toMatch(/^[0-9a-f]{128}$/);
      expect(Buffer.from(item.contents?.S ?? '', 'base64')).toHaveLength('old-style'.length);
    } finally {
      raw.destroy();
    }
  });

  it('names the KMS key that does not exist, and a missing context, in one line without the value', async () => {
    const noKey = await cli(['put', 'k.missing', CANARY, '-k', 'alias/no-such-key']);
    expect(noKey.code).toBe(1);
    expect(noKey.stderr).toMatch(/^credstash: .*alias\/no-such-key/);
    expect((await cli(['get', 'k.missing'])).code).toBe(1);
    expect((await cli(['put', 'ctx.only', CANARY, 'app=x'])).code).toBe(0);
    const missing = await cli(['get', 'ctx.only']);
    expect(missing).toMatchObject({ code: 1, stdout: '' });
    expect(missing.stderr).toMatch(/^credstash: .*"ctx\.only".*encryption context/);
    expectCleanStderr(noKey.stderr + missing.stderr);
    expectNoLeak(noKey.stderr + missing.stderr, CANARY);
    expect((await cli(['delete', 'ctx.only'])).code).toBe(0);
  });

  it('getall, list, keys, delete, putall work against the table', async () => {
    expect((await cli(['putall', '{"p.a":"1","p.b":"2"}', '-v', '4'])).stdout).toBe('p.a has been stored\np.b has been stored\n');
    expect((await cli(['get', 'p.*', '-f', 'csv'])).stdout).toBe('p.a,1\np.b,2\n');
    const all = await cli(['getall', '--skip-errors']);
    expect(all.code).toBe(0);
    expect(all.stderr).toMatch(/^credstash: skipped "db\.pass"/);
    expect(JSON.parse(all.stdout)).toEqual({ 'legacy.one': 'old-style', 'p.a': '1', 'p.b': '2' });
    expect((await cli(['list'])).stdout).toBe(
      'db.pass    -- version 0000000000000000001 -- comment \n' +
        'db.pass    -- version 0000000000000000002 -- comment rotated\n' +
        'legacy.one -- version 0000000000000000001 -- comment \n' +
        'p.a        -- version 0000000000000000004 -- comment \n' +
        'p.b        -- version 0000000000000000004 -- comment \n',
    );
    expect((await cli(['keys'])).stdout).toBe('db.pass\nlegacy.one\np.a\np.b\n');
    expect((await cli(['delete', 'p.a'])).stdout).toBe('Deleting p.a -- version 0000000000000000004\n');
    expect((await cli(['delete', 'p.a'])).code).toBe(1);
  });

  it('setup on a chain whose first member is DynamoDB creates its table and says which members need none', async () => {
    const project = mkdtempSync(join(dir, 'chain-'));
    writeFileSync(
      join(project, 'credstash.toml'),
      '[credential_store]\ntype = "chain"\n[credential_store.config]\nstores = [\n' +
        '  { type = "dynamodb", name = "aws", config = { table = "chain-table" } },\n  { type = "env", name = "env" },\n]\n',
      { mode: 0o600 },
    );
    const r = await runCli(['setup'], { cwd: project, env });
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(/^chain store "aws": created dynamodb table "chain-table".*\nchain store "env": .* needs no setup\n$/);
    expect((await runCli(['put', 'via.chain', 'v'], { cwd: project, env })).code).toBe(0);
    expect((await cli(['-t', 'chain-table', 'get', 'via.chain'])).stdout).toBe('v\n');
    expect((await runCli(['setup'], { cwd: project, env })).stdout).toMatch(/^chain store "aws": .*already exists/);
  });

  it('honours -t and CREDSTASH_DEFAULT_TABLE (flag wins)', async () => {
    expect((await cli(['-t', 'other-table', 'setup'])).code).toBe(0);
    expect((await cli(['put', 'only.other', 'v'], undefined, { CREDSTASH_DEFAULT_TABLE: 'other-table' })).code).toBe(0);
    expect((await cli(['-t', 'other-table', 'get', 'only.other'])).stdout).toBe('v\n');
    expect((await cli(['get', 'only.other'])).code).toBe(1);
    expect((await cli(['-t', 'credential-store', 'get', 'only.other'], undefined, { CREDSTASH_DEFAULT_TABLE: 'other-table' })).code).toBe(1);
  });

  it('rejects a value over the item limit, naming sizes only', async () => {
    const r = await cli(['put', 'huge', '-'], 'y'.repeat(300 * 1024));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^credstash: value of credential "huge" is 307200 bytes; .* accepts at most \d+\n$/);
  });

  it('fails clearly without AWS credentials, and uses us-east-1 without a region as Python credstash does', async () => {
    const noCreds = await cli(['get', 'db.pass'], undefined, { AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' });
    expect(noCreds.code).toBe(1);
    expect(noCreds.stderr).toMatch(/^credstash: no AWS credentials found/);
    // No region anywhere: us-east-1, as Python credstash (boto) does; the note goes to a terminal only.
    const { AWS_REGION: _r, AWS_DEFAULT_REGION: _d, ...withoutRegion } = env;
    const noRegion = await runCli(['get', 'db.pass', 'env=prod'], { cwd: dir, env: withoutRegion });
    expect(noRegion).toEqual({ code: 0, stdout: 'second\n', stderr: '' });
    // No config file at all: the way out for someone without AWS is named too.
    expect(noCreds.stderr).toContain('or, without AWS, run `credstash init` to use a local keystore');
    // A config file that chose DynamoDB on purpose gets the AWS message alone.
    const chosen = mkdtempSync(join(tmpdir(), 'credstash-cli-ddb-chosen-'));
    try {
      writeFileSync(join(chosen, 'credstash.toml'), '[credential_store]\ntype = "dynamodb"\n');
      const r = await runCli(['get', 'db.pass'], { cwd: chosen, env: { ...env, AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' } });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^credstash: no AWS credentials found/);
      expect(r.stderr).not.toContain('credstash init');
    } finally {
      rmSync(chosen, { recursive: true, force: true });
    }
    const emptyRegion = await cli(['get', 'db.pass'], undefined, { AWS_REGION: '', AWS_DEFAULT_REGION: '' });
    expect(emptyRegion.code).toBe(1);
    expect(emptyRegion.stderr).toMatch(/^credstash: the AWS region is empty or not a valid region name/);
    expectCleanStderr(noCreds.stderr + noRegion.stderr + emptyRegion.stderr);
  });

  it('takes the region from AWS_DEFAULT_REGION (boto, Python credstash) when AWS_REGION is not set', async () => {
    const { AWS_REGION: _r, ...botoStyle } = env;
    const r = await runCli(['get', 'db.pass', 'env=prod'], { cwd: dir, env: { ...botoStyle, AWS_DEFAULT_REGION: env.AWS_REGION as string } });
    expect(r).toMatchObject({ code: 0, stdout: 'second\n', stderr: '' });
  });

  it('--endpoint-url overrides AWS_ENDPOINT_URL_DYNAMODB', async () => {
    const r = await cli(['--endpoint-url', stack.dynamodb.endpoint, 'keys'], undefined, { AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:9' });
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toContain('legacy.one\n');
  });
});
