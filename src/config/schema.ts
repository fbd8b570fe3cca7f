/**
 * The shape of credstash.toml: one small validator over what smol-toml returns, explained in one-line
 * messages that name the file, the line and the key path of each problem, never a value (the file holds
 * Fernet keys). Written by hand rather than with a schema library: it runs on every command that reads a
 * config (a cold `credstash get` included), and loading and building a schema cost more than the whole check.
 */
import { ConfigError } from '../core/errors.js';
import { CREDENTIAL_TYPES, type CredentialDefinition, type CredentialType, type JsonValue } from '../core/types.js';
import { formatPath, locateKey, parseTomlText, where } from './toml.js';

/**
 * The file's shape. Strict at every level we own, so a typo (`[credential-store]`) is an error naming the
 * key instead of a silently ignored table. `[credential_store.config]` is passed verbatim (copied one level
 * deep) to the tier's factory, which validates its own keys.
 */
export interface ConfigFile {
  audit_log?: string;
  fernet?: { keys: string[] };
  credential_store?: StoreSection;
  credentials?: ConfigDefinition[];
}

/** A `[[credentials]]` definition as the file gives it: the definition, and its rotation policy (never stored with a version). */
export type ConfigDefinition = CredentialDefinition & { rotation?: Record<string, JsonValue> };

/** `[credential_store]`. */
export interface StoreSection {
  type: string;
  name?: string;
  /** A JavaScript module that calls registerCredentialStore(type, factory): a custom store type for the CLI. */
  module?: string;
  config?: Record<string, unknown>;
  /** Where `${credential:...}` references in `config` are read from (src/references/store-config.ts). */
  references_from?: { type: string; config?: Record<string, unknown> };
}

/**
 * Parse and validate config text; `file` is used in messages only.
 * @throws ConfigError: TOML syntax error (with line and column), or shape problems (each with its key
 *   path and line; the first five, then how many more); the text is never quoted
 */
export function parseConfigText(text: string, file: string): ConfigFile {
  const raw = parseTomlText(text, file);
  const issues: Issue[] = [];
  const data = checkConfigFile(raw, issues);
  if (data === undefined || issues.length > 0) {
    const lines = issues.slice(0, 5).map((issue) => describeIssue(issue, text, file));
    const more = issues.length > 5 ? `; and ${issues.length - 5} more` : '';
    throw new ConfigError(lines.join('; ') + more, { path: file });
  }
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

type Path = readonly (string | number)[];
/** One problem: a description of the value at `path` (never the value), or the unknown keys of the table at `path`. */
type Issue = { path: Path; problem: string } | { path: Path; unknownKeys: string[] };
type Table = Record<string, unknown>;
/** Checks a value that is present, pushing an issue for each problem; `what` names the expected kind in messages. */
interface Check<T> {
  what: string;
  check(value: unknown, path: Path, issues: Issue[]): T | undefined;
}

const STORE_KEYS = ['type', 'name', 'module', 'config', 'references_from'] as const;

/**
 * The file's data, built in the order of the shape (what the rest of the config code sees); meaningful only
 * when `issues` stayed empty.
 */
function checkConfigFile(raw: unknown, issues: Issue[]): ConfigFile | undefined {
  return strictTable(raw, [], issues, ['audit_log', 'fernet', 'credential_store', 'credentials'], (t, path) => {
    const out: ConfigFile = {};
    assign(out, 'audit_log', field(t, 'audit_log', path, issues, NON_EMPTY));
    assign(out, 'fernet', field(t, 'fernet', path, issues, FERNET));
    assign(out, 'credential_store', field(t, 'credential_store', path, issues, STORE));
    assign(out, 'credentials', field(t, 'credentials', path, issues, DEFINITIONS));
    return out;
  });
}

const STRING: Check<string> = {
  what: 'a string',
  check: (v, path, issues) => (typeof v === 'string' ? v : wrongType(v, path, issues, 'a string')),
};

const NON_EMPTY: Check<string> = {
  what: 'a string',
  check(v, path, issues) {
    if (typeof v !== 'string') return wrongType(v, path, issues, 'a string');
    if (v !== '') return v;
    issues.push({ path, problem: 'must not be empty' });
    return undefined;
  },
};

const FERNET: Check<{ keys: string[] }> = {
  what: 'a table',
  check: (v, path, issues) =>
    strictTable(v, path, issues, ['keys'], (t) => {
      const keys = field(t, 'keys', path, issues, nonEmptyArrayOf(STRING), true) ?? [];
      return { keys };
    }),
};

/** Any table, copied one level deep: loadConfig adds keys to the store config, never to the parsed file's. */
const ANY_TABLE: Check<Table> = {
  what: 'a table',
  check: (v, path, issues) => (isTable(v) ? Object.fromEntries(Object.entries(v)) : wrongType(v, path, issues, 'a table')),
};

const REFERENCES_FROM: Check<NonNullable<StoreSection['references_from']>> = {
  what: 'a table',
  check: (v, path, issues) =>
    strictTable(v, path, issues, ['type', 'config'], (t) => {
      const out: NonNullable<StoreSection['references_from']> = { type: field(t, 'type', path, issues, NON_EMPTY, true) ?? '' };
      assign(out, 'config', field(t, 'config', path, issues, ANY_TABLE));
      return out;
    }),
};

const STORE: Check<StoreSection> = {
  what: 'a table',
  check: (v, path, issues) =>
    strictTable(v, path, issues, STORE_KEYS, (t) => {
      const out: StoreSection = { type: field(t, 'type', path, issues, NON_EMPTY, true) ?? '' };
      assign(out, 'name', field(t, 'name', path, issues, NON_EMPTY));
      assign(out, 'module', field(t, 'module', path, issues, NON_EMPTY));
      assign(out, 'config', field(t, 'config', path, issues, ANY_TABLE));
      assign(out, 'references_from', field(t, 'references_from', path, issues, REFERENCES_FROM));
      return out;
    }),
};

const CREDENTIAL_TYPE: Check<CredentialType> = {
  what: 'a string',
  check(v, path, issues) {
    if (isCredentialType(v)) return v;
    issues.push({ path, problem: `expected one of ${CREDENTIAL_TYPES.map((t) => JSON.stringify(t)).join(', ')}` });
    return undefined;
  },
};

/** `[credentials.metadata]`: any JSON value under each key (TOML dates and non-finite numbers are not JSON). */
const METADATA: Check<Record<string, JsonValue>> = {
  what: 'a table',
  check(v, path, issues) {
    if (!isTable(v)) return wrongType(v, path, issues, 'a table');
    const out: [string, JsonValue][] = [];
    for (const [key, value] of Object.entries(v)) {
      const json = toJson(value);
      if (json === undefined) issues.push({ path: [...path, key], problem: 'is not valid' });
      else out.push([key, json]);
    }
    return Object.fromEntries(out);
  },
};

/** `[credentials.rotation]`: the keys and their types; the rotation engine checks the values (rotator, strategy, durations) when it runs. */
const ROTATION: Check<Record<string, JsonValue>> = {
  what: 'a table',
  check: (v, path, issues) =>
    strictTable(v, path, issues, ['rotator', 'strategy', 'every', 'generate', 'admin', 'lease', 'options', 'context'], (t) => {
      const out: Record<string, JsonValue> = { rotator: field(t, 'rotator', path, issues, NON_EMPTY, true) ?? '' };
      for (const key of ['strategy', 'every', 'generate', 'admin', 'lease']) assign(out, key, field(t, key, path, issues, NON_EMPTY));
      assign(out, 'options', field(t, 'options', path, issues, METADATA));
      assign(out, 'context', field(t, 'context', path, issues, STRING_TABLE));
      return out;
    }),
};

/** A table of strings (an encryption context). */
const STRING_TABLE: Check<Record<string, string>> = {
  what: 'a table',
  check(v, path, issues) {
    if (!isTable(v)) return wrongType(v, path, issues, 'a table');
    const out: [string, string][] = [];
    for (const [key, value] of Object.entries(v)) {
      if (typeof value === 'string') out.push([key, value]);
      else wrongType(value, [...path, key], issues, 'a string');
    }
    return Object.fromEntries(out);
  },
};

const DEFINITION: Check<ConfigDefinition> = {
  what: 'a table',
  check: (v, path, issues) =>
    strictTable(v, path, issues, ['id', 'name', 'credential_type', 'description', 'metadata', 'rotation'], (t) => {
      const out: ConfigDefinition = { id: field(t, 'id', path, issues, NON_EMPTY, true) ?? '' };
      assign(out, 'rotation', field(t, 'rotation', path, issues, ROTATION));
      assign(out, 'name', field(t, 'name', path, issues, NON_EMPTY));
      assign(out, 'credential_type', field(t, 'credential_type', path, issues, CREDENTIAL_TYPE));
      assign(out, 'description', field(t, 'description', path, issues, STRING));
      assign(out, 'metadata', field(t, 'metadata', path, issues, METADATA));
      return out;
    }),
};

const DEFINITIONS: Check<ConfigDefinition[]> = arrayOf(DEFINITION);

function arrayOf<T>(item: Check<T>): Check<T[]> {
  return {
    what: 'an array',
    check(v, path, issues) {
      if (!Array.isArray(v)) return wrongType(v, path, issues, 'an array');
      const out: T[] = [];
      (v as unknown[]).forEach((x, i) => {
        const checked = item.check(x, [...path, i], issues);
        if (checked !== undefined) out.push(checked);
      });
      return out;
    },
  };
}

function nonEmptyArrayOf<T>(item: Check<T>): Check<T[]> {
  const array = arrayOf(item);
  return {
    what: array.what,
    check(v, path, issues) {
      const out = array.check(v, path, issues);
      if (Array.isArray(v) && v.length === 0) issues.push({ path, problem: 'must have at least 1 item(s)' });
      return out;
    },
  };
}

/**
 * A table whose keys are `known`: `build` reads them (in the shape's order); any other key is one issue
 * naming every unknown key, after the problems of the known ones.
 */
function strictTable<T>(v: unknown, path: Path, issues: Issue[], known: readonly string[], build: (t: Table, path: Path) => T): T | undefined {
  if (!isTable(v)) return wrongType(v, path, issues, 'a table');
  const out = build(v, path);
  const unknownKeys = Object.keys(v).filter((k) => !known.includes(k));
  if (unknownKeys.length > 0) issues.push({ path, unknownKeys });
  return out;
}

/** The checked value of `t[key]`; undefined when the key is absent (an issue if it is required). */
function field<T>(t: Table, key: string, path: Path, issues: Issue[], c: Check<T>, required = false): T | undefined {
  const at = [...path, key];
  if (!Object.hasOwn(t, key)) {
    if (required) issues.push({ path: at, problem: `is required (${c.what})` });
    return undefined;
  }
  return c.check(t[key], at, issues);
}

/** Set `out[key]` only when there is a value: an absent key stays absent (not `undefined`). */
function assign<O, K extends keyof O>(out: O, key: K, value: O[K] | undefined): void {
  if (value !== undefined) out[key] = value;
}

function wrongType(v: unknown, path: Path, issues: Issue[], what: string): undefined {
  issues.push({ path, problem: `expected ${what}, found ${tomlTypeOf(v)}` });
  return undefined;
}

function isCredentialType(v: unknown): v is CredentialType {
  return (CREDENTIAL_TYPES as readonly unknown[]).includes(v);
}

/** A TOML table as smol-toml returns it: a plain object (no date, no array), own string keys only. */
function isTable(v: unknown): v is Table {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return (proto === Object.prototype || proto === null) && Object.getOwnPropertySymbols(v).length === 0;
}

/** A copy of `v` as JSON (every key kept as an own key, `__proto__` too); undefined when it is not JSON. */
function toJson(v: unknown): JsonValue | undefined {
  if (typeof v === 'string' || typeof v === 'boolean' || v === null) return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (Array.isArray(v)) {
    const out: JsonValue[] = [];
    for (const x of v as unknown[]) {
      const json = toJson(x);
      if (json === undefined) return undefined;
      out.push(json);
    }
    return out;
  }
  if (!isTable(v)) return undefined;
  const out: [string, JsonValue][] = [];
  for (const [key, x] of Object.entries(v)) {
    const json = toJson(x);
    if (json === undefined) return undefined;
    out.push([key, json]);
  }
  return Object.fromEntries(out);
}

function describeIssue(issue: Issue, text: string, file: string): string {
  if ('unknownKeys' in issue) {
    return issue.unknownKeys
      .map((k) => {
        const path = [...issue.path, k];
        return `${where(file, locateKey(text, path))}${formatPath(path)}: unknown key`;
      })
      .join('; ');
  }
  return `${where(file, locateKey(text, issue.path))}${formatPath(issue.path)}: ${issue.problem}`;
}

function tomlTypeOf(v: unknown): string {
  if (Array.isArray(v)) return 'an array';
  if (v instanceof Date) return 'a date';
  if (v !== null && typeof v === 'object') return 'a table';
  if (typeof v === 'bigint' || typeof v === 'number') return 'a number';
  return `a ${typeof v}`;
}
