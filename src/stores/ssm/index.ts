/**
 * Subpath entry `credstash-ts/ssm`: importing it loads @aws-sdk/client-ssm. The main entry never does.
 */
import { ConfigError } from '../../core/errors.js';
import type { StoreFactory } from '../registry.js';
import { SSMStore, type SSMTier } from './ssm-store.js';

export { SSMStore, DEFAULT_SSM_PREFIX, decodeSsmValue, definitionTags, tagsToDefinition } from './ssm-store.js';
export type { SSMStoreOptions, SSMTier } from './ssm-store.js';

const KEYS = ['prefix', 'kms_key', 'region', 'endpoint_url', 'tier'] as const;

/**
 * `[credential_store] type = "ssm"`; config keys: prefix, kms_key, region, endpoint_url, tier
 * (Standard | Advanced | Intelligent-Tiering). AWS_REGION / AWS_ENDPOINT_URL_SSM work through the SDK's chain.
 */
export const createSSMStore: StoreFactory = (config) => {
  for (const key of Object.keys(config)) {
    if (!(KEYS as readonly string[]).includes(key)) throw new ConfigError(`ssm store does not know config key "${key}"; known: ${KEYS.join(', ')}`, { path: `credential_store.config.${key}` });
  }
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
  try {
    return new SSMStore({
      ...(prefix === undefined ? {} : { prefix }),
      ...(kmsKeyId === undefined ? {} : { kmsKeyId }),
      ...(region === undefined ? {} : { region }),
      ...(endpoint === undefined ? {} : { endpoint }),
      ...(tier === undefined ? {} : { tier: tier as SSMTier }),
    });
  } catch (err) {
    throw new ConfigError(err instanceof Error ? err.message : 'bad ssm store config', { path: 'credential_store.config.prefix' });
  }
};
