import { ConfigError } from '../core/errors.js';
import type { StoreFactory, StoreFactoryContext, StoreSpec } from '../core/factory.js';
import type { CredentialStore } from '../core/store.js';

// The factory types live in core (so that a tier's index file never imports the registry that imports it).
export type { StoreSpec, StoreFactory, StoreFactoryContext } from '../core/factory.js';

/**
 * Built-in tiers, each imported only when a config names it (so `credstash get` on the local
 * tier never loads the AWS SDK). Adding a tier = its folder plus one line here.
 */
const BUILTIN: Record<string, () => Promise<StoreFactory>> = {
  chain: async () => (await import('./chain/index.js')).createChainStore,
  env: async () => (await import('./env/index.js')).createEnvStore,
  ssm: async () => (await import('./ssm/index.js')).createSSMStore,
  vault: async () => (await import('./vault/index.js')).createVaultStore,
  dynamodb: async () => (await import('./dynamodb/index.js')).createDynamoDBStore,
  local: async () => (await import('./local/index.js')).createLocalStore,
  sql: async () => (await import('./sql/index.js')).createSqlStore,
};

/**
 * Custom types live in one map per process (Symbol.for), shared by every copy of credstash-ts: a store
 * module named by `credential_store.module` imports the installed package and registers there, and the
 * bundled CLI, a second copy, finds the type (docs/config.md "Custom stores").
 */
const CUSTOM_KEY = Symbol.for('credstash-ts.custom-stores');
const custom: Map<string, StoreFactory> = ((globalThis as { [CUSTOM_KEY]?: Map<string, StoreFactory> })[CUSTOM_KEY] ??= new Map());

/**
 * Register a custom store type, usable from config as `[credential_store] type = "<type>"`.
 *
 * @example
 * ```ts
 * registerCredentialStore('memory', (config) => new MemoryStore(String(config.label ?? 'memory')));
 * const store = await openStore({ type: 'memory', config: { label: 'tests' } });
 * ```
 * @throws ConfigError when the type name is not lower-case letters, digits, `-` or `_` (starting with a
 *   letter), or names a built-in tier. Registering a custom type again replaces it.
 */
export function registerCredentialStore(type: string, factory: StoreFactory): void {
  if (!/^[a-z][a-z0-9_-]*$/.test(type)) throw new ConfigError(`store type "${type}" must be lower-case letters, digits, - or _`);
  if (Object.prototype.hasOwnProperty.call(BUILTIN, type)) throw new ConfigError(`store type "${type}" is built in and cannot be replaced`);
  custom.set(type, factory);
}

/**
 * Remove a custom store type (tests); false when it was not registered.
 *
 * @example
 * ```ts
 * afterEach(() => unregisterCredentialStore('memory'));
 * ```
 */
export function unregisterCredentialStore(type: string): boolean {
  return custom.delete(type);
}

/**
 * Every store type `openStore` knows, built-in and custom, sorted.
 *
 * @example
 * ```ts
 * registeredStoreTypes(); // ['chain', 'dynamodb', 'env', 'local', 'memory', 'sql', 'ssm', 'vault']
 * ```
 */
export function registeredStoreTypes(): string[] {
  return [...Object.keys(BUILTIN), ...custom.keys()].sort();
}

/**
 * Build any store from its spec. A built-in tier's SDK or driver is imported only when its type is opened.
 *
 * @example
 * ```ts
 * const store = await openStore(
 *   { type: 'local', config: { path: '.credstash/keystore.json' } },
 *   { baseDir: projectDir, fernetKeys: [fernetKey] }, // keys default to CREDSTASH_FERNET_KEY
 * );
 * ```
 * @throws ConfigError for an unknown type (listing the known ones) or a bad config; a custom factory's own errors
 */
export async function openStore(spec: StoreSpec, ctx: Partial<StoreFactoryContext> = {}): Promise<CredentialStore> {
  const full: StoreFactoryContext = {
    baseDir: ctx.baseDir ?? process.cwd(),
    fernetKeys: ctx.fernetKeys,
    env: ctx.env ?? process.env,
    openStore: ctx.openStore ?? ((s) => openStore(s, full)),
  };
  if (ctx.notice !== undefined) full.notice = ctx.notice;
  if (ctx.mfaCodeProvider !== undefined) full.mfaCodeProvider = ctx.mfaCodeProvider;
  if (ctx.shortLived === true) full.shortLived = true;
  const builtin = Object.prototype.hasOwnProperty.call(BUILTIN, spec.type) ? BUILTIN[spec.type] : undefined;
  const factory = custom.get(spec.type) ?? (await builtin?.());
  if (factory === undefined) {
    throw new ConfigError(`unknown store type "${spec.type}"; known types: ${registeredStoreTypes().join(', ')}`, { path: 'credential_store.type' });
  }
  return factory(spec.config ?? {}, full);
}
