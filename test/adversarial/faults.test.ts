/**
 * Faults: KMS and DynamoDB answering throttling, 500s, access denied and slow responses, injected at the
 * fixtures' HTTP edge (the SDK's own retry logic runs for real). Retries are bounded and counted at the
 * endpoint; a getall never returns a silently partial result; each failure has its own code, its own
 * message and, on the CLI, exit 1 with one `credstash:` line.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDBStore } from '../../src/stores/dynamodb/index.js';
import { childAwsEnv } from '../fixtures/aws-env.js';
import { startDynalite, type DynaliteHandle } from '../fixtures/dynalite.js';
import { startKmsEndpoint, type KmsEndpointHandle } from '../fixtures/kms-endpoint.js';
import type { FaultSpec } from '../fixtures/fault-injection.js';
import { CANARY, rejectionOf } from '../helpers/no-leak.js';
import { expectCleanFailure, runCli } from '../helpers/cli.js';
import { expectNoLeak } from '../helpers/no-leak.js';

const TABLE = 'faults-table';
const ATTEMPTS = 4;
let ddb: DynaliteHandle;
let kms: KmsEndpointHandle;
let store: DynamoDBStore;

beforeAll(async () => {
  [ddb, kms] = await Promise.all([startDynalite(), startKmsEndpoint()]);
  store = new DynamoDBStore({ table: TABLE, region: 'us-east-1', endpointUrl: ddb.endpoint, kmsEndpointUrl: kms.endpoint, maxAttempts: ATTEMPTS });
  await store.setup();
  for (const n of ['f.a', 'f.b', 'f.c', 'f.d']) await store.storeCredential(n, `${CANARY}-${n}`, { context: { env: 'prod' } });
});
afterAll(async () => {
  await store?.close();
  await Promise.all([ddb?.close(), kms?.close()]);
});
beforeEach(() => {
  ddb.clearFaults();
  kms.clearFaults();
  ddb.requests.reset();
  kms.requests.reset();
});

type Case = { label: string; service: 'kms' | 'dynamodb'; operation: string; fault: FaultSpec; code: string; calls: number; message: RegExp };

// What `get` (one Query + one Decrypt) does under each fault.
const GET_CASES: Case[] = [
  { label: 'KMS throttling', service: 'kms', operation: 'Decrypt', fault: { kind: 'throttle' }, code: 'ERR_THROTTLED', calls: ATTEMPTS, message: /KMS throttled Decrypt .*after 4 attempts/ },
  { label: 'KMS 500', service: 'kms', operation: 'Decrypt', fault: { kind: 'internal' }, code: 'ERR_KMS', calls: ATTEMPTS, message: /KMS Decrypt failed .*KMSInternalException/ },
  { label: 'KMS access denied', service: 'kms', operation: 'Decrypt', fault: { kind: 'accessDenied' }, code: 'ERR_ACCESS_DENIED', calls: 1, message: /KMS denied Decrypt .*not authorized/ },
  { label: 'KMS disabled key', service: 'kms', operation: 'Decrypt', fault: { kind: 'error', errorType: 'DisabledException' }, code: 'ERR_KMS', calls: 1, message: /is disabled/ },
  { label: 'DynamoDB throttling', service: 'dynamodb', operation: 'Query', fault: { kind: 'throttle' }, code: 'ERR_THROTTLED', calls: ATTEMPTS, message: /DynamoDB throttled Query .*after 4 attempts/ },
  { label: 'DynamoDB 500', service: 'dynamodb', operation: 'Query', fault: { kind: 'internal' }, code: 'ERR_STORE_UNAVAILABLE', calls: ATTEMPTS, message: /Query failed .*HTTP 500/ },
  { label: 'DynamoDB access denied', service: 'dynamodb', operation: 'Query', fault: { kind: 'accessDenied' }, code: 'ERR_ACCESS_DENIED', calls: 1, message: /DynamoDB denied Query/ },
  { label: 'DynamoDB table missing', service: 'dynamodb', operation: 'Query', fault: { kind: 'error', errorType: 'ResourceNotFoundException' }, code: 'ERR_STORE_UNAVAILABLE', calls: 1, message: /does not exist.*credstash setup/ },
];

const arm = (c: Case): void => (c.service === 'kms' ? kms : ddb).fault(c.operation, c.fault);
const count = (c: Case): number => (c.service === 'kms' ? kms : ddb).requests.get(c.operation);

describe('DynamoDB tier under injected faults (library)', () => {
  it.each(GET_CASES.map((c) => [c.label, c] as const))('%s: typed error, bounded retries counted at the endpoint, nothing leaks', async (_l, c) => {
    arm(c);
    const err = await rejectionOf(store.getCredential('f.a', { context: { env: 'prod' } }));
    expect(err.code, err.message).toBe(c.code);
    expect(err.message).toMatch(c.message);
    expect(count(c)).toBe(c.calls);
    expectNoLeak(err, [`${CANARY}-f.a`]);
  });

  it('each fault has its own message', async () => {
    const messages = new Set<string>();
    for (const c of GET_CASES) {
      ddb.clearFaults();
      kms.clearFaults();
      arm(c);
      messages.add((await rejectionOf(store.getCredential('f.a', { context: { env: 'prod' } }))).message.replace(/after \d+ attempts/, ''));
    }
    expect(messages.size).toBe(GET_CASES.length);
  });

  it('a transient fault (one throttled request, one 500) is retried and the get succeeds', async () => {
    kms.fault('Decrypt', { kind: 'throttle', count: 1 });
    ddb.fault('Query', { kind: 'internal', count: 1 });
    expect((await store.getCredential('f.a', { context: { env: 'prod' }, required: true })).value).toBe(`${CANARY}-f.a`);
    expect(kms.requests.get('Decrypt')).toBe(2);
    expect(ddb.requests.get('Query')).toBe(2);
  });

  it('the SDK default retry budget is bounded too (no maxAttempts configured)', async () => {
    const plain = new DynamoDBStore({ table: TABLE, region: 'us-east-1', endpointUrl: ddb.endpoint, kmsEndpointUrl: kms.endpoint });
    kms.fault('Decrypt', { kind: 'throttle' });
    const err = await rejectionOf(plain.getCredential('f.a', { context: { env: 'prod' } }));
    expect(err.code).toBe('ERR_THROTTLED');
    expect(kms.requests.get('Decrypt')).toBeGreaterThan(1);
    expect(kms.requests.get('Decrypt')).toBeLessThanOrEqual(10);
    await plain.close();
  });

  it('a put whose GenerateDataKey is throttled or denied writes nothing', async () => {
    kms.fault('GenerateDataKey', { kind: 'throttle' });
    expect((await rejectionOf(store.storeCredential('f.new', CANARY))).code).toBe('ERR_THROTTLED');
    expect(kms.requests.get('GenerateDataKey')).toBe(ATTEMPTS);
    kms.clearFaults();
    kms.fault('GenerateDataKey', { kind: 'accessDenied' });
    expect((await rejectionOf(store.storeCredential('f.new', CANARY))).code).toBe('ERR_ACCESS_DENIED');
    expect(ddb.requests.get('PutItem')).toBe(0);
    kms.clearFaults();
    expect(await store.credentialExists('f.new')).toBe(false);
  });

  it('a put whose PutItem fails with 500s writes nothing and says so', async () => {
    ddb.fault('PutItem', { kind: 'internal' });
    const err = await rejectionOf(store.storeCredential('f.new2', CANARY));
    expect(err.code).toBe('ERR_STORE_UNAVAILABLE');
    expect(ddb.requests.get('PutItem')).toBe(ATTEMPTS);
    ddb.clearFaults();
    expect(await store.credentialExists('f.new2')).toBe(false);
    expectNoLeak(err, [CANARY]);
  });

  it('getall with one Decrypt denied fails as a whole (PartialResultError), or with skipErrors reports exactly what it skipped', async () => {
    kms.fault('Decrypt', { kind: 'accessDenied', count: 1 });
    const err = await rejectionOf(store.getAllCredentials({ pattern: 'f.*', context: { env: 'prod' }, concurrency: 1 }));
    expect(err.code).toBe('ERR_PARTIAL_RESULT');
    expect((err as unknown as { failures: unknown[] }).failures).toHaveLength(1);
    expect(err.message).toMatch(/nothing was returned/);
    expectNoLeak(err, ['a', 'b', 'c', 'd'].map((x) => `${CANARY}-f.${x}`));
    kms.fault('Decrypt', { kind: 'accessDenied', count: 1 });
    const res = await store.getAllCredentials({ pattern: 'f.*', context: { env: 'prod' }, concurrency: 1, skipErrors: true });
    expect(res.credentials).toHaveLength(3);
    expect(res.skipped).toEqual([expect.objectContaining({ code: 'ERR_ACCESS_DENIED' })]);
  });

  it('getall whose Scan is throttled fails as a whole, never with the items of earlier pages', async () => {
    ddb.fault('Scan', { kind: 'throttle' });
    const err = await rejectionOf(store.getAllCredentials({ context: { env: 'prod' } }));
    expect(err.code).toBe('ERR_THROTTLED');
    expect(ddb.requests.get('Scan')).toBe(ATTEMPTS);
    expect(kms.requests.get('Decrypt')).toBe(0);
  });

  it('a slow KMS is cut off by the request timeout, retried a bounded number of times, and reported as unreachable', async () => {
    const quick = new DynamoDBStore({ table: TABLE, region: 'us-east-1', endpointUrl: ddb.endpoint, kmsEndpointUrl: kms.endpoint, maxAttempts: 2, requestTimeoutMs: 300 });
    kms.fault('Decrypt', { kind: 'delay', delayMs: 2_000 });
    const started = Date.now();
    const err = await rejectionOf(quick.getCredential('f.a', { context: { env: 'prod' } }));
    expect(Date.now() - started).toBeLessThan(1_900);
    expect(['ERR_KMS', 'ERR_STORE_UNAVAILABLE']).toContain(err.code);
    expect(err.message).toMatch(/timed out|TimeoutError/);
    expect(kms.requests.get('Decrypt')).toBe(2);
    await quick.close();
  });
});

describe('DynamoDB faults on the CLI: exit 1, one line, its own message', () => {
  const cases = GET_CASES.filter((c) => ['KMS throttling', 'KMS access denied', 'DynamoDB 500'].includes(c.label));
  it.each(cases.map((c) => [c.label, c] as const))('%s', async (_l, c) => {
    arm(c);
    const env = childAwsEnv({ dynamodb: ddb.endpoint, kms: kms.endpoint });
    const r = await runCli(['-t', TABLE, 'get', 'f.a', 'env=prod'], { env, cwd: process.cwd() });
    expectCleanFailure(r, c.message.source.includes('after 4') ? /throttled Decrypt/ : c.message);
    expect(r.stderr).not.toContain(CANARY);
  });
});
