import { DynamoDBClient, PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { DecryptCommand, GenerateDataKeyCommand } from '@aws-sdk/client-kms';
import { beforeEach, describe, expect, it } from 'vitest';
import { mapAwsError } from '../../../../src/stores/dynamodb/dynamodb-errors.js';
import { CANARY, expectNoLeak, rejectionOf } from '../../../helpers/no-leak.js';
import { awsError, ddbMock, FakeKms, kmsMock, makeStore, pad, pythonItem } from './dynamodb-test-kit.js';

let fake: FakeKms;
beforeEach(() => {
  ddbMock.reset();
  kmsMock.reset();
  fake = new FakeKms();
  fake.install();
  ddbMock.on(PutItemCommand).resolves({});
  ddbMock.on(QueryCommand).resolves({ Items: [] });
});

function serveOneItem(): void {
  ddbMock.on(QueryCommand).resolves({ Items: [pythonItem(fake, { name: 'app', version: pad(3), value: CANARY })] });
}

describe('DynamoDB errors at the tier edge', () => {
  it('maps ResourceNotFoundException to StoreUnavailableError with the region and the setup hint', async () => {
    ddbMock.on(QueryCommand).rejects(awsError('ResourceNotFoundException', 'Requested resource not found'));
    const err = await rejectionOf(makeStore({ table: 'my-table' }).getCredential('app'));
    expect(err).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE', store: 'dynamodb table "my-table"' });
    expect(err.message).toBe('dynamodb table "my-table" does not exist in us-east-1; run `credstash setup`');
    expect((err.cause as Error).name).toBe('ResourceNotFoundException');
  });

  it('maps AccessDeniedException to AccessDeniedError keeping AWS message', async () => {
    const aws = 'User: arn:aws:iam::1:user/bob is not authorized to perform: dynamodb:Query on resource: table/credential-store';
    ddbMock.on(QueryCommand).rejects(awsError('AccessDeniedException', aws));
    const err = await rejectionOf(makeStore().getCredential('app'));
    expect(err).toMatchObject({ code: 'ERR_ACCESS_DENIED', credentialId: 'app' });
    expect(err.message).toBe(`DynamoDB denied Query for credential "app" in us-east-1: ${aws}`);
  });

  for (const name of ['ThrottlingException', 'ProvisionedThroughputExceededException', 'RequestLimitExceeded']) {
    it(`maps ${name} (after the SDK's retries) to ThrottlingError saying the retries ran out`, async () => {
      ddbMock.on(QueryCommand).rejects(awsError(name, 'slow down', 3));
      const err = await rejectionOf(makeStore().getCredential('app'));
      expect(err).toMatchObject({ code: 'ERR_THROTTLED', credentialId: 'app' });
      expect(err.message).toContain("the SDK's retries ran out after 3 attempts");
    });
  }

  it('maps a connection failure to StoreUnavailableError naming the endpoint', async () => {
    ddbMock.on(QueryCommand).rejects(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }));
    const err = await rejectionOf(makeStore({ endpointUrl: 'http://127.0.0.1:1' }).getCredential('app'));
    expect(err).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
    expect(err.message).toBe('could not reach DynamoDB at http://127.0.0.1:1 (ECONNREFUSED)');
  });

  it('maps an answer that is not AWS JSON (a wrong endpoint, a proxy page) to StoreUnavailableError naming the service, keeping neither the body nor the cause', async () => {
    serveOneItem();
    // The SDK attaches the raw body to the parser's error; for a Decrypt answer that body holds the data key.
    const body = `{"KeyId":"k","Plaintext":"${CANARY}`;
    kmsMock.on(DecryptCommand).rejects(Object.assign(new SyntaxError(`Unterminated string in JSON at position 40 ("${CANARY}")`), { $metadata: { httpStatusCode: 200 }, $response: { body } }));
    const err = await rejectionOf(makeStore({ kmsEndpointUrl: 'http://127.0.0.1:8081' }).getCredential('app'));
    expect(err).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE', credentialId: 'app' });
    expect(err.message).toBe('KMS Decrypt for credential "app" version 3: the answer at http://127.0.0.1:8081 (HTTP 200) is not an AWS KMS response (an HTML page or another service?); check the endpoint URL and the region');
    expect(err.cause).toBeUndefined();
    expectNoLeak(err, CANARY);
    ddbMock.on(QueryCommand).rejects(Object.assign(new SyntaxError('Unexpected token \'<\', "<html>"... is not valid JSON\n  Deserialization error: to see the raw response, inspect the hidden field {error}.$response on this object.'), { $metadata: { httpStatusCode: 404 } }));
    const html = await rejectionOf(makeStore({ endpointUrl: 'http://127.0.0.1:8000' }).getCredential('app'));
    expect(html.message).toBe('DynamoDB Query for credential "app": the answer at http://127.0.0.1:8000 (HTTP 404) is not an AWS DynamoDB response (an HTML page or another service?); check the endpoint URL and the region');
  });

  it('maps a host DNS cannot resolve to StoreUnavailableError naming the host and what to check', async () => {
    ddbMock.on(QueryCommand).rejects(Object.assign(new Error('getaddrinfo ENOTFOUND dynamodb.eu-wst-1.amazonaws.com'), { code: 'ENOTFOUND', hostname: 'dynamodb.eu-wst-1.amazonaws.com' }));
    const err = await rejectionOf(makeStore({ region: 'eu-wst-1', dynamodb: new DynamoDBClient({ region: 'eu-wst-1' }) }).getCredential('app'));
    expect(err).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
    expect(err.message).toBe('could not reach DynamoDB in eu-wst-1: DNS cannot resolve "dynamodb.eu-wst-1.amazonaws.com" (ENOTFOUND); check that the region "eu-wst-1" exists and that DNS works');
  });

  it('maps CredentialsProviderError to AwsConfigError with the next step', async () => {
    ddbMock.on(QueryCommand).rejects(awsError('CredentialsProviderError', 'Could not load credentials from any providers'));
    const err = await rejectionOf(makeStore().getCredential('app'));
    expect(err).toMatchObject({ code: 'ERR_AWS_CONFIG' });
    expect(err.message).toContain('no AWS credentials found; set AWS_PROFILE');
  });

  it('maps a missing region to AwsConfigError with the next step', () => {
    const err = mapAwsError(new Error('Region is missing'), { service: 'dynamodb', operation: 'Query', store: 's', table: 't' });
    expect(err).toMatchObject({ code: 'ERR_AWS_CONFIG', message: 'no AWS region configured; pass -r/--region, set region in the store config, or set AWS_REGION' });
  });

  it('maps an empty or malformed region (AWS_REGION="") to AwsConfigError, not a generic failure', () => {
    const err = mapAwsError(new Error('Region not accepted: region="" is not a valid hostname component.'), { service: 'dynamodb', operation: 'Query', store: 's', table: 't' });
    expect(err).toMatchObject({ code: 'ERR_AWS_CONFIG' });
    expect(err.message).toBe('the AWS region is empty or not a valid region name; pass -r/--region or fix AWS_REGION / the store config');
  });
});

describe('KMS errors at the tier edge', () => {
  for (const [name, phrase] of [
    ['NotFoundException', 'does not exist in us-east-1; create it'],
    ['DisabledException', 'is disabled in us-east-1'],
    ['KMSInvalidStateException', 'is not in a usable state in us-east-1'],
  ] as const) {
    it(`maps ${name} on GenerateDataKey to KmsError naming the key id`, async () => {
      kmsMock.on(GenerateDataKeyCommand).rejects(awsError(name));
      const err = await rejectionOf(makeStore({ kmsKey: 'alias/missing' }).storeCredential('app', CANARY));
      expect(err).toMatchObject({ code: 'ERR_KMS', credentialId: 'app' });
      expect(err.message).toContain(`KMS key "alias/missing" ${phrase}`);
      expect(ddbMock.commandCalls(PutItemCommand)).toHaveLength(0);
      expectNoLeak(err, CANARY);
    });

    it(`maps ${name} on Decrypt to KmsError naming the credential's key`, async () => {
      serveOneItem();
      kmsMock.on(DecryptCommand).rejects(awsError(name));
      const err = await rejectionOf(makeStore().getCredential('app'));
      expect(err).toMatchObject({ code: 'ERR_KMS', credentialId: 'app' });
      expect(err.message).toContain(`the KMS key that encrypted credential "app" version 3 ${phrase}`);
    });
  }

  it('maps AccessDeniedException on Decrypt to AccessDeniedError keeping AWS message, without the value', async () => {
    serveOneItem();
    const aws = 'User: arn:aws:iam::1:user/bob is not authorized to perform: kms:Decrypt on resource: arn:aws:kms:us-east-1:1:key/k';
    kmsMock.on(DecryptCommand).rejects(awsError('AccessDeniedException', aws));
    const err = await rejectionOf(makeStore().getCredential('app'));
    expect(err).toMatchObject({ code: 'ERR_ACCESS_DENIED' });
    expect(err.message).toBe(`KMS denied Decrypt for credential "app" version 3 in us-east-1: ${aws}`);
    expectNoLeak(err, CANARY);
  });

  it('maps KMS ThrottlingException to ThrottlingError', async () => {
    serveOneItem();
    kmsMock.on(DecryptCommand).rejects(awsError('ThrottlingException', 'Rate exceeded', 3));
    const err = await rejectionOf(makeStore().getCredential('app'));
    expect(err).toMatchObject({ code: 'ERR_THROTTLED' });
    expect(err.message).toBe("KMS throttled Decrypt for credential \"app\" version 3 in us-east-1 (ThrottlingException) and the SDK's retries ran out after 3 attempts; try again later or ask for a higher KMS request quota");
  });

  it('maps any other KMS error to KmsError with its name only', async () => {
    kmsMock.on(GenerateDataKeyCommand).rejects(awsError('KMSInternalException', 'internal'));
    const err = await rejectionOf(makeStore().storeCredential('app', CANARY));
    expect(err).toMatchObject({ code: 'ERR_KMS', message: 'KMS GenerateDataKey failed for credential "app" version 1 (KMSInternalException)' });
    expect((err.cause as Error).name).toBe('KMSInternalException');
  });
});
