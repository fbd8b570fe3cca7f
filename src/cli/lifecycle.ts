/**
 * What the version-lifecycle commands share (label, unlabel, history, rollback, check, and get's expiry
 * warning): the store's lifecycle operations or a one-line refusal, durations, and the expiry warning text.
 * docs/lifecycle.md describes the commands.
 */
import { UnsupportedOperationError, ValidationError } from '../core/errors.js';
import { parseDuration } from '../core/lifecycle.js';
import { isLifecycleCapable, type CredentialStore, type LifecycleCapable } from '../core/store.js';
import type { StoredCredential } from '../core/types.js';
import { UsageError } from './errors.js';
import { displayText } from './output/terminal.js';

/**
 * The store's lifecycle operations. A store without them (a chain: each member keeps its own labels and
 * history; a custom store not built on BaseStore) is refused in one line naming it and `what`.
 * @throws UnsupportedOperationError
 */
export function lifecycleStore(store: CredentialStore, what: string): CredentialStore & LifecycleCapable {
  if (!isLifecycleCapable(store)) {
    if (store.kind === 'chain') throw new UnsupportedOperationError(store.description, `${what} (run it on one member store: --config FILE or --store-type TYPE)`);
    throw new UnsupportedOperationError(store.description, what);
  }
  return store;
}

/** A duration option (`--expiring 14d`) in milliseconds; a malformed one is a usage error (exit 2). */
export function durationArg(text: string, flag: string): number {
  try {
    return parseDuration(text, flag);
  } catch (err) {
    if (err instanceof ValidationError) throw new UsageError(err.message);
    throw err;
  }
}

/**
 * The stderr line for a read of a version past its expiry (without --strict the value is still printed):
 * `credstash: warning: credential "x" version 3 in STORE expired at T; store a new version (credstash put -a)`.
 * Undefined when the version has no expiry or it has not passed.
 */
export function expiredWarning(cred: StoredCredential, store: CredentialStore, now = Date.now()): string | undefined {
  if (cred.expiresAt === undefined) return undefined;
  const at = Date.parse(cred.expiresAt);
  if (Number.isNaN(at) || at > now) return undefined;
  return `credstash: warning: credential "${displayText(cred.id)}" version ${displayText(cred.version)} in ${displayText(store.description)} expired at ${displayText(cred.expiresAt)}; store a new version (credstash put -a) or move its label\n`;
}

/** `current`, `previous` -> ` [current, previous]`; nothing for no labels. */
export function labelSuffix(labels: readonly string[]): string {
  return labels.length === 0 ? '' : ` [${labels.map(displayText).join(', ')}]`;
}
