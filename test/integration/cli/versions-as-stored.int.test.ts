/**
 * Tables written by clients that did not pad versions (`1`, `2`, `10`, `v5`) beside ones that do: every
 * version is shown as stored (`list`, `delete`) and read, deleted or fetched by `getall -v` by what was
 * shown, on dynalite + the KMS fixture through the CLI as a real process. A padded table pays nothing for
 * it: `get -v` is still one GetItem.
 */
import { DeleteItemCommand, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAwsStack, type AwsStack } from '../../fixtures/aws-stack.js';
import { runCli, type CliResult } from '../../helpers/cli.js';

const TABLE = 'versions-as-stored';
let stack: AwsStack;
let dir: string;
let raw: DynamoDBClient;
const cli = (args: string[]): Promise<CliResult> => runCli(['-t', TABLE, ...args], { cwd: dir, env: stack.env({ HOME: dir }) });

/** Store `value` at padded `version` with the CLI (legacy format: it binds no name or version), then move the item to the key `as`. */
async function putAs(name: string, value: string, version: number, as: string): Promise<void> {
  const put = await cli(['put', name, value, '-v', String(version), '--legacy']);
  expect(put.code, put.stderr).toBe(0);
  const padded = String(version).padStart(19, '0');
  const item = (await raw.send(new GetItemCommand({ TableName: TABLE, Key: { name: { S: name }, version: { S: padded } } }))).Item;
  if (item === undefined) throw new Error('item not written');
  await raw.send(new PutItemCommand({ TableName: TABLE, Item: { ...item, version: { S: as } } }));
  if (as !== padded) await raw.send(new DeleteItemCommand({ TableName: TABLE, Key: { name: { S: name }, version: { S: padded } } }));
}

beforeAll(async () => {
  stack = await startAwsStack();
  dir = mkdtempSync(join(tmpdir(), 'credstash-versions-'));
  raw = new DynamoDBClient({ region: stack.region, endpoint: stack.dynamodb.endpoint });
  const setup = await cli(['setup']);
  expect(setup.code, setup.stderr).toBe(0);
  await putAs('old', 'one', 1, '1');
  await putAs('old', 'two', 2, '2');
  await putAs('old', 'ten', 10, '10');
  await putAs('old', 'five', 5, 'v5');
  await putAs('new', 'padded-one', 1, '0000000000000000001');
  await putAs('new', 'padded-two', 2, '0000000000000000002');
  await putAs('twin', 'unpadded', 1, '1');
  await putAs('twin', 'padded', 1, '0000000000000000001');
});
afterAll(async () => {
  raw.destroy();
  await stack.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('versions shown and addressed as stored', () => {
  it('list prints each version as stored, as Python credstash prints the range key', async () => {
    const r = await cli(['list']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout.split('\n').filter((l) => l !== '')).toEqual([
      'new  -- version 0000000000000000001 -- comment ',
      'new  -- version 0000000000000000002 -- comment ',
      'old  -- version 1 -- comment ',
      'old  -- version 2 -- comment ',
      'old  -- version 10 -- comment ',
      'old  -- version v5 -- comment ',
      'twin -- version 0000000000000000001 -- comment ',
      'twin -- version 1 -- comment ',
    ]);
  });

  it('get -v reads every version by what list printed, and the padded form of an unpadded one', async () => {
    for (const [v, value] of [['1', 'one'], ['2', 'two'], ['10', 'ten'], ['v5', 'five'], ['0000000000000000001', 'one'], ['0000000000000000010', 'ten']]) {
      expect(await cli(['get', 'old', '-v', v as string]), `-v ${v as string}`).toEqual({ code: 0, stdout: `${value as string}\n`, stderr: '' });
    }
  });

  it('a name holding both forms: -v 1 is the padded item (Python credstash pads it), as is -v 0000000000000000001', async () => {
    expect((await cli(['get', 'twin', '-v', '1'])).stdout).toBe('padded\n');
    expect((await cli(['get', 'twin', '-v', '0000000000000000001'])).stdout).toBe('padded\n');
  });

  it('a padded table pays nothing: get -v is one GetItem; only a miss tries the unpadded key too', async () => {
    const before = stack.dynamodb.requests.get('GetItem');
    expect((await cli(['get', 'new', '-v', '2'])).stdout).toBe('padded-two\n');
    expect(stack.dynamodb.requests.get('GetItem') - before).toBe(1);
    const missing = await cli(['get', 'new', '-v', '3']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`credstash: credential "new" version 3 not found in dynamodb table "${TABLE}"\n`);
    expect(stack.dynamodb.requests.get('GetItem') - before).toBe(3);
  });

  it('getall -v finds unpadded versions, and reports the names that lack one', async () => {
    const r = await cli(['getall', '-v', '2', '--skip-errors']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ new: 'padded-two', old: 'two' });
    expect(r.stderr).toBe(`credstash: skipped "twin": credential "twin" version 2 not found in dynamodb table "${TABLE}"\n`);
    const strict = await cli(['getall', '-v', '2']);
    expect(strict.code).toBe(1);
    expect(strict.stdout).toBe('');
    expect(strict.stderr).toContain('credential "twin" version 2 not found');
    expect(JSON.parse((await cli(['get', 'o*', '-v', '10'])).stdout)).toEqual({ old: 'ten' });
  });

  it('put -a after an unpadded newest version is refused with the reason (a padded version would sort below it), and stores nothing', async () => {
    await putAs('unp', 'u1', 1, '1');
    await putAs('unp', 'u2', 2, '2');
    const before = stack.dynamodb.requests.get('PutItem');
    const r = await cli(['put', 'unp', 'u3', '-a', '--legacy']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^credstash: cannot add the next version of credential "unp": its newest stored version "2" was written unpadded by an older client, and a padded version would sort below it/);
    expect(stack.dynamodb.requests.get('PutItem')).toBe(before);
    expect((await cli(['get', 'unp'])).stdout).toBe('u2\n');
    expect((await cli(['delete', 'unp'])).code).toBe(0);
  });

  it('delete -v of what list printed deletes that item and prints it as stored; delete of the name prints each as stored', async () => {
    expect(await cli(['delete', 'old', '-v', '2'])).toEqual({ code: 0, stdout: 'Deleting old -- version 2\n', stderr: '' });
    expect((await cli(['get', 'old', '-v', '2'])).code).toBe(1);
    const all = await cli(['delete', 'old']);
    expect(all.code).toBe(0);
    expect(all.stdout.split('\n').filter((l) => l !== '').sort()).toEqual(['Deleting old -- version 1', 'Deleting old -- version 10', 'Deleting old -- version v5']);
  });
});
