/**
 * credstash.toml + environment + flags -> one configuration (docs/config.md). Precedence, highest first:
 * flags > env (CREDSTASH_*) > file (./discover.ts) > defaults (Python credstash's DynamoDB table and KMS
 * key). Error messages name the file, the line (where known) and the key path; they never quote file
 * content, because a config file holds Fernet keys.
 */
import { dirname } from 'node:path';
import { ConfigError } from '../core/errors.js';
import { parseFernetKey } from '../crypto/fernet.js';
import type { CredentialDefinition, JsonValue } from '../core/types.js';
import type { StoreOpenConfig } from '../stores/open.js';
import type { StoreSpec } from '../stores/registry.js';
import { defaultStoreSpec, ENV } from './defaults.js';
import { homeDir, locateConfigFile, nonEmpty, readConfigFile, readSavedKmsRegion, resolvePath, type ConfigFileSource } from './discover.js';
import { where } from './toml.js';

/** What flags contribute (the CLI maps its global options here; see cli/global-flags.ts). */
export interface ConfigOverrides {
  /** --config */
  configPath?: string;
  /** --store-type: select another tier than the file's. */
  storeType?: string;
  /** Store config keys set by flags (`-t` -> `table`, `-r` -> `region`, ...); undefined values are ignored. */
  storeConfig?: Record<string, unknown>;
}

export interface LoadConfigOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  overrides?: ConfigOverrides;
}

/** Where one effective setting came from (for messages such as "-t/--table does not apply to ..."). */
export type ConfigSource = 'flag' | 'env' | 'file' | 'default';

export interface ResolvedConfig extends StoreOpenConfig {
  /** Absolute path of the config file that was read; undefined when none was found. */
  file?: string;
  /** How `file` was found: --config, CREDSTASH_CONFIG, the working directory or the user config folder. */
  fileSource?: ConfigFileSource;
  /** The config file's folder, or the working directory; relative store paths resolve against it. */
  baseDir: string;
  store: StoreSpec;
  /** Source of each key in `store.config` and of `type`. */
  storeSources: Record<string, ConfigSource>;
  /** First encrypts, every key decrypts. Empty when none are configured. */
  fernetKeys: string[];
  /** Absolute path, or undefined. */
  auditLog?: string;
  /** `[[credentials]]` definitions, by id. */
  credentials: Map<string, CredentialDefinition>;
  /** `rotation` tables of the `[[credentials]]` definitions, by id (checked for shape; rotateCredential checks the values). */
  rotation: Map<string, Record<string, JsonValue>>;
  /** `[credential_store.references_from]`: the store that `${credential:...}` in the store config read from. */
  referencesFrom?: StoreSpec;
  /**
   * `credential_store.module`, absolute: imported before the store is opened; it must register
   * `store.type` with registerCredentialStore. Undefined when not set, or when a flag or env selected
   * another type than the file's.
   */
  storeModule?: string;
}

/**
 * Load and validate the effective configuration. Synchronous: a CLI cold start reads one small file.
 * @throws ConfigError naming the file, line and key path of the first problems (never a value)
 */
export function loadConfig(opts: LoadConfigOptions = {}): ResolvedConfig {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const overrides = opts.overrides ?? {};
  const home = homeDir(env);

  const located = locateConfigFile(cwd, env, overrides.configPath, home);
  const file = located?.file;
  const parsed = file === undefined ? {} : readConfigFile(file);
  const baseDir = file === undefined ? cwd : dirname(file);

  // Store: file (or defaults) < env < flags.
  const storeSources: Record<string, ConfigSource> = {};
  const fileStore = parsed.credential_store;
  let store: StoreSpec;
  if (fileStore !== undefined) {
    store = { type: fileStore.type, config: { ...(fileStore.config ?? {}) } };
    if (fileStore.name !== undefined) store.name = fileStore.name;
    storeSources.type = 'file';
    for (const k of Object.keys(store.config ?? {})) storeSources[k] = 'file';
  } else {
    store = defaultStoreSpec();
    storeSources.type = 'default';
    for (const k of Object.keys(store.config ?? {})) storeSources[k] = 'default';
  }
  const typeOverride = nonEmpty(overrides.storeType) ?? nonEmpty(env[ENV.storeType]);
  if (typeOverride !== undefined && typeOverride !== store.type) {
    // Another tier: the file's config belongs to the old one.
    store = { type: typeOverride, config: {} };
    for (const k of Object.keys(storeSources)) delete storeSources[k];
  }
  if (typeOverride !== undefined) storeSources.type = overrides.storeType !== undefined ? 'flag' : 'env';
  const config = store.config ?? {};
  store.config = config;

  if (store.type === 'dynamodb') {
    // Python credstash compatibility, both specific to its table: CREDSTASH_DEFAULT_TABLE, and the
    // `kms-region` saved in ~/.credstash by `setup --save-kms-region`, as Python credstash reads it.
    const table = nonEmpty(env[ENV.defaultTable]);
    if (table !== undefined) {
      config.table = table;
      storeSources.table = 'env';
    }
    // CREDSTASH_FORMAT: the write format (auto | gcm | legacy), over the file's `format`.
    const format = nonEmpty(env[ENV.format]);
    if (format !== undefined) {
      config.format = format;
      storeSources.format = 'env';
    }
    if (config.kms_region === undefined) {
      const saved = readSavedKmsRegion(home);
      if (saved !== undefined) {
        config.kms_region = saved;
        storeSources.kms_region = 'file';
      }
    }
  }
  for (const [k, v] of Object.entries(overrides.storeConfig ?? {})) {
    if (v === undefined) continue;
    config[k] = v;
    storeSources[k] = 'flag';
  }

  // Fernet keys: env > file.
  const envKeys = env[ENV.fernetKey];
  let fernetKeys: string[];
  if (envKeys !== undefined && envKeys.trim() !== '') {
    fernetKeys = envKeys.split(',').map((k) => k.trim()).filter((k) => k !== '');
    fernetKeys.forEach((k, i) => checkFernetKey(k, `${ENV.fernetKey}: key ${i + 1} of ${fernetKeys.length}`));
  } else {
    fernetKeys = [...(parsed.fernet?.keys ?? [])];
    fernetKeys.forEach((k, i) => checkFernetKey(k, `${where(file)}fernet.keys[${i}]`));
  }

  const auditRaw = nonEmpty(env[ENV.auditLog]) ?? parsed.audit_log;
  const auditLog = auditRaw === undefined ? undefined : resolvePath(auditRaw, env[ENV.auditLog] !== undefined ? cwd : baseDir, home);

  const credentials = new Map<string, CredentialDefinition>();
  const rotation = new Map<string, Record<string, JsonValue>>();
  for (const { rotation: policy, ...def } of parsed.credentials ?? []) {
    credentials.set(def.id, def as CredentialDefinition);
    if (policy !== undefined) rotation.set(def.id, policy);
  }

  const out: ResolvedConfig = { baseDir, store, storeSources, fernetKeys, credentials, rotation };
  if (fileStore?.module !== undefined && fileStore.type === store.type) out.storeModule = storeModulePath(fileStore.module, baseDir, home, file);
  const refsFrom = fileStore?.references_from;
  if (refsFrom !== undefined) out.referencesFrom = { type: refsFrom.type, config: { ...(refsFrom.config ?? {}) } };
  if (located !== undefined) {
    out.file = located.file;
    out.fileSource = located.source;
  }
  if (auditLog !== undefined) out.auditLog = auditLog;
  return out;
}

/** `module = "./my-store.mjs"`: a path (relative to the config file's folder, or `~/`, or absolute), not a package name. */
function storeModulePath(spec: string, baseDir: string, home: string, file: string | undefined): string {
  if (!/^(\.\.?\/|\/|~\/)/.test(spec)) {
    throw new ConfigError(`${where(file)}credential_store.module: expected a file path (./store.mjs, ~/store.mjs or /abs/store.mjs)`, { path: 'credential_store.module' });
  }
  return resolvePath(spec, baseDir, home);
}

/**
 * A Fernet key is 32 bytes as url-safe base64 (44 characters with one `=`; the padding may be left out), by the
 * one rule every Fernet key is read with (crypto/fernet.ts `parseFernetKey`: canonical base64, so a key the
 * config accepts is a key the store opens). The message says where the key is, never what it is.
 */
export function checkFernetKey(key: string, where: string): void {
  try {
    parseFernetKey(key, where);
  } catch {
    throw new ConfigError(`${where}: not a Fernet key (expected 32 bytes as url-safe base64, 44 characters)`);
  }
}
