/**
 * The documented Lambda example (docs/examples/lambda/handler.ts) runs: it reads a credential with its
 * encryption context from the DynamoDB tier (dynalite + the KMS fixture, reached through the SDK's own
 * AWS_ENDPOINT_URL_* variables, as a deployed function would reach AWS), answers warm invocations from the
 * cache without another KMS call, honours forceFetch, and never returns the value. bench/lambda.mjs measures
 * its bundle; this test proves it works.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDBStore } from '../../../src/stores/dynamodb/index.js';
import { startAwsStack, type AwsStack } from '../../fixtures/aws-stack.js';
import { CANARY, expectNoLeak, rejectionOf } from '../../helpers/no-leak.js';

const ENV_KEYS = ['AWS_ENDPOINT_URL_DYNAMODB', 'AWS_ENDPOINT_URL_KMS', 'CREDSTASH_TABLE', 'CREDENTIAL_ID', 'APP_ENV', 'CREDSTASH_CACHE_MAX_AGE'] as const;
let stack: AwsStack;
let handler: typeof import('../../../docs/examples/lambda/handler.js').handler;

beforeAll(async () => {
  stack = await startAwsStack();
  const seed = new DynamoDBStore({ table: 'lambda-example', region: stack.region, endpointUrl: stack.dynamodb.endpoint, kmsEndpointUrl: stack.kms.endpoint });
  await seed.setup();
  await seed.storeCredential('myapp.db.prod', { user: 'app', password: CANARY }, { context: { env: 'prod' } });
  await seed.close();
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_DYNAMODB: stack.dynamodb.endpoint,
    AWS_ENDPOINT_URL_KMS: stack.kms.endpoint,
    CREDSTASH_TABLE: 'lambda-example',
    CREDENTIAL_ID: 'myapp.db.prod',
    APP_ENV: 'prod',
    CREDSTASH_CACHE_MAX_AGE: '60',
  });
  // Module scope builds the store (and reads CREDSTASH_CACHE_MAX_AGE) once, as a Lambda container does.
  ({ handler } = await import('../../../docs/examples/lambda/handler.js'));
});
afterAll(async () => {
  for (const k of ENV_KEYS) delete process.env[k];
  await stack.close();
});

describe('docs/examples/lambda/handler.ts', () => {
  it('reads the credential with its context and returns its id, version and kind, never the value', async () => {
    stack.kms.requests.reset();
    stack.dynamodb.requests.reset();
    const res = await handler();
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ id: 'myapp.db.prod', version: '1', kind: 'structured' });
    expectNoLeak(res.body, CANARY);
    expect(stack.kms.requests.get('Decrypt')).toBe(1);
    expect(stack.dynamodb.requests.get('Query')).toBe(1);
  });

  it('answers a warm invocation from the cache (no KMS or DynamoDB call); forceFetch reads again', async () => {
    await handler();
    stack.kms.requests.reset();
    stack.dynamodb.requests.reset();
    expect((await handler()).statusCode).toBe(200);
    expect(stack.kms.requests.get('Decrypt')).toBe(0);
    expect(stack.dynamodb.requests.get('Query')).toBe(0);
    expect((await handler({ forceFetch: true })).statusCode).toBe(200);
    expect(stack.kms.requests.get('Decrypt')).toBe(1);
  });

  it('fails with EncryptionContextMismatchError, naming the credential and no value, under another APP_ENV', async () => {
    process.env.APP_ENV = 'dev';
    try {
      const err = await rejectionOf(handler());
      expect(err).toMatchObject({ code: 'ERR_ENCRYPTION_CONTEXT_MISMATCH', credentialId: 'myapp.db.prod' });
      expectNoLeak(err, CANARY);
    } finally {
      process.env.APP_ENV = 'prod';
    }
  });

  it('fails with CredentialNotFoundError for an id that does not exist', async () => {
    process.env.CREDENTIAL_ID = 'myapp.nope';
    try {
      expect(await rejectionOf(handler())).toMatchObject({ code: 'ERR_CREDENTIAL_NOT_FOUND', credentialId: 'myapp.nope' });
    } finally {
      process.env.CREDENTIAL_ID = 'myapp.db.prod';
    }
  });
});
