import { ConfigError } from '../../core/errors.js';
import type { StoreFactory } from '../registry.js';
import { EnvStore } from './env-store.js';

export { EnvStore, envNameForId, parseEnvValue, DEFAULT_ENV_PREFIX } from './env-store.js';
export type { EnvStoreOptions } from './env-store.js';

/** `[credential_store] type = "env"`, config `{ prefix = "CREDSTASH_CREDENTIAL_" }`. */
export const createEnvStore: StoreFactory = (config, ctx) => {
  const prefix = config.prefix;
  if (prefix !== undefined && (typeof prefix !== 'string' || prefix.length === 0)) {
    throw new ConfigError('env store "prefix" must be a non-empty string', { path: 'credential_store.config.prefix' });
  }
  for (const key of Object.keys(config)) {
    if (key !== 'prefix') throw new ConfigError(`env store does not know config key "${key}"`, { path: `credential_store.config.${key}` });
  }
  return new EnvStore({ prefix, env: ctx.env });
};
