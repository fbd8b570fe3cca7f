/**
 * Key rotation for the Fernet tiers (docs/fernet.md §6): re-encrypt every stored version under the first key.
 * Both `LocalStore` and `SqlStore` implement it; the CLI's `rotate-key` reaches it through `isKeyRotationCapable`,
 * without importing a tier.
 */
import { ConfigError } from '../core/errors.js';
import type { CredentialStore } from '../core/store.js';

/** What `reencryptAll` did. */
export interface RotationResult {
  /** Versions now under the first key that were under another key before. */
  reencrypted: number;
  /** Versions that were already under the first key (rewritten anyway, so every token is fresh). */
  alreadyCurrent: number;
  /** One line for the user. */
  message: string;
}

/** Options of `reencryptAll`. */
export interface ReencryptOptions {
  /** Use this key list from now on (first encrypts, all decrypt) instead of the one the store was opened with. */
  keys?: readonly string[];
  /**
   * The key list as it is now where it is kept (the CLI re-reads credstash.toml from disk). Called under the
   * store's own write lock (keystore lock, SQL transaction holding its row locks) just before anything is
   * re-encrypted; the rotation refuses, writing nothing, unless its encrypting key is that list's first key.
   * So a store is never re-encrypted under a key the config file does not hold.
   */
  currentKeys?: () => readonly string[];
}

/** A store whose values are Fernet tokens under the project keys. */
export interface KeyRotationCapable {
  /**
   * Re-encrypt every stored version under the first key, all or nothing: a failure (a token no key opens,
   * a crash) leaves every version readable with the old keys.
   * @throws IntegrityError naming the first version no key verifies (nothing is rewritten), ConfigError
   */
  reencryptAll(opts?: ReencryptOptions): Promise<RotationResult>;
}

/**
 * The check both tiers run under their write lock before re-encrypting with `codec`.
 * @throws ConfigError when `opts.currentKeys` says the first key is another one (never naming a key)
 */
export function confirmRotationKey(codec: { encryptsWith(key: string): boolean }, opts: ReencryptOptions): void {
  if (opts.currentKeys === undefined) return;
  const first = opts.currentKeys()[0];
  if (first === undefined || !codec.encryptsWith(first)) {
    throw new ConfigError(
      'the Fernet key list changed while rotating (its first key is not the one this rotation encrypts under); nothing was re-encrypted. ' +
        'Run `credstash rotate-key --reencrypt-only`',
      { path: 'fernet.keys' },
    );
  }
}

/**
 * Whether `store` is a Fernet tier that can re-encrypt itself under a new first key (`credstash rotate-key`).
 *
 * @example
 * ```ts
 * if (isKeyRotationCapable(store)) {
 *   const { message } = await store.reencryptAll({ keys: [generateFernetKey(), ...currentKeys] });
 * }
 * ```
 */
export function isKeyRotationCapable(store: CredentialStore): store is CredentialStore & KeyRotationCapable {
  return typeof (store as Partial<KeyRotationCapable>).reencryptAll === 'function';
}
