import { createCipheriv, createHmac } from 'node:crypto';
import { DeleteItemCommand, GetItemCommand, PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { DecryptCommand, GenerateDataKeyCommand } from '@aws-sdk/client-kms';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  itemSize,
  MAX_COMMENT_BYTES,
  MAX_DEFINITION_BYTES,
  MAX_VALUE_BYTES,
} from '../../../../src/stores/dynamodb/dynamodb-item-codec.js';
import { createDynamoDBStore } from '../../../../src/stores/dynamodb/index.js';
import { CANARY, expectNoLeak, rejectionOf } from '../../../helpers/no-leak.js';
import { awsError, ddbMock, FakeKms, kmsMock, makeStore, NODE_HASH, pad, type Item } from './dynamodb-test-kit.js';

let fake: FakeKms;
beforeEach(() => {
  ddbMock.reset();
  kmsMock.reset();
  fake = new FakeKms();
  fake.install();
  ddbMock.on(PutItemCommand).resolves({});
  ddbMock.on(QueryCommand).resolves({ Items: [] });
});

const putItems = (): Item[] => ddbMock.commandCalls(PutItemCommand).map((c) => c.args[0].input.Item as Item);

describe('DynamoDBStore.storeCredential', () => {
  it('put -a costs one projected Query, one GenerateDataKey (32 bytes, with context) and one conditional PutItem', async () => {
    ddbMock.on(QueryCommand).resolves({ Items: [{ version: { S: pad(41) } }] });
    const res = await makeStore().storeCredential('app.db', CANARY, { autoVersion: true, context: { env: 'prod' } });
    expect(res).toEqual({ id: 'app.db', version: 42 });
    const q = ddbMock.commandCalls(QueryCommand);
    expect(q).toHaveLength(1);
    expect(q[0]?.args[0].input).toMatchObject({ Limit: 1, ScanIndexForward: false, ConsistentRead: true, ProjectionExpression: '#v, #a', ExpressionAttributeNames: { '#n': 'name', '#v': 'version', '#a': 'algorithm' } });
    const g = kmsMock.commandCalls(GenerateDataKeyCommand);
    expect(g).toHaveLength(1);
    expect(g[0]?.args[0].input).toEqual({ KeyId: 'alias/credstash', NumberOfBytes: 32, EncryptionContext: { env: 'prod' } });
    const p = ddbMock.commandCalls(PutItemCommand);
    expect(p).toHaveLength(1);
    expect(p[0]?.args[0].input).toMatchObject({ TableName: 'credential-store', ConditionExpression: 'attribute_not_exists(#n)', ExpressionAttributeNames: { '#n': 'name' } });
    expect(ddbMock.calls()).toHaveLength(2);
    expect(kmsMock.calls()).toHaveLength(1);
  });

  it('writes the documented GCM attributes and nothing readable of the value', async () => {
    await makeStore().storeCredential('app.db', CANARY, { version: 3, comment: 'c', definition: { id: 'app.db', credential_type: 'custom' } });
    const item = putItems()[0] as Item;
    // The lifecycle attributes (docs/FORMAT.md §8) ride along; no expiry asked, so no expires_at or lifecycle_mac.
    expect(Object.keys(item).sort()).toEqual(['algorithm', 'comment', 'contents', 'created_at', 'definition', 'iv', 'key', 'kind', 'name', 'size', 'tag', 'version', 'written_by']);
    expect(Number(item.size?.N)).toBe(Buffer.from(item.contents?.S as string, 'base64').length);
    expect(item).toMatchObject({ name: { S: 'app.db' }, version: { S: pad(3) }, algorithm: { S: 'aes-256-gcm' }, kind: { S: 'text' }, comment: { S: 'c' } });
    expect(Buffer.from(item.iv?.S as string, 'base64')).toHaveLength(12);
    expect(Buffer.from(item.tag?.S as string, 'base64')).toHaveLength(16);
    expect(JSON.parse(item.definition?.S as string)).toEqual({ id: 'app.db', credential_type: 'custom' });
    expectNoLeak(item, CANARY);
  });

  it('writes an explicit version without any Query and uses the per-write key id', async () => {
    await makeStore({ kmsKey: 'alias/team' }).storeCredential('x', 'v', { version: 5, keyId: 'alias/other' });
    expect(ddbMock.commandCalls(QueryCommand)).toHaveLength(0);
    expect(kmsMock.commandCalls(GenerateDataKeyCommand)[0]?.args[0].input.KeyId).toBe('alias/other');
    expect(putItems()[0]?.version).toEqual({ S: pad(5) });
  });

  it('maps ConditionalCheckFailedException to VersionConflictError naming the version, without the value', async () => {
    ddbMock.on(PutItemCommand).rejects(awsError('ConditionalCheckFailedException', 'The conditional request failed'));
    const err = await rejectionOf(makeStore().storeCredential('app.key', CANARY, { version: 1 }));
    expect(err).toMatchObject({ code: 'ERR_VERSION_CONFLICT', credentialId: 'app.key', version: '1' });
    expect(err.message).toBe('credential "app.key" version 1 already exists in dynamodb table "credential-store"; use -a to add the next version or -v to choose a new one');
    expectNoLeak(err, CANARY);
  });

  it('put -a re-reads the highest version and retries after losing a race', async () => {
    ddbMock.on(QueryCommand).resolvesOnce({ Items: [{ version: { S: pad(1) } }] }).resolves({ Items: [{ version: { S: pad(2) } }] });
    ddbMock.on(PutItemCommand).rejectsOnce(awsError('ConditionalCheckFailedException')).resolves({});
    expect(await makeStore().storeCredential('race', 'v', { autoVersion: true })).toEqual({ id: 'race', version: 3 });
    expect(ddbMock.commandCalls(QueryCommand)).toHaveLength(2);
    expect(putItems().map((i) => i.version?.S)).toEqual([pad(2), pad(3)]);
  });

  it('refuses put -a after a non-integer newest version with a clear ValidationError', async () => {
    ddbMock.on(QueryCommand).resolves({ Items: [{ version: { S: '00000000000000000v5' } }] });
    const err = await rejectionOf(makeStore().storeCredential('odd', 'v', { autoVersion: true }));
    expect(err).toMatchObject({ code: 'ERR_INVALID_INPUT', message: expect.stringContaining('"v5" is not an integer') });
    expect(kmsMock.calls()).toHaveLength(0);
  });
});

describe('DynamoDBStore.storeCredential in the legacy (Python credstash) format', () => {
  for (const digest of ['SHA256', 'SHA', 'SHA512', 'MD5'] as const) {
    it(`writes an item Python credstash reads: 64-byte key, CTR 00..01, HMAC-${digest} as S hex, no algorithm`, async () => {
      await makeStore().storeCredential('legacy.one', `${CANARY} ✓`, { version: 2, format: 'legacy', digest, context: { env: 'prod' }, comment: 'from ts' });
      expect(kmsMock.commandCalls(GenerateDataKeyCommand)[0]?.args[0].input).toMatchObject({ NumberOfBytes: 64, EncryptionContext: { env: 'prod' } });
      const item = putItems()[0] as Item;
      // Python credstash reads key, contents, hmac and digest only; the lifecycle attributes are extra (docs/FORMAT.md §8).
      expect(Object.keys(item).sort()).toEqual(['comment', 'contents', 'created_at', 'digest', 'hmac', 'key', 'name', 'size', 'version', 'written_by']);
      expect(item.digest).toEqual({ S: digest });
      expect(item.hmac?.S).toMatch(/^[0-9a-f]+$/);
      // Decrypt it by the documented steps, independently of the store.
      const blob = Buffer.from(item.key?.S as string, 'base64');
      const dataKey = fake.keys.get(blob.toString('hex'))?.key as Buffer;
      const ct = Buffer.from(item.contents?.S as string, 'base64');
      expect(createHmac(NODE_HASH[digest] as string, dataKey.subarray(32)).update(ct).digest('hex')).toBe(item.hmac?.S);
      const d = createCipheriv('aes-256-ctr', dataKey.subarray(0, 32), Buffer.from('00000000000000000000000000000001', 'hex'));
      expect(Buffer.concat([d.update(ct), d.final()]).toString('utf8')).toBe(`${CANARY} ✓`);
      // ... and the store reads it back.
      ddbMock.on(QueryCommand).resolves({ Items: [item] });
      expect((await makeStore().getCredential('legacy.one', { context: { env: 'prod' } }))?.value).toBe(`${CANARY} ✓`);
    });
  }

  it('writes legacy when the store config says format = "legacy" and digest = "SHA384"', async () => {
    await createDynamoDBStore({ format: 'legacy', digest: 'SHA384' }).storeCredential('cfg', 'v');
    expect(putItems()[0]).toMatchObject({ digest: { S: 'SHA384' } });
    expect(putItems()[0]?.algorithm).toBeUndefined();
  });

  it('rejects JSON and binary values in the legacy format with ValidationError before calling KMS', async () => {
    for (const value of [{ password: CANARY }, new Uint8Array([1, 2])]) {
      const err = await rejectionOf(makeStore({ format: 'legacy' }).storeCredential('leg', value));
      expect(err).toMatchObject({ code: 'ERR_INVALID_INPUT', message: expect.stringContaining('legacy credstash format holds only text') });
      expectNoLeak(err, CANARY);
    }
    expect(kmsMock.calls()).toHaveLength(0);
    expect(ddbMock.calls()).toHaveLength(0);
  });

  it('rejects an unknown digest or format with ValidationError', async () => {
    expect(await rejectionOf(makeStore().storeCredential('d', 'v', { format: 'legacy', digest: 'RIPEMD' }))).toMatchObject({ code: 'ERR_INVALID_INPUT' });
    expect(await rejectionOf(makeStore().storeCredential('d', 'v', { format: 'aes-ctr' }))).toMatchObject({ code: 'ERR_INVALID_INPUT' });
    expect(kmsMock.calls()).toHaveLength(0);
  });
});

describe('DynamoDBStore value size limit (DynamoDB items are at most 400 KB)', () => {
  it(`accepts exactly ${MAX_VALUE_BYTES} bytes with the largest name, comment, definition and key blob, and the item stays under 400 KB`, async () => {
    kmsMock.on(GenerateDataKeyCommand).callsFake(() => ({ Plaintext: Buffer.alloc(32, 1), CiphertextBlob: Buffer.alloc(6144, 2) }));
    const name = 'n'.repeat(2048);
    // a definition describes its own credential (BaseStore checks the id), so it carries the 2048-byte name
    const definition = { id: name, description: 'd'.repeat(MAX_DEFINITION_BYTES - name.length - 40) };
    await makeStore().storeCredential(name, 'x'.repeat(MAX_VALUE_BYTES), { version: 1234567890123, comment: 'c'.repeat(MAX_COMMENT_BYTES), definition });
    const item = putItems()[0] as Item;
    expect(itemSize(item)).toBeLessThanOrEqual(400 * 1024);
    for (const format of ['legacy'] as const) {
      ddbMock.resetHistory();
      kmsMock.on(GenerateDataKeyCommand).callsFake(() => ({ Plaintext: Buffer.alloc(64, 1), CiphertextBlob: Buffer.alloc(6144, 2) }));
      await makeStore().storeCredential(name, 'x'.repeat(MAX_VALUE_BYTES), { version: 2, format, comment: 'c'.repeat(MAX_COMMENT_BYTES), definition });
      expect(itemSize(putItems()[0] as Item)).toBeLessThanOrEqual(400 * 1024);
    }
  });

  it('rejects one byte more with ValueTooLargeError before any AWS call', async () => {
    const err = await rejectionOf(makeStore().storeCredential('big', 'x'.repeat(MAX_VALUE_BYTES + 1)));
    expect(err).toMatchObject({ code: 'ERR_VALUE_TOO_LARGE', message: `value of credential "big" is ${MAX_VALUE_BYTES + 1} bytes; dynamodb table "credential-store" accepts at most ${MAX_VALUE_BYTES}` });
    expect(kmsMock.calls()).toHaveLength(0);
    expect(ddbMock.calls()).toHaveLength(0);
  });

  it('rejects a comment or definition over 16 KiB with ValidationError before any AWS call', async () => {
    expect(await rejectionOf(makeStore().storeCredential('c', 'v', { comment: 'c'.repeat(MAX_COMMENT_BYTES + 1) }))).toMatchObject({ code: 'ERR_INVALID_INPUT' });
    expect(await rejectionOf(makeStore().storeCredential('c', 'v', { definition: { id: 'c', description: 'd'.repeat(MAX_DEFINITION_BYTES) } }))).toMatchObject({ code: 'ERR_INVALID_INPUT' });
    expect(kmsMock.calls()).toHaveLength(0);
  });
});

describe('DynamoDBStore.deleteCredential', () => {
  beforeEach(() => {
    // The kernel drops labels of deleted versions: one GetItem of the lifecycle table (no record here).
    ddbMock.on(GetItemCommand, { TableName: 'credential-store-lifecycle' }).resolves({});
  });

  it('deletes one version with one DeleteItem (ReturnValues ALL_OLD); a missing one is tried unpadded too, then not found', async () => {
    ddbMock.on(DeleteItemCommand).resolvesOnce({ Attributes: { name: { S: 'd' } } }).resolves({});
    expect(await makeStore().deleteCredential('d', { version: 2 })).toEqual({ id: 'd', deleted: ['2'], stored: [pad(2)] });
    expect(ddbMock.commandCalls(DeleteItemCommand)).toHaveLength(1);
    expect(ddbMock.commandCalls(DeleteItemCommand)[0]?.args[0].input).toMatchObject({ Key: { name: { S: 'd' }, version: { S: pad(2) } }, ReturnValues: 'ALL_OLD' });
    expect(await rejectionOf(makeStore().deleteCredential('d', { version: 9 }))).toMatchObject({ code: 'ERR_CREDENTIAL_NOT_FOUND' });
    expect(ddbMock.commandCalls(DeleteItemCommand).slice(1).map((c) => c.args[0].input.Key?.version?.S)).toEqual([pad(9), '9']);
  });

  it('deletes every version found by paginated Query, oldest first', async () => {
    ddbMock
      .on(QueryCommand)
      .resolvesOnce({ Items: [{ version: { S: pad(1) } }], LastEvaluatedKey: { name: { S: 'd' }, version: { S: pad(1) } } })
      .resolvesOnce({ Items: [{ version: { S: pad(2) } }] });
    ddbMock.on(DeleteItemCommand).resolves({});
    expect(await makeStore().deleteCredential('d')).toEqual({ id: 'd', deleted: ['1', '2'], stored: [pad(1), pad(2)] });
    expect(ddbMock.commandCalls(DeleteItemCommand)).toHaveLength(2);
    expect(ddbMock.commandCalls(GetItemCommand).map((c) => c.args[0].input.TableName)).toEqual(['credential-store-lifecycle']);
    expect(kmsMock.commandCalls(DecryptCommand)).toHaveLength(0);
  });
});
