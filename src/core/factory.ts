/**
 * What a store factory is (the registry maps a `type` to one) and the one way every tier reads its
 * `[credential_store.config]` table: the same message for an unknown key, the same messages for a value of
 * the wrong type. In core, so the registry and the tier index files both import from here and never from
 * each other.
 */
import { ConfigError } from './errors.js';
import type { CredentialStore } from './store.js';

/** `[credential_store] type = "..."` plus its `[credential_store.config]` table. */
export interface StoreSpec {
  type: string;
  config?: Record<string, unknown>;
  /** Optional label for messages and `--store NAME` (chain members). */
  name?: string;
}

/** What a factory may need besides its own config. */
export interface StoreFactoryContext {
  /** Folder of the config file (relative paths in a store config resolve against it); cwd when there is none. */
  baseDir: string;
  /** Project Fernet keys, first encrypts (from credstash.toml or CREDSTASH_FERNET_KEY). */
  fernetKeys?: readonly string[];
  /** Environment to read (defaults to process.env); injected by tests. */
  env?: NodeJS.ProcessEnv;
  /** Open a nested store (chain members). */
  openStore(spec: StoreSpec): Promise<CredentialStore>;
  /** Notices for a person (the CLI prints them on stderr when it is a terminal); never holds a value. */
  notice?: (message: string) => void;
  /** Asks for an MFA code (the CLI prompts when stdin is a terminal); tiers whose credentials may need one use it. */
  mfaCodeProvider?: (mfaSerial: string) => Promise<string>;
  /**
   * The store serves one short-lived process (the CLI): a tier may use a client that starts faster where it
   * behaves the same (the DynamoDB tier's `get` without the AWS SDK).
   */
  shortLived?: boolean;
}

/** Builds a store from its `[credential_store.config]` table; registered with `registerCredentialStore`. */
export type StoreFactory = (config: Record<string, unknown>, ctx: StoreFactoryContext) => CredentialStore | Promise<CredentialStore>;

/** Where a store's config keys live in credstash.toml (messages and ConfigError `path`). */
export const STORE_CONFIG_PATH = 'credential_store.config';

/**
 * Refuse any key of `config` that is not in `known`, with the one message every tier uses:
 * `unknown key credential_store.config.<key> for the <tier> store (known: a, b)`.
 *
 * @example
 * ```ts
 * checkStoreConfigKeys('env', config, ['prefix']);
 * ```
 * @throws ConfigError naming the key and the known ones
 */
export function checkStoreConfigKeys(tier: string, config: Record<string, unknown>, known: readonly string[]): void {
  for (const key of Object.keys(config)) {
    if (!known.includes(key)) {
      throw new ConfigError(`unknown key ${STORE_CONFIG_PATH}.${key} for the ${tier} store (known: ${known.join(', ')})`, {
        path: `${STORE_CONFIG_PATH}.${key}`,
      });
    }
  }
}

/**
 * A typed reader over one tier's config table: checks the keys once (as {@link checkStoreConfigKeys}), then
 * reads each value with one message per kind of mistake (`<tier> store "<key>" must be ...`).
 *
 * @example
 * ```ts
 * const c = readStoreConfig('ssm', config, ['prefix', 'max_attempts']);
 * const prefix = c.string('prefix');          // undefined when unset
 * const attempts = c.positiveInt('max_attempts');
 * ```
 * @throws ConfigError for an unknown key
 */
export function readStoreConfig<K extends string>(tier: string, config: Record<string, unknown>, known: readonly K[]): StoreConfigReader<K> {
  checkStoreConfigKeys(tier, config, known);
  return new StoreConfigReader(tier, config);
}

/** See {@link readStoreConfig}. */
export class StoreConfigReader<K extends string> {
  readonly #tier: string;
  readonly #config: Record<string, unknown>;

  constructor(tier: string, config: Record<string, unknown>) {
    this.#tier = tier;
    this.#config = config;
  }

  /** The raw value (undefined when unset). */
  raw(key: K): unknown {
    return Object.prototype.hasOwnProperty.call(this.#config, key) ? this.#config[key] : undefined;
  }

  /** A ConfigError about `key` (`<tier> store "<key>" <problem>`), with its path. */
  error(key: K, problem: string): ConfigError {
    return new ConfigError(`${this.#tier} store "${key}" ${problem}`, { path: `${STORE_CONFIG_PATH}.${key}` });
  }

  /** A non-empty string, or undefined when unset. @throws ConfigError otherwise */
  string(key: K): string | undefined {
    const v = this.raw(key);
    if (v !== undefined && (typeof v !== 'string' || v.length === 0)) throw this.error(key, 'must be a non-empty string');
    return v as string | undefined;
  }

  /** A positive safe integer (a string of digits too, as environment-merged config gives), or undefined. @throws ConfigError otherwise */
  positiveInt(key: K, opts: { fromString?: boolean } = {}): number | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    const n = opts.fromString === true && typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1) throw this.error(key, 'must be a positive integer');
    return n;
  }

  /** One of `allowed`, or undefined. @throws ConfigError otherwise, listing them */
  oneOf<T extends string>(key: K, allowed: readonly T[]): T | undefined {
    const v = this.string(key);
    if (v !== undefined && !(allowed as readonly string[]).includes(v)) {
      throw this.error(key, `must be ${allowed.length === 2 ? allowed.map((a) => `"${a}"`).join(' or ') : `one of ${allowed.join(', ')}`}`);
    }
    return v as T | undefined;
  }
}
