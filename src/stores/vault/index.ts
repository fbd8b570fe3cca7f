/** Subpath entry `credstash-ts/vault` (no SDK: Node's fetch). */
import { ConfigError } from '../../core/errors.js';
import { resolveUserPath } from '../../core/paths.js';
import { readStoreConfig, type StoreFactory } from '../../core/factory.js';
import { VaultStore, type VaultStoreOptions } from './vault-store.js';

export { VaultStore, encodeKv, decodeKv, decodeKvStored, DEFAULT_VAULT_LIFECYCLE_PREFIX } from './vault-store.js';
export type { VaultStoreOptions, VaultAppRole } from './vault-store.js';

const KEYS = ['address', 'token', 'token_file', 'namespace', 'mount', 'prefix', 'lifecycle_prefix', 'approle', 'delete_mode', 'max_value_bytes', 'timeout_ms'] as const;

/**
 * `[credential_store] type = "vault"`; config keys: address, token, token_file, namespace, mount (default
 * "secret"), prefix (scope, e.g. "prod/"), lifecycle_prefix (folder of the label and rotation records, default
 * "_credstash_lifecycle/"), approle = { role_id, secret_id, mount = "approle" },
 * delete_mode ("soft" | "destroy"), max_value_bytes, timeout_ms. VAULT_ADDR, VAULT_TOKEN and VAULT_NAMESPACE
 * apply when the config does not say otherwise. A relative token_file resolves against the config's folder; `~/` is the home folder.
 */
export const createVaultStore: StoreFactory = (config, ctx) => {
  const c = readStoreConfig('vault', config, KEYS);
  const at = (k: string): string => `credential_store.config.${k}`;
  const str = (k: (typeof KEYS)[number]): string | undefined => c.string(k);
  const num = (k: (typeof KEYS)[number]): number | undefined => c.positiveInt(k);
  const opts: VaultStoreOptions = { env: ctx.env };
  const set = <K extends keyof VaultStoreOptions>(k: K, v: VaultStoreOptions[K] | undefined): void => {
    if (v !== undefined) opts[k] = v;
  };
  set('address', str('address'));
  set('token', str('token'));
  const tokenFile = str('token_file');
  set('tokenFile', tokenFile === undefined ? undefined : resolveUserPath(tokenFile, ctx.baseDir, ctx.env));
  set('namespace', str('namespace'));
  set('mount', str('mount'));
  set('prefix', str('prefix'));
  set('lifecyclePrefix', str('lifecycle_prefix'));
  set('maxValueBytes', num('max_value_bytes'));
  set('timeoutMs', num('timeout_ms'));
  set('deleteMode', c.oneOf('delete_mode', ['soft', 'destroy']));
  const ar = config.approle;
  if (ar !== undefined) {
    const a = ar as Record<string, unknown>;
    if (ar === null || typeof ar !== 'object' || typeof a.role_id !== 'string' || typeof a.secret_id !== 'string' || (a.mount !== undefined && typeof a.mount !== 'string')) {
      throw new ConfigError('vault store "approle" must be { role_id = "...", secret_id = "...", mount = "approle" }', { path: at('approle') });
    }
    opts.appRole = { roleId: a.role_id, secretId: a.secret_id, ...(typeof a.mount === 'string' ? { mount: a.mount } : {}) };
  }
  return new VaultStore(opts);
};
