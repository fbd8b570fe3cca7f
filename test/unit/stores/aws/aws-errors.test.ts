/**
 * One mistake, one message: the same SDK error fed into the DynamoDB tier's mapper and the SSM tier's mapper
 * gives the same typed error with the same message apart from the service's name (both map it through
 * stores/aws/aws-errors.ts). Then through the stores themselves: an unknown profile and missing credentials
 * read the same on both tiers.
 */
import { DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import '../../../fixtures/aws-env.js';
import { CredstashError } from '../../../../src/core/errors.js';
import { mapAwsError } from '../../../../src/stores/dynamodb/dynamodb-errors.js';
import { DynamoDBStore } from '../../../../src/stores/dynamodb/index.js';
import { mapSsmError } from '../../../../src/stores/ssm/ssm-errors.js';
import { SSMStore } from '../../../../src/stores/ssm/index.js';
import { rejectionOf } from '../../../helpers/no-leak.js';

const sdk = (name: string, message: string, extra: Record<string, unknown> = {}): Error =>
  Object.assign(new Error(message), { name, $fault: 'client', $metadata: { httpStatusCode: 400 }, ...extra });

/**
 * [mistake, the SDK error, the credstash error code both tiers must give, whether the message names the
 * credential and the place (a client-configuration mistake is about the session, not one call)].
 */
const CASES: Array<[string, () => unknown, string, boolean]> = [
  ['throttled after the retries', () => sdk('ThrottlingException', 'Rate exceeded', { $metadata: { httpStatusCode: 400, attempts: 3 } }), 'ERR_THROTTLED', true],
  ['access denied', () => sdk('AccessDeniedException', 'User: arn:aws:iam::111122223333:user/ci is not authorized to perform this action'), 'ERR_ACCESS_DENIED', true],
  ['access denied (STS spelling)', () => sdk('AccessDenied', 'User: arn:aws:iam::111122223333:user/ci is not authorized'), 'ERR_ACCESS_DENIED', true],
  ['an expired session token', () => sdk('ExpiredTokenException', 'The security token included in the request is expired'), 'ERR_AWS_CONFIG', true],
  ['an unknown access key', () => sdk('UnrecognizedClientException', 'The security token included in the request is invalid.'), 'ERR_AWS_CONFIG', true],
  ['a wrong secret key', () => sdk('InvalidSignatureException', 'The request signature we calculated does not match the signature you provided.'), 'ERR_AWS_CONFIG', true],
  ['no credentials anywhere', () => sdk('CredentialsProviderError', 'Could not load credentials from any providers'), 'ERR_AWS_CONFIG', false],
  ['an expired SSO session', () => sdk('CredentialsProviderError', 'The SSO session associated with this profile has expired. To refresh this SSO session run aws sso login'), 'ERR_AWS_CONFIG', false],
  ['no region', () => sdk('Error', 'Region is missing'), 'ERR_AWS_CONFIG', false],
  ['an invalid region', () => sdk('Error', 'Region not accepted: region="not a region" is not a valid hostname component.'), 'ERR_AWS_CONFIG', false],
  ['a timeout after the retries', () => Object.assign(new Error('Connection timed out after 400 ms'), { name: 'TimeoutError', $metadata: { attempts: 2 } }), 'ERR_STORE_UNAVAILABLE', true],
  ['a refused connection', () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }), 'ERR_STORE_UNAVAILABLE', true],
  ['a host DNS cannot resolve', () => Object.assign(new Error('getaddrinfo ENOTFOUND x.invalid'), { code: 'ENOTFOUND', hostname: 'x.invalid' }), 'ERR_STORE_UNAVAILABLE', true],
  ['an answer that is not AWS JSON', () => Object.assign(new SyntaxError('Unexpected token \'<\', "<html>"... is not valid JSON'), { $metadata: { httpStatusCode: 404 } }), 'ERR_STORE_UNAVAILABLE', true],
];

/** Both tiers' mappers on the same error, the same operation, credential and place. */
function both(err: unknown, where: { region?: string; endpoint?: string }): { dynamodb: CredstashError; ssm: CredstashError } {
  const common = { operation: 'GetParameter', credentialId: 'app.db', ...where };
  return {
    dynamodb: mapAwsError(err, { ...common, service: 'dynamodb', store: 'dynamodb table "t"', table: 't' }),
    ssm: mapSsmError(err, { ...common, store: 'ssm parameters /credstash/credentials/*' }),
  };
}

describe('the same SDK error gives the same message on DynamoDB and SSM, apart from the service name', () => {
  for (const [mistake, make, code, scoped] of CASES) {
    for (const where of [{ region: 'eu-west-1' }, { endpoint: 'http://127.0.0.1:4566' }]) {
      it(`${mistake} (${where.region === undefined ? 'an endpoint' : 'a region'})`, () => {
        const { dynamodb, ssm } = both(make(), where);
        expect(dynamodb.code).toBe(code);
        expect(ssm.code).toBe(code);
        expect(ssm.constructor).toBe(dynamodb.constructor);
        expect(dynamodb.message.replaceAll('DynamoDB', 'SSM')).toBe(ssm.message);
        if (scoped) {
          // About this call: the place is named, and the credential unless the host itself is unreachable.
          expect(ssm.message).toContain(where.region ?? where.endpoint);
          if (!/^could not reach/.test(ssm.message)) expect(ssm.message).toContain('for credential "app.db"');
        }
      });
    }
  }

  it('the attempts the SDK made are counted the same way (none said for a single attempt)', () => {
    const once = both(sdk('ThrottlingException', 'Rate exceeded', { $metadata: { attempts: 1 } }), { region: 'eu-west-1' });
    expect(once.ssm.message).not.toContain('attempts');
    expect(once.dynamodb.message.replaceAll('DynamoDB', 'SSM')).toBe(once.ssm.message);
  });
});

describe('through the stores: credentials and profiles read the same on DynamoDB and SSM', () => {
  const ddb = mockClient(DynamoDBClient);
  const ssm = mockClient(SSMClient);
  afterEach(() => {
    ddb.reset();
    ssm.reset();
  });

  it('a profile that is in neither shared file is named, on both tiers', async () => {
    const err = sdk('CredentialsProviderError', 'Could not load credentials from any providers');
    ddb.on(QueryCommand).rejects(err);
    ssm.on(GetParameterCommand).rejects(err);
    const d = await rejectionOf(new DynamoDBStore({ region: 'eu-west-1', profile: 'nosuch', format: 'gcm' }).getCredential('app.db'));
    const s = await rejectionOf(new SSMStore({ region: 'eu-west-1', profile: 'nosuch' }).getCredential('app.db'));
    expect(s).toMatchObject({ code: 'ERR_AWS_CONFIG' });
    expect(s.message).toBe('the AWS profile "nosuch" could not be found in the shared config or credentials file (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE); check -p/--profile or AWS_PROFILE');
    expect(d.message).toBe(s.message);
  });

  it('missing credentials give the same next step on both tiers', async () => {
    const err = sdk('CredentialsProviderError', 'Could not load credentials from any providers');
    ddb.on(QueryCommand).rejects(err);
    ssm.on(GetParameterCommand).rejects(err);
    const d = await rejectionOf(new DynamoDBStore({ region: 'eu-west-1', format: 'gcm' }).getCredential('app.db'));
    const s = await rejectionOf(new SSMStore({ region: 'eu-west-1' }).getCredential('app.db'));
    expect(s.message).toBe('no AWS credentials found; set AWS_PROFILE or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or pass -p/--profile or -n/--arn');
    expect(d.message).toBe(s.message);
  });
});
