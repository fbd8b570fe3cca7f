/** Subpath entry `credstash-ts/vault` (no SDK: Node's fetch). */
import { isAbsolute, resolve } from 'node:path';
import { ConfigError } from '../../core/errors.js';
import type { StoreFactory } from '../registry.js';
import { VaultStore, type VaultStoreOptions } from './vault-store.js';

export { VaultStore, encodeKv, decodeKv } from './vault-store.js';
export type { VaultStoreOptions, VaultAppRole } from './vault-store.js';

const KEYS = ['address', 'token', 'token_file', 'namespace', 'mount', 'prefix', 'approle', 'delete_mode', 'max_value_bytes', 'timeout_ms'] as const;

/**
 * `[credential_store] type = "vault"`; config keys: address, token, token_file, namespace, mount (default
 * "secret"), prefix (scope, e.g. "prod/"), approle = { role_id, secret_id, mount = "approle" },
 * delete_mode ("soft" | "destroy"), max_value_bytes, timeout_ms. VAULT_ADDR, VAULT_TOKEN and VAULT_NAMESPACE
 * apply when the config does not say otherwise. A relative token_file resolves against the config's folder.
 */
export const createVaultStore: StoreFactory = (config, ctx) => {
  const at = (k: string): string => `credential_store.config.${k}`;
  for (const key of Object.keys(config)) {
    if (!(KEYS as readonly string[]).includes(key)) throw new ConfigError(`vault store does not know config key "${key}"; known: ${KEYS.join(', ')}`, { path: at(key) });
  }
  const str = (k: string): string | undefined => {
    const v = config[k];
    if (v !== undefined && (typeof v !== 'string' || v.length === 0)) throw new ConfigError(`vault store "${k}" must be a non-empty string`, { path: at(k) });
    return v as string | undefined;
  };
  const num = (k: string): number | undefined => {
    const v = config[k];
    if (v !== undefined && (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1)) throw new ConfigError(`vault store "${k}" must be a positive integer`, { path: at(k) });
    return v as number | undefined;
  };
  const opts: VaultStoreOptions = { env: ctx.env };
  const set = <K extends keyof VaultStoreOptions>(k: K, v: VaultStoreOptions[K] | undefined): void => {
    if (v !== undefined) opts[k] = v;
  };
  set('address', str('address'));
  set('token', str('token'));
  const tokenFile = str('token_file');
  set('tokenFile', tokenFile === undefined ? undefined : isAbsolute(tokenFile) ? tokenFile : resolve(ctx.baseDir, tokenFile));
  set('namespace', str('namespace'));
  set('mount', str('mount'));
  set('prefix', str('prefix'));
  set('maxValueBytes', num('max_value_bytes'));
  set('timeoutMs', num('timeout_ms'));
  const mode = str('delete_mode');
  if (mode !== undefined && mode !== 'soft' && mode !== 'destroy') throw new ConfigError('vault store "delete_mode" must be "soft" or "destroy"', { path: at('delete_mode') });
  set('deleteMode', mode as 'soft' | 'destroy' | undefined);
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
