import { ConfigError } from '../../core/errors.js';
import { resolveUserPath } from '../../core/paths.js';
import { checkStoreConfigKeys, type StoreFactoryContext } from '../../core/factory.js';
import { fernetKeysFrom } from '../fernet-codec.js';
import { LocalStore } from './local-store.js';

export { LocalStore, LOCAL_MAX_VALUE_BYTES } from './local-store.js';
export type { LocalStoreOptions } from './local-store.js';
export { KEYSTORE_FORMAT, KEYSTORE_FORMAT_VERSION } from './local-keystore-file.js';

/** Where the keystore lives when the config names no path: inside the project, beside credstash.toml. */
export const DEFAULT_KEYSTORE_PATH = '.credstash/keystore.json';

const KNOWN_KEYS = ['path', 'lock_timeout_ms'] as const;

/**
 * Factory for `[credential_store] type = "local"`. Config keys: `path` (default `.credstash/keystore.json`,
 * relative to the config file's folder, `~` expanded) and `lock_timeout_ms` (default 10000).
 * @throws ConfigError naming the bad key
 */
export function createLocalStore(config: Record<string, unknown>, ctx: Pick<StoreFactoryContext, 'baseDir' | 'fernetKeys' | 'env'>): LocalStore {
  checkStoreConfigKeys('local', config, KNOWN_KEYS);
  const raw = config.path ?? DEFAULT_KEYSTORE_PATH;
  if (typeof raw !== 'string' || raw.trim().length === 0) {
    throw new ConfigError('credential_store.config.path must be a non-empty string', { path: 'credential_store.config.path' });
  }
  const timeout = config.lock_timeout_ms;
  if (timeout !== undefined && (typeof timeout !== 'number' || !Number.isSafeInteger(timeout) || timeout < 0)) {
    throw new ConfigError('credential_store.config.lock_timeout_ms must be a non-negative integer', { path: 'credential_store.config.lock_timeout_ms' });
  }
  return new LocalStore({
    path: resolveKeystorePath(raw, ctx.baseDir, ctx.env),
    fernetKeys: fernetKeysFrom(ctx),
    lock: timeout === undefined ? {} : { timeoutMs: timeout },
  });
}

/** `~` and `~/x` expand to the home folder; relative paths resolve against `baseDir`. */
export function resolveKeystorePath(path: string, baseDir: string, env: NodeJS.ProcessEnv = process.env): string {
  return resolveUserPath(path, baseDir, env);
}
