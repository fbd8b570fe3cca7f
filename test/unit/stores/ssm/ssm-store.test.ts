import {
  AddTagsToResourceCommand,
  DeleteParameterCommand,
  DescribeParametersCommand,
  GetParameterCommand,
  GetParameterHistoryCommand,
  GetParametersByPathCommand,
  InternalServerError,
  InvalidKeyId,
  ListTagsForResourceCommand,
  ParameterLimitExceeded,
  PutParameterCommand,
  SSMClient,
  TooManyUpdates,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { openStore } from '../../../../src/stores/registry.js';
import { SSMStore } from '../../../../src/stores/ssm/index.js';
import { runStoreContract } from '../../../contract/credential-store.contract.js';
import { CANARY, expectNoLeak, rejectionOf } from '../../../helpers/no-leak.js';
import { FakeSsm } from './fake-ssm.js';

const ssm = mockClient(SSMClient);
let fake: FakeSsm;
let store: SSMStore;

beforeEach(() => {
  ssm.reset();
  fake = new FakeSsm();
  fake.install(ssm);
  store = new SSMStore({ client: new SSMClient({ region: 'eu-west-1' }), region: 'eu-west-1' });
});

function awsError(name: string, message = 'aws says no'): Error {
  return Object.assign(new Error(message), { name, $metadata: {} });
}

// The shared contract, for what SSM supports (SSM assigns versions, deletes a parameter as a whole, and a
// SecureString holds neither bytes nor ""), against the in-memory SSM model on the client mock.
runStoreContract('ssm (aws-sdk-client-mock + SSM model)', async () => store, {
  context: false,
  maxValueBytes: 4096,
  versionGaps: false,
  unsupportedValues: ['bytes', 'empty'],
  deleteVersion: false,
  readDefinition: (s, id) => (s as SSMStore).getDefinition(id),
});

// What the shared contract above cannot see: the SSM requests behind each operation, paging, the Advanced
// tier and SSM's parameter-name rules, against the in-memory SSM model.
describe('SSMStore beyond the contract', () => {
  it('names the next version SSM would assign when an explicit version skips numbers', async () => {
    await store.storeCredential('gap', 'a');
    const err = await rejectionOf(store.storeCredential('gap', 'b', { version: 10 }));
    expect(err).toMatchObject({ code: 'ERR_UNSUPPORTED_OPERATION' });
    expect(err.message).toContain('the next one is 2');
  });

  it('autoVersion writes with Overwrite=true and returns the version SSM assigned', async () => {
    expect((await store.storeCredential('auto', 'a', { autoVersion: true })).version).toBe(1);
    expect((await store.storeCredential('auto', 'b', { autoVersion: true })).version).toBe(2);
    expect(ssm.commandCalls(PutParameterCommand).map((c) => c.args[0].input.Overwrite)).toEqual([true, true]);
  });

  it('lists through paginated DescribeParameters and GetParameterHistory calls, comments from descriptions', async () => {
    await store.storeCredential('b.svc', 'x', { comment: 'first' });
    await store.storeCredential('b.svc', 'y', { autoVersion: true });
    await store.storeCredential('b.svc', 'z', { autoVersion: true });
    await store.storeCredential('a.svc', 'z');
    await store.storeCredential('c.svc', 'z');
    const all = await store.listCredentials();
    expect(all.map((s) => `${s.id}@${s.version}`)).toEqual(['a.svc@1', 'b.svc@1', 'b.svc@2', 'b.svc@3', 'c.svc@1']);
    expect(all.find((s) => s.id === 'b.svc' && s.version === '1')?.comment).toBe('first');
    expect((await store.listCredentials({ latestOnly: true })).map((s) => `${s.id}@${s.version}`)).toEqual(['a.svc@1', 'b.svc@3', 'c.svc@1']);
    expect((await store.listCredentials({ pattern: 'b.*' })).map((s) => s.version)).toEqual(['1', '2', '3']);
    // 3 parameters at 2 per page = 2 DescribeParameters pages per listing; b.svc's 3 versions = 2 history pages.
    expect(ssm.commandCalls(GetParameterHistoryCommand).filter((c) => c.args[0].input.Name === '/credstash/credentials/b.svc').length).toBe(4);
    expect(ssm.commandCalls(DescribeParametersCommand).length).toBe(6);
    expect(ssm.commandCalls(DescribeParametersCommand)[0]?.args[0].input.ParameterFilters).toEqual([{ Key: 'Path', Option: 'Recursive', Values: ['/credstash/credentials'] }]);
    expect(JSON.stringify(all)).not.toContain('"value"');
  });

  it('deletes every version with one DeleteParameter', async () => {
    await store.storeCredential('del', '1');
    await store.storeCredential('del', '2', { autoVersion: true });
    await store.storeCredential('del', '3', { autoVersion: true });
    expect(await store.deleteCredential('del')).toEqual({ id: 'del', deleted: ['1', '2', '3'] });
    expect(ssm.commandCalls(DeleteParameterCommand).map((c) => c.args[0].input)).toEqual([{ Name: '/credstash/credentials/del' }]);
    expect(await store.credentialExists('del')).toBe(false);
  });

  it('getAll reads the newest versions with GetParametersByPath (paginated, decrypted)', async () => {
    await store.storeCredential('g.one', 'old');
    await store.storeCredential('g.one', 'new', { autoVersion: true });
    await store.storeCredential('g.two', { user: 'u' });
    await store.storeCredential('other', 'o');
    ssm.resetHistory();
    const all = await store.getAllCredentials();
    expect(all.credentials.map((c) => [c.id, c.value])).toEqual([['g.one', 'new'], ['g.two', { user: 'u' }], ['other', 'o']]);
    const calls = ssm.commandCalls(GetParametersByPathCommand);
    expect(calls.map((c) => c.args[0].input)).toEqual([
      { Path: '/credstash/credentials', Recursive: true, WithDecryption: true, MaxResults: 10 },
      { Path: '/credstash/credentials', Recursive: true, WithDecryption: true, MaxResults: 10, NextToken: '2' },
    ]);
    expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(0);
    expect((await store.getAllCredentials({ version: 1 })).credentials.map((c) => c.value)).toEqual(['old', { user: 'u' }, 'o']);
  });

  it('exists checks versions without decrypting', async () => {
    await store.storeCredential('e', 'v');
    ssm.resetHistory();
    expect(await store.credentialExists('e')).toBe(true);
    expect(await store.credentialExists('e', { version: 1 })).toBe(true);
    expect(await store.credentialExists('e', { version: 2 })).toBe(false);
    expect(ssm.commandCalls(GetParameterCommand).map((c) => c.args[0].input)).toEqual([
      { Name: '/credstash/credentials/e', WithDecryption: false },
      { Name: '/credstash/credentials/e:1', WithDecryption: false },
      { Name: '/credstash/credentials/e:2', WithDecryption: false },
    ]);
  });

  it('refuses ids SSM cannot name as a parameter (spaces, a leading or double slash, over 2048 bytes) with ValidationError', async () => {
    for (const bad of ['x'.repeat(3000), 'has space', '/lead', 'a//b']) {
      expect(await rejectionOf(store.getCredential(bad)), bad.slice(0, 20)).toMatchObject({ code: 'ERR_INVALID_INPUT' });
      expect(await rejectionOf(store.storeCredential(bad, 'v')), bad.slice(0, 20)).toMatchObject({ code: 'ERR_INVALID_INPUT' });
    }
    expect(ssm.commandCalls(PutParameterCommand)).toHaveLength(0);
  });

  it('accepts 8192 bytes on the Advanced tier and rejects one byte more (the Standard limit is in the contract)', async () => {
    const adv = new SSMStore({ client: new SSMClient({ region: 'eu-west-1' }), tier: 'Advanced' });
    await adv.storeCredential('big3', 'x'.repeat(8192));
    expect(ssm.commandCalls(PutParameterCommand).at(-1)?.args[0].input.Tier).toBe('Advanced');
    expect(await rejectionOf(adv.storeCredential('big4', 'x'.repeat(8193)))).toMatchObject({ code: 'ERR_VALUE_TOO_LARGE', credentialId: 'big4' });
    expect(ssm.commandCalls(PutParameterCommand)).toHaveLength(1); // the refused value never reached SSM
  });
});

describe('SSMStore requests', () => {
  it('writes a SecureString under the prefix with the KMS key, description and creation tags', async () => {
    const s = new SSMStore({ client: new SSMClient({ region: 'eu-west-1' }), prefix: '/prod/app/', kmsKeyId: 'alias/app' });
    // a database credential carries user and password (checked before anything is written)
    await s.storeCredential('db', { user: 'app', password: CANARY }, { comment: 'rotated', definition: { id: 'db', name: 'Main DB', credential_type: 'database', description: 'primary: eu-west-1', metadata: { owner: 'team-a' } } });
    expect(ssm.commandCalls(PutParameterCommand)[0]?.args[0].input).toEqual({
      Name: '/prod/app/db',
      Value: `{"user":"app","password":"${CANARY}"}`,
      Type: 'SecureString',
      Overwrite: false,
      Tier: 'Standard',
      KeyId: 'alias/app',
      Description: 'rotated',
      Tags: [
        { Key: 'credstash:name', Value: 'Main DB' },
        { Key: 'credstash:credential_type', Value: 'database' },
        { Key: 'credstash:description', Value: 'primary: eu-west-1' },
        { Key: 'credstash:meta:owner', Value: 'team-a' },
      ],
    });
    expect(await s.getDefinition('db')).toEqual({ id: 'db', name: 'Main DB', credential_type: 'database', description: 'primary: eu-west-1', metadata: { owner: 'team-a' } });
    expect(ssm.commandCalls(ListTagsForResourceCommand)[0]?.args[0].input).toEqual({ ResourceType: 'Parameter', ResourceId: '/prod/app/db' });
    expect(await s.getDefinition('nothing')).toBeUndefined();
  });

  it('adds tags with AddTagsToResource after an overwrite (SSM refuses Tags with Overwrite=true)', async () => {
    await store.storeCredential('t', 'a');
    await store.storeCredential('t', 'b', { autoVersion: true, keyId: 'alias/other', definition: { id: 't', description: 'second' } });
    expect(ssm.commandCalls(PutParameterCommand)[1]?.args[0].input).toMatchObject({ Overwrite: true, KeyId: 'alias/other' });
    expect(ssm.commandCalls(PutParameterCommand)[1]?.args[0].input.Tags).toBeUndefined();
    expect(ssm.commandCalls(AddTagsToResourceCommand)[0]?.args[0].input).toEqual({ ResourceType: 'Parameter', ResourceId: '/credstash/credentials/t', Tags: [{ Key: 'credstash:description', Value: 'second' }] });
  });

  it('reads a version with the name:N selector and decrypts', async () => {
    await store.storeCredential('sel', 'a');
    ssm.resetHistory();
    await store.getCredential('sel', { version: 1 });
    await store.getCredential('sel');
    expect(ssm.commandCalls(GetParameterCommand).map((c) => c.args[0].input)).toEqual([
      { Name: '/credstash/credentials/sel:1', WithDecryption: true },
      { Name: '/credstash/credentials/sel', WithDecryption: true },
    ]);
  });

  it('refuses definitions that do not fit tags, naming the field and not the value', async () => {
    const err = await rejectionOf(store.storeCredential('d', 'v', { definition: { id: 'd', description: 'has {braces}' } }));
    expect(err).toMatchObject({ code: 'ERR_INVALID_INPUT' });
    expect(err.message).toContain('definition description');
    expect(await rejectionOf(store.storeCredential('d', 'v', { definition: { id: 'd', metadata: { n: 1 } } }))).toMatchObject({ code: 'ERR_INVALID_INPUT' });
    expect(await rejectionOf(store.storeCredential('d', 'v', { comment: 'c'.repeat(1025) }))).toMatchObject({ code: 'ERR_INVALID_INPUT' });
  });

  it('reads parameters written before the text marker as they read then, except JSON-looking text reading as JSON would alter', async () => {
    const raw: Record<string, string> = {
      j: '{"a":1}', // what this tier wrote for a structured value: still structured
      k: '[1]',
      l: '{not json',
      m: '{"a": 1}',
      n: '{"n":12345678901234567891}',
      o: '{"x":1.0}',
      p: '{"a":1,"a":2}',
      q: '{"b":1,"1":2}',
      r: ' {"a":1}',
      s: 'credstash:text:{"a":1}',
    };
    for (const [id, value] of Object.entries(raw)) fake.seed(`/credstash/credentials/${id}`, value);
    expect((await store.getCredential('j'))?.value).toEqual({ a: 1 });
    for (const id of ['k', 'l', 'm', 'n', 'o', 'p', 'q', 'r']) expect((await store.getCredential(id))?.value, id).toBe(raw[id]);
    expect((await store.getCredential('s'))?.value).toBe('{"a":1}');
    const all = await store.getAllCredentials();
    expect(Object.fromEntries(all.credentials.map((c) => [c.id, c.value]))).toEqual({ ...raw, j: { a: 1 }, s: '{"a":1}' });
  });

  it('writes text as is, text that would read back as structured behind credstash:text:, and a JSON object as its compact JSON, one PutParameter each', async () => {
    const cases: Array<[string, string | Record<string, unknown>, string]> = [
      ['plain', 'hunter2', 'hunter2'],
      ['spaced', '{"a": 1}', '{"a": 1}'],
      ['big', '{"n":12345678901234567891}', '{"n":12345678901234567891}'],
      ['compact', '{"a":1}', 'credstash:text:{"a":1}'],
      ['empty.obj', '{}', 'credstash:text:{}'],
      ['marker', 'credstash:text:x', 'credstash:text:credstash:text:x'],
      ['object', { b: 1, a: [true, null] }, '{"b":1,"a":[true,null]}'],
    ];
    for (const [id, value] of cases) await store.storeCredential(id, value as string);
    expect(ssm.commandCalls(PutParameterCommand).map((c) => [c.args[0].input.Name, c.args[0].input.Value])).toEqual(cases.map(([id, , stored]) => [`/credstash/credentials/${id}`, stored]));
    expect(ssm.calls()).toHaveLength(cases.length);
    ssm.resetHistory();
    for (const [id, value] of cases) expect((await store.getCredential(id))?.value, id).toEqual(value);
    expect(ssm.calls()).toHaveLength(cases.length);
  });

  it('counts the marker against the size limit: marked text of 4096 bytes is too large', async () => {
    const text = `{"a":"${'x'.repeat(4096 - 8)}"}`;
    expect(Buffer.byteLength(text)).toBe(4096);
    expect(await rejectionOf(store.storeCredential('big.json', text))).toMatchObject({ code: 'ERR_VALUE_TOO_LARGE', message: expect.stringContaining(`is ${4096 + 'credstash:text:'.length} bytes;`) });
    expect(ssm.commandCalls(PutParameterCommand)).toHaveLength(0);
  });

  it('sends a Description on every write, empty without a comment, so no version shows another version\'s comment', async () => {
    await store.storeCredential('c', 'a', { comment: 'first' });
    await store.storeCredential('c', 'b', { autoVersion: true });
    await store.storeCredential('c', 'c', { version: 3 });
    expect(ssm.commandCalls(PutParameterCommand).map((c) => c.args[0].input.Description)).toEqual(['first', '', '']);
    // One PutParameter per write, plus the one GetParameter an explicit version N > 1 always made: nothing added.
    expect(ssm.calls().map((c) => c.args[0].constructor.name)).toEqual(['PutParameterCommand', 'PutParameterCommand', 'GetParameterCommand', 'PutParameterCommand']);
    expect((await store.listCredentials({ pattern: 'c' })).map((x) => x.comment)).toEqual(['first', undefined, undefined]);
    expect((await store.listCredentials({ pattern: 'c', latestOnly: true })).map((x) => x.comment)).toEqual([undefined]);
  });

  it('refuses an encryption context on get, get -v, getall and put before any SSM call', async () => {
    await store.storeCredential('x', 'v');
    ssm.resetHistory();
    const context = { env: 'prod' };
    for (const p of [
      store.getCredential('x', { context }),
      store.getCredential('x', { version: 1, context }),
      store.getAllCredentials({ context }),
      store.storeCredential('x', CANARY, { autoVersion: true, context }),
    ]) {
      expect(await rejectionOf(p)).toMatchObject({ code: 'ERR_UNSUPPORTED_OPERATION', message: 'ssm parameters /credstash/credentials/* in eu-west-1 does not support encryption context' });
    }
    expect(ssm.calls()).toHaveLength(0);
  });

  it('builds its client once, lazily, from region and endpoint', async () => {
    const s = new SSMStore({ region: 'us-east-2', endpoint: 'http://127.0.0.1:1' });
    await s.storeCredential('lazy', 'v');
    await s.getCredential('lazy');
    const clients = new Set(ssm.calls().map((c) => c.thisValue));
    expect(clients.size).toBe(1);
    expect(await (([...clients][0] as SSMClient).config.region())).toBe('us-east-2');
  });

  it('opens from config and rejects unknown keys and bad values', async () => {
    const s = (await openStore({ type: 'ssm', config: { prefix: '/x/', region: 'eu-west-1', tier: 'Advanced', kms_key: 'alias/k', endpoint_url: 'http://127.0.0.1:1' } })) as SSMStore;
    expect(s.kind).toBe('ssm');
    expect(s.prefix).toBe('/x/');
    expect(s.description).toBe('ssm parameters /x/* in eu-west-1');
    expect(await rejectionOf(openStore({ type: 'ssm', config: { table: 'x' } }))).toMatchObject({ code: 'ERR_CONFIG', path: 'credential_store.config.table' });
    expect(await rejectionOf(openStore({ type: 'ssm', config: { tier: 'Gold' } }))).toMatchObject({ code: 'ERR_CONFIG' });
    expect(await rejectionOf(openStore({ type: 'ssm', config: { prefix: 'no-slash' } }))).toMatchObject({ code: 'ERR_CONFIG' });
    expect(await rejectionOf(openStore({ type: 'ssm', config: { region: 3 } }))).toMatchObject({ code: 'ERR_CONFIG' });
  });
});

describe('SSMStore error mapping', () => {
  const cases: Array<[string, Error, string]> = [
    ['ThrottlingException', awsError('ThrottlingException'), 'ERR_THROTTLED'],
    ['TooManyUpdates', new TooManyUpdates({ message: 'x', $metadata: {} }), 'ERR_THROTTLED'],
    ['AccessDeniedException', awsError('AccessDeniedException', 'User arn:aws:iam::1:user/u is not authorized to perform ssm:GetParameter'), 'ERR_ACCESS_DENIED'],
    ['InvalidKeyId', new InvalidKeyId({ message: 'x', $metadata: {} }), 'ERR_KMS'],
    ['ParameterLimitExceeded', new ParameterLimitExceeded({ message: 'x', $metadata: {} }), 'ERR_STORE_UNAVAILABLE'],
    ['ValidationException', awsError('ValidationException'), 'ERR_INVALID_INPUT'],
    ['ExpiredTokenException', awsError('ExpiredTokenException'), 'ERR_AWS_CONFIG'],
    ['InternalServerError', new InternalServerError({ message: 'x', $metadata: {} }), 'ERR_STORE_UNAVAILABLE'],
  ];

  for (const [name, error, code] of cases) {
    it(`maps ${name} to ${code} on get, put, list and getAll, naming the store`, async () => {
      ssm.reset();
      ssm.on(GetParameterCommand).rejects(error);
      ssm.on(PutParameterCommand).rejects(error);
      ssm.on(DescribeParametersCommand).rejects(error);
      ssm.on(GetParametersByPathCommand).resolves({});
      for (const p of [store.getCredential('x'), store.storeCredential('x', CANARY, { autoVersion: true }), store.listCredentials(), store.credentialExists('x')]) {
        const err = await rejectionOf(p);
        expect(err).toMatchObject({ code, store: 'ssm parameters /credstash/credentials/* in eu-west-1' });
        expectNoLeak(err, CANARY);
      }
    });
  }

  it('maps failures of history, delete, tags and GetParametersByPath', async () => {
    ssm.reset();
    ssm.on(GetParameterHistoryCommand).rejects(awsError('ThrottlingException'));
    expect(await rejectionOf(store.deleteCredential('x'))).toMatchObject({ code: 'ERR_THROTTLED', credentialId: 'x' });
    ssm.reset();
    ssm.on(GetParameterHistoryCommand).resolves({ Parameters: [{ Version: 1 }] });
    ssm.on(DeleteParameterCommand).rejects(awsError('AccessDeniedException'));
    expect(await rejectionOf(store.deleteCredential('x'))).toMatchObject({ code: 'ERR_ACCESS_DENIED' });
    ssm.reset();
    ssm.on(PutParameterCommand).resolves({ Version: 2 });
    ssm.on(AddTagsToResourceCommand).rejects(awsError('TooManyTagsError'));
    expect(await rejectionOf(store.storeCredential('x', 'v', { autoVersion: true, definition: { id: 'x', name: 'n' } }))).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
    ssm.reset();
    ssm.on(ListTagsForResourceCommand).rejects(awsError('AccessDeniedException'));
    expect(await rejectionOf(store.getDefinition('x'))).toMatchObject({ code: 'ERR_ACCESS_DENIED' });
    ssm.reset();
    ssm.on(DescribeParametersCommand).resolves({ Parameters: [{ Name: '/credstash/credentials/x', Version: 1 }] });
    ssm.on(GetParametersByPathCommand).rejects(awsError('ThrottlingException'));
    expect(await rejectionOf(store.getAllCredentials())).toMatchObject({ code: 'ERR_THROTTLED' });
    ssm.reset();
    ssm.on(DescribeParametersCommand).resolves({ Parameters: [{ Name: '/credstash/credentials/x', Version: 1 }] });
    ssm.on(GetParameterHistoryCommand).rejects(awsError('AccessDeniedException'));
    expect(await rejectionOf(store.listCredentials())).toMatchObject({ code: 'ERR_ACCESS_DENIED' });
  });

  it('names SSM, the operation and the region in every message, and the region DNS could not find', async () => {
    ssm.reset();
    ssm.on(GetParameterCommand).rejects(awsError('AccessDeniedException', 'User: arn:aws:iam::1:user/u is not authorized to perform: ssm:GetParameter'));
    expect((await rejectionOf(store.getCredential('x'))).message).toBe('SSM denied GetParameter for credential "x" in eu-west-1: User: arn:aws:iam::1:user/u is not authorized to perform: ssm:GetParameter');
    ssm.on(GetParameterCommand).rejects(Object.assign(new Error('getaddrinfo ENOTFOUND ssm.eu-wst-1.amazonaws.com'), { code: 'ENOTFOUND', hostname: 'ssm.eu-wst-1.amazonaws.com', $metadata: { attempts: 3 } }));
    const wrong = new SSMStore({ client: new SSMClient({ region: 'eu-wst-1' }), region: 'eu-wst-1' });
    const dns = await rejectionOf(wrong.getCredential('x'));
    expect(dns).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE', store: 'ssm parameters /credstash/credentials/* in eu-wst-1' });
    expect(dns.message).toBe('could not reach SSM in eu-wst-1: DNS cannot resolve "ssm.eu-wst-1.amazonaws.com" (ENOTFOUND); check that the region "eu-wst-1" exists and that DNS works');
    ssm.on(GetParameterCommand).rejects(new InternalServerError({ message: 'x', $metadata: { httpStatusCode: 500, attempts: 3 } }));
    expect((await rejectionOf(store.getCredential('x'))).message).toBe('SSM GetParameter failed for credential "x" in eu-west-1 (InternalServerError, HTTP 500) after 3 attempts');
    // A response the SDK could not parse carries its raw body: it is never kept, not even as the cause.
    const unparsable = Object.assign(new SyntaxError(`Unexpected token in JSON: "Value":"${CANARY}"`), { $metadata: { httpStatusCode: 200 }, $response: { body: `{"Parameter":{"Value":"${CANARY}"` } });
    ssm.on(GetParameterCommand).rejects(unparsable);
    const bad = await rejectionOf(store.getCredential('x'));
    expect(bad).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
    expect(bad.message).toBe('SSM GetParameter for credential "x": the answer in eu-west-1 (HTTP 200) is not an AWS SSM response (an HTML page or another service?); check the endpoint URL and the region');
    expect(bad.cause).toBeUndefined();
    expectNoLeak(bad, CANARY);
  });

  it('says which AWS credentials are missing, keeping the SDK\'s reason and hiding anything shaped like a key', async () => {
    ssm.reset();
    ssm.on(GetParameterCommand).rejects(awsError('CredentialsProviderError', 'Could not load credentials from any providers'));
    expect(await rejectionOf(store.getCredential('x'))).toMatchObject({ code: 'ERR_AWS_CONFIG', message: 'no AWS credentials found; set AWS_PROFILE or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or pass -p/--profile or -n/--arn' });
    ssm.on(GetParameterCommand).rejects(awsError('CredentialsProviderError', 'The SSO session associated with this profile has expired. To refresh this SSO session run aws sso login'));
    expect((await rejectionOf(store.getCredential('x'))).message).toBe('no AWS credentials found (The SSO session associated with this profile has expired. To refresh this SSO session run aws sso login); set AWS_PROFILE or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or pass -p/--profile or -n/--arn');
    ssm.on(GetParameterCommand).rejects(awsError('AccessDeniedException', 'token AKIAABCDEFGHIJKLMNOP or wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY is not authorized'));
    expect((await rejectionOf(store.getCredential('x'))).message).toBe('SSM denied GetParameter for credential "x" in eu-west-1: token *** or *** is not authorized');
  });

  it('treats ParameterNotFound and ParameterVersionNotFound as not found everywhere', async () => {
    expect(await store.getCredential('none', { version: 4 })).toBeUndefined();
    expect(await store.credentialExists('none')).toBe(false);
    expect(await rejectionOf(store.deleteCredential('none'))).toMatchObject({ code: 'ERR_CREDENTIAL_NOT_FOUND' });
    ssm.reset();
    ssm.on(GetParameterHistoryCommand).resolves({ Parameters: [{ Version: 1 }] });
    ssm.on(DeleteParameterCommand).rejects(awsError('ParameterNotFound'));
    expect(await rejectionOf(store.deleteCredential('gone'))).toMatchObject({ code: 'ERR_CREDENTIAL_NOT_FOUND' });
  });
});
