/**
 * SigV4 of the light AWS client against AWS's published Signature Version 4 test suite (credentials
 * AKIDEXAMPLE, 2015-08-30T12:36:00Z, us-east-1, service "service") and against the AWS SDK's own signer for
 * the requests the light client sends (DynamoDB and KMS JSON posts, with and without a session token).
 */
import { Hash } from '@smithy/core/serde';
import { SignatureV4 } from '@smithy/signature-v4';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { amzDate, canonicalValue, signV4 } from '../../../../src/stores/aws/aws-sigv4.js';

const SUITE = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const AT = new Date('2015-08-30T12:36:00Z');
const suite = (method: string, query = '') =>
  signV4({ method, host: 'example.amazonaws.com', path: '/', query, body: '', region: 'us-east-1', service: 'service', credentials: SUITE, now: AT });

describe('SigV4: the AWS test suite', () => {
  it('get-vanilla', () => {
    const s = suite('GET');
    expect(s.headers['x-amz-date']).toBe('20150830T123600Z');
    expect(s.headers.authorization).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
    );
  });

  it('post-vanilla', () => {
    expect(suite('POST').signature).toBe('5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b');
  });

  it('get-vanilla-query-order-key-case: the query is sorted by encoded key', () => {
    expect(suite('GET', 'Param2=value2&Param1=value1').signature).toBe('b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500');
  });

  it('amzDate is the basic ISO 8601 form', () => {
    expect(amzDate(new Date('2026-12-02T03:04:05.678Z'))).toBe('20261202T030405Z');
  });

  it('amzDate is the ISO 8601 instant without separators or milliseconds, for every second of years 1000-9999', () => {
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(1000, 0, 1), max: Date.UTC(9999, 11, 31, 23, 59, 59, 999) }), (ms) => {
        const d = new Date(ms);
        expect(amzDate(d)).toBe(d.toISOString().replace(/[-:]|\.\d{3}/g, ''));
      }),
      { numRuns: 2000 },
    );
    for (const iso of ['2000-01-01T00:00:00.000Z', '2026-09-09T09:09:09.999Z', '2024-02-29T23:59:59.000Z']) expect(amzDate(new Date(iso))).toBe(iso.replace(/[-:]|\.\d{3}/g, ''));
  });
});

describe('SigV4: the same signature as the AWS SDK for the JSON posts the light client sends', () => {
  const cases = [
    { service: 'dynamodb', region: 'eu-west-1', host: 'dynamodb.eu-west-1.amazonaws.com', target: 'DynamoDB_20120810.Query', type: 'application/x-amz-json-1.0', sessionToken: undefined },
    { service: 'kms', region: 'us-east-1', host: '127.0.0.1:4566', target: 'TrentService.Decrypt', type: 'application/x-amz-json-1.1', sessionToken: 'FwoGZXIvYXdzEXAMPLE//token+with/slashes=' },
  ] as const;
  it.each(cases.map((c) => [`${c.service}${c.sessionToken === undefined ? '' : ' with a session token'}`, c] as const))('%s', async (_l, c) => {
    const body = JSON.stringify({ TableName: 'credential-store', Key: { name: { S: 'ünïcode name' } }, CiphertextBlob: 'AQID' });
    const credentials = { ...SUITE, ...(c.sessionToken === undefined ? {} : { sessionToken: c.sessionToken }) };
    const now = new Date('2026-12-02T01:02:03Z');
    const sdk = new SignatureV4({ credentials, region: c.region, service: c.service, sha256: Hash.bind(null, 'sha256'), applyChecksum: false });
    const signedBySdk = await sdk.sign(
      { method: 'POST', protocol: 'https:', hostname: c.host.split(':')[0] ?? '', path: '/', headers: { host: c.host, 'content-type': c.type, 'x-amz-target': c.target }, body },
      { signingDate: now },
    );
    const mine = signV4({ method: 'POST', host: c.host, path: '/', headers: { 'content-type': c.type, 'x-amz-target': c.target }, body, region: c.region, service: c.service, credentials, now });
    expect(mine.headers.authorization).toBe(signedBySdk.headers.authorization);
    expect(mine.headers['x-amz-security-token']).toBe(c.sessionToken);
    // The secret is key material only: never in a header.
    expect(JSON.stringify(mine.headers)).not.toContain(SUITE.secretAccessKey);
  });
});

describe('SigV4: canonical header values', () => {
  it("are trimmed with each run of white space one space, as value.trim().replace(/\\s+/g, ' ')", () => {
    const ws = ['a', 'Z', '0', '=', ' ', '  ', '\t', '\n', '\r', '\v', '\f', '\u00a0', '\u1680', '\u2000', '\u2028', '\u3000', '\ufeff', '\u0085', '\u007f', 'é'];
    const values = fc.oneof(fc.string({ unit: fc.constantFrom(...ws), maxLength: 14 }), fc.string({ unit: 'binary', maxLength: 10 }));
    fc.assert(fc.property(values, (v) => void expect(canonicalValue(v)).toBe(v.trim().replace(/\s+/g, ' '))), { numRuns: 3000 });
    expect([canonicalValue('  a   b  '), canonicalValue('application/x-amz-json-1.0'), canonicalValue('a\tb')]).toEqual(['a b', 'application/x-amz-json-1.0', 'a b']);
  });
});
