import { ConfigError } from '../../core/errors.js';
import type { CredentialStore } from '../../core/store.js';
import { checkStoreConfigKeys, type StoreFactory, type StoreSpec } from '../../core/factory.js';
import { ChainStore, type ChainMember } from './chain-store.js';

export { ChainStore } from './chain-store.js';
export type { ChainMember, ChainWriteOptions, ChainDeleteOptions } from './chain-store.js';

/**
 * `[credential_store] type = "chain"`:
 *
 * ```toml
 * [credential_store.config]
 * stores = [
 *   { type = "local", name = "project", config = { path = ".credstash/keystore.json" } },
 *   { type = "env", name = "env" },
 * ]
 * ```
 *
 * or the Airflow-like preset (an alternative backend first, then the database, then env):
 *
 * ```toml
 * [credential_store.config]
 * preset = "airflow"
 * backend = { type = "vault", config = { address = "https://vault:8200" } }   # optional
 * database = { type = "sql", config = { engine = { name = "sqlite", config = { path = "creds.db" } } } }
 * env = { prefix = "CREDSTASH_CREDENTIAL_" }                                   # optional
 * ```
 */
export const createChainStore: StoreFactory = async (config, ctx) => {
  const specs = chainSpecs(config);
  const members: ChainMember[] = [];
  try {
    for (const [i, spec] of specs.entries()) {
      members.push({ name: spec.name ?? `${spec.type}#${i + 1}`, store: await ctx.openStore(spec) });
    }
    return new ChainStore(members);
  } catch (err) {
    await Promise.allSettled(members.map((m: { store: CredentialStore }) => m.store.close()));
    throw err;
  }
};

/** The member specs a chain config describes, in search order. */
export function chainSpecs(config: Record<string, unknown>): StoreSpec[] {
  const preset = config.preset;
  if (preset !== undefined) {
    if (preset !== 'airflow') throw new ConfigError(`unknown chain preset "${String(preset)}"; known presets: airflow`, { path: 'credential_store.config.preset' });
    if (config.stores !== undefined) throw new ConfigError('a chain takes either "preset" or "stores", not both', { path: 'credential_store.config.stores' });
    checkStoreConfigKeys('chain (preset "airflow")', config, ['preset', 'backend', 'database', 'env']);
    const out: StoreSpec[] = [];
    if (config.backend !== undefined) out.push({ ...memberSpec(config.backend, 'credential_store.config.backend'), name: 'backend' });
    out.push({ ...(config.database === undefined ? { type: 'sql' } : memberSpec(config.database, 'credential_store.config.database')), name: 'database' });
    const env = config.env;
    if (env !== undefined && (env === null || typeof env !== 'object' || Array.isArray(env))) {
      throw new ConfigError('chain preset "airflow": "env" must be a table of env store config', { path: 'credential_store.config.env' });
    }
    out.push({ type: 'env', name: 'env', config: (env as Record<string, unknown> | undefined) ?? {} });
    return out;
  }
  const stores = config.stores;
  if (!Array.isArray(stores) || stores.length === 0) {
    throw new ConfigError('a chain needs "stores = [{ type = ..., name = ..., config = {...} }, ...]" or "preset = \\"airflow\\""', {
      path: 'credential_store.config.stores',
    });
  }
  checkStoreConfigKeys('chain', config, ['stores']);
  const specs = stores.map((s, i) => memberSpec(s, `credential_store.config.stores[${i}]`));
  const names = new Set<string>();
  for (const [i, s] of specs.entries()) {
    const name = s.name ?? `${s.type}#${i + 1}`;
    if (names.has(name)) throw new ConfigError(`chain store name "${name}" is used twice`, { path: `credential_store.config.stores[${i}].name` });
    names.add(name);
  }
  return specs;
}

function memberSpec(raw: unknown, path: string): StoreSpec {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(`${path} must be a table with "type"`, { path });
  const r = raw as Record<string, unknown>;
  if (typeof r.type !== 'string' || r.type.length === 0) throw new ConfigError(`${path}.type must be a store type name`, { path: `${path}.type` });
  if (r.name !== undefined && (typeof r.name !== 'string' || r.name.length === 0)) throw new ConfigError(`${path}.name must be a non-empty string`, { path: `${path}.name` });
  if (r.config !== undefined && (r.config === null || typeof r.config !== 'object' || Array.isArray(r.config))) {
    throw new ConfigError(`${path}.config must be a table`, { path: `${path}.config` });
  }
  for (const key of Object.keys(r)) {
    if (!['type', 'name', 'config'].includes(key)) throw new ConfigError(`${path} does not know key "${key}"`, { path: `${path}.${key}` });
  }
  const spec: StoreSpec = { type: r.type };
  if (typeof r.name === 'string') spec.name = r.name;
  if (r.config !== undefined) spec.config = r.config as Record<string, unknown>;
  return spec;
}
