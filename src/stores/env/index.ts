import { readStoreConfig, type StoreFactory } from '../../core/factory.js';
import { EnvStore } from './env-store.js';

export { EnvStore, envNameForId, parseEnvValue, DEFAULT_ENV_PREFIX } from './env-store.js';
export type { EnvStoreOptions } from './env-store.js';

/** `[credential_store] type = "env"`, config `{ prefix = "CREDSTASH_CREDENTIAL_" }`. */
export const createEnvStore: StoreFactory = (config, ctx) => {
  const prefix = readStoreConfig('env', config, ['prefix']).string('prefix');
  return new EnvStore({ prefix, env: ctx.env });
};
