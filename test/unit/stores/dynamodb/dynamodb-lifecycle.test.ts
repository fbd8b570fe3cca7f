/**
 * The envelope tier's lifecycle hooks on mocked clients: what each request asks for (projections, condition
 * expressions, KMS contexts), and the expiry MAC and label proof computed independently from docs/FORMAT.md §8.
 */
import { createDecipheriv, createHmac, hkdfSync } from 'node:crypto';
import { DeleteItemCommand, GetItemCommand, PutItemCommand, QueryCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
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

const putItems = (): Item[] => ddbMock.commandCalls(PutItemCommand).map((c) => c.args[0].input.Item as Item);
const mac = (key: Buffer, info: string, parts: string[]): string =>
  createHmac('sha256', Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), info, 32))).update(JSON.stringify(parts)).digest('base64');

describe('DynamoDBStore lifecycle attributes on new items', () => {
  for (const format of ['gcm', 'legacy'] as const) {
    it(`${format}: expires_at with its MAC under HKDF(data key, "credstash-ts expiry"), created_at, written_by, size`, async () => {
      const at = new Date(Date.now() + 86_400_000).toISOString();
      await makeStore({ format }).storeCredential('app.db', 'v', { version: 4, expiresAt: at });
      const item = putItems()[0] as Item;
      const dataKey = fake.keys.get(Buffer.from(item.key?.S as string, 'base64').toString('hex'))?.key as Buffer;
      expect(item.expires_at).toEqual({ S: at });
      expect(item.lifecycle_mac).toEqual({ S: mac(dataKey, 'credstash-ts expiry', ['credstash-ts expiry v1', 'app.db', pad(4), at]) });
      expect(Math.abs(Date.parse(item.created_at?.S as string) - Date.now())).toBeLessThan(60_000);
      expect(item.written_by?.S).toMatch(/^.+@.+$/);
      expect(item.size).toEqual({ N: String(Buffer.from(item.contents?.S as string, 'base64').length) });
      if (format === 'gcm') {
        // The AAD of an item with an expiry: the four fields of §3, then `expires_at` and the expiry (§8).
        const field = (x: string): Buffer => {
          const b = Buffer.from(x, 'utf8');
          const len = Buffer.alloc(4);
          len.writeUInt32BE(b.length, 0);
          return Buffer.concat([len, b]);
        };
        const aad = Buffer.concat(['credstash-ts/aes-256-gcm/v1', 'app.db', pad(4), 'text', 'expires_at', at].map(field));
        const d = createDecipheriv('aes-256-gcm', dataKey, Buffer.from(item.iv?.S as string, 'base64'));
        d.setAAD(aad);
        d.setAuthTag(Buffer.from(item.tag?.S as string, 'base64'));
        expect(Buffer.concat([d.update(Buffer.from(item.contents?.S as string, 'base64')), d.final()]).toString()).toBe('v');
      }
      // ... and it reads back with the expiry attached.
      ddbMock.on(QueryCommand).resolves({ Items: [item] });
      expect((await makeStore({ format }).getCredential('app.db', { required: true })).expiresAt).toBe(at);
    });
  }

  it('an old item (Python credstash, no lifecycle attributes) reads as before, with no lifecycle facts', async () => {
    ddbMock.on(QueryCommand).resolves({ Items: [pythonItem(fake, { name: 'old', version: pad(1), value: 'v' })] });
    const got = await makeStore().getCredential('old', { required: true });
    expect(got).toEqual({ id: 'old', version: '1', value: 'v' });
    expect([got.createdAt, got.writtenBy, got.expiresAt]).toEqual([undefined, undefined, undefined]);
  });
});

describe('DynamoDBStore history', () => {
  it('is one Query on the name, every page, projecting only listing and lifecycle attributes; no KMS call', async () => {
    ddbMock
      .on(QueryCommand)
      .resolvesOnce({ Items: [{ name: { S: 'h' }, version: { S: pad(1) }, size: { N: '12' }, created_at: { S: '2026-01-01T00:00:00.000Z' } }], LastEvaluatedKey: { name: { S: 'h' }, version: { S: pad(1) } } })
      .resolvesOnce({ Items: [{ name: { S: 'h' }, version: { S: '2' }, comment: { S: 'old client' } }] });
    ddbMock.on(GetItemCommand).resolves({});
    const h = await makeStore().credentialHistory('h');
    expect(h).toEqual([
      { version: '1', size: 12, createdAt: '2026-01-01T00:00:00.000Z', labels: [] },
      { version: '2', storedVersion: '2', comment: 'old client', labels: [] },
    ]);
    const q = ddbMock.commandCalls(QueryCommand).map((c) => c.args[0].input);
    expect(q).toHaveLength(2);
    expect(q[1]?.ExclusiveStartKey).toEqual({ name: { S: 'h' }, version: { S: pad(1) } });
    for (const input of q) {
      expect(input).toMatchObject({ TableName: 'credential-store', KeyConditionExpression: '#n = :n', ExpressionAttributeValues: { ':n': { S: 'h' } }, ConsistentRead: true });
      const projected = (input.ProjectionExpression as string).split(', ').map((p) => input.ExpressionAttributeNames?.[p]);
      expect(projected.sort()).toEqual(['comment', 'created_at', 'expires_at', 'name', 'size', 'version', 'written_by']);
    }
    expect(ddbMock.commandCalls(ScanCommand)).toHaveLength(0);
    expect(kmsMock.calls()).toHaveLength(0);
  });
});

describe('DynamoDBStore lifecycle table', () => {
  it('a first label is a PutItem with attribute_not_exists(name); the next compares rev; a lost race is LabelConflictError', async () => {
    const store = makeStore({ table: 'creds' });
    const item = pythonItem(fake, { name: 'app', version: pad(1), value: 'v', context: { env: 'prod' } });
    ddbMock.on(GetItemCommand, { TableName: 'creds' }).resolves({ Item: item });
    ddbMock.on(GetItemCommand, { TableName: 'creds-lifecycle' }).resolvesOnce({}).resolves({ Item: { name: { S: 'app' }, doc: { S: '{"labels":{"current":{"v":"0000000000000000001"}},"state":{}}' }, rev: { S: 'r-1' } } });
    await store.labelCredential('app', 'current', { version: 1, context: { env: 'prod' } });
    const first = ddbMock.commandCalls(PutItemCommand)[0]?.args[0].input;
    expect(first).toMatchObject({ TableName: 'creds-lifecycle', ConditionExpression: 'attribute_not_exists(#n)', ExpressionAttributeNames: { '#n': 'name' } });
    expect(first?.ExpressionAttributeValues).toBeUndefined();
    const doc = JSON.parse(first?.Item?.doc?.S as string) as { labels: Record<string, { v: string; proof: string }> };
    // The proof: HMAC under HKDF(the version's data key, "credstash-ts label"), from docs/FORMAT.md §8.
    const dataKey = fake.keys.get(Buffer.from(item.key?.S as string, 'base64').toString('hex'))?.key as Buffer;
    expect(doc.labels.current?.proof).toBe(mac(dataKey, 'credstash-ts label', ['credstash-ts label v1', 'app', 'current', pad(1)]));
    // One read of the version (it exists; its wrapped key for the proof), decrypted with the caller's context.
    const versionReads = ddbMock.commandCalls(GetItemCommand).map((c) => c.args[0].input).filter((i) => i.TableName === 'creds');
    expect(versionReads).toHaveLength(1);
    expect(versionReads[0]).toMatchObject({ ProjectionExpression: '#v, #k', ExpressionAttributeNames: { '#k': 'key', '#v': 'version' } });
    expect(kmsMock.commandCalls(DecryptCommand)[0]?.args[0].input.EncryptionContext).toEqual({ env: 'prod' });

    ddbMock.on(PutItemCommand).rejects(awsError('ConditionalCheckFailedException'));
    const err = await rejectionOf(store.labelCredential('app', 'current', { version: 1, context: { env: 'prod' } }));
    expect(err).toMatchObject({ code: 'ERR_LABEL_CONFLICT', label: 'current' });
    const second = ddbMock.commandCalls(PutItemCommand)[1]?.args[0].input;
    expect(second).toMatchObject({ ConditionExpression: '#r = :r', ExpressionAttributeNames: { '#r': 'rev' }, ExpressionAttributeValues: { ':r': { S: 'r-1' } } });
    expect(second?.Item?.rev?.S).not.toBe('r-1');
  });

  it('removing the last label deletes the record, conditioned on rev', async () => {
    ddbMock.on(GetItemCommand, { TableName: 'credential-store-lifecycle' }).resolves({ Item: { name: { S: 'app' }, doc: { S: '{"labels":{"current":{"v":"0000000000000000001"}},"state":{}}' }, rev: { S: 'r-7' } } });
    ddbMock.on(DeleteItemCommand).resolves({});
    expect(await makeStore().unlabelCredential('app', 'current')).toMatchObject({ previous: '1' });
    expect(ddbMock.commandCalls(DeleteItemCommand)[0]?.args[0].input).toEqual({
      TableName: 'credential-store-lifecycle',
      Key: { name: { S: 'app' } },
      ConditionExpression: '#r = :r',
      ExpressionAttributeNames: { '#r': 'rev' },
      ExpressionAttributeValues: { ':r': { S: 'r-7' } },
    });
    expect(ddbMock.commandCalls(PutItemCommand)).toHaveLength(0);
  });

  it('a missing lifecycle table: label reads and writes name it and `credstash setup`; listLabels is empty; a delete still completes', async () => {
    ddbMock.on(GetItemCommand, { TableName: 'credential-store-lifecycle' }).rejects(awsError('ResourceNotFoundException', 'Requested resource not found'));
    ddbMock.on(ScanCommand, { TableName: 'credential-store-lifecycle' }).rejects(awsError('ResourceNotFoundException', 'Requested resource not found'));
    ddbMock.on(DeleteItemCommand).resolves({ Attributes: { name: { S: 'app' } } });
    const store = makeStore();
    const message = 'the lifecycle table "credential-store-lifecycle" of dynamodb table "credential-store" does not exist in us-east-1 (labels and rotation state are kept there); run `credstash setup` to create it';
    expect(await rejectionOf(store.getCredential('app', { label: 'current' }))).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE', message });
    expect(await rejectionOf(store.unlabelCredential('app', 'current'))).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE', message });
    expect(await store.listLabels()).toEqual([]);
    expect(await store.deleteCredential('app', { version: 1 })).toEqual({ id: 'app', deleted: ['1'], stored: [pad(1)] });
    // Only right after a delete: the next lifecycle read names the table again.
    expect(await rejectionOf(store.getCredential('app', { label: 'current' }))).toMatchObject({ message });
  });

  it('a malformed lifecycle record is refused as a whole, naming the table and id', async () => {
    ddbMock.on(GetItemCommand).resolves({ Item: { name: { S: 'app' }, doc: { S: 'not json' }, rev: { S: 'r' } } });
    expect(await rejectionOf(makeStore().getCredential('app', { label: 'current' }))).toMatchObject({
      code: 'ERR_INVALID_INPUT',
      message: 'dynamodb table "credential-store-lifecycle" item "app": the lifecycle record is not valid JSON',
    });
  });

  it('sealed state: a data key generated with the context plus the purpose pair; the blob opens only with that context', async () => {
    ddbMock.on(GetItemCommand).resolves({});
    const store = makeStore();
    expect(await store.writeState('app', 'rotation', Buffer.from(CANARY), { context: { env: 'prod' } })).toBe(true);
    expect(kmsMock.commandCalls(GenerateDataKeyCommand)[0]?.args[0].input).toEqual({
      KeyId: 'alias/credstash',
      NumberOfBytes: 32,
      EncryptionContext: { env: 'prod', 'credstash-ts:purpose': 'lifecycle-state' },
    });
    const stored = putItems()[0] as Item;
    expectNoLeak(stored, CANARY);
    ddbMock.on(GetItemCommand).resolves({ Item: stored });
    expect(Buffer.from((await store.readState('app', 'rotation', { context: { env: 'prod' } })).value ?? []).toString()).toBe(CANARY);
    // The same blob under another state key (or another credential) fails its AAD.
    const doc = JSON.parse(stored.doc?.S as string) as { state: Record<string, string> };
    ddbMock.on(GetItemCommand).resolves({ Item: { ...stored, doc: { S: JSON.stringify({ labels: {}, state: { other: doc.state.rotation } }) } } });
    const err = await rejectionOf(store.readState('app', 'other', { context: { env: 'prod' } }));
    expect(err).toMatchObject({ code: 'ERR_INTEGRITY' });
    expectNoLeak(err, CANARY);
    // The purpose pair is the tier's: a caller's context cannot carry it.
    ddbMock.on(GetItemCommand).resolves({});
    expect(await rejectionOf(store.writeState('app', 'rotation', Buffer.from('x'), { context: { 'credstash-ts:purpose': 'value' } }))).toMatchObject({ code: 'ERR_INVALID_INPUT' });
  });
});
