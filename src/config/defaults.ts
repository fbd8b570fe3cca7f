/**
 * Defaults shared by the CLI and the library, so both behave the same (after concurrently's `src/defaults.ts`).
 * Python credstash values where a Python user would notice a difference.
 */
import type { StoreSpec } from '../stores/registry.js';

/** Python credstash's table (`-t`, `CREDSTASH_DEFAULT_TABLE`). */
export const DEFAULT_TABLE = 'credential-store';
/** Python credstash's KMS key (`put -k`). */
export const DEFAULT_KMS_KEY = 'alias/credstash';
/** Python credstash falls back to this region when boto finds none (docs/FORMAT.md §7). */
export const DEFAULT_REGION = 'us-east-1';
/** Python credstash's default digest for legacy items. */
export const DEFAULT_DIGEST = 'SHA256';
export const LEGACY_DIGESTS = ['SHA', 'SHA224', 'SHA256', 'SHA384', 'SHA512', 'MD5'] as const;
/** `--format` / CREDSTASH_FORMAT / `format` of a DynamoDB write (auto follows the table; see DynamoDBStoreOptions.format). */
export const WRITE_FORMATS = ['auto', 'gcm', 'legacy'] as const;

/** The project config file name, looked up in the working directory and in the user config folder. */
export const CONFIG_FILE_NAME = 'credstash.toml';
/** Keystore path written by `credstash init`, relative to the config file's folder. */
export const DEFAULT_LOCAL_KEYSTORE_PATH = '.credstash/keystore.json';

/** With no config at all, the CLI behaves like Python credstash. Returns a fresh object each call. */
export function defaultStoreSpec(): StoreSpec {
  return { type: 'dynamodb', config: { table: DEFAULT_TABLE, kms_key: DEFAULT_KMS_KEY } };
}

/** Environment variables the config layer reads (docs/config.md). */
export const ENV = {
  config: 'CREDSTASH_CONFIG',
  fernetKey: 'CREDSTASH_FERNET_KEY',
  defaultTable: 'CREDSTASH_DEFAULT_TABLE',
  /** DynamoDB write format of new versions: auto (default), gcm or legacy. */
  format: 'CREDSTASH_FORMAT',
  storeType: 'CREDSTASH_STORE_TYPE',
  auditLog: 'CREDSTASH_AUDIT_LOG',
  debug: 'CREDSTASH_DEBUG',
} as const;
