import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, ScanCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDBStore } from '../../../src/stores/dynamodb/dynamodb-store.js';
import { childAwsEnv, useFakeAwsEnv } from '../../fixtures/aws-env.js';
import { startDynalite, type DynaliteHandle } from '../../fixtures/dynalite.js';
import { startKmsEndpoint, type KmsEndpointHandle } from '../../fixtures/kms-endpoint.js';
import { CANARY, expectNoLeak } from '../../helpers/no-leak.js';
import { runCli, type CliResult } from '../../helpers/cli.js';

// The operator's migration day against real parts: a table of Python-credstash (legacy AES-CTR + HMAC)
// items in dynalite, the KMS fixture, and the CLI as a real process.
useFakeAwsEnv();
let ddb: DynaliteHandle;
let kms: KmsEndpointHandle;
let dir: string;
let env: NodeJS.ProcessEnv;
const TABLE = 'legacy-credentials';
const VALUE = `it's "${CANARY}"\n$x`;

function cli(args: string[]): Promise<CliResult> {
  return runCli(args, { cwd: dir, env });
}

async function algorithms(): Promise<string[]> {
  const client = new DynamoDBClient({ endpoint: ddb.endpoint, region: 'us-east-1' });
  const out = await client.send(new ScanCommand({ TableName: TABLE }));
  client.destroy();
  return (out.Items ?? [])
    .map((i) => `${i.name?.S}@${Number(i.version?.S)}:${i.algorithm?.S ?? 'legacy'}`)
    .sort();
}

beforeAll(async () => {
  [ddb, kms] = await Promise.all([startDynalite(), startKmsEndpoint()]);
  dir = mkdtempSync(join(tmpdir(), 'credstash-migrate-ddb-'));
  env = { ...childAwsEnv({ dynamodb: ddb.endpoint, kms: kms.endpoint }), HOME: dir };
  const legacy = new DynamoDBStore({ table: TABLE, region: 'us-east-1', endpointUrl: ddb.endpoint, kmsEndpointUrl: kms.endpoint, format: 'legacy' });
  await legacy.setup();
  await legacy.storeCredential('db.pass', 'old-pass', { version: 1, comment: 'first' });
  await legacy.storeCredential('db.pass', 'new-pass', { version: 2 });
  await legacy.storeCredential('api.key', VALUE, { version: 1 });
  await legacy.close();
  expect((await cli(['init'])).code).toBe(0);
}, 60_000);
afterAll(async () => {
  await Promise.all([ddb?.close(), kms?.close()]);
  rmSync(dir, { recursive: true, force: true });
});

describe('credstash migrate with a Python credstash table', () => {
  const FROM = `dynamodb:table=${TABLE}`;

  it('copies every legacy version into the local keystore, once', async () => {
    const r = await cli(['migrate', '--from', FROM, '--all-versions']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(new RegExp(`^copied 3 version\\(s\\) from dynamodb table "${TABLE}".* to local keystore ".*"; 0 already done; 0 failed \\(of 3\\)\\n$`));
    expect((await cli(['get', 'db.pass', '-v', '1'])).stdout).toBe('old-pass\n');
    expect((await cli(['get', 'api.key', '-n'])).stdout).toBe(VALUE);
    expect((await cli(['list'])).stdout).toContain('-- comment first');
    const again = await cli(['migrate', '--from', FROM, '--all-versions']);
    expect(again.stdout).toMatch(/^copied 0 version\(s\) .*; 3 already done; 0 failed \(of 3\)\n$/);
    expectNoLeak(r.stdout + again.stdout, CANARY);
  });

  it('re-encrypts the legacy items in place as new AES-GCM versions, once', async () => {
    const before = kms.requests.get('GenerateDataKey');
    const r = await cli(['migrate', '--reencrypt', '--from', FROM]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`re-encrypted 2 credential(s) in dynamodb table "${TABLE}"; 0 already done; 0 failed (of 2)\n`);
    expect(await algorithms()).toEqual(['api.key@1:legacy', 'api.key@2:aes-256-gcm', 'db.pass@1:legacy', 'db.pass@2:legacy', 'db.pass@3:aes-256-gcm']);
    expect(kms.requests.get('GenerateDataKey') - before).toBe(2);
    const again = await cli(['migrate', '--reencrypt', '--from', FROM]);
    expect(again.stdout).toBe(`re-encrypted 0 credential(s) in dynamodb table "${TABLE}"; 2 already done; 0 failed (of 2)\n`);
    expect(kms.requests.get('GenerateDataKey') - before).toBe(2);
    const got = await cli(['--store-type', 'dynamodb', '-t', TABLE, 'get', 'api.key', '-n']);
    expect(got).toEqual({ code: 0, stdout: VALUE, stderr: '' });
  });
});

describe('credstash migrate --reencrypt against a table writer without KMS access', () => {
  const FROM = `dynamodb:table=${TABLE}`;

  it('decides what is done by decrypting: a legacy item with the re-encrypted note, or relabeled as AES-GCM, is never counted as done', async () => {
    const legacy = new DynamoDBStore({ table: TABLE, region: 'us-east-1', endpointUrl: ddb.endpoint, kmsEndpointUrl: kms.endpoint, format: 'legacy' });
    // The note a re-encrypted version carries, on an item still in the legacy format.
    await legacy.storeCredential('planted', 'still-legacy', { version: 2, comment: 'rotated [re-encrypted from version 1]' });
    await legacy.storeCredential('relabeled', 'legacy-too', { version: 1 });
    await legacy.close();
    // The `algorithm` attribute says AES-GCM; the item is still a legacy one.
    const client = new DynamoDBClient({ endpoint: ddb.endpoint, region: 'us-east-1' });
    await client.send(new UpdateItemCommand({
      TableName: TABLE,
      Key: { name: { S: 'relabeled' }, version: { S: '0000000000000000001' } },
      UpdateExpression: 'SET #a = :a',
      ExpressionAttributeNames: { '#a': 'algorithm' },
      ExpressionAttributeValues: { ':a': { S: 'aes-256-gcm' } },
    }));
    client.destroy();

    const r = await cli(['migrate', '--reencrypt', '--from', FROM]);
    expect(r.stdout).toBe(`re-encrypted 1 credential(s) in dynamodb table "${TABLE}"; 2 already done; 1 failed (of 4)\n`);
    expect(r.stderr.split('\n')[0]).toMatch(/^credstash: relabeled version 1: /);
    expect(r.code).toBe(1);
    expect((await algorithms()).filter((a) => a.startsWith('planted@'))).toEqual(['planted@2:legacy', 'planted@3:aes-256-gcm']);
    expect((await cli(['--store-type', 'dynamodb', '-t', TABLE, 'get', 'planted', '-n'])).stdout).toBe('still-legacy');
    expectNoLeak(r.stdout + r.stderr, 'still-legacy');
  });
});
