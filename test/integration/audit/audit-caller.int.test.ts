/**
 * Audit: for AWS, the caller identity when it is already known. With `role_arn` (`-n/--arn`) the
 * DynamoDB tier assumes a role and STS answers with the assumed-role ARN; the audit line carries it. Without a
 * role nothing is known, and no STS call is made to learn it. STS is aws-sdk-client-mock; DynamoDB and KMS are
 * dynalite and the KMS fixture.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { withAuditLog, type AuditRecord } from '../../../src/audit/index.js';
import { withCache } from '../../../src/stores/cache/index.js';
import { DynamoDBStore } from '../../../src/stores/dynamodb/index.js';
import { startAwsStack, type AwsStack } from '../../fixtures/aws-stack.js';
import { CANARY, expectNoLeak } from '../../helpers/no-leak.js';
import { runCliInProcess, type InProcessRun } from '../../helpers/cli-in-process.js';

const ROLE = 'arn:aws:iam::111122223333:role/credstash-reader';
const ASSUMED = 'arn:aws:sts::111122223333:assumed-role/credstash-reader/AssumeRoleCredstashSession1';

let stack: AwsStack;
let dir: string;
const sts = mockClient(STSClient);

beforeAll(async () => {
  stack = await startAwsStack();
  const seed = new DynamoDBStore({ table: 'audit-caller', region: stack.region, endpointUrl: stack.dynamodb.endpoint, kmsEndpointUrl: stack.kms.endpoint });
  await seed.setup();
  await seed.close();
});
afterAll(async () => {
  sts.restore();
  await stack.close();
  process.exitCode = 0;
});
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'credstash-audit-caller-'));
  sts.reset();
  sts.on(AssumeRoleCommand).resolves({
    Credentials: { AccessKeyId: 'ASIAROLE', SecretAccessKey: 'role-secret', SessionToken: 'tok', Expiration: new Date(Date.now() + 3600_000) },
    AssumedRoleUser: { Arn: ASSUMED, AssumedRoleId: 'AROAEXAMPLE:AssumeRoleCredstashSession1' },
  });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function open(roleArn?: string): DynamoDBStore {
  return new DynamoDBStore({
    table: 'audit-caller',
    region: stack.region,
    endpointUrl: stack.dynamodb.endpoint,
    kmsEndpointUrl: stack.kms.endpoint,
    ...(roleArn === undefined ? {} : { roleArn }),
  });
}

function records(path: string): AuditRecord[] {
  return readFileSync(path, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as AuditRecord);
}

describe('audit caller identity on the DynamoDB tier', () => {
  it('DynamoDBStore.callerIdentity is the assumed-role ARN once STS answered, and undefined before', async () => {
    const store = open(ROLE);
    expect(store.callerIdentity).toBeUndefined();
    await store.storeCredential('caller.a', 'v', { autoVersion: true });
    expect(store.callerIdentity).toBe(ASSUMED);
    await store.close();
  });

  it('audit lines carry the assumed-role ARN, also through withCache, and never the value', async () => {
    const log = join(dir, 'audit.jsonl');
    const store = withAuditLog(withCache(open(ROLE)), log, { user: 'ops' });
    await store.storeCredential('caller.b', CANARY, { autoVersion: true, context: { env: 'prod' } });
    await store.getCredential('caller.b', { context: { env: 'prod' }, required: true });
    await store.close();
    const recs = records(log);
    expect(recs.map((r) => [r.action, r.outcome, r.caller])).toEqual([
      ['put', 'started', undefined], // before the put, STS has not been asked yet
      ['put', 'ok', ASSUMED],
      ['get', 'ok', ASSUMED],
    ]);
    expectNoLeak(readFileSync(log, 'utf8'), CANARY);
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(1);
  });

  it('without a role no caller is recorded, and STS is never asked (no GetCallerIdentity)', async () => {
    const log = join(dir, 'audit.jsonl');
    const store = withAuditLog(open(), log);
    await store.storeCredential('caller.c', 'v', { autoVersion: true });
    await store.getCredential('caller.c', { required: true });
    await store.close();
    expect(records(log).map((r) => r.caller)).toEqual([undefined, undefined, undefined]);
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(0);
    expect(sts.commandCalls(GetCallerIdentityCommand)).toHaveLength(0);
  });

  it('the CLI with -n ROLE and audit_log writes the assumed-role ARN into each line', async () => {
    const log = join(dir, 'audit.jsonl');
    writeFileSync(
      join(dir, 'credstash.toml'),
      [
        `audit_log = "audit.jsonl"`,
        '[credential_store]',
        'type = "dynamodb"',
        '[credential_store.config]',
        'table = "audit-caller"',
        `region = "${stack.region}"`,
        `endpoint_url = "${stack.dynamodb.endpoint}"`,
        `kms_endpoint_url = "${stack.kms.endpoint}"`,
        '',
      ].join('\n'),
    );
    const cli = async (args: string[]): Promise<InProcessRun> => runCliInProcess(args, { cwd: dir, env: { ...process.env, HOME: dir } });
    expect(await cli(['-n', ROLE, 'put', '-a', 'caller.cli', CANARY])).toMatchObject({ code: 0, stderr: '' });
    expect(await cli(['-n', ROLE, 'get', 'caller.cli'])).toMatchObject({ code: 0, stdout: `${CANARY}\n` });
    expect(await cli(['get', 'caller.cli'])).toMatchObject({ code: 0 });
    const recs = records(log);
    expect(recs.map((r) => [r.action, r.id, r.outcome, r.caller])).toEqual([
      ['put', 'caller.cli', 'started', undefined],
      ['put', 'caller.cli', 'ok', ASSUMED],
      ['get', 'caller.cli', 'ok', ASSUMED],
      ['get', 'caller.cli', 'ok', undefined],
    ]);
    expectNoLeak(readFileSync(log, 'utf8'), CANARY);
  });
});
