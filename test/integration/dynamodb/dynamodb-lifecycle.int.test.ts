/**
 * The version lifecycle on the envelope tier against dynalite and the KMS-protocol endpoint: the shared
 * contract (with a forged label written straight into the lifecycle table), label moves racing from separate
 * store instances, tampered expiry attributes, the missing lifecycle table, and what a Python credstash
 * 1.17 reader of the same table sees before and after every lifecycle operation.
 */
import { DeleteTableCommand, DynamoDBClient, GetItemCommand, PutItemCommand, QueryCommand, ScanCommand, UpdateItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { DecryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { createDecipheriv, createHmac, timingSafeEqual } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { gcmAad } from '../../../src/crypto/envelope-gcm.js';
import { decodeLegacyHmac, openLegacy } from '../../../src/crypto/legacy-ctr-hmac.js';
import { DynamoDBStore, type DynamoDBStoreOptions } from '../../../src/stores/dynamodb/index.js';
import { runLifecycleContract } from '../../contract/lifecycle.contract.js';
import { expectNoStackTrace, runCli } from '../../helpers/cli.js';
import { CANARY, expectNoLeak, rejectionOf } from '../../helpers/no-leak.js';
import { cliTiers } from '../../helpers/tiers.js';
import { startDynalite, type DynaliteHandle } from '../../fixtures/dynalite.js';
import { startKmsEndpoint, type KmsEndpointHandle } from '../../fixtures/kms-endpoint.js';

type Item = Record<string, AttributeValue>;

let ddb: DynaliteHandle;
let kms: KmsEndpointHandle;
let raw: DynamoDBClient;
let rawKms: KMSClient;
let n = 0;
const opened: DynamoDBStore[] = [];

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

function open(table: string, opts: DynamoDBStoreOptions = {}): DynamoDBStore {
  const s = new DynamoDBStore({ table, region: 'us-east-1', endpointUrl: ddb.endpoint, kmsEndpointUrl: kms.endpoint, ...opts });
  opened.push(s);
  return s;
}

async function fresh(opts: DynamoDBStoreOptions = {}): Promise<DynamoDBStore> {
  const s = open(`life-${++n}`, opts);
  await s.setup();
  return s;
}

function resetCounts(): void {
  ddb.requests.reset();
  kms.requests.reset();
}
const counts = () => ({ ddb: ddb.requests.snapshot(), kms: kms.requests.snapshot() });

/** A table writer without the key: point the label straight at another version, keeping the old proof. */
async function forgeLabel(store: object, id: string, label: string, paddedVersion: string): Promise<void> {
  const table = (store as DynamoDBStore).lifecycleTable;
  const got = await raw.send(new GetItemCommand({ TableName: table, Key: { name: { S: id } }, ConsistentRead: true }));
  const doc = JSON.parse(got.Item?.doc?.S ?? '{"labels":{},"state":{}}') as { labels: Record<string, { v: string; proof?: string }> };
  doc.labels[label] = { ...doc.labels[label], v: paddedVersion };
  await raw.send(new PutItemCommand({ TableName: table, Item: { name: { S: id }, doc: { S: JSON.stringify(doc) }, rev: { S: 'forged' } } }));
}

runLifecycleContract('dynamodb (dynalite, aes-gcm)', () => fresh({ format: 'gcm' }), {
  context: true,
  expiry: true,
  history: true,
  state: true,
  forgeLabel,
  racers: 8,
});
runLifecycleContract('dynamodb (dynalite, legacy items)', () => fresh({ format: 'legacy' }), {
  context: true,
  expiry: true,
  history: true,
  state: true,
  forgeLabel,
  racers: 8,
});

describe('label moves from 8 store instances at once', () => {
  it('each move is done or a LabelConflictError, and the label ends on a version that exists with its value', async () => {
    const store = await fresh();
    for (let i = 1; i <= 8; i++) await store.storeCredential('race.db', `value-${i}`, { autoVersion: true, context: { env: 'prod' } });
    const movers = Array.from({ length: 8 }, () => open(store.table));
    const results = await Promise.allSettled(movers.map((m, i) => m.labelCredential('race.db', 'current', { version: i + 1, context: { env: 'prod' } })));
    const done = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.version] : []));
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'ERR_LABEL_CONFLICT', label: 'current' });
    expect(done.length).toBeGreaterThanOrEqual(1);
    const got = await open(store.table).getCredential('race.db', { label: 'current', context: { env: 'prod' }, required: true });
    expect(done).toContain(got.version);
    expect(got.value).toBe(`value-${got.version}`);
  });
});

describe('label moves from 8 processes at once (credstash label)', () => {
  it('each process reports done (exit 0) or a conflict (exit 1, LabelConflictError), and the label ends on a version one of them set', async () => {
    const tier = cliTiers().find((t) => t.name.startsWith('dynamodb')) as NonNullable<ReturnType<typeof cliTiers>[number]>;
    const p = await tier.project();
    const store = p.open();
    try {
      for (let i = 1; i <= 8; i++) await store.storeCredential('proc.db', `${CANARY}-${i}`, { autoVersion: true, context: { env: 'prod' } });
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) => runCli([...p.flags, 'label', 'proc.db', 'current', '-v', String(i + 1), 'env=prod'], { cwd: p.dir, env: p.env, timeoutMs: 60_000 })),
      );
      const done: string[] = [];
      results.forEach((r, i) => {
        expectNoStackTrace(r.stderr);
        expect(r.stdout + r.stderr).not.toContain(CANARY);
        if (r.code === 0) done.push(String(i + 1));
        else expect({ code: r.code, stderr: r.stderr }).toMatchObject({ code: 1, stderr: expect.stringMatching(/^credstash: label "current" of credential "proc.db" .* was changed by another writer at the same time/) });
      });
      expect(done.length).toBeGreaterThanOrEqual(1);
      const got = await store.getCredential('proc.db', { label: 'current', context: { env: 'prod' }, required: true });
      expect(done).toContain(got.version);
      expect(got.value).toBe(`${CANARY}-${got.version}`);
    } finally {
      await store.close();
    }
  });
});

describe('expiry is authenticated under the data key', () => {
  const key = (name: string, v: number) => ({ name: { S: name }, version: { S: String(v).padStart(19, '0') } });
  const update = (table: string, name: string, expr: string, values?: Record<string, AttributeValue>) =>
    raw.send(new UpdateItemCommand({ TableName: table, Key: key(name, 1), UpdateExpression: expr, ...(values === undefined ? {} : { ExpressionAttributeValues: values }) }));

  for (const format of ['gcm', 'legacy'] as const) {
    it(`${format}: a changed or removed expires_at, a removed MAC or an expiry added by a table writer fails the read`, async () => {
      const store = await fresh({ format });
      const at = new Date(Date.now() + 3_600_000).toISOString();
      await store.storeCredential('exp.a', CANARY, { expiresAt: at });
      expect((await store.getCredential('exp.a', { required: true })).expiresAt).toBe(at);
      const later = new Date(Date.now() + 400 * 86_400_000).toISOString();
      await update(store.table, 'exp.a', 'SET expires_at = :e', { ':e': { S: later } });
      let err = await rejectionOf(store.getCredential('exp.a'));
      expect(err).toMatchObject({ code: 'ERR_INTEGRITY' });
      expectNoLeak(err, CANARY);
      await update(store.table, 'exp.a', 'REMOVE expires_at');
      expect(await rejectionOf(store.getCredential('exp.a'))).toMatchObject({ code: 'ERR_INTEGRITY' });
      await update(store.table, 'exp.a', 'SET expires_at = :e REMOVE lifecycle_mac', { ':e': { S: at } });
      expect(await rejectionOf(store.getCredential('exp.a'))).toMatchObject({ code: 'ERR_INTEGRITY' });
      // An expiry (with some MAC) added to a version written without one.
      await store.storeCredential('exp.b', 'plain');
      const mac = (await raw.send(new GetItemCommand({ TableName: store.table, Key: key('exp.a', 1) }))).Item?.lifecycle_mac;
      await update(store.table, 'exp.b', 'SET expires_at = :e, lifecycle_mac = :m', { ':e': { S: at }, ':m': mac ?? { S: 'AAAA' } });
      expect(await rejectionOf(store.getCredential('exp.b'))).toMatchObject({ code: 'ERR_INTEGRITY' });
      // getall checks the same way.
      const all = await store.getAllCredentials({ skipErrors: true });
      expect(all.credentials.map((c) => c.id)).toEqual([]);
    });
  }

  it('removing expires_at and lifecycle_mac together: an AES-GCM item fails (the expiry is in its AAD); a legacy item reads without expiry (its format cannot hold one)', async () => {
    const at = new Date(Date.now() + 3_600_000).toISOString();
    const gcm = await fresh({ format: 'gcm' });
    await gcm.storeCredential('strip', CANARY, { expiresAt: at });
    await update(gcm.table, 'strip', 'REMOVE expires_at, lifecycle_mac');
    const err = await rejectionOf(gcm.getCredential('strip'));
    expect(err).toMatchObject({ code: 'ERR_INTEGRITY' });
    expectNoLeak(err, CANARY);
    const legacy = await fresh({ format: 'legacy' });
    await legacy.storeCredential('strip', 'v', { expiresAt: at });
    await update(legacy.table, 'strip', 'REMOVE expires_at, lifecycle_mac');
    const got = await legacy.getCredential('strip', { required: true });
    expect([got.value, got.expiresAt]).toEqual(['v', undefined]);
  });

  it('written_by is the assumed-role ARN with role_arn (known from the AssumeRole the write made), else user@host', async () => {
    const sts = mockClient(STSClient);
    try {
      const arn = 'arn:aws:sts::111122223333:assumed-role/credstash-writer/AssumeRoleCredstashSession1';
      sts.on(AssumeRoleCommand).resolves({
        Credentials: { AccessKeyId: 'ASIAROLE', SecretAccessKey: 'role-secret', SessionToken: 'tok', Expiration: new Date(Date.now() + 3600_000) },
        AssumedRoleUser: { Arn: arn, AssumedRoleId: 'AROA:AssumeRoleCredstashSession1' },
      });
      const plain = await fresh();
      const role = open(plain.table, { roleArn: 'arn:aws:iam::111122223333:role/credstash-writer' });
      await role.storeCredential('who', 'v1');
      await plain.storeCredential('who', 'v2', { autoVersion: true });
      const h = await plain.credentialHistory('who');
      expect(h.map((v) => v.writtenBy)).toEqual([arn, expect.stringMatching(/^[^@]+@[^@]+$/)]);
    } finally {
      sts.restore();
    }
  });

  it('created_at and written_by are informational: a table writer can change them and the value still reads', async () => {
    const store = await fresh();
    await store.storeCredential('info', 'v');
    const got = await store.getCredential('info', { required: true });
    expect(got.writtenBy).toMatch(/@/);
    await update(store.table, 'info', 'SET written_by = :w, created_at = :c', { ':w': { S: 'someone@else' }, ':c': { S: '2001-01-01T00:00:00.000Z' } });
    expect(await store.getCredential('info', { required: true })).toMatchObject({ value: 'v' });
    expect((await store.credentialHistory('info'))[0]).toMatchObject({ writtenBy: 'someone@else', createdAt: '2001-01-01T00:00:00.000Z' });
  });
});

describe('the lifecycle table', () => {
  it('missing: a lifecycle operation names it and `credstash setup`; get, put, list and delete still work', async () => {
    const store = await fresh();
    await raw.send(new DeleteTableCommand({ TableName: store.lifecycleTable }));
    await store.storeCredential('no.life', 'v1', { autoVersion: true });
    await store.storeCredential('no.life', 'v2', { autoVersion: true });
    const message = `the lifecycle table "${store.lifecycleTable}" of dynamodb table "${store.table}" does not exist in us-east-1 (labels and rotation state are kept there); run \`credstash setup\` to create it`;
    for (const op of [
      () => store.labelCredential('no.life', 'current', { version: 1 }),
      () => store.getCredential('no.life', { label: 'current' }),
      () => store.credentialHistory('no.life'),
      () => store.writeState('no.life', 'rotation', Buffer.from('x')),
    ]) {
      expect(await rejectionOf(op())).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE', message });
    }
    resetCounts();
    expect((await store.getCredential('no.life', { required: true })).value).toBe('v2');
    expect((await store.listCredentials()).map((s) => s.version)).toEqual(['1', '2']);
    expect(await store.listLabels()).toEqual([]);
    expect(await store.deleteCredential('no.life', { version: 1 })).toMatchObject({ deleted: ['1'] });
    // setup creates it again and the labels work.
    expect((await store.setup()).message).toContain(`created its lifecycle table "${store.lifecycleTable}"`);
    await store.labelCredential('no.life', 'current', { version: 2 });
    expect((await store.getCredential('no.life', { label: 'current', required: true })).value).toBe('v2');
  });

  it('a configured lifecycle_table is the one used; the credentials table never gets a lifecycle item', async () => {
    const table = `life-${++n}`;
    const store = open(table, { lifecycleTable: `${table}-labels` });
    await store.setup();
    await store.storeCredential('cfg', 'v');
    await store.labelCredential('cfg', 'stable', { version: 1 });
    const item = await raw.send(new GetItemCommand({ TableName: `${table}-labels`, Key: { name: { S: 'cfg' } } }));
    expect(JSON.parse(item.Item?.doc?.S ?? '{}').labels.stable.v).toBe('0000000000000000001');
    expect((await raw.send(new ScanCommand({ TableName: table }))).Items).toHaveLength(1);
  });
});

describe('requests, counted at the endpoints', () => {
  it('get without a label is unchanged: 1 Query + 1 Decrypt (and get -v: 1 GetItem + 1 Decrypt), even with labels and expiry in use', async () => {
    const store = await fresh();
    await store.storeCredential('req', 'v1', { expiresAt: '30d' });
    await store.storeCredential('req', 'v2', { autoVersion: true, expiresAt: '30d' });
    await store.labelCredential('req', 'current', { version: 1 });
    resetCounts();
    expect((await store.getCredential('req'))?.value).toBe('v2');
    expect(counts()).toEqual({ ddb: { Query: 1 }, kms: { Decrypt: 1 } });
    resetCounts();
    expect((await store.getCredential('req', { version: 1 }))?.value).toBe('v1');
    expect(counts()).toEqual({ ddb: { GetItem: 1 }, kms: { Decrypt: 1 } });
  });

  it('get --label = 1 GetItem (lifecycle table) + 1 GetItem (the version) + 1 Decrypt', async () => {
    const store = await fresh();
    await store.storeCredential('req', 'v1');
    await store.storeCredential('req', 'v2', { autoVersion: true });
    await store.labelCredential('req', 'current', { version: 1 });
    resetCounts();
    expect((await store.getCredential('req', { label: 'current' }))?.value).toBe('v1');
    expect(counts()).toEqual({ ddb: { GetItem: 2 }, kms: { Decrypt: 1 } });
  });

  it('get --label without the SDK (light, as the CLI reads): the same 2 GetItem + 1 Decrypt, the same proof check', async () => {
    const store = await fresh();
    await store.storeCredential('req', 'v1');
    await store.storeCredential('req', CANARY, { autoVersion: true });
    await store.labelCredential('req', 'current', { version: 1 });
    const light = open(store.table, { light: true });
    resetCounts();
    expect((await light.getCredential('req', { label: 'current' }))?.value).toBe('v1');
    expect(counts()).toEqual({ ddb: { GetItem: 2 }, kms: { Decrypt: 1 } });
    await forgeLabel(store, 'req', 'current', '0000000000000000002');
    const err = await rejectionOf(light.getCredential('req', { label: 'current' }));
    expect(err).toMatchObject({ code: 'ERR_INTEGRITY' });
    expectNoLeak(err, CANARY);
  });

  it('a label move = 1 GetItem of the version (it exists; its key for the proof) + 1 Decrypt + 1 GetItem and 1 PutItem of the lifecycle table', async () => {
    const store = await fresh();
    await store.storeCredential('req', 'v1');
    await store.storeCredential('req', 'v2', { autoVersion: true });
    await store.labelCredential('req', 'current', { version: 1 });
    resetCounts();
    await store.labelCredential('req', 'current', { version: 2 });
    expect(counts()).toEqual({ ddb: { GetItem: 2, PutItem: 1 }, kms: { Decrypt: 1 } });
  });

  it('history of a name with 100 versions = 1 Query (+ 1 GetItem of its labels), no Decrypt', async () => {
    const store = await fresh();
    for (let i = 1; i <= 100; i++) await store.storeCredential('many', `value-${i}`, { version: i });
    resetCounts();
    const h = await store.credentialHistory('many');
    expect(h).toHaveLength(100);
    expect(h[99]).toMatchObject({ version: '100', size: 'value-100'.length });
    expect(counts()).toEqual({ ddb: { Query: 1, GetItem: 1 }, kms: {} });
  });
});

// ---------------------------------------------------------------------------------------------------------
// A reader that does exactly what Python credstash 1.17 does (docs/FORMAT.md §7): getSecret = Query on the
// name, Limit 1, ScanIndexForward false, then open_aes_ctr_legacy on `key`, `contents`, `hmac`, `digest`;
// listSecrets = Scan projecting name, version, comment; getall = listSecrets, then getSecret per name. AES-GCM
// items are read as credstash-ts's reader sees them (nodecredstash and Python cannot read them at all).

const CTR_IV = Buffer.concat([Buffer.alloc(15), Buffer.from([1])]);
const HASHES: Record<string, string> = { SHA: 'sha1', SHA224: 'sha224', SHA256: 'sha256', SHA384: 'sha384', SHA512: 'sha512', MD5: 'md5' };

async function decryptKey(item: Item, context: Record<string, string>): Promise<Buffer> {
  const out = await rawKms.send(new DecryptCommand({ CiphertextBlob: Buffer.from(item.key?.S ?? '', 'base64'), EncryptionContext: context }));
  return Buffer.from(out.Plaintext ?? new Uint8Array());
}

/** open_aes_ctr_legacy, or (an item with `algorithm`) the AES-GCM reading of docs/FORMAT.md §2. */
async function openAsLegacyReader(item: Item, context: Record<string, string>): Promise<string> {
  const key = await decryptKey(item, context);
  const contents = Buffer.from(item.contents?.S ?? '', 'base64');
  if (item.algorithm?.S === 'aes-256-gcm') {
    const d = createDecipheriv('aes-256-gcm', key, Buffer.from(item.iv?.S ?? '', 'base64'));
    const expiresAt = item.expires_at?.S;
    d.setAAD(gcmAad({ name: item.name?.S ?? '', paddedVersion: item.version?.S ?? '', kind: item.kind?.S ?? '', ...(expiresAt === undefined ? {} : { expiresAt }) }));
    d.setAuthTag(Buffer.from(item.tag?.S ?? '', 'base64'));
    return Buffer.concat([d.update(contents), d.final()]).toString('utf8');
  }
  const hmacAttr = item.hmac;
  if (hmacAttr === undefined) throw new Error("KeyError: 'hmac'");
  const want = Buffer.from(hmacAttr.S ?? Buffer.from(hmacAttr.B ?? new Uint8Array()).toString(), 'hex');
  const got = createHmac(HASHES[item.digest?.S ?? 'SHA256'] as string, key.subarray(32)).update(contents).digest();
  if (want.length !== got.length || !timingSafeEqual(want, got)) throw new Error('IntegrityError: Computed HMAC on contents does not match');
  const c = createDecipheriv('aes-256-ctr', key.subarray(0, 32), CTR_IV);
  const plain = Buffer.concat([c.update(contents), c.final()]).toString('utf8');
  // The legacy reader path of src/crypto agrees on the same item (it ignores the extra attributes too).
  const viaLegacyPath = openLegacy({ ciphertext: contents, dataKey: Buffer.from(key), hmac: decodeLegacyHmac(hmacAttr) ?? Buffer.alloc(0), digest: item.digest?.S, credentialId: item.name?.S ?? '' });
  if (viaLegacyPath.toString('utf8') !== plain) throw new Error('the legacy reader path disagrees');
  return plain;
}

interface LegacyView {
  list: Array<{ name?: string; version?: string; comment?: string }>;
  get: Record<string, string>;
  getall: Record<string, string>;
}

async function legacyView(table: string, names: string[], context: Record<string, string>): Promise<LegacyView> {
  const list: LegacyView['list'] = [];
  let start: Item | undefined;
  do {
    const page = await raw.send(
      new ScanCommand({ TableName: table, ProjectionExpression: '#N, version, #C', ExpressionAttributeNames: { '#N': 'name', '#C': 'comment' }, ExclusiveStartKey: start }),
    );
    for (const it of page.Items ?? []) list.push({ name: it.name?.S, version: it.version?.S, ...(it.comment?.S === undefined ? {} : { comment: it.comment.S }) });
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  list.sort((a, b) => `${a.name}/${a.version}`.localeCompare(`${b.name}/${b.version}`));
  const getSecret = async (name: string): Promise<string> => {
    const q = await raw.send(
      new QueryCommand({ TableName: table, Limit: 1, ScanIndexForward: false, ConsistentRead: true, KeyConditionExpression: '#n = :n', ExpressionAttributeNames: { '#n': 'name' }, ExpressionAttributeValues: { ':n': { S: name } } }),
    );
    const item = q.Items?.[0];
    if (item === undefined) throw new Error(`ItemNotFound: ${name}`);
    return openAsLegacyReader(item, context);
  };
  const get: Record<string, string> = {};
  for (const name of names) get[name] = await getSecret(name);
  const getall: Record<string, string> = {};
  for (const name of [...new Set(list.map((x) => x.name as string))].sort()) getall[name] = await getSecret(name);
  return { list, get, getall };
}

describe('a Python credstash 1.17 reader of the same table sees exactly what it saw before', () => {
  for (const format of ['legacy', 'gcm'] as const) {
    it(`${format} items: labels, history metadata, expiry, sealed state and an unlabel change nothing it sees`, async () => {
      const ctx = { env: 'prod' };
      const store = await fresh({ format });
      await store.storeCredential('app.db', 'one', { autoVersion: true, context: ctx, comment: 'first' });
      await store.storeCredential('app.db', 'two', { autoVersion: true, context: ctx, expiresAt: '90d' });
      await store.storeCredential('app.api', 'key-1', { autoVersion: true, context: ctx });
      const before = await legacyView(store.table, ['app.db', 'app.api'], ctx);
      expect(before.get).toEqual({ 'app.db': 'two', 'app.api': 'key-1' });

      await store.labelCredential('app.db', 'current', { version: 1, context: ctx });
      await store.labelCredential('app.db', 'next', { version: 2, context: ctx });
      await store.labelCredential('app.api', 'current', { version: 1, context: ctx });
      await store.writeState('app.db', 'rotation', Buffer.from(`pending ${CANARY}`), { context: ctx });
      await store.credentialHistory('app.db');
      await store.expiringCredentials({ withinMs: 365 * 86_400_000 });
      await store.unlabelCredential('app.db', 'next');
      const after = await legacyView(store.table, ['app.db', 'app.api'], ctx);
      expect(after).toEqual(before);
      expect(JSON.stringify(after)).not.toContain(CANARY);
      // The store itself reads the label; the reader above still gets the newest.
      expect((await store.getCredential('app.db', { label: 'current', context: ctx, required: true })).value).toBe('one');
    });
  }
});
