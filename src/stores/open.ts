/**
 * Opening the store a configuration names, the same way for the CLI and for `credstash-ts/config`: the
 * custom store module first (only from a trusted file), then `${credential:...}` references in the store
 * config, then the registry's factory, then the decorators every store opened for a configuration gets
 * (the audit log). Above the registry and the tiers; it knows no config file format (src/config reads
 * that and hands over a {@link StoreOpenConfig}).
 */
import { importFile } from '../core/import-file.js';
import { ConfigError } from '../core/errors.js';
import { assertTrustedModule } from '../core/file-trust.js';
import type { CredentialStore } from '../core/store.js';
import { openStore, registeredStoreTypes, type StoreFactoryContext, type StoreSpec } from './registry.js';

/** What opening a configured store needs (src/config's ResolvedConfig is one). */
export interface StoreOpenConfig {
  /** The store to open. */
  store: StoreSpec;
  /** Relative store paths resolve against it (the config file's folder, or the working directory). */
  baseDir: string;
  /** First encrypts, every key decrypts. */
  fernetKeys: string[];
  /** Absolute path of the audit log, or undefined for none. */
  auditLog?: string;
  /** The store that `${credential:...}` in the store config read from (default: the local keystore). */
  referencesFrom?: StoreSpec;
  /** Absolute path of a module that registers `store.type`; imported before the store is opened. */
  storeModule?: string;
  /** The config file, for messages only. */
  file?: string;
}

/** How the opener hears of a write whose outcome the audit log could not record (the write's own result stands). */
export interface AuditHooks {
  onAuditIncomplete?: (message: string) => void;
}

/**
 * Open the configured store through the registry (lazy tier import): relative paths resolve against the
 * config file's folder, Fernet keys come from the config.
 * @throws ConfigError for an unknown store type or a bad store config
 */
export async function openConfiguredStore(
  config: StoreOpenConfig,
  env: NodeJS.ProcessEnv = process.env,
  hooks: Pick<StoreFactoryContext, 'notice' | 'mfaCodeProvider' | 'shortLived'> & AuditHooks = {},
): Promise<CredentialStore> {
  const { onAuditIncomplete, ...storeHooks } = hooks;
  const audit: AuditHooks = onAuditIncomplete === undefined ? {} : { onAuditIncomplete };
  const ctx = { baseDir: config.baseDir, fernetKeys: config.fernetKeys, env, ...storeHooks };
  if (config.storeModule !== undefined) await importStoreModule(config.storeModule, config.store.type, config.file);
  // `${credential:...}` in the store config (e.g. a database password held in the local keystore). The
  // resolver (and the reference parser) load only when some string in the config could hold one. The store
  // they are read from is a store opened for this config like any other: audited the same way.
  let spec = config.store;
  if (mayHoldReference(spec.config)) {
    const { resolveStoreConfigReferences } = await import('../references/store-config.js');
    spec = await resolveStoreConfigReferences(spec, config.referencesFrom, ctx, async (s) => decorateStore(await openStore(s, ctx), config, audit));
  }
  return decorateStore(await openStore(spec, ctx), config, audit);
}

/**
 * What every store opened for a config is wrapped in, whichever way it was named (the config's own store,
 * a `migrate --from/--to` spec, the `references_from` store): today the audit log. Every path that opens a
 * store for the CLI goes through {@link openConfiguredStore}, and so through this.
 */
async function decorateStore(store: CredentialStore, config: StoreOpenConfig, audit: AuditHooks = {}): Promise<CredentialStore> {
  if (config.auditLog === undefined) return store;
  // `audit_log` / CREDSTASH_AUDIT_LOG: JSON lines of every access (src/audit), loaded only when configured.
  const { withAuditLog } = await import('../audit/index.js');
  return withAuditLog(store, config.auditLog, audit.onAuditIncomplete === undefined ? {} : { onIncomplete: audit.onAuditIncomplete });
}

/**
 * False only when no string in `node` (at any depth, keys included) contains `${credential:`, the opening
 * every reference and every escaped one starts with: then the store config holds no reference and
 * resolveStoreConfigReferences would return it unchanged.
 */
export function mayHoldReference(node: unknown): boolean {
  if (typeof node === 'string') return node.includes('${credential:');
  if (node === null || typeof node !== 'object') return false;
  return Object.entries(node).some(([k, v]) => k.includes('${credential:') || mayHoldReference(v));
}

/**
 * Import a custom store module; it must have registered `type`. Import failures name the file and the
 * error's code or class, never its message (a module's own errors were not written by us).
 * @param file the config file that names the module, for messages only
 * @throws ConfigError
 */
export async function importStoreModule(path: string, type: string, file?: string): Promise<void> {
  const at = `${file === undefined ? '' : `${file}: `}credential_store.module`;
  // Code run with the user's AWS keys, Vault token and Fernet keys in reach: only from files nobody else can change.
  assertTrustedModule(path, at);
  try {
    await importFile(path);
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(`${at}: ${path}: ${err.message}`, { path: 'credential_store.module' });
    const why = (err as NodeJS.ErrnoException | undefined)?.code ?? (err instanceof Error ? err.name : typeof err);
    throw new ConfigError(`${at}: cannot load ${path} (${why})`, { path: 'credential_store.module', cause: err });
  }
  if (!registeredStoreTypes().includes(type)) {
    throw new ConfigError(`${at}: ${path} did not register store type "${type}"; call registerCredentialStore("${type}", factory) in it`, {
      path: 'credential_store.module',
    });
  }
}
