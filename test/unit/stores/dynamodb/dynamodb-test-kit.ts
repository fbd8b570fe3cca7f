/**
 * Shared arrangements for the DynamoDB tier's unit tests: aws-sdk-client-mock stubs for DynamoDB and KMS,
 * a fake KMS that wraps data keys per encryption context, and Python-credstash items built by hand from
 * docs/FORMAT.md §5 (not through the code under test).
 */
import { createCipheriv, createHmac, randomBytes } from 'node:crypto';
import { DynamoDBClient, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { DecryptCommand, GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import '../../../fixtures/aws-env.js';
import { DynamoDBStore, type DynamoDBStoreOptions } from '../../../../src/stores/dynamodb/index.js';

export const ddbMock = mockClient(DynamoDBClient);
export const kmsMock = mockClient(KMSClient);

export type Item = Record<string, AttributeValue>;

/** A fake KMS: GenerateDataKey returns a random key and a blob that Decrypt accepts only with the same context. */
export class FakeKms {
  readonly keys = new Map<string, { key: Buffer; context: string }>();
  #n = 0;

  install(): void {
    kmsMock.on(GenerateDataKeyCommand).callsFake((input: { NumberOfBytes?: number; EncryptionContext?: Record<string, string> }) => {
      const key = randomBytes(input.NumberOfBytes ?? 32);
      const blob = this.wrap(key, input.EncryptionContext);
      return { Plaintext: Buffer.from(key), CiphertextBlob: blob, KeyId: 'arn:aws:kms:us-east-1:111122223333:key/test' };
    });
    kmsMock.on(DecryptCommand).callsFake((input: { CiphertextBlob: Uint8Array; EncryptionContext?: Record<string, string> }) => {
      const entry = this.keys.get(Buffer.from(input.CiphertextBlob).toString('hex'));
      if (entry === undefined || entry.context !== ctxKey(input.EncryptionContext)) {
        throw Object.assign(new Error(''), { name: 'InvalidCiphertextException', $metadata: { httpStatusCode: 400 } });
      }
      return { Plaintext: Buffer.from(entry.key), KeyId: 'arn:aws:kms:us-east-1:111122223333:key/test' };
    });
  }

  /** Register a data key as if KMS had wrapped it under `context`; returns the blob. */
  wrap(key: Buffer, context?: Record<string, string>): Buffer {
    const blob = Buffer.from(`blob-${++this.#n}-${randomBytes(4).toString('hex')}`);
    this.keys.set(blob.toString('hex'), { key: Buffer.from(key), context: ctxKey(context) });
    return blob;
  }
}

function ctxKey(ctx: Record<string, string> | undefined): string {
  return JSON.stringify(Object.entries(ctx ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export function awsError(name: string, message = `${name} happened`, attempts?: number): Error {
  return Object.assign(new Error(message), { name, $fault: 'client', $metadata: { httpStatusCode: 400, ...(attempts === undefined ? {} : { attempts }) } });
}

/**
 * A store on mocked clients. The write format is `gcm` unless a test asks for another: the default, `auto`,
 * samples the table first (its requests are counted against dynalite in dynamodb-requests.int.test.ts).
 */
export function makeStore(opts: DynamoDBStoreOptions = {}): DynamoDBStore {
  const format = opts.format ?? (opts.digest === undefined ? 'gcm' : undefined);
  return new DynamoDBStore({
    region: 'us-east-1',
    dynamodb: new DynamoDBClient({ region: 'us-east-1' }),
    kms: new KMSClient({ region: 'us-east-1' }),
    ...opts,
    ...(format === undefined ? {} : { format }),
  });
}

export const pad = (v: number | string): string => String(v).padStart(19, '0');

export const NODE_HASH: Record<string, string> = { SHA: 'sha1', SHA224: 'sha224', SHA256: 'sha256', SHA384: 'sha384', SHA512: 'sha512', MD5: 'md5' };

/**
 * A Python credstash item, built from the documented steps: 64-byte data key, AES-256-CTR with counter
 * 00..01 over the UTF-8 value, HMAC-<digest>(key[32:64], ciphertext) as lowercase hex, base64 key/contents.
 */
export function pythonItem(
  fake: FakeKms,
  o: {
    name: string;
    version: string;
    value: string;
    context?: Record<string, string>;
    digest?: string | null;
    hmacAs?: 'S' | 'B';
    keyAs?: 'S' | 'B';
    comment?: string;
  },
): Item {
  const dataKey = randomBytes(64);
  const blob = fake.wrap(dataKey, o.context ?? {});
  const digest = o.digest === null ? 'SHA256' : (o.digest ?? 'SHA256');
  const cipher = createCipheriv('aes-256-ctr', dataKey.subarray(0, 32), Buffer.from('00000000000000000000000000000001', 'hex'));
  const ct = Buffer.concat([cipher.update(Buffer.from(o.value, 'utf8')), cipher.final()]);
  const hex = createHmac(NODE_HASH[digest] as string, dataKey.subarray(32)).update(ct).digest('hex');
  const b64 = (b: Buffer): AttributeValue => (o.keyAs === 'B' ? { B: Buffer.from(b.toString('base64'), 'ascii') } : { S: b.toString('base64') });
  const item: Item = {
    name: { S: o.name },
    version: { S: o.version },
    key: b64(blob),
    contents: b64(ct),
    hmac: o.hmacAs === 'B' ? { B: Buffer.from(hex, 'ascii') } : { S: hex },
  };
  if (o.digest !== null) item.digest = { S: digest };
  if (o.comment !== undefined) item.comment = { S: o.comment };
  return item;
}
