import { GetItemCommand, PutItemCommand, QueryCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { DecryptCommand, GenerateDataKeyCommand } from '@aws-sdk/client-kms';
import { beforeEach, describe, expect, it } from 'vitest';
import { CANARY, expectNoLeak, rejectionOf } from '../../../helpers/no-leak.js';
import { awsError, ddbMock, FakeKms, kmsMock, makeStore, pad, pythonItem, type Item } from './dynamodb-test-kit.js';

let fake: FakeKms;
beforeEach(() => {
  ddbMock.reset();
  kmsMock.reset();
  fake = new FakeKms();
  fake.install();
  ddbMock.on(PutItemCommand).resolves({});
  ddbMock.on(QueryCommand).resolves({ Items: [] });
});

/** Write through the store (mocked), return the exact item it sent to PutItem. */
async function written(id: string, value: Parameters<ReturnType<typeof makeStore>['storeCredential']>[1], opts: Parameters<ReturnType<typeof makeStore>['storeCredential']>[2] = {}): Promise<Item> {
  await makeStore().storeCredential(id, value, opts);
  const calls = ddbMock.commandCalls(PutItemCommand);
  const item = calls.at(-1)?.args[0].input.Item as Item;
  ddbMock.resetHistory();
  kmsMock.resetHistory();
  return item;
}

describe('DynamoDBStore.getCredential', () => {
  it('returns the newest version with one Query (Limit 1, newest first, consistent) and one Decrypt', async () => {
    const item = await written('app.db', CANARY, { version: 7, context: { env: 'prod' }, comment: 'rotated' });
    ddbMock.on(QueryCommand).resolves({ Items: [item] });
    const got = await makeStore().getCredential('app.db', { context: { env: 'prod' } });
    expect(got).toEqual({ id: 'app.db', version: '7', value: CANARY, comment: 'rotated' });
    const q = ddbMock.commandCalls(QueryCommand);
    expect(q).toHaveLength(1);
    expect(q[0]?.args[0].input).toMatchObject({
      TableName: 'credential-store',
      KeyConditionExpression: '#n = :n',
      ExpressionAttributeNames: { '#n': 'name' },
      ExpressionAttributeValues: { ':n': { S: 'app.db' } },
      Limit: 1,
      ScanIndexForward: false,
      ConsistentRead: true,
    });
    expect(q[0]?.args[0].input.ProjectionExpression).toBeUndefined();
    expect(kmsMock.commandCalls(DecryptCommand)).toHaveLength(1);
    expect(kmsMock.commandCalls(DecryptCommand)[0]?.args[0].input.EncryptionContext).toEqual({ env: 'prod' });
    expect(ddbMock.calls()).toHaveLength(1);
    expect(kmsMock.calls()).toHaveLength(1);
  });

  it('reads a given version with one GetItem on the padded key and one Decrypt, and no Query', async () => {
    const item = await written('app.db', 'v3', { version: 3 });
    ddbMock.on(GetItemCommand).resolves({ Item: item });
    expect((await makeStore({ table: 'other-table' }).getCredential('app.db', { version: 3 }))?.value).toBe('v3');
    const g = ddbMock.commandCalls(GetItemCommand);
    expect(g).toHaveLength(1);
    expect(g[0]?.args[0].input).toMatchObject({ TableName: 'other-table', Key: { name: { S: 'app.db' }, version: { S: pad(3) } } });
    expect(ddbMock.commandCalls(QueryCommand)).toHaveLength(0);
    expect(kmsMock.commandCalls(DecryptCommand)).toHaveLength(1);
  });

  it('returns undefined for a missing credential after one Query and no KMS call', async () => {
    expect(await makeStore().getCredential('nope')).toBeUndefined();
    expect(ddbMock.calls()).toHaveLength(1);
    expect(kmsMock.calls()).toHaveLength(0);
  });

  it('round-trips binary and JSON values through the GCM item', async () => {
    const bin = await written('b', new Uint8Array([0, 255, 1]));
    const json = await written('j', { password: CANARY, port: 5 });
    expect(bin.kind).toEqual({ S: 'binary' });
    expect(json.kind).toEqual({ S: 'json' });
    ddbMock.on(QueryCommand).resolvesOnce({ Items: [bin] }).resolvesOnce({ Items: [json] });
    expect(Buffer.from((await makeStore().getCredential('b'))?.value as Uint8Array)).toEqual(Buffer.from([0, 255, 1]));
    expect((await makeStore().getCredential('j'))?.value).toEqual({ password: CANARY, port: 5 });
  });

  it('throws EncryptionContextMismatchError naming the id, both causes, and keeping the SDK cause, when KMS rejects the context', async () => {
    const item = await written('ctx', CANARY, { context: { env: 'prod' } });
    ddbMock.on(QueryCommand).resolves({ Items: [item] });
    const err = await rejectionOf(makeStore().getCredential('ctx', { context: { env: 'dev' } }));
    expect(err).toMatchObject({ code: 'ERR_ENCRYPTION_CONTEXT_MISMATCH', credentialId: 'ctx', version: '1' });
    expect(err.message).toContain('encryption context does not match');
    expect(err.message).toContain('damaged');
    expect((err.cause as Error).name).toBe('InvalidCiphertextException');
    expectNoLeak(err, CANARY);
  });

  it('throws IntegrityError without cause when an item is moved to another name, version or kind', async () => {
    const item = await written('src.name', CANARY, { version: 2 });
    const variants: Item[] = [
      { ...item, name: { S: 'dst.name' } },
      { ...item, version: { S: pad(3) } },
      { ...item, kind: { S: 'binary' } },
      { ...item, tag: { S: Buffer.alloc(16).toString('base64') } },
    ];
    for (const v of variants) {
      ddbMock.on(QueryCommand).resolves({ Items: [v] });
      const id = v.name?.S as string;
      const err = await rejectionOf(makeStore().getCredential(id));
      expect(err).toMatchObject({ code: 'ERR_INTEGRITY', credentialId: id, message: expect.stringContaining('failed its integrity check') });
      expect(err.cause).toBeUndefined();
      expectNoLeak(err, CANARY);
    }
  });

  it('refuses an item with an unknown algorithm as CorruptStoreError, without calling KMS', async () => {
    const item = await written('alg', 'x');
    ddbMock.on(QueryCommand).resolves({ Items: [{ ...item, algorithm: { S: 'aes-ctr' } }] });
    expect(await rejectionOf(makeStore().getCredential('alg'))).toMatchObject({ code: 'ERR_CORRUPT_STORE', credentialId: 'alg' });
    expect(kmsMock.calls()).toHaveLength(0);
  });

  it('reports an item without a key attribute as CorruptStoreError naming the attribute', async () => {
    const { key: _k, ...item } = await written('nokey', 'x');
    ddbMock.on(QueryCommand).resolves({ Items: [item] });
    expect(await rejectionOf(makeStore().getCredential('nokey'))).toMatchObject({ code: 'ERR_CORRUPT_STORE', message: expect.stringContaining('"key"') });
  });
});

describe('DynamoDBStore.getCredential on Python credstash items', () => {
  for (const digest of ['SHA', 'SHA224', 'SHA256', 'SHA384', 'SHA512', 'MD5']) {
    for (const hmacAs of ['S', 'B'] as const) {
      it(`decrypts a hand-built item with digest ${digest} and hmac stored as ${hmacAs}`, async () => {
        const item = pythonItem(fake, { name: 'py.secret', version: pad(4), value: `${CANARY} ✓`, digest, hmacAs, context: { env: 'prod' } });
        ddbMock.on(QueryCommand).resolves({ Items: [item] });
        const got = await makeStore().getCredential('py.secret', { context: { env: 'prod' } });
        expect(got).toEqual({ id: 'py.secret', version: '4', value: `${CANARY} ✓` });
      });
    }
  }

  it('assumes SHA256 when the digest attribute is missing (credstash before mid-2016)', async () => {
    ddbMock.on(QueryCommand).resolves({ Items: [pythonItem(fake, { name: 'old', version: pad(1), value: 'v', digest: null })] });
    expect((await makeStore().getCredential('old'))?.value).toBe('v');
  });

  it('reads 2015-era items whose key and contents are B (base64 bytes), with unpadded versions and comments', async () => {
    ddbMock.on(QueryCommand).resolves({ Items: [pythonItem(fake, { name: 'era2015', version: '12', value: 'old', keyAs: 'B', hmacAs: 'B', comment: 'c' })] });
    expect(await makeStore().getCredential('era2015')).toEqual({ id: 'era2015', version: '12', value: 'old', comment: 'c' });
  });

  it('reads non-integer stored versions (`00000000000000000v5`) by their display form', async () => {
    const item = pythonItem(fake, { name: 'odd', version: '00000000000000000v5', value: 'five' });
    ddbMock.on(GetItemCommand).resolves({ Item: item });
    expect(await makeStore().getCredential('odd', { version: 'v5' })).toMatchObject({ version: 'v5', value: 'five' });
    expect(ddbMock.commandCalls(GetItemCommand)[0]?.args[0].input.Key?.version).toEqual({ S: '00000000000000000v5' });
  });

  it('throws IntegrityError without cause for a wrong HMAC, a non-hex HMAC, or an unknown digest', async () => {
    const good = pythonItem(fake, { name: 'bad', version: pad(1), value: CANARY });
    const hex = good.hmac?.S as string;
    for (const item of [
      { ...good, hmac: { S: (hex[0] === '0' ? '1' : '0') + hex.slice(1) } },
      { ...good, hmac: { S: 'not-hex' } },
      { ...good, digest: { S: 'WHIRLPOOL' } },
      { ...good, digest: { S: 'SHA512' } },
    ]) {
      ddbMock.on(QueryCommand).resolves({ Items: [item] });
      const err = await rejectionOf(makeStore().getCredential('bad'));
      expect(err).toMatchObject({ code: 'ERR_INTEGRITY', message: 'credential "bad" version 1 failed its integrity check in dynamodb table "credential-store"' });
      expect(err.cause).toBeUndefined();
      expectNoLeak(err, CANARY);
    }
  });
});

describe('DynamoDBStore.credentialExists and listCredentials', () => {
  it('checks existence with one projected GetItem or Query and never calls KMS', async () => {
    ddbMock.on(GetItemCommand).resolves({});
    ddbMock.on(QueryCommand).resolves({ Items: [{ version: { S: pad(1) } }] });
    const store = makeStore();
    expect(await store.credentialExists('x', { version: 2 })).toBe(false);
    expect(await store.credentialExists('x')).toBe(true);
    // never `contents`: the version, and its wrapped key for a label proof that may follow (not secret)
    expect(ddbMock.commandCalls(GetItemCommand)[0]?.args[0].input).toMatchObject({ ProjectionExpression: '#v, #k', ExpressionAttributeNames: { '#v': 'version', '#k': 'key' } });
    expect(ddbMock.commandCalls(QueryCommand)[0]?.args[0].input).toMatchObject({ Limit: 1, ProjectionExpression: '#v' });
    expect(kmsMock.calls()).toHaveLength(0);
  });

  it('lists every version with projected Scan pages, sorted, with comments, and no KMS call', async () => {
    ddbMock
      .on(ScanCommand)
      .resolvesOnce({ Items: [{ name: { S: 'b' }, version: { S: pad(2) } }], LastEvaluatedKey: { name: { S: 'b' }, version: { S: pad(2) } } })
      .resolvesOnce({ Items: [{ name: { S: 'a' }, version: { S: pad(10) }, comment: { S: 'hi' } }, { name: { S: 'a' }, version: { S: pad(9) } }] });
    expect(await makeStore().listCredentials()).toEqual([
      { id: 'a', version: '9' },
      { id: 'a', version: '10', comment: 'hi' },
      { id: 'b', version: '2' },
    ]);
    const scans = ddbMock.commandCalls(ScanCommand);
    expect(scans).toHaveLength(2);
    expect(scans[0]?.args[0].input).toMatchObject({ ProjectionExpression: '#n, #v, #c' });
    expect(scans[1]?.args[0].input.ExclusiveStartKey).toEqual({ name: { S: 'b' }, version: { S: pad(2) } });
    expect(kmsMock.calls()).toHaveLength(0);
    expect(ddbMock.commandCalls(QueryCommand)).toHaveLength(0);
    expect(kmsMock.commandCalls(GenerateDataKeyCommand)).toHaveLength(0);
  });
});
