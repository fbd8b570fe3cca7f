/**
 * Subpath entry `credstash-ts/ssm`: importing it loads @aws-sdk/client-ssm. The main entry never does.
 */
import { ConfigError } from '../../core/errors.js';
import { readStoreConfig, type StoreFactory } from '../../core/factory.js';
import { SSMStore, type SSMTier } from './ssm-store.js';

export { SSMStore, DEFAULT_SSM_PREFIX, decodeSsmValue, definitionTags, tagsToDefinition } from './ssm-store.js';
export type { SSMStoreOptions, SSMTier } from './ssm-store.js';

const KEYS = ['prefix', 'kms_key', 'region', 'endpoint_url', 'profile', 'role_arn', 'tier', 'max_attempts', 'request_timeout_ms'] as const;

/**
 * `[credential_store] type = "ssm"`; config keys: prefix, kms_key, region, endpoint_url, profile (-p),
 * role_arn (-n), tier (Standard | Advanced | Intelligent-Tiering), max_attempts (SDK attempts per request,
 * default 3), request_timeout_ms (default 10000). AWS_REGION / AWS_ENDPOINT_URL_SSM / AWS_PROFILE work through
 * the SDK's chain.
 */
export const createSSMStore: StoreFactory = (config, ctx) => {
  const c = readStoreConfig('ssm', config, KEYS);
  const int = (key: 'max_attempts' | 'request_timeout_ms'): number | undefined => c.positiveInt(key, { fromString: true });
  const str = (key: (typeof KEYS)[number]): string | undefined => c.string(key);
  const tier = c.oneOf('tier', ['Standard', 'Advanced', 'Intelligent-Tiering']);
  const prefix = str('prefix');
  const kmsKeyId = str('kms_key');
  const region = str('region');
  const endpoint = str('endpoint_url');
  const profile = str('profile');
  const roleArn = str('role_arn');
  const maxAttempts = int('max_attempts');
  const requestTimeoutMs = int('request_timeout_ms');
  try {
    return new SSMStore({
      ...(prefix === undefined ? {} : { prefix }),
      ...(kmsKeyId === undefined ? {} : { kmsKeyId }),
      ...(region === undefined ? {} : { region }),
      ...(endpoint === undefined ? {} : { endpoint }),
      ...(profile === undefined ? {} : { profile }),
      ...(roleArn === undefined ? {} : { roleArn }),
      ...(ctx?.mfaCodeProvider === undefined ? {} : { mfaCodeProvider: ctx.mfaCodeProvider }),
      ...(tier === undefined ? {} : { tier: tier satisfies SSMTier }),
      ...(maxAttempts === undefined ? {} : { maxAttempts }),
      ...(requestTimeoutMs === undefined ? {} : { requestTimeoutMs }),
    });
  } catch (err) {
    throw new ConfigError(err instanceof Error ? err.message : 'bad ssm store config', { path: 'credential_store.config.prefix' });
  }
};
