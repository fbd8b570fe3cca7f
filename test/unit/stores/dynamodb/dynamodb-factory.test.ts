import { DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { beforeEach, describe, expect, it } from 'vitest';
import { openStore } from '../../../../src/stores/registry.js';
import { createDynamoDBStore, DynamoDBStore } from '../../../../src/stores/dynamodb/index.js';
import { ddbMock, kmsMock, FakeKms, pythonItem, pad } from './dynamodb-test-kit.js';

beforeEach(() => {
  ddbMock.reset();
  kmsMock.reset();
});

describe('createDynamoDBStore (registry type "dynamodb")', () => {
  it('is registered as the built-in type "dynamodb"', async () => {
    const store = await openStore({ type: 'dynamodb', config: { table: 'from-config' } });
    expect(store).toBeInstanceOf(DynamoDBStore);
    expect(store.description).toBe('dynamodb table "from-config"');
  });

  it('defaults to table credential-store', () => {
    expect(createDynamoDBStore({}).description).toBe('dynamodb table "credential-store"');
  });

  it('rejects unknown keys, wrong types and bad values with ConfigError naming the key', () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ tabel: 'x' }, 'unknown key credential_store.config.tabel for the dynamodb store (known: table, region,'],
      [{ region: 5 }, 'credential_store.config.region must be a string'],
      [{ getall_concurrency: 0 }, 'credential_store.config.getall_concurrency must be a positive integer'],
      [{ format: 'rot13' }, 'write format must be "gcm", "legacy" or "auto"'],
      [{ digest: 'SHA1' }, 'digest must be one of SHA, SHA224, SHA256, SHA384, SHA512, MD5'],
      [{ table: 'a' }, 'table name must be 3 to 255 characters'],
    ];
    for (const [config, text] of cases) {
      let err: unknown;
      try {
        createDynamoDBStore(config);
      } catch (e) {
        err = e;
      }
      expect(err).toMatchObject({ code: 'ERR_CONFIG', message: expect.stringContaining(text) });
    }
  });

  it('builds each client once, on first use, with region, kms_region, endpoints and profile from the config', async () => {
    const fake = new FakeKms();
    fake.install();
    ddbMock.on(QueryCommand).resolves({ Items: [pythonItem(fake, { name: 'a', version: pad(1), value: 'v' })] });
    const store = createDynamoDBStore({
      region: 'eu-west-1',
      kms_region: 'eu-central-1',
      endpoint_url: 'http://127.0.0.1:1111',
      kms_endpoint_url: 'http://127.0.0.1:2222',
      profile: 'ci',
    });
    expect(ddbMock.calls()).toHaveLength(0);
    await store.getCredential('a');
    await store.getCredential('a');
    const ddbClients = new Set(ddbMock.calls().map((c) => c.thisValue as DynamoDBClient));
    const kmsClients = new Set(kmsMock.calls().map((c) => c.thisValue as KMSClient));
    expect(ddbClients.size).toBe(1);
    expect(kmsClients.size).toBe(1);
    const ddb = [...ddbClients][0] as DynamoDBClient;
    const kms = [...kmsClients][0] as KMSClient;
    expect(await ddb.config.region()).toBe('eu-west-1');
    expect(await kms.config.region()).toBe('eu-central-1');
    expect((await ddb.config.endpoint?.())?.hostname).toBe('127.0.0.1');
    expect((await ddb.config.endpoint?.())?.port).toBe(1111);
    expect((await kms.config.endpoint?.())?.port).toBe(2222);
    expect(ddb.config.profile).toBe('ci');
    await store.close();
  });

  it('uses the table region for KMS when kms_region is not set', async () => {
    const fake = new FakeKms();
    fake.install();
    ddbMock.on(QueryCommand).resolves({ Items: [pythonItem(fake, { name: 'a', version: pad(1), value: 'v' })] });
    await createDynamoDBStore({ region: 'ap-south-1' }).getCredential('a');
    expect(await (kmsMock.calls()[0]?.thisValue as KMSClient).config.region()).toBe('ap-south-1');
  });

  it('uses injected clients as they are and never destroys them on close', async () => {
    ddbMock.on(QueryCommand).resolves({ Items: [] });
    const client = new DynamoDBClient({ region: 'us-west-2' });
    const store = new DynamoDBStore({ dynamodb: client, kms: new KMSClient({ region: 'us-west-2' }) });
    await store.getCredential('a');
    expect(ddbMock.calls()[0]?.thisValue).toBe(client);
    await store.close();
    await store.getCredential('a');
    expect(ddbMock.calls()[1]?.thisValue).toBe(client);
  });
});

describe('lazy AWS SDK loading', () => {
  it('imports @aws-sdk packages only as types or with await import() in the tier and crypto sources', async () => {
    const { readdirSync, readFileSync } = await import('node:fs');
    const dir = new URL('../../../../src/stores/dynamodb/', import.meta.url);
    const files = readdirSync(dir).filter((f) => f.endsWith('.ts')).map((f) => new URL(f, dir));
    files.push(new URL('../../../../src/crypto/envelope-gcm.ts', import.meta.url), new URL('../../../../src/crypto/legacy-ctr-hmac.ts', import.meta.url));
    for (const f of files) {
      const staticImports = readFileSync(f, 'utf8').split('\n').filter((l) => /^import\s+(?!type\b)[^;]*from\s+'@aws-sdk\//.test(l));
      expect(staticImports, f.pathname).toEqual([]);
    }
  });
});
