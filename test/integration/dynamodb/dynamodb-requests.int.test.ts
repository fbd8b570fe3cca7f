/**
 * The envelope tier against real parts: dynalite and the KMS-protocol endpoint. Request counts are measured at
 * the endpoints: they must not grow.
 */
import { DescribeTableCommand, DynamoDBClient, ListTagsOfResourceCommand } from '@aws-sdk/client-dynamodb';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDBStore, type DynamoDBStoreOptions } from '../../../src/stores/dynamodb/index.js';
import { CANARY, expectNoLeak, rejectionOf } from '../../helpers/no-leak.js';
import { FAKE_AWS_ENV, useFakeAwsEnv } from '../../fixtures/aws-env.js';
import { startDynalite, type DynaliteHandle } from '../../fixtures/dynalite.js';
import { startKmsEndpoint, type KmsEndpointHandle } from '../../fixtures/kms-endpoint.js';

let ddb: DynaliteHandle;
let kms: KmsEndpointHandle;
let n = 0;
let store: DynamoDBStore;
const opened: DynamoDBStore[] = [];

beforeAll(async () => {
  [ddb, kms] = await Promise.all([startDynalite(), startKmsEndpoint()]);
});
afterAll(async () => {
  await Promise.all([ddb?.close(), kms?.close()]);
});
beforeEach(async () => {
  store = open({ table: `req-${++n}` });
  await store.setup();
  resetCounts();
});
afterEach(async () => {
  ddb.clearFaults();
  kms.clearFaults();
  useFakeAwsEnv();
  await Promise.all(opened.splice(0).map((s) => s.close()));
});

function open(opts: DynamoDBStoreOptions = {}): DynamoDBStore {
  const s = new DynamoDBStore({ table: store?.table, region: 'us-east-1', endpointUrl: ddb.endpoint, kmsEndpointUrl: kms.endpoint, ...opts });
  opened.push(s);
  return s;
}
function resetCounts(): void {
  ddb.requests.reset();
  kms.requests.reset();
}
const counts = () => ({ ddb: ddb.requests.snapshot(), kms: kms.requests.snapshot() });

describe('requests per operation, counted at the endpoints', () => {
  it('get latest = 1 Query + 1 Decrypt', async () => {
    await store.storeCredential('app.db', 'v1');
    await store.storeCredential('app.db', 'v2', { autoVersion: true });
    resetCounts();
    expect((await store.getCredential('app.db'))?.value).toBe('v2');
    expect(counts()).toEqual({ ddb: { Query: 1 }, kms: { Decrypt: 1 } });
  });

  it('get version = 1 GetItem + 1 Decrypt', async () => {
    await store.storeCredential('app.db', 'v1');
    resetCounts();
    expect((await store.getCredential('app.db', { version: 1 }))?.value).toBe('v1');
    expect(counts()).toEqual({ ddb: { GetItem: 1 }, kms: { Decrypt: 1 } });
  });

  it('put -a = 1 Query + 1 GenerateDataKey + 1 PutItem', async () => {
    await store.storeCredential('app.db', 'v1');
    resetCounts();
    expect(await store.storeCredential('app.db', 'v2', { autoVersion: true, context: { env: 'prod' } })).toEqual({ id: 'app.db', version: 2 });
    expect(counts()).toEqual({ ddb: { Query: 1, PutItem: 1 }, kms: { GenerateDataKey: 1 } });
    expect(kms.calls.at(-1)).toEqual({ operation: 'GenerateDataKey', keyId: 'alias/credstash', encryptionContext: { env: 'prod' } });
  });

  it('put of a new name (format auto) = 1 Scan of the table (once per store) + 1 GenerateDataKey + 1 PutItem; an explicit format reads nothing', async () => {
    expect(await store.storeCredential('new.one', 'v')).toEqual({ id: 'new.one', version: 1 });
    expect(counts()).toEqual({ ddb: { Scan: 1, PutItem: 1 }, kms: { GenerateDataKey: 1 } });
    resetCounts();
    await store.storeCredential('new.two', 'v', { version: 3 });
    await store.storeCredential('new.three', 'v', { autoVersion: true });
    expect(counts()).toEqual({ ddb: { Query: 1, PutItem: 2 }, kms: { GenerateDataKey: 2 } });
    resetCounts();
    await open({ format: 'gcm' }).storeCredential('new.four', 'v');
    await open({ format: 'legacy' }).storeCredential('new.five', 'v', { autoVersion: true });
    expect(counts()).toEqual({ ddb: { Query: 1, PutItem: 2 }, kms: { GenerateDataKey: 2 } });
  });

  it('put -a of a new name (format auto) = 1 Query + 1 Scan + 1 GenerateDataKey + 1 PutItem', async () => {
    expect(await store.storeCredential('fresh', 'v', { autoVersion: true })).toEqual({ id: 'fresh', version: 1 });
    expect(counts()).toEqual({ ddb: { Query: 1, Scan: 1, PutItem: 1 }, kms: { GenerateDataKey: 1 } });
  });

  it('getall of N = Scan pages + N Decrypts, never a Query per name', async () => {
    const big = 'x'.repeat(12 * 1024); // 120 × ~16 KB of base64 > 1 MB: at least two Scan pages
    for (let i = 0; i < 120; i++) await store.storeCredential(`svc.${String(i).padStart(3, '0')}`, `${big}${i}`);
    await store.storeCredential('svc.000', 'newest', { autoVersion: true });
    resetCounts();
    const res = await store.getAllCredentials();
    expect(res.credentials).toHaveLength(120);
    expect(res.credentials[0]).toMatchObject({ id: 'svc.000', version: '2', value: 'newest' });
    const c = counts();
    expect(c.ddb.Scan).toBeGreaterThanOrEqual(2);
    expect(Object.keys(c.ddb)).toEqual(['Scan']);
    expect(c.kms).toEqual({ Decrypt: 120 });
  });
});

describe('setup', () => {
  it('creates the table once (on-demand, key schema, tags) and reports it as existing afterwards', async () => {
    const fresh = open({ table: `setup-${++n}` });
    const first = await fresh.setup({ tags: { team: 'platform' } });
    expect(first.created).toBe(true);
    expect(await fresh.setup()).toEqual({ created: false, message: `dynamodb table "setup-${n}" already exists in us-east-1` });
    const raw = new DynamoDBClient({ region: 'us-east-1', endpoint: ddb.endpoint });
    const t = (await raw.send(new DescribeTableCommand({ TableName: `setup-${n}` }))).Table;
    expect(t?.TableStatus).toBe('ACTIVE');
    expect(t?.KeySchema).toEqual([
      { AttributeName: 'name', KeyType: 'HASH' },
      { AttributeName: 'version', KeyType: 'RANGE' },
    ]);
    const tags = await raw.send(new ListTagsOfResourceCommand({ ResourceArn: t?.TableArn }));
    expect(tags.Tags).toEqual(expect.arrayContaining([{ Key: 'Name', Value: 'credstash' }, { Key: 'team', Value: 'platform' }]));
    raw.destroy();
  });

  it('reports a missing table with the setup hint', async () => {
    const err = await rejectionOf(open({ table: 'never-created' }).getCredential('x'));
    expect(err).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE', message: 'dynamodb table "never-created" does not exist in us-east-1; run `credstash setup`' });
  });
});

describe('concurrency', () => {
  it('gives concurrent put -a from several store instances each its own version', async () => {
    const writers = Array.from({ length: 4 }, () => open());
    const results = await Promise.all(
      writers.flatMap((w, i) => Array.from({ length: 3 }, (_, j) => w.storeCredential('rotated', `w${i}-${j}`, { autoVersion: true }))),
    );
    expect(results.map((r) => r.version).sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    const listed = await store.listCredentials({ pattern: 'rotated' });
    expect(listed.map((s) => s.version)).toEqual(Array.from({ length: 12 }, (_, i) => String(i + 1)));
  });
});

describe('formats', () => {
  it('writes legacy items (config format = legacy) that a default-format store reads back', async () => {
    await open({ format: 'legacy', digest: 'SHA512' }).storeCredential('leg', CANARY, { context: { env: 'prod' } });
    expect((await store.getCredential('leg', { context: { env: 'prod' } }))?.value).toBe(CANARY);
    const err = await rejectionOf(store.getCredential('leg', { context: { env: 'dev' } }));
    expect(err).toMatchObject({ code: 'ERR_ENCRYPTION_CONTEXT_MISMATCH' });
    expectNoLeak(err, CANARY);
  });
});

describe('failures at the endpoints', () => {
  it('turns KMS throttling that outlasts the SDK retries into ThrottlingError; the SDK retried', async () => {
    await store.storeCredential('t', 'v');
    kms.fault('Decrypt', { kind: 'throttle' });
    resetCounts();
    const err = await rejectionOf(open({ maxAttempts: 2 }).getCredential('t'));
    expect(err).toMatchObject({ code: 'ERR_THROTTLED', message: expect.stringContaining("the SDK's retries ran out after 2 attempts") });
    expect(kms.requests.get('Decrypt')).toBe(2);
  });

  it('succeeds when throttling ends within the SDK retries', async () => {
    await store.storeCredential('t', 'v');
    ddb.fault('Query', { kind: 'throttle', count: 1 });
    kms.fault('Decrypt', { kind: 'internal', count: 1 });
    expect((await open().getCredential('t'))?.value).toBe('v');
  });

  it('turns DynamoDB throttling into ThrottlingError', async () => {
    ddb.fault('Query', { kind: 'throttle' });
    const err = await rejectionOf(open({ maxAttempts: 2 }).getCredential('t'));
    expect(err).toMatchObject({ code: 'ERR_THROTTLED', message: expect.stringContaining('DynamoDB throttled Query') });
  });

  it('turns AccessDenied into AccessDeniedError keeping the message', async () => {
    await store.storeCredential('t', CANARY);
    kms.fault('Decrypt', { kind: 'accessDenied' });
    const err = await rejectionOf(store.getCredential('t'));
    expect(err).toMatchObject({ code: 'ERR_ACCESS_DENIED', message: expect.stringContaining('is not authorized to perform: kms:Decrypt') });
    expectNoLeak(err, CANARY);
  });

  it('names the KMS key when it does not exist or is disabled', async () => {
    expect(await rejectionOf(open({ kmsKey: 'alias/nope' }).storeCredential('k', 'v'))).toMatchObject({
      code: 'ERR_KMS',
      message: 'KMS key "alias/nope" does not exist in us-east-1; create it (or an alias) or pass another key with -k / kms_key',
    });
    const keyId = kms.createKey('alias/soon-disabled');
    kms.setKeyState(keyId, 'Disabled');
    expect(await rejectionOf(store.storeCredential('k', 'v', { keyId: 'alias/soon-disabled' }))).toMatchObject({
      code: 'ERR_KMS',
      message: 'KMS key "alias/soon-disabled" is disabled in us-east-1; enable it in KMS',
    });
  });

  it('reports an unreachable endpoint as StoreUnavailableError', async () => {
    const err = await rejectionOf(open({ endpointUrl: 'http://127.0.0.1:9', maxAttempts: 1 }).getCredential('t'));
    expect(err).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE', message: expect.stringContaining('could not reach DynamoDB at http://127.0.0.1:9') });
  });
});

describe('AWS configuration chain', () => {
  it('follows AWS_ENDPOINT_URL_DYNAMODB and AWS_ENDPOINT_URL_KMS without endpoint options', async () => {
    await store.storeCredential('env.ep', 'v');
    process.env.AWS_ENDPOINT_URL_DYNAMODB = ddb.endpoint;
    process.env.AWS_ENDPOINT_URL_KMS = kms.endpoint;
    const s = new DynamoDBStore({ table: store.table });
    opened.push(s);
    expect((await s.getCredential('env.ep'))?.value).toBe('v');
  });

  it('uses us-east-1 when no region is configured anywhere, as Python credstash does, and says so once', async () => {
    await store.storeCredential('no.region', 'v');
    delete process.env.AWS_REGION;
    delete process.env.AWS_DEFAULT_REGION;
    const notices: string[] = [];
    const s = new DynamoDBStore({ table: store.table, endpointUrl: ddb.endpoint, kmsEndpointUrl: kms.endpoint, onNotice: (m) => notices.push(m) });
    opened.push(s);
    expect((await s.getCredential('no.region'))?.value).toBe('v');
    expect(notices).toEqual(['no AWS region configured; using us-east-1 as Python credstash does (pass -r/--region or set AWS_REGION to choose)']);
    expect(kms.calls.at(-1)).toMatchObject({ operation: 'Decrypt' });
  });

  it('keeps the SDK chain first: AWS_REGION, then AWS_DEFAULT_REGION, then the profile region, before the fall back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'credstash-region-'));
    try {
      const keys = `aws_access_key_id = ${FAKE_AWS_ENV.AWS_ACCESS_KEY_ID}\naws_secret_access_key = ${FAKE_AWS_ENV.AWS_SECRET_ACCESS_KEY}\n`;
      writeFileSync(join(dir, 'config'), `[profile west]\nregion = eu-west-1\n${keys}[profile bare]\n${keys}`);
      process.env.AWS_CONFIG_FILE = join(dir, 'config');
      const regionOf = async (opts: DynamoDBStoreOptions, env: Record<string, string | undefined>): Promise<string | undefined> => {
        for (const [k, v] of Object.entries(env)) if (v === undefined) delete process.env[k];
        else process.env[k] = v;
        const s = new DynamoDBStore({ table: store.table, endpointUrl: ddb.endpoint, kmsEndpointUrl: kms.endpoint, ...opts });
        opened.push(s);
        const err = await rejectionOf(s.getCredential('x', { required: true }));
        return /does not exist in ([a-z0-9-]+)/.exec(err.message)?.[1] ?? err.message;
      };
      // A table that does not exist in the resolved region: the message names it.
      const none = { table: 'no-such-table' } as const;
      expect(await regionOf({ ...none, profile: 'west' }, { AWS_REGION: 'ap-south-1', AWS_DEFAULT_REGION: 'sa-east-1' })).toBe('ap-south-1');
      expect(await regionOf({ ...none, profile: 'west' }, { AWS_REGION: undefined, AWS_DEFAULT_REGION: 'sa-east-1' })).toBe('sa-east-1');
      expect(await regionOf({ ...none, profile: 'west' }, { AWS_REGION: undefined, AWS_DEFAULT_REGION: undefined })).toBe('eu-west-1');
      expect(await regionOf({ ...none, profile: 'bare' }, { AWS_REGION: undefined, AWS_DEFAULT_REGION: undefined })).toBe('us-east-1');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names an unknown profile instead of saying that no region is configured', async () => {
    delete process.env.AWS_REGION;
    delete process.env.AWS_DEFAULT_REGION;
    const err = await rejectionOf(open({ region: undefined, profile: 'nosuch' }).getCredential('x'));
    expect(err).toMatchObject({ code: 'ERR_AWS_CONFIG' });
    expect(err.message).toMatch(/^the AWS profile "nosuch" could not be found in the shared config or credentials file/);
  });

  it('reports missing credentials as AwsConfigError', async () => {
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
    const err = await rejectionOf(open({ maxAttempts: 1 }).getCredential('x'));
    expect(err).toMatchObject({ code: 'ERR_AWS_CONFIG', message: expect.stringContaining('no AWS credentials found') });
    expectNoLeak(err, FAKE_AWS_ENV.AWS_SECRET_ACCESS_KEY);
  });

  it('assumes role_arn with STS (session AssumeRoleCredstashSession1) once for both clients', async () => {
    const sts = mockClient(STSClient);
    try {
      sts.on(AssumeRoleCommand).resolves({
        Credentials: { AccessKeyId: 'ASIAROLE', SecretAccessKey: 'role-secret', SessionToken: 'tok', Expiration: new Date(Date.now() + 3600_000) },
      });
      const s = open({ roleArn: 'arn:aws:iam::111122223333:role/credstash-reader' });
      await s.storeCredential('role.cred', 'v');
      expect((await s.getCredential('role.cred'))?.value).toBe('v');
      const calls = sts.commandCalls(AssumeRoleCommand);
      expect(calls).toHaveLength(1);
      expect(calls[0]?.args[0].input).toEqual({ RoleArn: 'arn:aws:iam::111122223333:role/credstash-reader', RoleSessionName: 'AssumeRoleCredstashSession1' });
    } finally {
      sts.restore();
    }
  });

  it('reports a refused AssumeRole as AccessDeniedError naming STS', async () => {
    const sts = mockClient(STSClient);
    try {
      sts.on(AssumeRoleCommand).rejects(Object.assign(new Error('User: x is not authorized to perform: sts:AssumeRole'), { name: 'AccessDenied', $metadata: {} }));
      const err = await rejectionOf(open({ roleArn: 'arn:aws:iam::111122223333:role/nope' }).getCredential('x'));
      expect(err).toMatchObject({ code: 'ERR_ACCESS_DENIED', message: 'STS denied AssumeRole: User: x is not authorized to perform: sts:AssumeRole' });
    } finally {
      sts.restore();
    }
  });
});
