/**
 * credstash.toml + environment + flags -> one validated configuration (docs/config.md).
 *
 * Precedence, highest first: flags > env (CREDSTASH_*) > file (--config / CREDSTASH_CONFIG, else
 * ./credstash.toml, else $XDG_CONFIG_HOME/credstash/credstash.toml) > defaults (Python credstash's
 * DynamoDB table and KMS key). Error messages name the file, the line (where known) and the key path;
 * they never quote file content, because a config file holds Fernet keys. A config file,
 * and a store module it names, is used only when nobody but the user (or root) owns or may change it
 * (./file-trust.ts).
 */
import { closeSync, fstatSync, lstatSync, openSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse as parseToml, TomlError } from 'smol-toml';
// zod/mini: the same validation as `zod` at 1/20 of the bundle size (cold start of every command).
import * as z from 'zod/mini';
import { ConfigError } from '../core/errors.js';
import { CREDENTIAL_TYPES, type CredentialDefinition } from '../core/types.js';
import { openStore, registeredStoreTypes, type StoreFactoryContext, type StoreSpec } from '../stores/registry.js';
import type { CredentialStore } from '../core/store.js';
import { CONFIG_FILE_NAME, defaultStoreSpec, ENV } from './defaults.js';
import { assertTrustedFile, assertTrustedModule } from './file-trust.js';

/**
 * The file's shape. Strict at every level we own, so a typo (`[credential-store]`) is an error naming
 * the key instead of a silently ignored table. `[credential_store.config]` is passed verbatim to the
 * tier's factory, which validates its own keys. Built on first use (see configFileSchema).
 */
function buildConfigFileSchema() {
  const nonEmptyString = () => z.string().check(z.minLength(1));
  const credentialDefinitionSchema = z.strictObject({
    id: nonEmptyString(),
    name: z.optional(nonEmptyString()),
    credential_type: z.optional(z.enum(CREDENTIAL_TYPES)),
    description: z.optional(z.string()),
    metadata: z.optional(z.record(z.string(), z.json())),
  });
  return z.strictObject({
    audit_log: z.optional(nonEmptyString()),
    fernet: z.optional(z.strictObject({ keys: z.array(z.string()).check(z.minLength(1)) })),
    credential_store: z.optional(
      z.strictObject({
        type: nonEmptyString(),
        name: z.optional(nonEmptyString()),
        // A JavaScript module that calls registerCredentialStore(type, factory): a custom store type for the CLI.
        module: z.optional(nonEmptyString()),
        config: z.optional(z.record(z.string(), z.unknown())),
        // Where `${credential:...}` references in `config` are read from (src/config/store-references.ts).
        references_from: z.optional(z.strictObject({ type: nonEmptyString(), config: z.optional(z.record(z.string(), z.unknown())) })),
      }),
    ),
    credentials: z.optional(z.array(credentialDefinitionSchema)),
  });
}

let schema: ReturnType<typeof buildConfigFileSchema> | undefined;

/**
 * The zod schema of credstash.toml. Built on first use: building it was a few ms of every command's cold
 * start, and the usual file never needs it (commonConfigShape).
 */
export function configFileSchema(): ReturnType<typeof buildConfigFileSchema> {
  return (schema ??= buildConfigFileSchema());
}

export type ConfigFile = z.infer<ReturnType<typeof buildConfigFileSchema>>;

/** What flags contribute (the CLI maps its global options here; see cli/context.ts). */
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

export interface ResolvedConfig {
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
  for (const def of parsed.credentials ?? []) credentials.set(def.id, def as CredentialDefinition);

  const out: ResolvedConfig = { baseDir, store, storeSources, fernetKeys, credentials };
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

/**
 * Open the configured store through the registry (lazy tier import): relative paths resolve against the
 * config file's folder, Fernet keys come from the config.
 * @throws ConfigError for an unknown store type or a bad store config
 */
export async function openConfiguredStore(
  config: ResolvedConfig,
  env: NodeJS.ProcessEnv = process.env,
  hooks: Pick<StoreFactoryContext, 'notice' | 'mfaCodeProvider'> & AuditHooks = {},
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
    const { resolveStoreConfigReferences } = await import('./store-references.js');
    spec = await resolveStoreConfigReferences(spec, config.referencesFrom, ctx, async (s) => decorateStore(await openStore(s, ctx), config, audit));
  }
  return decorateStore(await openStore(spec, ctx), config, audit);
}

/** How the opener hears of a write whose outcome the audit log could not record (the write's own result stands). */
export interface AuditHooks {
  onAuditIncomplete?: (message: string) => void;
}

/**
 * What every store opened for a config is wrapped in, whichever way it was named (the config's own store,
 * a `migrate --from/--to` spec, the `references_from` store): today the audit log. Every path that opens a
 * store for the CLI goes through {@link openConfiguredStore}, and so through this.
 */
async function decorateStore(store: CredentialStore, config: ResolvedConfig, audit: AuditHooks = {}): Promise<CredentialStore> {
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

/** `module = "./my-store.mjs"`: a path (relative to the config file's folder, or `~/`, or absolute), not a package name. */
function storeModulePath(spec: string, baseDir: string, home: string, file: string | undefined): string {
  if (!/^(\.\.?\/|\/|~\/)/.test(spec)) {
    throw new ConfigError(`${where(file)}credential_store.module: expected a file path (./store.mjs, ~/store.mjs or /abs/store.mjs)`, { path: 'credential_store.module' });
  }
  return resolvePath(spec, baseDir, home);
}

/**
 * Import a custom store module; it must have registered `type`. Import failures name the file and the
 * error's code or class, never its message (a module's own errors were not written by us).
 * @throws ConfigError
 */
export async function importStoreModule(path: string, type: string, file?: string): Promise<void> {
  const at = `${where(file)}credential_store.module`;
  // Code run with the user's AWS keys, Vault token and Fernet keys in reach: only from files nobody else can change.
  assertTrustedModule(path, at);
  try {
    await import(pathToFileURL(path).href);
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

/** --config > CREDSTASH_CONFIG > ./credstash.toml > $XDG_CONFIG_HOME/credstash/credstash.toml; undefined when none. */
export function findConfigFile(cwd: string, env: NodeJS.ProcessEnv, explicit: string | undefined, home = homeDir(env)): string | undefined {
  return locateConfigFile(cwd, env, explicit, home)?.file;
}

/** How the config file in use was found (`credstash config` says it). */
export type ConfigFileSource = 'flag' | 'env' | 'cwd' | 'user';

/** {@link findConfigFile}, and which rule found the file. */
export function locateConfigFile(cwd: string, env: NodeJS.ProcessEnv, explicit: string | undefined, home = homeDir(env)): { file: string; source: ConfigFileSource } | undefined {
  const named = nonEmpty(explicit) ?? nonEmpty(env[ENV.config]);
  if (named !== undefined) {
    const p = resolvePath(named, cwd, home);
    const source = nonEmpty(explicit) !== undefined ? 'flag' : 'env';
    if (!isFile(p)) {
      throw new ConfigError(`config file ${p} (from ${source === 'flag' ? '--config' : ENV.config}) does not exist or is not a file`, { path: p });
    }
    return { file: p, source };
  }
  const local = join(cwd, CONFIG_FILE_NAME);
  if (isFile(local)) return { file: local, source: 'cwd' };
  const user = userConfigFile(env, home);
  return isFile(user) ? { file: user, source: 'user' } : undefined;
}

/** `$XDG_CONFIG_HOME/credstash/credstash.toml`, else `~/.config/credstash/credstash.toml`. */
export function userConfigFile(env: NodeJS.ProcessEnv = process.env, home = homeDir(env)): string {
  const xdg = nonEmpty(env.XDG_CONFIG_HOME);
  const base = xdg !== undefined && isAbsolute(xdg) ? xdg : join(home, '.config');
  return join(base, 'credstash', CONFIG_FILE_NAME);
}

/**
 * Read, parse and validate one credstash.toml.
 * @throws ConfigError: unreadable file, TOML syntax error (with line and column), or schema problems
 *   (each with its key path and line); the file's content is never quoted
 */
export function readConfigFile(file: string): ConfigFile {
  let text: string;
  let fd: number | undefined;
  try {
    // A symlink is followed, but only one of ours (or root's): in a shared folder, someone else's link could
    // point at another of our own config files.
    const link = lstatSync(file);
    if (link.isSymbolicLink()) assertTrustedFile(link, file, 'config file (a symbolic link)');
    fd = openSync(file, 'r');
    // Checked on the descriptor that is then read: the file cannot be swapped between check and read.
    assertTrustedFile(fstatSync(fd), file, 'config file');
    text = readFileSync(fd, 'utf8');
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new ConfigError(`cannot read config file ${file} (${code})`, { path: file, cause: err });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  return parseConfigText(text, file);
}

/** Parse and validate config text; `file` is used in messages only. */
export function parseConfigText(text: string, file: string): ConfigFile {
  let raw: unknown;
  try {
    raw = parseToml(text);
  } catch (err) {
    if (err instanceof TomlError) {
      // The first line of smol-toml's message is a generic reason; the rest is a code block quoting the
      // file, which may hold a Fernet key. Keep the reason only when it is plain words.
      const reason = /^Invalid TOML document: ([a-zA-Z ,()'-]{1,80})$/.exec(err.message.split('\n')[0] ?? '')?.[1];
      throw new ConfigError(`${file} line ${err.line}, column ${err.column}: invalid TOML${reason === undefined ? '' : ` (${reason.replace(/'.*$/, '').trim()})`}`, { path: file });
    }
    throw new ConfigError(`${file}: invalid TOML`, { path: file });
  }
  const data = commonConfigShape(raw) ?? validateConfig(raw, text, file);
  const ids = new Map<string, number>();
  data.credentials?.forEach((def, i) => {
    const first = ids.get(def.id);
    if (first !== undefined) {
      const path = ['credentials', i, 'id'];
      throw new ConfigError(`${where(file, locateKey(text, path))}${formatPath(path)}: id "${def.id}" is already defined by credentials[${first}]`, { path: file });
    }
    ids.set(def.id, i);
  });
  return data;
}

/** The schema's verdict: the parsed file, or a ConfigError naming the first problems. */
function validateConfig(raw: unknown, text: string, file: string): ConfigFile {
  const result = configFileSchema().safeParse(raw);
  if (!result.success) {
    const lines = result.error.issues.slice(0, 5).map((issue) => describeIssue(issue, raw, text, file));
    const more = result.error.issues.length > 5 ? `; and ${result.error.issues.length - 5} more` : '';
    throw new ConfigError(lines.join('; ') + more, { path: file });
  }
  return result.data;
}

/**
 * The usual credstash.toml (what `init` writes, and the documented store configs: `audit_log`,
 * `[fernet] keys`, `[credential_store]` with `type`, `name`, `module` and `[credential_store.config]`),
 * checked without zod. Returns exactly what the schema returns for it (same keys in the same order, the
 * store config copied one level deep); undefined for anything else (`[[credentials]]`, `references_from`,
 * an unknown key, a wrong type, ...), which the schema then checks and explains.
 */
export function commonConfigShape(raw: unknown): ConfigFile | undefined {
  if (!isPlainTable(raw) || !hasOnlyKeys(raw, ['audit_log', 'fernet', 'credential_store'])) return undefined;
  const out: ConfigFile = {};
  const { audit_log: auditLog, fernet, credential_store: store } = raw;
  if (auditLog !== undefined) {
    if (!isNonEmptyString(auditLog)) return undefined;
    out.audit_log = auditLog;
  }
  if (fernet !== undefined) {
    if (!isPlainTable(fernet) || !hasOnlyKeys(fernet, ['keys'])) return undefined;
    const keys = fernet.keys;
    if (!Array.isArray(keys) || keys.length === 0 || !keys.every((k) => typeof k === 'string')) return undefined;
    out.fernet = { keys: [...(keys as string[])] };
  }
  if (store !== undefined) {
    if (!isPlainTable(store) || !hasOnlyKeys(store, ['type', 'name', 'module', 'config'])) return undefined;
    const { type, name, module, config } = store;
    if (!isNonEmptyString(type)) return undefined;
    const spec: NonNullable<ConfigFile['credential_store']> = { type };
    if (name !== undefined) {
      if (!isNonEmptyString(name)) return undefined;
      spec.name = name;
    }
    if (module !== undefined) {
      if (!isNonEmptyString(module)) return undefined;
      spec.module = module;
    }
    if (config !== undefined) {
      if (!isPlainTable(config) || Object.hasOwn(config, '__proto__')) return undefined;
      spec.config = { ...config };
    }
    out.credential_store = spec;
  }
  return out;
}

/** A TOML table as smol-toml returns it: a plain object (no Date, no array), own string keys only. */
function isPlainTable(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return (proto === Object.prototype || proto === null) && Object.getOwnPropertySymbols(v).length === 0;
}

function hasOnlyKeys(v: Record<string, unknown>, allowed: readonly string[]): boolean {
  return Reflect.ownKeys(v).every((k) => typeof k === 'string' && allowed.includes(k) && Object.prototype.propertyIsEnumerable.call(v, k));
}

function isNonEmptyString(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0;
}

type Issue = z.core.$ZodIssue;

function describeIssue(issue: Issue, raw: unknown, text: string, file: string): string {
  if (issue.code === 'unrecognized_keys') {
    const parts = issue.keys.map((k) => {
      const path = [...issue.path, k];
      return `${where(file, locateKey(text, path))}${formatPath(path)}: unknown key`;
    });
    return parts.join('; ');
  }
  const path = issue.path;
  const at = where(file, locateKey(text, path));
  const value = valueAt(raw, path);
  let problem: string;
  switch (issue.code) {
    case 'invalid_type':
      problem = value === undefined ? `is required (${article(issue.expected)})` : `expected ${article(issue.expected)}, found ${tomlTypeOf(value)}`;
      break;
    case 'invalid_value':
      problem = `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
      break;
    case 'too_small':
      problem = issue.origin === 'array' ? `must have at least ${issue.minimum} item(s)` : 'must not be empty';
      break;
    default:
      problem = 'is not valid';
  }
  return `${at}${formatPath(path)}: ${problem}`;
}

function article(expected: string): string {
  const names: Record<string, string> = { string: 'a string', object: 'a table', array: 'an array', number: 'a number', boolean: 'a boolean', record: 'a table' };
  return names[expected] ?? expected;
}

function tomlTypeOf(v: unknown): string {
  if (Array.isArray(v)) return 'an array';
  if (v instanceof Date) return 'a date';
  if (v !== null && typeof v === 'object') return 'a table';
  if (typeof v === 'bigint' || typeof v === 'number') return 'a number';
  return `a ${typeof v}`;
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = raw;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[seg];
  }
  return cur;
}

/** `credentials[0].credential_type`, `credential_store.config.path`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else {
      const s = String(seg);
      const safe = /^[A-Za-z0-9_-]+$/.test(s) ? s : JSON.stringify(s.length > 40 ? `${s.slice(0, 37)}...` : s);
      out += out === '' ? safe : `.${safe}`;
    }
  }
  return out === '' ? '(top level)' : out;
}

function where(file: string | undefined, line?: number): string {
  if (file === undefined) return '';
  return line === undefined ? `${file}: ` : `${file} line ${line}: `;
}

/**
 * Best-effort line of a key path in TOML text: tracks `[table]` / `[[array]]` headers and `a.b = ` keys.
 * Exact match first, else the deepest line whose path is a prefix of the wanted one (the table that
 * misses a required key, or the inline table holding the bad key). Reads structure only, never values.
 */
export function locateKey(text: string, path: readonly PropertyKey[]): number | undefined {
  const want = path.map(String);
  const arrays = new Map<string, number>();
  let table: string[] = [];
  let best: { line: number; depth: number } | undefined;
  const consider = (full: string[], line: number): boolean => {
    if (full.length > want.length || !full.every((seg, i) => seg === want[i])) return false;
    if (full.length === want.length) return true;
    if (best === undefined || full.length > best.depth) best = { line, depth: full.length };
    return false;
  };
  const lines = text.split(/\r?\n/);
  let inMultiline = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (inMultiline) {
      if ((line.match(/"""|'''/g) ?? []).length % 2 === 1) inMultiline = false;
      continue;
    }
    const header = /^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$/.exec(line);
    if (header !== null) {
      const keys = splitKey(header[2] ?? '');
      if (header[1] === '[[') {
        const name = keys.join('.');
        const idx = arrays.get(name) ?? 0;
        arrays.set(name, idx + 1);
        table = [...keys, String(idx)];
      } else {
        table = resolveArrayPrefix(keys, arrays);
      }
      if (consider(table, i + 1)) return i + 1;
      continue;
    }
    const kv = /^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*=/.exec(line);
    if (kv !== null) {
      if ((line.match(/"""|'''/g) ?? []).length % 2 === 1) inMultiline = true;
      if (consider([...table, ...splitKey(kv[1] ?? '')], i + 1)) return i + 1;
    }
  }
  return best?.line;
}

/** `[credentials.metadata]` after `[[credentials]]` refers to the latest array element. */
function resolveArrayPrefix(keys: string[], arrays: Map<string, number>): string[] {
  const out: string[] = [];
  for (let i = 0; i < keys.length; i++) {
    out.push(keys[i] ?? '');
    const n = arrays.get(keys.slice(0, i + 1).join('.'));
    if (n !== undefined && i < keys.length - 1) out.push(String(n - 1));
  }
  return out;
}

function splitKey(key: string): string[] {
  const out: string[] = [];
  const re = /\s*("([^"]*)"|'([^']*)'|([A-Za-z0-9_-]+))\s*(\.|$)/gy;
  let m: RegExpExecArray | null;
  while ((m = re.exec(key)) !== null && m[0] !== '') out.push(m[2] ?? m[3] ?? m[4] ?? '');
  return out;
}

/**
 * A Fernet key is 32 bytes as url-safe base64 (44 characters with one `=`). The message says where the key
 * is, never what it is.
 */
export function checkFernetKey(key: string, where: string): void {
  if (!/^[A-Za-z0-9_-]{43}=$/.test(key) || Buffer.from(key, 'base64url').length !== 32) {
    throw new ConfigError(`${where}: not a Fernet key (expected 32 bytes as url-safe base64, 44 characters)`);
  }
}

/** `~` and `~/x` expand to the home folder; relative paths resolve against `base`. */
export function resolvePath(p: string, base: string, home: string): string {
  if (p === '~') return home;
  if (p.startsWith('~/')) return join(home, p.slice(2));
  return resolve(base, p);
}

export function homeDir(env: NodeJS.ProcessEnv = process.env): string {
  return nonEmpty(env.HOME) ?? homedir();
}

/** Python credstash's `~/.credstash` JSON (`{"kms-region": "..."}`), written by `setup --save-kms-region`. */
export function savedSettingsFile(home: string): string {
  return join(home, '.credstash');
}

function readSavedKmsRegion(home: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(savedSettingsFile(home), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const v = (JSON.parse(text) as Record<string, unknown>)['kms-region'];
    return typeof v === 'string' && v !== '' ? v : undefined;
  } catch {
    throw new ConfigError(`${savedSettingsFile(home)} is not valid JSON (it holds the saved KMS region; fix or delete it)`, { path: savedSettingsFile(home) });
  }
}

function isFile(p: string): boolean {
  try {
    return statSync(p, { throwIfNoEntry: false })?.isFile() ?? false;
  } catch {
    return false;
  }
}

function nonEmpty(s: string | undefined): string | undefined {
  return s === undefined || s.trim() === '' ? undefined : s;
}
