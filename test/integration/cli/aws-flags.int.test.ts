/**
 * Python credstash's AWS globals reach the DynamoDB tier from the command line (docs/FORMAT.md §7):
 * `-r`, `--kms-region` and `~/.credstash`, `-p PROFILE`, `-n ROLE_ARN` (STS AssumeRole, session name
 * AssumeRoleCredstashSession1), and `setup --provisioned` / `--tags`. bin/credstash runs as a real process;
 * between it and dynalite / the KMS fixture sits a recorder that reads who signed each request, for which
 * region and service (the SigV4 credential scope), then forwards it unchanged. STS is a small fake speaking
 * the AssumeRole query protocol, reached through AWS_ENDPOINT_URL_STS.
 */
import { DescribeTableCommand, DynamoDBClient, ListTagsOfResourceCommand } from '@aws-sdk/client-dynamodb';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/main.js';
import { startAwsStack, type AwsStack } from '../../fixtures/aws-stack.js';
import { FAKE_AWS_ENV } from '../../fixtures/aws-env.js';
import { CANARY, expectNoLeak } from '../../helpers/no-leak.js';
import { expectCleanStderr, runCli, type CliResult } from '../../helpers/cli.js';

interface Signed {
  accessKeyId: string;
  region: string;
  service: string;
}

interface Recorder {
  endpoint: string;
  seen: Signed[];
  close(): Promise<void>;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function scope(authorization: string | undefined): Signed | undefined {
  const m = /Credential=([^/]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/.exec(authorization ?? '');
  return m === null ? undefined : { accessKeyId: m[1] ?? '', region: m[2] ?? '', service: m[3] ?? '' };
}

/** Records the SigV4 scope of every request, then forwards it to `target` as it is. */
async function startRecorder(target: string): Promise<Recorder> {
  const seen: Signed[] = [];
  const to = new URL(target);
  const server = createServer((req, res) => {
    const s = scope(req.headers.authorization);
    if (s !== undefined) seen.push(s);
    const fwd = request({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    fwd.on('error', () => res.destroy());
    req.pipe(fwd);
  });
  const endpoint = await listen(server);
  return { endpoint, seen, close: () => new Promise((r) => server.close(() => r())) };
}

const ROLE_ARN = 'arn:aws:iam::111122223333:role/credstash-reader';
const ROLE_KEY_ID = 'ASIAROLEROLEROLEROLE';

interface FakeSts {
  endpoint: string;
  calls: Array<{ params: Record<string, string>; signedBy?: Signed }>;
  deny: boolean;
  close(): Promise<void>;
}

/** STS AssumeRole over the query protocol (form-encoded POST, XML answer). */
async function startFakeSts(): Promise<FakeSts> {
  const handle: FakeSts = { endpoint: '', calls: [], deny: false, close: async () => undefined };
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (d: string) => (body += d));
    req.on('end', () => {
      const params = Object.fromEntries(new URLSearchParams(body));
      handle.calls.push({ params, signedBy: scope(req.headers.authorization) });
      res.setHeader('content-type', 'text/xml');
      if (handle.deny || params.Action !== 'AssumeRole') {
        res.statusCode = 403;
        res.end(
          '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code>' +
            `<Message>User: arn:aws:iam::111122223333:user/ci is not authorized to perform: sts:AssumeRole on resource: ${ROLE_ARN}</Message></Error>` +
            '<RequestId>r-1</RequestId></ErrorResponse>',
        );
        return;
      }
      res.end(
        '<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials>' +
          `<AccessKeyId>${ROLE_KEY_ID}</AccessKeyId><SecretAccessKey>role-secret-access-key</SecretAccessKey>` +
          '<SessionToken>role-session-token</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials>' +
          '<AssumedRoleUser><Arn>arn:aws:sts::111122223333:assumed-role/credstash-reader/AssumeRoleCredstashSession1</Arn>' +
          '<AssumedRoleId>AROAEXAMPLE:AssumeRoleCredstashSession1</AssumedRoleId></AssumedRoleUser></AssumeRoleResult>' +
          '<ResponseMetadata><RequestId>r-2</RequestId></ResponseMetadata></AssumeRoleResponse>',
      );
    });
  });
  handle.endpoint = await listen(server);
  handle.close = () => new Promise((r) => server.close(() => r()));
  return handle;
}

let stack: AwsStack;
let ddbRec: Recorder;
let kmsRec: Recorder;
let sts: FakeSts;
let home: string;
let env: NodeJS.ProcessEnv;
const cli = (args: string[], extra: NodeJS.ProcessEnv = {}, drop: string[] = []): Promise<CliResult> => {
  const e: NodeJS.ProcessEnv = { ...env, ...extra };
  for (const k of drop) delete e[k];
  return runCli(args, { cwd: home, env: e });
};
const services = (rec: Recorder): string[] => [...new Set(rec.seen.map((s) => `${s.service} ${s.region} ${s.accessKeyId}`))];

beforeAll(async () => {
  stack = await startAwsStack();
  [ddbRec, kmsRec, sts] = await Promise.all([startRecorder(stack.dynamodb.endpoint), startRecorder(stack.kms.endpoint), startFakeSts()]);
  home = mkdtempSync(join(tmpdir(), 'credstash-cli-aws-'));
  env = stack.env({ HOME: home, AWS_ENDPOINT_URL_DYNAMODB: ddbRec.endpoint, AWS_ENDPOINT_URL_KMS: kmsRec.endpoint, AWS_ENDPOINT_URL_STS: sts.endpoint });
  expect((await cli(['setup'])).code).toBe(0);
  expect((await cli(['put', 'app.key', CANARY, 'env=prod'])).code).toBe(0);
});
afterAll(async () => {
  await Promise.all([stack?.close(), ddbRec?.close(), kmsRec?.close(), sts?.close()]);
  rmSync(home, { recursive: true, force: true });
});
beforeEach(() => {
  ddbRec.seen.length = 0;
  kmsRec.seen.length = 0;
  sts.calls.length = 0;
  sts.deny = false;
  rmSync(join(home, '.credstash'), { force: true });
});

describe('regions: -r, --kms-region and ~/.credstash', () => {
  it('signs for the environment region by default, and for -r on both services', async () => {
    expect((await cli(['get', 'app.key', 'env=prod'])).stdout).toBe(`${CANARY}\n`);
    expect(services(ddbRec)).toEqual([`dynamodb us-east-1 ${FAKE_AWS_ENV.AWS_ACCESS_KEY_ID}`]);
    expect(services(kmsRec)).toEqual([`kms us-east-1 ${FAKE_AWS_ENV.AWS_ACCESS_KEY_ID}`]);
    ddbRec.seen.length = 0;
    kmsRec.seen.length = 0;
    expect((await cli(['-r', 'eu-west-2', 'get', 'app.key', 'env=prod'])).code).toBe(0);
    expect(services(ddbRec)).toEqual([`dynamodb eu-west-2 ${FAKE_AWS_ENV.AWS_ACCESS_KEY_ID}`]);
    expect(services(kmsRec)).toEqual([`kms eu-west-2 ${FAKE_AWS_ENV.AWS_ACCESS_KEY_ID}`]);
  });

  it('sends KMS to --kms-region and DynamoDB to the table region', async () => {
    const r = await cli(['--kms-region', 'eu-central-1', 'get', 'app.key', 'env=prod']);
    expect(r).toEqual({ code: 0, stdout: `${CANARY}\n`, stderr: '' });
    expect(services(ddbRec)).toEqual([`dynamodb us-east-1 ${FAKE_AWS_ENV.AWS_ACCESS_KEY_ID}`]);
    expect(services(kmsRec)).toEqual([`kms eu-central-1 ${FAKE_AWS_ENV.AWS_ACCESS_KEY_ID}`]);
  });

  it('uses the kms-region saved by setup --save-kms-region in ~/.credstash, below --kms-region', async () => {
    expect((await cli(['setup', '--save-kms-region', 'ap-south-1'])).stdout).toMatch(/^KMS region set to ap-south-1\n/);
    kmsRec.seen.length = 0;
    expect((await cli(['put', 'saved.region', 'two', 'env=prod'])).code).toBe(0);
    expect(services(kmsRec)).toEqual([`kms ap-south-1 ${FAKE_AWS_ENV.AWS_ACCESS_KEY_ID}`]);
    kmsRec.seen.length = 0;
    expect((await cli(['--kms-region', 'eu-north-1', 'get', 'saved.region', 'env=prod'])).stdout).toBe('two\n');
    expect(services(kmsRec)).toEqual([`kms eu-north-1 ${FAKE_AWS_ENV.AWS_ACCESS_KEY_ID}`]);
    expect(services(ddbRec).every((s) => s.startsWith('dynamodb us-east-1 '))).toBe(true);
  });

  it('reports a ~/.credstash that is not JSON as a config error naming the file', async () => {
    writeFileSync(join(home, '.credstash'), '{"kms-region": ');
    const r = await cli(['get', 'app.key', 'env=prod']);
    expect(r).toEqual({ code: 1, stdout: '', stderr: `credstash: ${join(home, '.credstash')} is not valid JSON (it holds the saved KMS region; fix or delete it)\n` });
  });
});

describe('-p PROFILE', () => {
  it('signs with the profile\'s credentials and region from the shared AWS files, before or after the subcommand', async () => {
    const aws = join(home, 'aws');
    mkdirSync(aws, { recursive: true });
    writeFileSync(join(aws, 'config'), '[profile team]\nregion = eu-west-1\n');
    writeFileSync(join(aws, 'credentials'), '[team]\naws_access_key_id = AKIAPROFILEPROFILE01\naws_secret_access_key = profile-secret\n');
    const files = { AWS_CONFIG_FILE: join(aws, 'config'), AWS_SHARED_CREDENTIALS_FILE: join(aws, 'credentials') };
    const noEnvCreds = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION', 'AWS_DEFAULT_REGION'];
    const r = await cli(['-p', 'team', 'get', 'app.key', 'env=prod'], files, noEnvCreds);
    expect(r).toEqual({ code: 0, stdout: `${CANARY}\n`, stderr: '' });
    expect(services(ddbRec)).toEqual(['dynamodb eu-west-1 AKIAPROFILEPROFILE01']);
    expect(services(kmsRec)).toEqual(['kms eu-west-1 AKIAPROFILEPROFILE01']);
    expect((await cli(['get', '--profile', 'team', 'app.key', 'env=prod'], files, noEnvCreds)).stdout).toBe(`${CANARY}\n`);
    // without -p the same environment has no credentials at all
    const none = await cli(['-r', 'eu-west-1', 'get', 'app.key', 'env=prod'], files, noEnvCreds);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/^credstash: no AWS credentials found/);
    const unknown = await cli(['-r', 'eu-west-1', '-p', 'nosuch', 'get', 'app.key', 'env=prod'], files, noEnvCreds);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^credstash: the AWS profile "nosuch" could not be found in the shared config or credentials file .*-p\/--profile/);
    expectCleanStderr(none.stderr + unknown.stderr);
    expectNoLeak(none.stderr + unknown.stderr, CANARY, 'profile-secret');
  });

  it('explains profile problems as the aws cli does: the unknown profile, the SSO session to log in to, the MFA code it needs', async () => {
    const aws = join(home, 'aws-problems');
    mkdirSync(aws, { recursive: true });
    writeFileSync(
      join(aws, 'config'),
      [
        '[profile sso]',
        'sso_session = corp',
        'sso_account_id = 111122223333',
        'sso_role_name = Reader',
        'region = eu-west-1',
        '[sso-session corp]',
        'sso_start_url = https://corp.awsapps.com/start',
        'sso_region = eu-west-1',
        '[profile mfa]',
        'role_arn = arn:aws:iam::111122223333:role/admin',
        'source_profile = base',
        'mfa_serial = arn:aws:iam::111122223333:mfa/alice',
        'region = eu-west-1',
        '[profile base]',
        'aws_access_key_id = AKIABASEBASEBASEBASE',
        'aws_secret_access_key = base-secret-never-shown',
        '',
      ].join('\n'),
    );
    const files = { AWS_CONFIG_FILE: join(aws, 'config'), AWS_SHARED_CREDENTIALS_FILE: join(aws, 'credentials'), AWS_SSO_CACHE_DIR: join(aws, 'cache') };
    const noEnvCreds = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION', 'AWS_DEFAULT_REGION'];
    const unknown = await cli(['-p', 'nosuch', 'get', 'app.key', 'env=prod'], files, noEnvCreds);
    expect(unknown).toMatchObject({ code: 1, stdout: '' });
    expect(unknown.stderr).toMatch(/^credstash: the AWS profile "nosuch" could not be found in the shared config or credentials file/);
    const sso = await cli(['get', 'app.key', 'env=prod'], { ...files, AWS_PROFILE: 'sso' }, noEnvCreds);
    expect(sso).toMatchObject({ code: 1, stdout: '' });
    expect(sso.stderr).toMatch(/^credstash: no AWS credentials found for profile "sso" \(.*(sso login|SSO).*\)/);
    expect(sso.stderr).not.toContain('set AWS_PROFILE');
    const mfa = await cli(['-p', 'mfa', 'get', 'app.key', 'env=prod'], files, noEnvCreds);
    expect(mfa).toMatchObject({ code: 1, stdout: '' });
    expect(mfa.stderr).toMatch(/^credstash: no AWS credentials found for profile "mfa" \(.*multi-factor authentication.*\); run credstash on a terminal to be asked for the MFA code/);
    for (const r of [unknown, sso, mfa]) expect(r.stderr.split('\n')).toHaveLength(2);
    expectCleanStderr(unknown.stderr + sso.stderr + mfa.stderr);
    expectNoLeak(unknown.stderr + sso.stderr + mfa.stderr, CANARY, 'base-secret-never-shown');
  });
});

describe('an MFA profile on a terminal', () => {
  it('asks once for the code (not echoed) and signs DynamoDB and KMS with the role it assumed', async () => {
    const aws = join(home, 'aws-mfa');
    mkdirSync(aws, { recursive: true });
    writeFileSync(
      join(aws, 'config'),
      `[profile mfa]\nrole_arn = ${ROLE_ARN}\nsource_profile = base\nmfa_serial = arn:aws:iam::111122223333:mfa/alice\nregion = us-east-1\n` +
        '[profile base]\naws_access_key_id = AKIABASEBASEBASEBASE\naws_secret_access_key = base-secret-never-shown\n',
    );
    const saved = { ...process.env };
    const vars: Record<string, string | undefined> = { ...env, AWS_CONFIG_FILE: join(aws, 'config'), AWS_SHARED_CREDENTIALS_FILE: join(aws, 'credentials') };
    for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']) delete vars[k];
    for (const k of Object.keys(process.env)) if (k.startsWith('AWS_')) delete process.env[k];
    Object.assign(process.env, Object.fromEntries(Object.entries(vars).filter(([k]) => k.startsWith('AWS_'))));
    let stdout = '';
    let stderr = '';
    const stdin = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => undefined });
    const typed = setInterval(() => stdin.write('123456\r'), 50);
    try {
      const io = {
        stdout: { write: (c: string | Uint8Array) => (stdout += String(c)) },
        stderr: { write: (c: string) => (stderr += c) },
        stdin,
        env: { ...vars, HOME: home },
        cwd: home,
      };
      const code = await main(['-p', 'mfa', 'get', 'app.key', 'env=prod'], io);
      expect({ code, stdout }).toEqual({ code: 0, stdout: `${CANARY}\n` });
    } finally {
      clearInterval(typed);
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
    }
    expect(stderr).toBe('MFA code for arn:aws:iam::111122223333:mfa/alice: \n');
    expect(sts.calls).toHaveLength(1);
    expect(sts.calls[0]?.params).toMatchObject({ RoleArn: ROLE_ARN, SerialNumber: 'arn:aws:iam::111122223333:mfa/alice', TokenCode: '123456' });
    expect(services(ddbRec)).toEqual([`dynamodb us-east-1 ${ROLE_KEY_ID}`]);
    expect(services(kmsRec)).toEqual([`kms us-east-1 ${ROLE_KEY_ID}`]);
  });
});

describe('-n ROLE_ARN (assume role)', () => {
  it('assumes the role once with STS (session AssumeRoleCredstashSession1) and signs DynamoDB and KMS with its credentials', async () => {
    const r = await cli(['-n', ROLE_ARN, 'get', '-n', 'app.key', 'env=prod']);
    expect(r).toEqual({ code: 0, stdout: CANARY, stderr: '' });
    expect(sts.calls).toHaveLength(1);
    expect(sts.calls[0]?.params).toMatchObject({ Action: 'AssumeRole', RoleArn: ROLE_ARN, RoleSessionName: 'AssumeRoleCredstashSession1' });
    expect(sts.calls[0]?.signedBy).toMatchObject({ accessKeyId: FAKE_AWS_ENV.AWS_ACCESS_KEY_ID, service: 'sts' });
    expect(services(ddbRec)).toEqual([`dynamodb us-east-1 ${ROLE_KEY_ID}`]);
    expect(services(kmsRec)).toEqual([`kms us-east-1 ${ROLE_KEY_ID}`]);
    const long = await cli(['--arn', ROLE_ARN, 'keys']);
    expect(long).toMatchObject({ code: 0, stdout: expect.stringContaining('app.key\n') });
  });

  it('reports a refused AssumeRole as one line naming STS, and -p with -n as a usage error', async () => {
    sts.deny = true;
    const r = await cli(['-n', ROLE_ARN, 'get', 'app.key', 'env=prod']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`credstash: STS denied AssumeRole: User: arn:aws:iam::111122223333:user/ci is not authorized to perform: sts:AssumeRole on resource: ${ROLE_ARN}\n`);
    expect(ddbRec.seen).toHaveLength(0);
    const both = await cli(['-p', 'team', '-n', ROLE_ARN, 'get', 'app.key']);
    expect(both.code).toBe(2);
    expect(both.stderr.split('\n')[0]).toMatch(/^credstash: Arguments profile and arn are mutually exclusive/);
  });
});

describe('endpoints: AWS_ENDPOINT_URL (one URL for every service) and --endpoint-url / --kms-endpoint-url', () => {
  it('follows AWS_ENDPOINT_URL for both services, and the flags over every variable', async () => {
    // one port in front of both fixtures, routing by the JSON protocol's target (DynamoDB_20120810.* / TrentService.*)
    const seen: string[] = [];
    const server = createServer((req, res) => {
      const target = String(req.headers['x-amz-target'] ?? '');
      seen.push(target.split('.')[0] ?? '');
      const to = new URL(target.startsWith('TrentService.') ? kmsRec.endpoint : ddbRec.endpoint);
      const fwd = request({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      req.pipe(fwd);
    });
    const router = await listen(server);
    try {
      const generic = { AWS_ENDPOINT_URL: router };
      const drop = ['AWS_ENDPOINT_URL_DYNAMODB', 'AWS_ENDPOINT_URL_KMS'];
      expect(await cli(['get', '-n', 'app.key', 'env=prod'], generic, drop)).toEqual({ code: 0, stdout: CANARY, stderr: '' });
      expect(new Set(seen)).toEqual(new Set(['DynamoDB_20120810', 'TrentService']));
      seen.length = 0;
      // the flags win over AWS_ENDPOINT_URL_* pointing nowhere
      const nowhere = { AWS_ENDPOINT_URL: 'http://127.0.0.1:9', AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:9', AWS_ENDPOINT_URL_KMS: 'http://127.0.0.1:9' };
      const r = await cli(['--endpoint-url', router, '--kms-endpoint-url', router, 'get', '-n', 'app.key', 'env=prod'], nowhere);
      expect(r).toEqual({ code: 0, stdout: CANARY, stderr: '' });
      expect(new Set(seen)).toEqual(new Set(['DynamoDB_20120810', 'TrentService']));
      // and an endpoint that does not answer is one line naming it
      const down = await cli(['get', 'app.key', 'env=prod'], nowhere);
      expect(down.code).toBe(1);
      expect(down.stderr).toMatch(/^credstash: .*127\.0\.0\.1:9/);
      expectCleanStderr(down.stderr);
    } finally {
      await new Promise((r) => server.close(() => r(undefined)));
    }
  });
});

describe('setup through the CLI', () => {
  const describeTable = async (name: string) => {
    const raw = new DynamoDBClient({ region: 'us-east-1', endpoint: stack.dynamodb.endpoint });
    try {
      const t = (await raw.send(new DescribeTableCommand({ TableName: name }))).Table;
      const tags = (await raw.send(new ListTagsOfResourceCommand({ ResourceArn: t?.TableArn }))).Tags;
      return { t, tags };
    } finally {
      raw.destroy();
    }
  };

  it('creates an on-demand table by default, with Name=credstash and the --tags', async () => {
    expect((await cli(['-t', 'ondemand-table', 'setup', '--tags', 'team=core', 'cost=ci'])).code).toBe(0);
    const { t, tags } = await describeTable('ondemand-table');
    expect(t?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
    expect(tags).toEqual(expect.arrayContaining([{ Key: 'Name', Value: 'credstash' }, { Key: 'team', Value: 'core' }, { Key: 'cost', Value: 'ci' }]));
  });

  it('creates a provisioned table with --provisioned / --read-capacity / --write-capacity, and is idempotent', async () => {
    const r = await cli(['-t', 'prov-table', 'setup', '--read-capacity', '3', '--write-capacity', '2']);
    expect(r.code).toBe(0);
    const { t } = await describeTable('prov-table');
    expect(t?.ProvisionedThroughput).toMatchObject({ ReadCapacityUnits: 3, WriteCapacityUnits: 2 });
    expect(t?.BillingModeSummary?.BillingMode ?? 'PROVISIONED').toBe('PROVISIONED');
    const again = await cli(['-t', 'prov-table', 'setup', '--provisioned']);
    expect(again).toMatchObject({ code: 0, stderr: '' });
    expect(again.stdout).toMatch(/already exists/);
    expect((await cli(['-t', 'prov1-table', 'setup', '--provisioned'])).code).toBe(0);
    expect((await describeTable('prov1-table')).t?.ProvisionedThroughput).toMatchObject({ ReadCapacityUnits: 1, WriteCapacityUnits: 1 });
    const bad = await cli(['-t', 'prov2-table', 'setup', '--read-capacity', '0']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.split('\n')[0]).toBe('credstash: --read-capacity must be a positive integer');
  });
});
