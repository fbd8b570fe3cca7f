/**
 * `--store NAME` on put and delete: which member of a chain store takes the write (default: the first
 * writable one). Only a chain has members, so on any other store the flag is a usage error (exit 2).
 */
import type { CredentialStore } from '../core/store.js';
import { UsageError } from './errors.js';

export const STORE_OPTION = {
  type: 'string',
  describe: 'chain store only: the member store (by name) to write to or delete from (default: the first writable one)',
  requiresArg: true,
} as const;

/** Extra write/delete options for `--store NAME` (empty when not given). */
export function chainTarget(store: CredentialStore, name: string | undefined): { store?: string } {
  if (name === undefined) return {};
  if (store.kind !== 'chain') throw new UsageError(`--store applies only to a chain store; the configured store is ${store.kind}`);
  return { store: name };
}
