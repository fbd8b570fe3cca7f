/**
 * `prune ID --keep N`: delete the old versions of one credential, keeping the newest N (N >= 1, so the
 * newest is never deleted). Versions are ordered as `list` orders them (integers numerically).
 */
import { CredentialNotFoundError, ValidationError } from '../core/errors.js';
import { compareSummaries, type CredentialStore } from '../core/store.js';
import { validateId } from '../core/names.js';

/** Options of {@link prune}. */
export interface PruneOptions {
  /** Report what would be deleted without deleting. */
  dryRun?: boolean;
}

/** The versions prune kept and deleted. */
export interface PruneResult {
  id: string;
  /** Versions kept, oldest first (the newest is last). */
  kept: string[];
  /** Versions deleted (or that would be, with dryRun), oldest first. */
  deleted: string[];
}

/**
 * Delete the old versions of one credential, keeping the newest `keep` (at least 1).
 *
 * @example
 * ```ts
 * const { deleted } = await prune(store, 'myapp.db.prod', 3, { dryRun: true }); // what would go
 * ```
 * @throws ValidationError for a bad id or when keep is not a positive integer; CredentialNotFoundError when
 *   the id has no versions; UnsupportedOperationError from stores that cannot delete one version
 */
export async function prune(store: CredentialStore, id: string, keep: number, opts: PruneOptions = {}): Promise<PruneResult> {
  validateId(id);
  if (!Number.isSafeInteger(keep) || keep < 1) throw new ValidationError('--keep must be a positive integer (the newest version is never deleted)');
  // The pattern narrows the listing; equality makes an id holding * or ? literal.
  const versions = (await store.listCredentials({ pattern: id })).filter((s) => s.id === id).sort(compareSummaries);
  if (versions.length === 0) throw new CredentialNotFoundError({ credentialId: id, store: store.description });
  const cut = Math.max(0, versions.length - keep);
  const old = versions.slice(0, cut).map((s) => s.version);
  const kept = versions.slice(cut).map((s) => s.version);
  if (opts.dryRun !== true) {
    for (const v of old) await store.deleteCredential(id, { version: v });
  }
  return { id, kept, deleted: old };
}
