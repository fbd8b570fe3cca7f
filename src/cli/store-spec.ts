/**
 * A store named on the command line (`migrate --from/--to`). Two forms:
 *   - a config file: `./other/credstash.toml` (anything with a `/`, or ending in `.toml`): that file's
 *     store, Fernet keys and audit log, exactly as `--config FILE` would open it;
 *   - `TYPE[:key=value,key=value...]`: a registry type with its config keys (the snake_case keys of
 *     `[credential_store.config]`), e.g. `dynamodb:table=credential-store,region=eu-west-1` or
 *     `local:path=./ks.json`. Values are strings; relative paths resolve against the working directory;
 *     Fernet keys come from the current config / CREDSTASH_FERNET_KEY.
 */
import { isAbsolute, resolve } from 'node:path';
import type { CredentialStore } from '../core/store.js';
import { openStore } from '../stores/registry.js';
import { loadCliConfig, type GlobalArgs } from './context.js';
import { UsageError } from './errors.js';

export interface ParsedStoreSpec {
  kind: 'file' | 'type';
  file?: string;
  type?: string;
  config?: Record<string, string>;
}

export function parseStoreSpec(spec: string, cwd: string): ParsedStoreSpec {
  if (spec.includes('/') || spec.endsWith('.toml')) return { kind: 'file', file: isAbsolute(spec) ? spec : resolve(cwd, spec) };
  const m = /^([a-z][a-z0-9_-]*)(?::(.*))?$/s.exec(spec);
  if (m === null) throw new UsageError('a store is a config file path or TYPE:key=value,... (e.g. local:path=./ks.json)');
  const config: Record<string, string> = {};
  const rest = m[2] ?? '';
  if (rest !== '') {
    for (const pair of rest.split(',')) {
      const i = pair.indexOf('=');
      if (i <= 0) throw new UsageError(`store ${m[1]}: "${pair.length > 40 ? `${pair.slice(0, 37)}...` : pair}" is not key=value`);
      const key = pair.slice(0, i);
      if (Object.prototype.hasOwnProperty.call(config, key)) throw new UsageError(`store ${m[1]}: key "${key}" is given twice`);
      config[key] = pair.slice(i + 1);
    }
  }
  return { kind: 'type', type: m[1] as string, config };
}

export async function openStoreSpec(spec: string, argv: GlobalArgs): Promise<CredentialStore> {
  const parsed = parseStoreSpec(spec, argv.io.cwd);
  const { loadConfig, openConfiguredStore } = await import('../config/load.js');
  if (parsed.kind === 'file') {
    const config = loadConfig({ cwd: argv.io.cwd, env: argv.io.env, overrides: { configPath: parsed.file } });
    return openConfiguredStore(config, argv.io.env);
  }
  const current = await loadCliConfig(argv);
  return openStore({ type: parsed.type as string, config: parsed.config ?? {} }, { baseDir: argv.io.cwd, fernetKeys: current.fernetKeys, env: argv.io.env });
}
