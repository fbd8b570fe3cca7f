/**
 * The KMS + DynamoDB envelope tier. `createDynamoDBStore` is the registry factory (`type = "dynamodb"`);
 * library users may also `new DynamoDBStore({...})` from the `credstash-ts/dynamodb` subpath.
 */
import { ConfigError } from '../../core/errors.js';
import { checkStoreConfigKeys, type StoreFactoryContext } from '../../core/factory.js';
import { DynamoDBStore, type DynamoDBStoreOptions } from './dynamodb-store.js';

export { DynamoDBStore, DEFAULT_TABLE, DEFAULT_KMS_KEY, DEFAULT_DYNAMODB_GETALL_CONCURRENCY } from './dynamodb-store.js';
export type { DynamoDBNotice, DynamoDBStoreOptions, DynamoDBWriteFormat } from './dynamodb-store.js';
export { ASSUME_ROLE_SESSION_NAME } from './dynamodb-clients.js';

const STRING_KEYS = {
  table: 'table',
  region: 'region',
  kms_region: 'kmsRegion',
  kms_key: 'kmsKey',
  endpoint_url: 'endpointUrl',
  kms_endpoint_url: 'kmsEndpointUrl',
  profile: 'profile',
  role_arn: 'roleArn',
  format: 'format',
  digest: 'digest',
  lifecycle_table: 'lifecycleTable',
} as const;
const INT_KEYS = { getall_concurrency: 'getallConcurrency', max_attempts: 'maxAttempts', request_timeout_ms: 'requestTimeoutMs' } as const;

/**
 * Registry factory: `[credential_store.config]` keys (snake_case) → DynamoDBStoreOptions.
 * Keys: table, lifecycle_table (default `<table>-lifecycle`: labels and rotation state), region, kms_region, kms_key, endpoint_url, kms_endpoint_url, profile, role_arn, format
 * ("auto" default: follow the table | "gcm" | "legacy"; see DynamoDBStoreOptions.format), digest (implies legacy), getall_concurrency, max_attempts, request_timeout_ms (default 10000). Unset or empty-string keys fall back
 * to the SDK chain / defaults.
 * @throws ConfigError naming the key for an unknown key or a value of the wrong type
 */
export function createDynamoDBStore(config: Record<string, unknown>, ctx?: StoreFactoryContext): DynamoDBStore {
  const opts: Record<string, unknown> = {};
  checkStoreConfigKeys('dynamodb', config, [...Object.keys(STRING_KEYS), ...Object.keys(INT_KEYS)]);
  for (const [k, v] of Object.entries(config)) {
    const path = `credential_store.config.${k}`;
    if (v === undefined || v === null) continue;
    if (Object.prototype.hasOwnProperty.call(STRING_KEYS, k)) {
      if (typeof v !== 'string') throw new ConfigError(`${path} must be a string`, { path, store: 'dynamodb' });
      if (v !== '') opts[STRING_KEYS[k as keyof typeof STRING_KEYS]] = v;
    } else if (Object.prototype.hasOwnProperty.call(INT_KEYS, k)) {
      const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
      if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1) throw new ConfigError(`${path} must be a positive integer`, { path, store: 'dynamodb' });
      opts[INT_KEYS[k as keyof typeof INT_KEYS]] = n;
    }
  }
  try {
    if (ctx?.notice !== undefined) opts.onNotice = ctx.notice;
    if (ctx?.mfaCodeProvider !== undefined) opts.mfaCodeProvider = ctx.mfaCodeProvider;
    if (ctx?.shortLived === true) opts.light = true;
    return new DynamoDBStore(opts as DynamoDBStoreOptions);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const message = err instanceof Error ? err.message : 'invalid dynamodb store config';
    throw new ConfigError(`credential_store.config: ${message}`, { store: 'dynamodb' });
  }
}
