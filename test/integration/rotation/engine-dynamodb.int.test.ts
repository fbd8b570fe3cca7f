/**
 * The rotation engine on the DynamoDB tier (dynalite + the KMS-protocol endpoint), with a fake rotator whose
 * target is a map: a Python credstash 1.17 reader of the table (Query Limit 1 newest first, then the legacy
 * AES-CTR + HMAC opening; a Scan for list) sees the old value and no extra item at every step, and the new
 * value after finish; a crash at every step boundary is resumed to exactly one new version; 8 rotations
 * started at once from 8 store instances: one rotation, one new version.
 */
import { DecryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { DynamoDBClient, QueryCommand, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { createDecipheriv, createHmac, timingSafeEqual } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RotationInProgressError, RotationStepError } from '../../../src/core/errors.js';
import type { JsonObject } from '../../../src/core/types.js';
import { rotateCredential, type RotationProgress } from '../../../src/rotation/engine.js';
import type { Rotator } from '../../../src/rotation/types.js';
import { DynamoDBStore } from '../../../src/stores/dynamodb/index.js';
import { startDynalite, type DynaliteHandle } from '../../fixtures/dynalite.js';
import { startKmsEndpoint, type KmsEndpointHandle } from '../../fixtures/kms-endpoint.js';
import { heldUntilOthersAnswer } from '../../helpers/held-race.js';

type Item = Record<string, AttributeValue>;
let ddb: DynaliteHandle;
let kms: KmsEndpointHandle;
let raw: DynamoDBClient;
let rawKms: KMSClient;
const opened: DynamoDBStore[] = [];
let n = 0;
const CTX = { env: 'prod' };
const ID = 'app.db';
const OLD = { user: 'app', password: 'old-password-1' };

beforeAll(async () => {
  [ddb, kms] = await Promise.all([startDynalite(), startKmsEndpoint()]);
  raw = new DynamoDBClient({ region: 'us-east-1', endpoint: ddb.endpoint });
  rawKms = new KMSClient({ region: 'us-east-1', endpoint: kms.endpoint });
});
afterAll(async () => {
  raw?.destroy();
  rawKms?.destroy();
  await Promise.all([ddb?.close(), kms?.close()]);
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
});

function open(table: string): DynamoDBStore {
  const s = new DynamoDBStore({ table, region: 'us-east-1', endpointUrl: ddb.endpoint, kmsEndpointUrl: kms.endpoint, format: 'legacy' });
  opened.push(s);
  return s;
}

async function fresh(): Promise<{ store: DynamoDBStore; table: string }> {
  const table = `rot-${++n}`;
  const store = open(table);
  await store.setup();
  await store.storeCredential(ID, JSON.stringify(OLD), { context: CTX });
  return { store, table };
}

function rotator(server: Map<string, string>): Rotator {
  return {
    name: 'fake',
    strategies: ['single'],
    pending: (input, pw) => ({ ...input.current, password: pw }),
    async set(_input, pending) {
      server.set(String(pending.user), String(pending.password));
    },
    async test(input, pending) {
      if (server.get(String(pending.user)) !== pending.password) throw new RotationStepError({ step: 'test', target: 'fake', reason: 'refused', credentialId: input.credentialId ?? '' });
    },
    async revert(input) {
      server.set(String(input.current.user), String(input.current.password));
    },
  };
}

/** Python credstash 1.17's getSecret: the newest item by Query, opened as a legacy (AES-CTR + HMAC) item. */
async function pythonGet(table: string, name: string): Promise<string> {
  const q = await raw.send(
    new QueryCommand({ TableName: table, Limit: 1, ScanIndexForward: false, ConsistentRead: true, KeyConditionExpression: '#n = :n', ExpressionAttributeNames: { '#n': 'name' }, ExpressionAttributeValues: { ':n': { S: name } } }),
  );
  const item = q.Items?.[0] as Item;
  const out = await rawKms.send(new DecryptCommand({ CiphertextBlob: Buffer.from(item.key?.S ?? '', 'base64'), EncryptionContext: CTX }));
  const key = Buffer.from(out.Plaintext ?? new Uint8Array());
  const contents = Buffer.from(item.contents?.S ?? '', 'base64');
  const want = Buffer.from(item.hmac?.S ?? '', 'hex');
  const got = createHmac('sha256', key.subarray(32)).update(contents).digest();
  if (want.length !== got.length || !timingSafeEqual(want, got)) throw new Error('IntegrityError');
  const c = createDecipheriv('aes-256-ctr', key.subarray(0, 32), Buffer.concat([Buffer.alloc(15), Buffer.from([1])]));
  return Buffer.concat([c.update(contents), c.final()]).toString('utf8');
}

/** Python credstash's listSecrets: every (name, version) of the table. */
async function pythonList(table: string): Promise<string[]> {
  const page = await raw.send(new ScanCommand({ TableName: table, ProjectionExpression: '#N, version', ExpressionAttributeNames: { '#N': 'name' } }));
  return (page.Items ?? []).map((i) => `${i.name?.S}@${i.version?.S}`).sort();
}

describe('rotation on DynamoDB (dynalite)', () => {
  it('a Python credstash reader sees the old value and no extra item at every step, then the new one after finish', async () => {
    const { store, table } = await fresh();
    const server = new Map([['app', OLD.password]]);
    const seen: string[] = [];
    const r = await rotateCredential(store, ID, { rotator: rotator(server), context: CTX }, {
      onProgress: async (e: RotationProgress) => {
        if (e.step === 'finish' && e.phase === 'done') return;
        const value = JSON.parse(await pythonGet(table, ID)) as JsonObject;
        seen.push(`${e.step}:${e.phase}:${value.password === OLD.password ? 'old' : 'new'}:${(await pythonList(table)).join(',')}`);
      },
    });
    expect(r).toMatchObject({ outcome: 'rotated', version: '2' });
    expect(seen).toHaveLength(7);
    for (const s of seen) expect(s).toMatch(/:old:app\.db@0000000000000000001$/);
    const after = JSON.parse(await pythonGet(table, ID)) as JsonObject;
    expect(after.password).toBe(server.get('app'));
    expect(await pythonList(table)).toEqual(['app.db@0000000000000000001', 'app.db@0000000000000000002']);
    const labels = Object.fromEntries((await store.credentialHistory(ID)).map((v) => [v.version, v.labels]));
    expect(labels).toEqual({ '1': ['previous'], '2': ['current'] });
  });

  for (const [step, phase] of [['create', 'done'], ['set', 'start'], ['set', 'done'], ['test', 'done'], ['finish', 'start']] as const) {
    it(`a crash at ${step}:${phase}, then a rotation from another store instance: exactly one new version, store and target agree`, async () => {
      const { store, table } = await fresh();
      const server = new Map([['app', OLD.password]]);
      const policy = { rotator: rotator(server), context: CTX };
      await expect(rotateCredential(store, ID, policy, { onProgress: (e) => { if (e.step === step && e.phase === phase) throw new Error('simulated crash'); } })).rejects.toThrow('simulated crash');
      const r = await rotateCredential(open(table), ID, policy);
      expect(r).toMatchObject({ outcome: 'rotated', resumed: true, version: '2' });
      expect(await pythonList(table)).toHaveLength(2);
      expect((JSON.parse(await pythonGet(table, ID)) as JsonObject).password).toBe(server.get('app'));
    });
  }

  it('8 rotations started at once from 8 store instances: one rotates, 7 are told one is in progress; one new version', async () => {
    const { table } = await fresh();
    const server = new Map([['app', OLD.password]]);
    const plain = rotator(server);
    // The rotation that claims holds its set step until the other 7 have answered, so a store whose first
    // request is late on a loaded machine still meets it in progress, never already finished.
    const held = (hold: Promise<void>) => ({ rotator: { ...plain, set: async (i: Parameters<Rotator['set']>[0], p: JsonObject) => { await hold; await plain.set(i, p); } }, context: CTX });
    const results = await Promise.allSettled(heldUntilOthersAnswer(8, (hold) => rotateCredential(open(table), ID, held(hold))));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const busy = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(busy).toHaveLength(7);
    for (const b of busy) expect(b.reason).toBeInstanceOf(RotationInProgressError);
    expect(await pythonList(table)).toHaveLength(2);
    expect((JSON.parse(await pythonGet(table, ID)) as JsonObject).password).toBe(server.get('app'));
  });
});
