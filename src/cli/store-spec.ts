/**
 * A store named on the command line (`migrate --from/--to`). Two forms:
 *   - `TYPE:key=value,key=value...` (or a bare `TYPE`), whenever it starts with the name of a store type
 *     credstash knows (built in, or the custom type of the current config's `credential_store.module`)
 *     followed by `:`: that type with these config keys (the snake_case keys of
 *     `[credential_store.config]`), e.g. `dynamodb:table=credential-store,region=eu-west-1` or
 *     `local:path=./ks.json`. Values are strings (a `/` in them is just a character); relative paths
 *     resolve against the working directory; Fernet keys and the audit log come from the current config /
 *     CREDSTASH_FERNET_KEY / CREDSTASH_AUDIT_LOG;
 *   - otherwise a config file, `./other/credstash.toml` (anything with a `/`, or ending in `.toml`): that
 *     file's store, Fernet keys and audit log, exactly as `--config FILE` would open it.
 * Either way the store is opened by openConfiguredStore, so it gets the same wrapping (audit log) as the
 * configured store.
 */
import { statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { ConfigError } from '../core/errors.js';
import type { CredentialStore } from '../core/store.js';
import type { ResolvedConfig } from '../config/merge.js';
import { registeredStoreTypes } from '../stores/registry.js';
import { loadCliConfig, storeHooks, type GlobalArgs } from './context.js';
import { UsageError } from './errors.js';

export interface ParsedStoreSpec {
  kind: 'file' | 'type';
  file?: string;
  type?: string;
  config?: Record<string, string>;
}

const TYPE_SPEC = /^([a-z][a-z0-9_-]*)(?::(.*))?$/s;

/**
 * Split a store spec. `knownTypes` decides: a spec starting with one of them followed by `:` (or equal to
 * one) is a TYPE spec whatever else it holds; otherwise anything with a `/` or ending in `.toml` is a config
 * file; otherwise a `TYPE[:...]`-shaped spec is a TYPE spec of an unknown type (opening it lists the known
 * ones).
 * @throws UsageError for a spec of neither form, a pair without `=`, or a key given twice (never echoing a value)
 */
export function parseStoreSpec(spec: string, cwd: string, knownTypes: Iterable<string> = registeredStoreTypes()): ParsedStoreSpec {
  const m = TYPE_SPEC.exec(spec);
  const known = new Set(knownTypes);
  if ((m === null || !known.has(m[1] as string)) && (spec.includes('/') || spec.endsWith('.toml'))) {
    return { kind: 'file', file: isAbsolute(spec) ? spec : resolve(cwd, spec) };
  }
  if (m === null) throw new UsageError('a store is a config file path or TYPE:key=value,... (e.g. local:path=./ks.json)');
  const type = m[1] as string;
  // A Map, not `config[key] = ...`: a `__proto__=x` pair would set the prototype and vanish instead of
  // reaching the tier, which rejects it as an unknown key.
  const config = new Map<string, string>();
  const rest = m[2] ?? '';
  if (rest !== '') {
    for (const pair of rest.split(',')) {
      const i = pair.indexOf('=');
      // The pair is not quoted: without its `=` it may be a value typed in the wrong place.
      if (i <= 0) throw new UsageError(`store ${type}: "${/^[a-z][a-z0-9_]{0,39}$/.test(pair) ? pair : '...'}" is not key=value`);
      const key = pair.slice(0, i);
      if (config.has(key)) throw new UsageError(`store ${type}: key "${key}" is given twice`);
      config.set(key, pair.slice(i + 1));
    }
  }
  return { kind: 'type', type, config: Object.fromEntries(config) };
}

/**
 * Open a store spec for the CLI, with the same decorators as the configured store.
 * @param flag the option that named it, for messages (`--from`, `--to`)
 * @throws UsageError (malformed spec), ConfigError (missing file, unknown type, bad store config)
 */
export async function openStoreSpec(spec: string, argv: GlobalArgs, flag = 'store'): Promise<CredentialStore> {
  const { loadConfig, openConfiguredStore } = await import('./load-config.js');
  const known = new Set(registeredStoreTypes());
  const head = TYPE_SPEC.exec(spec)?.[1];
  // Only a spec that could name the current config's custom type needs the current config to be parsed.
  let current: ResolvedConfig | undefined;
  if (head !== undefined && !known.has(head)) {
    current = await loadCliConfig(argv);
    if (current.storeModule !== undefined) known.add(current.store.type);
  }
  const parsed = parseStoreSpec(spec, argv.io.cwd, known);
  if (parsed.kind === 'file') {
    const file = parsed.file as string;
    if (!isFile(file)) {
      // `sqll:path=./x.db`: a mistyped type, not a file nobody meant.
      if (head !== undefined && spec.startsWith(`${head}:`)) throw new ConfigError(`${flag}: unknown store type "${head}"; known types: ${[...known].sort().join(', ')}`);
      throw new ConfigError(`config file ${file} (from ${flag}) does not exist or is not a file`, { path: file });
    }
    return openConfiguredStore(loadConfig({ cwd: argv.io.cwd, env: argv.io.env, overrides: { configPath: file } }), argv.io.env, storeHooks(argv.io));
  }
  current ??= await loadCliConfig(argv);
  return openConfiguredStore(typeSpecConfig(current, parsed.type as string, parsed.config ?? {}, argv.io.cwd), argv.io.env, storeHooks(argv.io));
}

/** The current config with its store replaced by a TYPE spec (relative paths against the working directory). */
function typeSpecConfig(current: ResolvedConfig, type: string, config: Record<string, string>, cwd: string): ResolvedConfig {
  const out: ResolvedConfig = {
    ...current,
    baseDir: cwd,
    store: { type, config: { ...config } },
    storeSources: Object.fromEntries([['type', 'flag'], ...Object.keys(config).map((k) => [k, 'flag'])]),
  };
  delete out.storeModule;
  // The custom type of the current config: its module registers it.
  if (current.storeModule !== undefined && current.store.type === type) out.storeModule = current.storeModule;
  return out;
}

function isFile(p: string): boolean {
  try {
    return statSync(p, { throwIfNoEntry: false })?.isFile() ?? false;
  } catch {
    return false;
  }
}
