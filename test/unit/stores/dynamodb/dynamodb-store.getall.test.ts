import { GetItemCommand, PutItemCommand, QueryCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { DecryptCommand } from '@aws-sdk/client-kms';
import { beforeEach, describe, expect, it } from 'vitest';
import { CANARY, expectNoLeak, rejectionOf } from '../../../helpers/no-leak.js';
import { ddbMock, FakeKms, kmsMock, makeStore, pad, pythonItem, type Item } from './dynamodb-test-kit.js';

let fake: FakeKms;
beforeEach(() => {
  ddbMock.reset();
  kmsMock.reset();
  fake = new FakeKms();
  fake.install();
  ddbMock.on(PutItemCommand).resolves({});
});

/** N credentials with 2 versions each (v1, v2), legacy items, spread over `pages` Scan pages. */
function table(n: number, pages: number, context: Record<string, string> = {}): Item[][] {
  const items: Item[] = [];
  for (let i = 0; i < n; i++) {
    const name = `svc.${String(i).padStart(4, '0')}`;
    items.push(pythonItem(fake, { name, version: pad(2), value: `new-${i}`, context }));
    items.push(pythonItem(fake, { name, version: pad(1), value: `old-${i}`, context }));
  }
  const per = Math.ceil(items.length / pages);
  return Array.from({ length: pages }, (_, p) => items.slice(p * per, (p + 1) * per));
}

function serveScan(pages: Item[][]): void {
  let stub = ddbMock.on(ScanCommand);
  pages.forEach((page, p) => {
    const last = page.at(-1);
    stub = stub.resolvesOnce({ Items: page, ...(p < pages.length - 1 && last ? { LastEvaluatedKey: { name: last.name as never, version: last.version as never } } : {}) });
  });
}

describe('DynamoDBStore.getAllCredentials', () => {
  it('reads N credentials with Scan pages and N Decrypts: never a Query or GetItem per name', async () => {
    serveScan(table(50, 3));
    const res = await makeStore().getAllCredentials();
    expect(res.credentials).toHaveLength(50);
    expect(res.credentials[0]).toEqual({ id: 'svc.0000', version: '2', value: 'new-0' });
    expect(res.credentials.every((c, i) => c.value === `new-${i}`)).toBe(true);
    const scans = ddbMock.commandCalls(ScanCommand);
    expect(scans).toHaveLength(3);
    expect(scans[0]?.args[0].input.ProjectionExpression).toBeUndefined();
    expect(scans[1]?.args[0].input.ExclusiveStartKey).toBeDefined();
    expect(ddbMock.commandCalls(QueryCommand)).toHaveLength(0);
    expect(ddbMock.commandCalls(GetItemCommand)).toHaveLength(0);
    expect(kmsMock.commandCalls(DecryptCommand)).toHaveLength(50);
  });

  it('picks the requested version of each name from the same Scan (getall -v)', async () => {
    serveScan(table(5, 1));
    const res = await makeStore().getAllCredentials({ version: 1 });
    expect(res.credentials.map((c) => c.value)).toEqual(['old-0', 'old-1', 'old-2', 'old-3', 'old-4']);
    expect(kmsMock.commandCalls(DecryptCommand)).toHaveLength(5);
  });

  it('filters by glob before decrypting anything it will not return', async () => {
    serveScan(table(12, 1));
    const res = await makeStore().getAllCredentials({ pattern: 'svc.000*' });
    expect(res.credentials.map((c) => c.id)).toEqual(Array.from({ length: 10 }, (_, i) => `svc.000${i}`));
    expect(kmsMock.commandCalls(DecryptCommand)).toHaveLength(10);
  });

  for (const [label, limit, make] of [
    ['the default of 32', 32, () => makeStore()],
    ['getall_concurrency = 4', 4, () => makeStore({ getallConcurrency: 4 })],
  ] as const) {
    it(`keeps at most ${label} Decrypts in flight`, async () => {
      serveScan(table(100, 2));
      let inFlight = 0;
      let peak = 0;
      kmsMock.on(DecryptCommand).callsFake(async (input: { CiphertextBlob: Uint8Array }) => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        await new Promise((r) => setTimeout(r, 2));
        inFlight--;
        return { Plaintext: Buffer.from(fake.keys.get(Buffer.from(input.CiphertextBlob).toString('hex'))?.key as Buffer) };
      });
      expect((await make().getAllCredentials()).credentials).toHaveLength(100);
      expect(peak).toBe(limit);
    });
  }

  it('fails the whole call with PartialResultError when one credential cannot be read, or reports it with skipErrors', async () => {
    const pages = table(3, 1, { env: 'prod' });
    (pages[0] as Item[]).push(pythonItem(fake, { name: 'svc.dev', version: pad(1), value: CANARY, context: { env: 'dev' } }));
    ddbMock.on(ScanCommand).resolves({ Items: pages[0] });
    const err = await rejectionOf(makeStore().getAllCredentials({ context: { env: 'prod' } }));
    expect(err).toMatchObject({ code: 'ERR_PARTIAL_RESULT' });
    expectNoLeak(err, CANARY);
    const res = await makeStore().getAllCredentials({ context: { env: 'prod' }, skipErrors: true });
    expect(res.credentials.map((c) => c.id)).toEqual(['svc.0000', 'svc.0001', 'svc.0002']);
    expect(res.skipped).toEqual([expect.objectContaining({ id: 'svc.dev', code: 'ERR_ENCRYPTION_CONTEXT_MISMATCH' })]);
  });

  it('returns an empty result for an empty table after one Scan', async () => {
    ddbMock.on(ScanCommand).resolves({ Items: [] });
    expect(await makeStore().getAllCredentials()).toEqual({ credentials: [], skipped: [] });
    expect(kmsMock.calls()).toHaveLength(0);
  });
});
