/**
 * `credstash-ts/config`: the CLI's configuration for library users, so that a program reads the same
 * credstash.toml (found the same way: --config, CREDSTASH_CONFIG, ./credstash.toml, the user config) and opens
 * the same store as `credstash` would. A subpath of its own: the TOML parser and the schema load only for a
 * program that asks for them, never with the main entry.
 *
 * @example
 * ```ts
 * import { loadConfig, openConfiguredStore } from 'credstash-ts/config';
 * const config = loadConfig({ cwd: projectDir });
 * const store = await openConfiguredStore(config);
 * const { value } = await store.getCredential('myapp.db.prod', { required: true });
 * await store.close();
 * ```
 */
export { loadConfig } from './merge.js';
export type { ConfigOverrides, ConfigSource, LoadConfigOptions, ResolvedConfig } from './merge.js';
export type { ConfigFileSource } from './discover.js';
// Opening the store is not config's job (src/stores/open.ts); re-exported so that one import serves both.
export { openConfiguredStore } from '../stores/open.js';
export type { AuditHooks, StoreOpenConfig } from '../stores/open.js';
export { CONFIG_FILE_NAME, DEFAULT_TABLE, DEFAULT_KMS_KEY, DEFAULT_REGION, DEFAULT_LOCAL_KEYSTORE_PATH } from './defaults.js';
