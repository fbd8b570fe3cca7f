/**
 * Faults through the client mocks. faults.test.ts injects
 * faults at the fixtures' HTTP edge, where the SDK's own retries run. Here aws-sdk-client-mock answers every
 * DynamoDB, KMS and SSM call the tiers make with throttling, a 500, a timeout or access denied, as the SDK
 * raises them once its retries ran out ($metadata.attempts), and checks: each failure is a typed error with
 * its own message, the tier adds no retry loop of its own on top of the SDK's (one call per operation), a
 * getall is never silently partial, nothing leaks, and the CLI exits 1 with one `credstash:` line each.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, GetItemCommand, PutItemCommand, QueryCommand, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { DecryptCommand, GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { DescribeParametersCommand, GetParameterCommand, GetParametersByPathCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import '../fixtures/aws-env.js';
import { DynamoDBStore } from '../../src/stores/dynamodb/index.js';
import { SSMStore } from '../../src/stores/ssm/index.js';
import { CANARY, expectNoLeak, rejectionOf } from '../helpers/no-leak.js';
import { runCliInProcess, type InProcessRun } from '../helpers/cli-in-process.js';

const ddb = mockClient(DynamoDBClient);
const kms = mockClient(KMSClient);
const ssm = mockClient(SSMClient);
const DATA_KEY = Buffer.alloc(32, 7);
const ATTEMPTS = 3;

type Fault = 'throttling' | '500' | 'timeout' | 'access denied';
const FAULTS: Fault[] = ['throttling', '500', 'timeout', 'access denied'];

/** An error as the SDK throws it after its retries: name, fault, status, and how many attempts it made. */
function sdkError(service: 'dynamodb' | 'kms' | 'ssm', fault: Fault): Error {
  const names: Record<Fault, Record<typeof service, string>> = {
    throttling: { dynamodb: 'ProvisionedThroughputExceededException', kms: 'ThrottlingException', ssm: 'ThrottlingException' },
    '500': { dynamodb: 'InternalServerError', kms: 'KMSInternalException', ssm: 'InternalServerError' },
    timeout: { dynamodb: 'TimeoutError', kms: 'TimeoutError', ssm: 'TimeoutError' },
    'access denied': { dynamodb: 'AccessDeniedException', kms: 'AccessDeniedException', ssm: 'AccessDeniedException' },
  };
  const status = fault === 'throttling' ? 400 : fault === '500' ? 500 : fault === 'timeout' ? undefined : 400;
  const message = fault === 'access denied' ? `User: arn:aws:iam::111122223333:user/ci is not authorized to perform this ${service} call` : `${fault} from ${service}`;
  const retried = fault !== 'access denied';
  return Object.assign(new Error(message), {
    name: names[fault][service],
    $fault: fault === '500' ? 'server' : 'client',
    $metadata: { ...(status === undefined ? {} : { httpStatusCode: status }), attempts: retried ? ATTEMPTS : 1 },
  });
}

const EXPECTED_CODE: Record<Fault, string> = { throttling: 'ERR_THROTTLED', '500': 'ERR_STORE_UNAVAILABLE', timeout: 'ERR_STORE_UNAVAILABLE', 'access denied': 'ERR_ACCESS_DENIED' };

/** A real AES-GCM item for `name` (written through the mocks once, with a fixed data key). */
const items = new Map<string, Record<string, AttributeValue>>();

function installHealthy(): void {
  ddb.on(PutItemCommand).callsFake((input: { Item: Record<string, AttributeValue> }) => {
    items.set(input.Item.name?.S as string, input.Item);
    return {};
  });
  ddb.on(QueryCommand).callsFake((input: { ExpressionAttributeValues?: Record<string, AttributeValue> }) => {
    const name = Object.values(input.ExpressionAttributeValues ?? {})[0]?.S;
    const item = name === undefined ? undefined : items.get(name);
    return { Items: item === undefined ? [] : [item], Count: item === undefined ? 0 : 1 };
  });
  ddb.on(GetItemCommand).callsFake((input: { Key: Record<string, AttributeValue> }) => ({ Item: items.get(input.Key.name?.S as string) }));
  ddb.on(ScanCommand).callsFake(() => ({ Items: [...items.values()] }));
  kms.on(GenerateDataKeyCommand).resolves({ Plaintext: Buffer.from(DATA_KEY), CiphertextBlob: Buffer.from('wrapped'), KeyId: 'arn:aws:kms:us-east-1:111122223333:key/k' });
  kms.on(DecryptCommand).resolves({ Plaintext: Buffer.from(DATA_KEY), KeyId: 'arn:aws:kms:us-east-1:111122223333:key/k' });
}

/** Make `command` on that service fail with `err`; count its calls. */
function failOn(service: 'dynamodb' | 'kms', command: unknown, err: Error): void {
  if (service === 'kms') kms.on(command as typeof DecryptCommand).rejects(err);
  else ddb.on(command as typeof QueryCommand).rejects(err);
}
function callsOf(service: 'dynamodb' | 'kms', command: unknown): number {
  return service === 'kms' ? kms.commandCalls(command as typeof DecryptCommand).length : ddb.commandCalls(command as typeof QueryCommand).length;
}

function dynamo(): DynamoDBStore {
  return new DynamoDBStore({ table: 'faults-mock', region: 'us-east-1', dynamodb: new DynamoDBClient({ region: 'us-east-1' }), kms: new KMSClient({ region: 'us-east-1' }) });
}

beforeAll(async () => {
  ddb.reset();
  kms.reset();
  installHealthy();
  const s = dynamo();
  for (const n of ['m.a', 'm.b', 'm.c']) await s.storeCredential(n, `${CANARY}-${n}`, { context: { env: 'prod' } });
  await s.close();
  expect(items.size).toBe(3);
});
afterAll(() => {
  ddb.restore();
  kms.restore();
  ssm.restore();
  process.exitCode = 0;
});
beforeEach(() => {
  ddb.reset();
  kms.reset();
  ssm.reset();
  installHealthy();
});

type Op = { label: string; service: 'dynamodb' | 'kms'; command: typeof QueryCommand | typeof GetItemCommand | typeof PutItemCommand | typeof ScanCommand | typeof DecryptCommand | typeof GenerateDataKeyCommand; run: (s: DynamoDBStore) => Promise<unknown> };
const OPS: Op[] = [
  { label: 'get: Query', service: 'dynamodb', command: QueryCommand, run: (s) => s.getCredential('m.a', { context: { env: 'prod' } }) },
  { label: 'get -v: GetItem', service: 'dynamodb', command: GetItemCommand, run: (s) => s.getCredential('m.a', { version: 1, context: { env: 'prod' } }) },
  { label: 'get: Decrypt', service: 'kms', command: DecryptCommand, run: (s) => s.getCredential('m.a', { context: { env: 'prod' } }) },
  { label: 'put -a: Query', service: 'dynamodb', command: QueryCommand, run: (s) => s.storeCredential('m.a', CANARY, { autoVersion: true }) },
  { label: 'put: GenerateDataKey', service: 'kms', command: GenerateDataKeyCommand, run: (s) => s.storeCredential('m.new', CANARY) },
  { label: 'put: PutItem', service: 'dynamodb', command: PutItemCommand, run: (s) => s.storeCredential('m.new', CANARY) },
  { label: 'getall: Scan', service: 'dynamodb', command: ScanCommand, run: (s) => s.getAllCredentials({ context: { env: 'prod' } }) },
];

describe('DynamoDB tier under client-mock faults (library)', () => {
  for (const op of OPS) {
    it.each(FAULTS)(`${op.label} %s: typed error, one call (no retry loop above the SDK's), nothing leaks`, async (fault) => {
      failOn(op.service, op.command, sdkError(op.service, fault));
      const s = dynamo();
      const err = await rejectionOf(op.run(s));
      await s.close();
      const code = op.service === 'kms' && fault === '500' ? 'ERR_KMS' : EXPECTED_CODE[fault];
      expect(err).toMatchObject({ code, store: 'dynamodb table "faults-mock"' });
      expect(err.message).toMatch(op.service === 'kms' ? /KMS/ : /DynamoDB|table/);
      if (fault !== 'access denied') expect(err.message).toContain(`after ${ATTEMPTS} attempts`);
      expect(callsOf(op.service, op.command)).toBe(1);
      expectNoLeak(err, CANARY, DATA_KEY.toString('hex'), DATA_KEY.toString('base64'));
    });
  }

  it('each fault has its own message, for DynamoDB and for KMS', async () => {
    for (const op of [OPS[0], OPS[2]] as Op[]) {
      const messages = new Set<string>();
      for (const fault of FAULTS) {
        ddb.reset();
        kms.reset();
        installHealthy();
        failOn(op.service, op.command, sdkError(op.service, fault));
        messages.add((await rejectionOf(op.run(dynamo()))).message);
      }
      expect(messages.size, op.label).toBe(FAULTS.length);
    }
  });

  it('getall with one Decrypt failing is never a silently partial result', async () => {
    let n = 0;
    kms.on(DecryptCommand).callsFake(() => {
      if (++n === 2) throw sdkError('kms', 'throttling');
      return { Plaintext: Buffer.from(DATA_KEY), KeyId: 'k' };
    });
    const err = await rejectionOf(dynamo().getAllCredentials({ context: { env: 'prod' } }));
    expect(err).toMatchObject({ code: 'ERR_PARTIAL_RESULT' });
    expect(JSON.stringify(err)).not.toContain('"credentials"');
    expectNoLeak(err, CANARY);
  });

  it('getall whose second Scan page is throttled fails as a whole, never with the first page', async () => {
    const [first] = [...items.values()];
    ddb.on(ScanCommand).resolvesOnce({ Items: [first as Record<string, AttributeValue>], LastEvaluatedKey: { name: { S: 'm.a' }, version: { S: '0000000000000000001' } } }).rejects(sdkError('dynamodb', 'throttling'));
    const err = await rejectionOf(dynamo().getAllCredentials({ context: { env: 'prod' } }));
    expect(err).toMatchObject({ code: 'ERR_THROTTLED' });
    expect(ddb.commandCalls(ScanCommand)).toHaveLength(2);
  });
});

describe('SSM tier under client-mock faults (library)', () => {
  const store = (): SSMStore => new SSMStore({ client: new SSMClient({ region: 'us-east-1' }), region: 'us-east-1' });
  const SSM_OPS = [
    { label: 'get: GetParameter', command: GetParameterCommand, run: (s: SSMStore) => s.getCredential('x') },
    { label: 'put: PutParameter', command: PutParameterCommand, run: (s: SSMStore) => s.storeCredential('x', CANARY, { autoVersion: true }) },
    { label: 'list: DescribeParameters', command: DescribeParametersCommand, run: (s: SSMStore) => s.listCredentials() },
    { label: 'getall: GetParametersByPath', command: GetParametersByPathCommand, run: (s: SSMStore) => s.getAllCredentials() },
  ];
  const SSM_CODE: Record<Fault, string> = { ...EXPECTED_CODE, '500': 'ERR_STORE_UNAVAILABLE', timeout: 'ERR_STORE_UNAVAILABLE' };
  for (const op of SSM_OPS) {
    it.each(FAULTS)(`${op.label} %s: typed error naming the store, one call, nothing leaks`, async (fault) => {
      ssm.on(op.command as never).rejects(sdkError('ssm', fault));
      ssm.on(DescribeParametersCommand as never).callsFake(() => {
        if (op.command === DescribeParametersCommand) throw sdkError('ssm', fault);
        return { Parameters: [{ Name: '/credstash/credentials/x', Version: 1 }] };
      });
      const err = await rejectionOf(op.run(store()));
      expect(err).toMatchObject({ code: SSM_CODE[fault], store: 'ssm parameters /credstash/credentials/* in us-east-1' });
      expect(ssm.commandCalls(op.command as never)).toHaveLength(1);
      expectNoLeak(err, CANARY);
    });
  }
});

describe('client-mock faults through the CLI (in-process): exit 1, one line, its own message', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'credstash-faults-mock-'));
    writeFileSync(join(dir, 'credstash.toml'), '[credential_store]\ntype = "dynamodb"\n[credential_store.config]\ntable = "faults-mock"\nregion = "us-east-1"\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function cli(args: string[]): Promise<InProcessRun> {
    return runCliInProcess(args, { cwd: dir, env: { ...process.env, HOME: dir } });
  }

  it('the mocks reach the CLI: a healthy get prints the value', async () => {
    expect(await cli(['get', 'm.a', 'env=prod'])).toEqual({ code: 0, stdout: `${CANARY}-m.a\n`, stderr: '' });
  });

  it('get, put and getall under each DynamoDB and KMS fault', async () => {
    const lines = new Set<string>();
    const cases: Array<[string[], 'dynamodb' | 'kms', typeof QueryCommand | typeof DecryptCommand | typeof GenerateDataKeyCommand | typeof ScanCommand]> = [
      [['get', 'm.a', 'env=prod'], 'dynamodb', QueryCommand],
      [['get', 'm.a', 'env=prod'], 'kms', DecryptCommand],
      [['put', 'm.new', CANARY], 'kms', GenerateDataKeyCommand],
      [['getall', 'env=prod'], 'dynamodb', ScanCommand],
    ];
    for (const [args, service, command] of cases) {
      for (const fault of FAULTS) {
        ddb.reset();
        kms.reset();
        installHealthy();
        failOn(service, command, sdkError(service, fault));
        const r = await cli(args);
        expect(r.code, `${args[0]} ${service} ${fault}`).toBe(1);
        expect(r.stdout).toBe('');
        expect(r.stderr).toMatch(/^credstash: [^\n]+\n$/);
        expect(r.stderr).not.toMatch(/\n\s+at |unexpected error/);
        expectNoLeak(r.stderr, CANARY, DATA_KEY.toString('hex'), DATA_KEY.toString('base64'));
        lines.add(`${service}:${fault}:${r.stderr}`);
      }
    }
    // per service, the four faults read differently
    for (const service of ['dynamodb', 'kms']) {
      const mine = [...lines].filter((l) => l.startsWith(`${service}:`));
      for (const fault of FAULTS) {
        const texts = new Set(mine.filter((l) => l.startsWith(`${service}:${fault}:`)).map((l) => l.slice(`${service}:${fault}:`.length).replace(/(Query|Scan|Decrypt|GenerateDataKey)/g, 'OP')));
        const others = new Set(mine.filter((l) => !l.startsWith(`${service}:${fault}:`)).map((l) => l.replace(/^[^:]+:[^:]+:/, '').replace(/(Query|Scan|Decrypt|GenerateDataKey)/g, 'OP')));
        for (const t of texts) expect(others.has(t), `${service} ${fault}`).toBe(false);
      }
    }
  });
});
