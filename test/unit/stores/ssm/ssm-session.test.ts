/**
 * The SSM client is built by the session every AWS tier shares (stores/aws/aws-clients.ts): a real SSMClient
 * against a loopback SSM endpoint that reads each request's SigV4 scope (access key id, region), with STS
 * mocked. `profile` signs with the profile's keys and region, `roleArn` with the credentials one AssumeRole
 * returned (Python credstash's session name), AWS_DEFAULT_REGION counts as boto reads it, and with no region
 * anywhere SSM fails with "no AWS region configured" instead of guessing us-east-1.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import '../../../fixtures/aws-env.js';
import { openStore } from '../../../../src/stores/registry.js';
import { SSMStore } from '../../../../src/stores/ssm/index.js';
import { rejectionOf } from '../../../helpers/no-leak.js';

const sts = mockClient(STSClient);
const ASSUMED = { AccessKeyId: 'ASIAASSUMEDASSUMED01', SecretAccessKey: 'assumed-secret', SessionToken: 'assumed-token', Expiration: new Date(Date.now() + 3_600_000) };
const ROLE = 'arn:aws:iam::111122223333:role/reader';

interface Signed {
  accessKeyId: string;
  region: string;
  service: string;
}

const closers: Array<() => void | Promise<void>> = [];
const savedEnv = { ...process.env };
beforeEach(() => {
  sts.reset();
});
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
  for (const k of Object.keys(process.env)) if (!(k in savedEnv)) delete process.env[k];
  Object.assign(process.env, savedEnv);
});

/** A loopback SSM: GetParameter answers a SecureString "v"; records who signed each request for which region. */
async function ssmEndpoint(): Promise<{ endpoint: string; signed: Signed[] }> {
  const signed: Signed[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      const m = /Credential=([^/]+)\/\d+\/([^/]+)\/([^/]+)\//.exec(String(req.headers.authorization ?? ''));
      if (m !== null) signed.push({ accessKeyId: m[1] as string, region: m[2] as string, service: m[3] as string });
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify({ Parameter: { Name: '/credstash/credentials/app', Type: 'SecureString', Value: 'v', Version: 1 } }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise<void>((r) => server.close(() => r())));
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, signed };
}

/** Shared config and credentials files holding profile `p` (keys, and `region` when given). */
function sharedFiles(region?: string): void {
  const dir = mkdtempSync(join(tmpdir(), 'credstash-ssm-profile-'));
  closers.push(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'credentials'), '[p]\naws_access_key_id = AKIAPROFILEPROFILE01\naws_secret_access_key = profile-secret\n', { mode: 0o600 });
  writeFileSync(join(dir, 'config'), `[profile p]\n${region === undefined ? '' : `region = ${region}\n`}`, { mode: 0o600 });
  process.env.AWS_SHARED_CREDENTIALS_FILE = join(dir, 'credentials');
  process.env.AWS_CONFIG_FILE = join(dir, 'config');
}

function noRegionInEnv(): void {
  delete process.env.AWS_REGION;
  delete process.env.AWS_DEFAULT_REGION;
}

describe('SSM client: profile, assume-role and region as every AWS tier builds them', () => {
  it('roleArn: one AssumeRole with Python credstash\'s session name, and every SSM call signed with the assumed credentials', async () => {
    sts.on(AssumeRoleCommand).resolves({ Credentials: ASSUMED, AssumedRoleUser: { Arn: 'arn:aws:sts::111122223333:assumed-role/reader/AssumeRoleCredstashSession1', AssumedRoleId: 'x' } });
    const ssm = await ssmEndpoint();
    const store = new SSMStore({ region: 'eu-west-1', endpoint: ssm.endpoint, roleArn: ROLE });
    expect((await store.getCredential('app'))?.value).toBe('v');
    expect((await store.getCredential('app'))?.value).toBe('v');
    expect(sts.commandCalls(AssumeRoleCommand).map((c) => c.args[0].input)).toEqual([{ RoleArn: ROLE, RoleSessionName: 'AssumeRoleCredstashSession1' }]);
    expect(ssm.signed).toEqual([
      { accessKeyId: ASSUMED.AccessKeyId, region: 'eu-west-1', service: 'ssm' },
      { accessKeyId: ASSUMED.AccessKeyId, region: 'eu-west-1', service: 'ssm' },
    ]);
    await store.close();
  });

  it('role_arn from the config: a denied AssumeRole is an AccessDeniedError naming STS, and SSM is never called', async () => {
    sts.on(AssumeRoleCommand).rejects(Object.assign(new Error('User: arn:aws:iam::111122223333:user/ci is not authorized to perform: sts:AssumeRole'), { name: 'AccessDenied', $metadata: {} }));
    const ssm = await ssmEndpoint();
    const store = await openStore({ type: 'ssm', config: { region: 'eu-west-1', endpoint_url: ssm.endpoint, role_arn: ROLE } });
    const err = await rejectionOf(store.getCredential('app'));
    expect(err).toMatchObject({ code: 'ERR_ACCESS_DENIED', message: 'STS denied AssumeRole: User: arn:aws:iam::111122223333:user/ci is not authorized to perform: sts:AssumeRole' });
    expect(ssm.signed).toEqual([]);
    await store.close();
  });

  it('profile: signs with the profile\'s keys, in the profile\'s region', async () => {
    noRegionInEnv();
    sharedFiles('eu-central-1');
    const ssm = await ssmEndpoint();
    const store = await openStore({ type: 'ssm', config: { endpoint_url: ssm.endpoint, profile: 'p' } });
    expect((await store.getCredential('app'))?.value).toBe('v');
    expect(ssm.signed).toEqual([{ accessKeyId: 'AKIAPROFILEPROFILE01', region: 'eu-central-1', service: 'ssm' }]);
    await store.close();
  });

  it('a profile that is in neither shared file is an error naming it, before any request', async () => {
    noRegionInEnv();
    sharedFiles('eu-central-1');
    const ssm = await ssmEndpoint();
    const err = await rejectionOf(new SSMStore({ endpoint: ssm.endpoint, profile: 'nosuch' }).getCredential('app'));
    expect(err).toMatchObject({ code: 'ERR_AWS_CONFIG' });
    expect(err.message).toMatch(/^the AWS profile "nosuch" could not be found in the shared config or credentials file/);
    expect(ssm.signed).toEqual([]);
  });

  it('AWS_DEFAULT_REGION (boto\'s, which the JS SDK ignores) is the region when AWS_REGION is unset', async () => {
    noRegionInEnv();
    process.env.AWS_DEFAULT_REGION = 'ap-south-1';
    const ssm = await ssmEndpoint();
    expect((await new SSMStore({ endpoint: ssm.endpoint }).getCredential('app'))?.value).toBe('v');
    expect(ssm.signed.map((s) => s.region)).toEqual(['ap-south-1']);
  });

  it('no region anywhere: "no AWS region configured" and no request, never a guessed us-east-1 (SSM has no Python-compatible default)', async () => {
    noRegionInEnv();
    sharedFiles();
    const ssm = await ssmEndpoint();
    const err = await rejectionOf(new SSMStore({ endpoint: ssm.endpoint, profile: 'p' }).getCredential('app'));
    expect(err).toMatchObject({ code: 'ERR_AWS_CONFIG', message: 'no AWS region configured; pass -r/--region, set region in the store config, or set AWS_REGION' });
    expect(ssm.signed).toEqual([]);
  });
});
