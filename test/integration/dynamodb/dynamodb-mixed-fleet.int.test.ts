/**
 * A mixed fleet on one table: hosts still on Python credstash (or nodecredstash) read what credstash-ts writes
 * with its defaults. "Another client" writes legacy items with node:crypto and the KMS fixture only; the reader
 * below decodes items with the legacy algorithm only (docs/FORMAT.md §5), exactly as Python credstash does:
 * no `hmac` attribute is its KeyError('hmac'), and its getall fails for the whole table on one such item.
 */
import { DynamoDBClient, PutItemCommand, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { DecryptCommand, GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { migrate } from '../../../src/ops/migrate.js';
import { DynamoDBStore, type DynamoDBStoreOptions } from '../../../src/stores/dynamodb/index.js';
import { rejectionOf } from '../../helpers/no-leak.js';
import { startDynalite, type DynaliteHandle } from '../../fixtures/dynalite.js';
import { startKmsEndpoint, type KmsEndpointHandle } from '../../fixtures/kms-endpoint.js';

type Item = Record<string, AttributeValue>;

let ddb: DynaliteHandle;
let kms: KmsEndpointHandle;
let raw: DynamoDBClient;
let rawKms: KMSClient;
let n = 0;
let table: string;
const opened: DynamoDBStore[] = [];

beforeAll(async () => {
  [ddb, kms] = await Promise.all([startDynalite(), startKmsEndpoint()]);
  raw = new DynamoDBClient({ region: 'us-east-1', endpoint: ddb.endpoint });
  rawKms = new KMSClient({ region: 'us-east-1', endpoint: kms.endpoint });
});
afterAll(async () => {
  raw?.destroy();
  rawKms?.destroy();
  await Promise.all(opened.splice(0).map((s) => s.close()));
  await Promise.all([ddb?.close(), kms?.close()]);
});
beforeEach(async () => {
  table = `fleet-${++n}`;
  await open().setup();
});

/** credstash-ts with its defaults (no format anywhere). */
function open(opts: DynamoDBStoreOptions = {}): DynamoDBStore {
  const s = new DynamoDBStore({ table, region: 'us-east-1', endpointUrl: ddb.endpoint, kmsEndpointUrl: kms.endpoint, ...opts });
  opened.push(s);
  return s;
}

// AES-256-CTR with pycrypto's Counter.new(128): a 16-byte big-endian counter starting at 1.
const CTR_IV = Buffer.concat([Buffer.alloc(15), Buffer.from([1])]);
const HASHES: Record<string, string> = { SHA: 'sha1', SHA224: 'sha224', SHA256: 'sha256', SHA384: 'sha384', SHA512: 'sha512', MD5: 'md5' };

/** Python credstash's putSecret, independently: 64-byte data key, AES-CTR, HMAC as an S hex string. */
async function pythonPut(name: string, version: number, secret: string, context: Record<string, string> = {}): Promise<void> {
  const gen = await rawKms.send(new GenerateDataKeyCommand({ KeyId: 'alias/credstash', NumberOfBytes: 64, EncryptionContext: context }));
  const dataKey = Buffer.from(gen.Plaintext ?? new Uint8Array());
  const cipher = createCipheriv('aes-256-ctr', dataKey.subarray(0, 32), CTR_IV);
  const contents = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
  const hmac = createHmac('sha256', dataKey.subarray(32)).update(contents).digest('hex');
  await raw.send(
    new PutItemCommand({
      TableName: table,
      Item: {
        name: { S: name },
        version: { S: String(version).padStart(19, '0') },
        key: { S: Buffer.from(gen.CiphertextBlob ?? new Uint8Array()).toString('base64') },
        contents: { S: contents.toString('base64') },
        hmac: { S: hmac },
        digest: { S: 'SHA256' },
      },
    }),
  );
}

/** Python credstash's getSecret on one item, legacy algorithm only. */
async function legacyDecode(item: Item, context: Record<string, string> = {}): Promise<string> {
  const hmacAttr = item.hmac;
  if (hmacAttr === undefined) throw new Error("KeyError: 'hmac'");
  const blob = Buffer.from(item.key?.S ?? '', 'base64');
  const out = await rawKms.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: context }));
  const dataKey = Buffer.from(out.Plaintext ?? new Uint8Array());
  expect(dataKey).toHaveLength(64);
  const contents = Buffer.from(item.contents?.S ?? '', 'base64');
  const hash = HASHES[item.digest?.S ?? 'SHA256'];
  if (hash === undefined) throw new Error('unknown digest');
  const expected = createHmac(hash, dataKey.subarray(32)).update(contents).digest();
  const stored = Buffer.from(hmacAttr.S ?? Buffer.from(hmacAttr.B ?? new Uint8Array()).toString('ascii'), 'hex');
  if (stored.length !== expected.length || !timingSafeEqual(stored, expected)) throw new Error('Computed HMAC does not match stored HMAC');
  const decipher = createDecipheriv('aes-256-ctr', dataKey.subarray(0, 32), CTR_IV);
  return Buffer.concat([decipher.update(contents), decipher.final()]).toString('utf8');
}

async function scanAll(): Promise<Item[]> {
  const items: Item[] = [];
  let start: Item | undefined;
  do {
    const out = await raw.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
    items.push(...(out.Items ?? []));
    start = out.LastEvaluatedKey;
  } while (start !== undefined);
  return items;
}

/** Python credstash's getall: the newest version of every name, each decoded; one bad item fails them all. */
async function legacyGetAll(contextOf: (name: string) => Record<string, string> = () => ({})): Promise<Record<string, string>> {
  const newest = new Map<string, Item>();
  for (const it of await scanAll()) {
    const name = it.name?.S ?? '';
    const prev = newest.get(name);
    if (prev === undefined || (it.version?.S ?? '') > (prev.version?.S ?? '')) newest.set(name, it);
  }
  const out: Record<string, string> = {};
  for (const [name, it] of [...newest].sort(([a], [b]) => (a < b ? -1 : 1))) out[name] = await legacyDecode(it, contextOf(name));
  return out;
}

describe('a table another client filled with legacy items', () => {
  it('stays readable by a legacy-only reader after credstash-ts writes with its defaults (put -a, new names, put -v, several stores)', async () => {
    await pythonPut('app.db', 1, 'py-one');
    await pythonPut('app.api', 1, 'py-api', { env: 'prod' });
    const store = open();
    expect(await store.storeCredential('app.db', 'ts-two', { autoVersion: true })).toEqual({ id: 'app.db', version: 2 });
    await store.storeCredential('app.new', 'ts-new'); // a new name: the table's format
    await store.storeCredential('app.api', 'ts-api-5', { version: 5, context: { env: 'prod' } }); // put -v N
    await open().storeCredential('app.other', 'ts-other', { autoVersion: true }); // a new name under -a, another store
    const items = await scanAll();
    expect(items).toHaveLength(6);
    for (const it of items) {
      expect(it.algorithm).toBeUndefined();
      expect(it.hmac?.S).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(await legacyGetAll((name): Record<string, string> => (name === 'app.api' ? { env: 'prod' } : {}))).toEqual({
      'app.api': 'ts-api-5',
      'app.db': 'ts-two',
      'app.new': 'ts-new',
      'app.other': 'ts-other',
    });
    const prodItem = items.find((it) => it.name?.S === 'app.api' && it.version?.S === '0000000000000000005') as Item;
    expect(await legacyDecode(prodItem, { env: 'prod' })).toBe('ts-api-5');
    // credstash-ts itself reads every item back.
    expect((await store.getCredential('app.api', { context: { env: 'prod' } }))?.value).toBe('ts-api-5');
  });

  it('refuses a binary or JSON value there (legacy holds text only) instead of writing an item that breaks every legacy getall; gcm on request', async () => {
    await pythonPut('app.db', 1, 'py-one');
    const store = open();
    for (const value of [new Uint8Array([1, 2, 3]), { user: 'u' }]) {
      const err = await rejectionOf(store.storeCredential('app.blob', value));
      expect(err).toMatchObject({ code: 'ERR_INVALID_INPUT', message: expect.stringContaining('pass --format gcm') });
    }
    expect((await scanAll()).map((it) => it.name?.S)).toEqual(['app.db']);
    await store.storeCredential('app.blob', new Uint8Array([1, 2, 3]), { format: 'gcm' });
    expect((await scanAll()).find((it) => it.name?.S === 'app.blob')?.algorithm?.S).toBe('aes-256-gcm');
  });

  it('follows the name, not the table, under put -a: a GCM name stays GCM, a legacy name stays legacy', async () => {
    await pythonPut('py.name', 1, 'py');
    const gcm = open({ format: 'gcm' });
    await gcm.storeCredential('ts.name', 'v1');
    const auto = open();
    await auto.storeCredential('ts.name', 'v2', { autoVersion: true });
    await auto.storeCredential('py.name', 'v2', { autoVersion: true });
    const items = await scanAll();
    const fmt = (name: string, v: string) => items.find((it) => it.name?.S === name && it.version?.S === v.padStart(19, '0'))?.algorithm?.S ?? 'legacy';
    expect(fmt('ts.name', '2')).toBe('aes-256-gcm');
    expect(fmt('py.name', '2')).toBe('legacy');
  });

  it('says once, through onNotice, why it wrote legacy and how to finish the move', async () => {
    await pythonPut('app.db', 1, 'py-one');
    const notices: string[] = [];
    const store = open({ onNotice: (m) => notices.push(m) });
    await store.storeCredential('app.db', 'two', { autoVersion: true });
    await store.storeCredential('app.x', 'x');
    expect(notices).toEqual([
      'wrote the legacy (Python credstash) format because the newest version of credential "app.db" is in the legacy format; once every reader (Python credstash, nodecredstash) is upgraded, set format = "gcm" and run `credstash migrate --reencrypt`',
    ]);
  });
});

describe('finishing the move once every reader is upgraded', () => {
  it('migrate --reencrypt with format gcm (as --format or the store config) rewrites legacy items once, then finds nothing to do', async () => {
    await pythonPut('app.db', 1, 'py-one');
    await pythonPut('app.api', 1, 'py-api');
    const store = open();
    await store.storeCredential('app.db', 'ts-two', { autoVersion: true }); // legacy (auto)
    const first = await migrate(store, store, { reencrypt: true, format: 'gcm' });
    expect(first.copied.map((c) => c.id).sort()).toEqual(['app.api', 'app.db']);
    expect(first.failed).toEqual([]);
    const again = await migrate(store, store, { reencrypt: true, format: 'gcm' });
    expect({ copied: again.copied.length, failed: again.failed.length }).toEqual({ copied: 0, failed: 0 });
    const viaConfig = await migrate(open({ format: 'gcm' }), open({ format: 'gcm' }), { reencrypt: true }).catch((e: Error) => e);
    expect(viaConfig).not.toBeInstanceOf(Error);
    const newest = (await scanAll()).filter((it) => Number(it.version?.S) === (it.name?.S === 'app.db' ? 3 : 2));
    expect(newest.map((it) => it.algorithm?.S)).toEqual(['aes-256-gcm', 'aes-256-gcm']);
    expect((await store.getCredential('app.db'))?.value).toBe('ts-two');
    await expect(migrate(store, store, { reencrypt: true, format: 'auto' })).rejects.toThrow('migrate --format names the format to write: gcm or legacy');
  });
});

describe('a table credstash-ts created', () => {
  it('is AES-GCM from the start (the legacy reader fails as Python credstash does), and format = "legacy" or a digest still writes legacy', async () => {
    const store = open();
    await store.storeCredential('new.one', 'v');
    await store.storeCredential('new.one', 'v2', { autoVersion: true });
    const items = await scanAll();
    expect(items.map((it) => it.algorithm?.S)).toEqual(['aes-256-gcm', 'aes-256-gcm']);
    await expect(legacyDecode(items[0] as Item)).rejects.toThrow("KeyError: 'hmac'");
    // A digest exists only in the legacy format: given without a format, it means legacy.
    await store.storeCredential('digest.only', 'd', { digest: 'SHA512' });
    await open({ format: 'legacy' }).storeCredential('legacy.cfg', 'l');
    const after = await scanAll();
    const byName = (name: string) => after.find((it) => it.name?.S === name) as Item;
    expect(byName('digest.only').digest?.S).toBe('SHA512');
    expect(await legacyDecode(byName('digest.only'))).toBe('d');
    expect(await legacyDecode(byName('legacy.cfg'))).toBe('l');
  });

  it('rejects a digest with the gcm format, and an unknown format, naming the choices', async () => {
    expect(await rejectionOf(open().storeCredential('x', 'v', { format: 'gcm', digest: 'SHA512' }))).toMatchObject({
      code: 'ERR_INVALID_INPUT',
      message: 'a digest applies only to the legacy format; drop the digest or use format "legacy"',
    });
    expect(() => open({ format: 'rot13' as never })).toThrow('dynamodb write format must be "gcm", "legacy" or "auto"');
  });
});
