/**
 * The shape of credstash.toml, checked by one zod schema and explained in one-line messages that name the
 * file, the line and the key path of each problem, never a value (the file holds Fernet keys).
 */
// zod/mini: the same validation as `zod` at 1/20 of the bundle size (cold start of every command).
import * as z from 'zod/mini';
import { ConfigError } from '../core/errors.js';
import { CREDENTIAL_TYPES } from '../core/types.js';
import { formatPath, locateKey, parseTomlText, where } from './toml.js';

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
        // Where `${credential:...}` references in `config` are read from (src/references/store-config.ts).
        references_from: z.optional(z.strictObject({ type: nonEmptyString(), config: z.optional(z.record(z.string(), z.unknown())) })),
      }),
    ),
    credentials: z.optional(z.array(credentialDefinitionSchema)),
  });
}

let schema: ReturnType<typeof buildConfigFileSchema> | undefined;

/**
 * The zod schema of credstash.toml. Built on first use: building it and its first parse cost 5 to 20 ms of
 * a cold start, and the usual file never needs it (commonConfigShape).
 */
export function configFileSchema(): ReturnType<typeof buildConfigFileSchema> {
  return (schema ??= buildConfigFileSchema());
}

export type ConfigFile = z.infer<ReturnType<typeof buildConfigFileSchema>>;

/**
 * Parse and validate config text; `file` is used in messages only.
 * @throws ConfigError: TOML syntax error (with line and column), or schema problems (each with its key
 *   path and line); the text is never quoted
 */
export function parseConfigText(text: string, file: string): ConfigFile {
  const raw = parseTomlText(text, file);
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
