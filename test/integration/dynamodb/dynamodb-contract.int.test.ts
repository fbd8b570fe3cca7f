import { afterAll, beforeAll } from 'vitest';
import { DynamoDBStore } from '../../../src/stores/dynamodb/index.js';
import { MAX_VALUE_BYTES } from '../../../src/stores/dynamodb/dynamodb-item-codec.js';
import { runStoreContract } from '../../contract/credential-store.contract.js';
import { startDynalite, type DynaliteHandle } from '../../fixtures/dynalite.js';
import { startKmsEndpoint, type KmsEndpointHandle } from '../../fixtures/kms-endpoint.js';

let ddb: DynaliteHandle;
let kms: KmsEndpointHandle;
let n = 0;

beforeAll(async () => {
  [ddb, kms] = await Promise.all([startDynalite(), startKmsEndpoint()]);
});
afterAll(async () => {
  await Promise.all([ddb?.close(), kms?.close()]);
});

/** A fresh table per test: setup() through the store itself. */
async function freshStore(extra: Record<string, unknown> = {}): Promise<DynamoDBStore> {
  const store = new DynamoDBStore({ table: `contract-${++n}`, region: 'us-east-1', endpointUrl: ddb.endpoint, kmsEndpointUrl: kms.endpoint, ...extra });
  await store.setup();
  return store;
}

runStoreContract('dynamodb (dynalite, aes-gcm)', () => freshStore(), { context: true, maxValueBytes: MAX_VALUE_BYTES, racers: 8 });
