/**
 * A Lambda handler factory for scheduled rotation (an EventBridge schedule invoking `rotate --due`):
 * docs/rotation.md "Scheduled rotation (Lambda)". The store and the policies come from credstash.toml and the
 * CREDSTASH_* environment, as for the CLI, unless given. The config module is loaded on the first
 * invocation, never when the library is imported.
 */
import { ConfigError } from '../core/errors.js';
import type { CredentialStore } from '../core/store.js';
import { rotateDue, type DueOutcome } from './engine.js';
import { parseRotationPolicy, type RotationPolicy } from './policy.js';

/** Options of {@link createRotationHandler}. */
export interface RotationHandlerOptions {
  /** The store, or how to open it; default: the one credstash.toml and CREDSTASH_* name (kept open between invocations). */
  store?: CredentialStore | (() => Promise<CredentialStore>);
  /** The policies by credential id; default: the `rotation` tables of credstash.toml's `[[credentials]]`. */
  policies?: Record<string, RotationPolicy>;
  /** Where credstash.toml is looked for (default: the working directory, then CREDSTASH_CONFIG). */
  cwd?: string;
  /** The environment (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Rotations run at once (default 4). */
  concurrency?: number;
}

/** What one invocation did (no value, no password). */
export interface RotationHandlerSummary {
  rotated: number;
  failed: number;
  notDue: number;
  results: DueOutcome[];
}

/**
 * A handler that rotates every due credential and returns a summary. An invocation whose rotations failed
 * still returns (the others went on); alarm on `failed`.
 *
 * @example
 * ```ts
 * // handler.mjs, deployed with credstash.toml beside it (CREDSTASH_CONFIG=./credstash.toml)
 * import { createRotationHandler } from 'credstash-ts';
 * export const handler = createRotationHandler();
 * ```
 * @throws ConfigError (no policies, a malformed policy), the store's errors when it cannot be opened
 */
export function createRotationHandler(opts: RotationHandlerOptions = {}): (event?: unknown) => Promise<RotationHandlerSummary> {
  let setup: Promise<{ store: CredentialStore; policies: Array<{ id: string; policy: RotationPolicy }> }> | undefined;
  const prepare = async (): Promise<{ store: CredentialStore; policies: Array<{ id: string; policy: RotationPolicy }> }> => {
    let policies = opts.policies === undefined ? undefined : Object.entries(opts.policies).map(([id, p]) => ({ id, policy: parseRotationPolicy(p, `policies "${id}"`) }));
    let store: CredentialStore | undefined = typeof opts.store === 'function' ? await opts.store() : opts.store;
    if (policies === undefined || store === undefined) {
      const env = opts.env ?? process.env;
      const { loadConfig, openConfiguredStore } = await import('../config/index.js');
      const config = loadConfig({ cwd: opts.cwd ?? process.cwd(), env });
      if (policies === undefined) {
        policies = [...config.rotation].map(([id, table]) => ({ id, policy: parseRotationPolicy(table, `${config.file ?? 'credstash.toml'}: credentials "${id}" rotation`) }));
      }
      store ??= await openConfiguredStore(config, env);
    }
    if (policies.length === 0) throw new ConfigError('no credential has a rotation policy: add a rotation table to a [[credentials]] definition, or pass policies', { path: 'credentials' });
    return { store, policies };
  };
  return async () => {
    setup ??= prepare();
    let ready;
    try {
      ready = await setup;
    } catch (err) {
      setup = undefined; // the next invocation tries again
      throw err;
    }
    const summary = await rotateDue(ready.store, ready.policies, opts.concurrency === undefined ? {} : { concurrency: opts.concurrency });
    return { rotated: summary.rotated, failed: summary.failed, notDue: summary.results.filter((r) => r.outcome === 'not-due').length, results: summary.results };
  };
}
