import { withAudit, type AuditedStore, type AuditOptions } from './audit-store.js';
import { fileAuditSink } from './file-sink.js';
import type { CredentialStore } from '../core/store.js';

export { AuditedStore, withAudit } from './audit-store.js';
export type { AuditAction, AuditOptions, AuditOutcome, AuditRecord, AuditSink } from './audit-store.js';
export { fileAuditSink } from './file-sink.js';
export type { FileAuditSink } from './file-sink.js';

/**
 * The config wiring (`audit_log = "path"` / CREDSTASH_AUDIT_LOG): wrap the store with a file sink, and
 * close the file when the store closes.
 *
 * @example
 * ```ts
 * const store = withAuditLog(await openStore(spec), '/var/log/credstash/audit.jsonl', { user: 'deploy-bot' });
 * await store.storeCredential('myapp.db.prod', newPassword, { autoVersion: true }); // one "put" line, no value
 * await store.close(); // also closes the log file
 * ```
 * @throws StoreUnavailableError from an audited call when its record cannot be written (the result is withheld);
 *   the wrapped store's own errors pass through
 */
export function withAuditLog(store: CredentialStore, path: string, opts: AuditOptions = {}): AuditedStore {
  const sink = fileAuditSink(path);
  const onClose = opts.onClose;
  return withAudit(store, sink, {
    sinkDescription: `audit log "${sink.path}"`,
    ...opts,
    onClose: async () => {
      try {
        await onClose?.();
      } finally {
        await sink.close();
      }
    },
  });
}
