/**
 * Subpath entry `credstash-ts/ssm`: importing it loads @aws-sdk/client-ssm. The main entry never does.
 */
import { ConfigError } from '../../core/errors.js';
import type { StoreFactory } from '../registry.js';
import { SSMStore, type SSMTier } from './ssm-store.js';

export { SSMStore, DEFAULT_SSM_PREFIX, decodeSsmValue, definitionTags, tagsToDefinition } from './ssm-store.js';
export type { SSMStoreOptions, SSMTier } from './ssm-store.js';

const KEYS = ['prefix', 'kms_key', 'region', 'endpoint_url', 'tier', 'max_attempts', 'request_timeout_ms'] as const;

/**
 * `[credential_store] type = "ssm"`; config keys: prefix, kms_key, region, endpoint_url, tier
 * (Standard | Advanced | Intelligent-Tiering), max_attempts (SDK attempts per request, default 3),
 * request_timeout_ms (default 10000). AWS_REGION / AWS_ENDPOINT_URL_SSM work through the SDK's chain.
 */
export const createSSMStore: StoreFactory = (config) => {
  for (const key of Object.keys(config)) {
    if (!(KEYS as readonly string[]).includes(key)) throw new ConfigError(`ssm store does not know config key "${key}"; known: ${KEYS.join(', ')}`, { path: `credential_store.config.${key}` });
  }
  const int = (key: 'max_attempts' | 'request_timeout_ms'): number | undefined => {
    const raw = config[key];
    if (raw === undefined) return undefined;
    const n = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : raw;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1) throw new ConfigError(`ssm store "${key}" must be a positive integer`, { path: `credential_store.config.${key}` });
    return n;
  };
  const str = (key: (typeof KEYS)[number]): string | undefined => {
    const v = config[key];
    if (v !== undefined && (typeof v !== 'string' || v.length === 0)) throw new ConfigError(`ssm store "${key}" must be a non-empty string`, { path: `credential_store.config.${key}` });
    return v as string | undefined;
  };
  const tier = str('tier');
  if (tier !== undefined && !['Standard', 'Advanced', 'Intelligent-Tiering'].includes(tier)) {
    throw new ConfigError('ssm store "tier" must be Standard, Advanced or Intelligent-Tiering', { path: 'credential_store.config.tier' });
  }
  const prefix = str('prefix');
  const kmsKeyId = str('kms_key');
  const region = str('region');
  const endpoint = str('endpoint_url');
  const maxAttempts = int('max_attempts');
  const requestTimeoutMs = int('request_timeout_ms');
  try {
    return new SSMStore({
      ...(prefix === undefined ? {} : { prefix }),
      ...(kmsKeyId === undefined ? {} : { kmsKeyId }),
      ...(region === undefined ? {} : { region }),
      ...(endpoint === undefined ? {} : { endpoint }),
      ...(tier === undefined ? {} : { tier: tier as SSMTier }),
      ...(maxAttempts === undefined ? {} : { maxAttempts }),
      ...(requestTimeoutMs === undefined ? {} : { requestTimeoutMs }),
    });
  } catch (err) {
    throw new ConfigError(err instanceof Error ? err.message : 'bad ssm store config', { path: 'credential_store.config.prefix' });
  }
};
