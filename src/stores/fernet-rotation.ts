/**
 * Key rotation for the Fernet tiers (design.md §5): re-encrypt every stored version under the first key.
 * Both `LocalStore` and `SqlStore` implement it; the CLI's `rotate-key` reaches it through `isKeyRotationCapable`,
 * without importing a tier.
 */
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
