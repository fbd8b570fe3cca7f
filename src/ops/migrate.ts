/**
 * `migrate`: copy credentials between any two stores, or re-encrypt a store's newest versions in place.
 *
 * Idempotent and resumable by construction, with no state file:
 *  - Copy (two stores): version N of an id is written as version N in the destination, with the same
 *    comment and context. Before writing, the destination is asked for that exact version: if it is there
 *    with the same value it was copied before (skipped as `already present`); if it is there with another
 *    value it is a conflict (reported, never overwritten). A crashed run is resumed by running it again.
 *    Non-integer versions (old credstash tables may hold `v5`) cannot keep their number and are reported.
 *  - Re-encrypt (one store, `reencrypt`): the newest version of each id is read and, unless it is already
 *    in the format a write would use now, written again as a new version (`autoVersion`) in the store's
 *    default format (AES-GCM for DynamoDB; the first key for the Fernet tiers; or `format`), with the note
 *    `[re-encrypted from version N]` appended to its comment. "Already done" is decided from the format the
 *    decryption itself established (StoredCredential.atRest), never from the note, the comment or any other
 *    stored label: a table writer without any key can copy a legacy item, or a comment, but cannot make a
 *    legacy item decrypt as AES-GCM. Running it twice writes nothing twice; a version written later in an
 *    old format is re-encrypted on the next run. A store that does not report the format is refused.
 *  - In both, when `format` is given, a destination version that already exists in another format than
 *    `format` is reported as a failure, not counted as done.
 */
import { CredentialNotFoundError, CredstashError, UnsupportedOperationError, ValidationError } from '../core/errors.js';
import { compareSummaries, mapConcurrent, type CredentialStore } from '../core/store.js';
import type { CredentialSummary, EncryptionContext, StoredCredential } from '../core/types.js';
import { parseWriteVersion } from '../core/version.js';
import { valuesEqual } from './values.js';

/** Options of {@link migrate}. */
export interface MigrateOptions {
  /** Copy every version, oldest first (default: only the newest of each id). */
  allVersions?: boolean;
  /** Re-encrypt in place (`from` and `to` are the same store): newest versions only. */
  reencrypt?: boolean;
  /** Encryption context to read with and write with (one per run; run again with another for other items). */
  context?: EncryptionContext;
  /** Only ids matching this glob. */
  pattern?: string;
  /**
   * Write format passed to the destination (`aes-gcm` or `legacy` for DynamoDB), compared with the format a
   * version was found in (StoredCredential.atRest) to tell what is done. Default: the destination's own.
   */
  format?: string;
  /** Ids processed in parallel (versions of one id are always in order). Default 4. */
  concurrency?: number;
  onProgress?: (p: MigrateProgress) => void;
}

/** One version done, passed to `onProgress`. */
export interface MigrateProgress {
  done: number;
  total: number;
  id: string;
  version: string;
  outcome: MigrateOutcome;
}

export type MigrateOutcome = 'copied' | 'present' | 'skipped' | 'failed';

/** What a migrate run copied, found present and could not copy. */
export interface MigrateReport {
  /** Versions written in this run. */
  copied: Array<{ id: string; version: string; to: string }>;
  /** Versions found already copied (same value) or already re-encrypted. */
  present: Array<{ id: string; version: string }>;
  /** Versions that could not be copied, with a value-free reason. */
  failed: Array<{ id: string; version: string; reason: string; code?: string }>;
  total: number;
}

/**
 * A DynamoDB format name as StoredCredential.atRest names it; `auto` is refused (it names no format to reach).
 * Other names (another tier's) pass unchanged.
 * @throws ValidationError for `auto`
 */
function canonicalWriteFormat(format: string): string {
  const f = format.toLowerCase();
  if (f === 'gcm' || f === 'aes-gcm' || f === 'aes-256-gcm') return 'aes-gcm';
  if (f === 'legacy' || f === 'aes-ctr-legacy') return 'legacy';
  if (f === 'auto') throw new ValidationError('migrate --format names the format to write: gcm or legacy (auto follows the table, which a migration must not)');
  return format;
}

/** The note appended to a re-encrypted version's comment. Informational only: nothing is decided from it. */
export const REENCRYPT_MARKER = /\[re-encrypted from version ([^\]]+)\]$/;

/**
 * Copy credentials from one store to another keeping version numbers, or (`reencrypt`) rewrite a store's
 * newest versions in place; idempotent and resumable.
 *
 * @example
 * ```ts
 * const report = await migrate(legacyTable, localKeystore, { allVersions: true, onProgress: (p) => bar(p) });
 * if (report.failed.length > 0) process.exitCode = 1;
 * ```
 * @throws ValidationError for a bad combination of options or concurrency; the source store's listing errors.
 *   Per-version failures are in the report, not thrown
 */
export async function migrate(from: CredentialStore, to: CredentialStore, opts: MigrateOptions = {}): Promise<MigrateReport> {
  if (opts.reencrypt === true && opts.allVersions === true) {
    throw new ValidationError('--reencrypt writes the newest version of each credential again; it cannot be combined with --all-versions');
  }
  if (opts.reencrypt !== true && from === to) {
    throw new ValidationError('source and destination are the same store; use --reencrypt to re-encrypt in place');
  }
  const concurrency = opts.concurrency ?? 4;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) throw new ValidationError('concurrency must be a positive integer');
  const context = opts.context ?? {};
  // The names a write accepts (`gcm`, `aes-256-gcm`, `aes-ctr-legacy`) compared as the format a decryption
  // reports (`aes-gcm`, `legacy`): otherwise `--format gcm` never matched and re-encrypted everything again.
  if (opts.format !== undefined) opts = { ...opts, format: canonicalWriteFormat(opts.format) };

  const summaries = await from.listCredentials({
    latestOnly: opts.allVersions !== true,
    ...(opts.pattern === undefined ? {} : { pattern: opts.pattern }),
  });
  const byId = new Map<string, CredentialSummary[]>();
  for (const s of [...summaries].sort(compareSummaries)) {
    const list = byId.get(s.id) ?? [];
    list.push(s);
    byId.set(s.id, list);
  }
  const report: MigrateReport = { copied: [], present: [], failed: [], total: summaries.length };
  let done = 0;
  const progress = (id: string, version: string, outcome: MigrateOutcome): void => {
    done++;
    opts.onProgress?.({ done, total: report.total, id, version, outcome });
  };
  const fail = (id: string, version: string, err: unknown): void => {
    if (!(err instanceof CredstashError) || ABORTS_RUN.has(err)) throw err;
    report.failed.push({ id, version, reason: err.message, code: err.code });
    progress(id, version, 'failed');
  };

  await mapConcurrent([...byId.entries()], concurrency, async ([id, versions]) => {
    for (const s of versions) {
      try {
        const outcome = opts.reencrypt === true ? await reencryptOne(from, s, context, opts, report) : await copyOne(from, to, s, context, opts, report);
        progress(id, s.version, outcome);
      } catch (err) {
        fail(id, s.version, err);
      }
    }
  });
  for (const list of [report.copied, report.present, report.failed]) list.sort(compareSummaries);
  return report;
}

async function copyOne(
  from: CredentialStore,
  to: CredentialStore,
  s: CredentialSummary,
  context: EncryptionContext,
  opts: MigrateOptions,
  report: MigrateReport,
): Promise<MigrateOutcome> {
  let version: number;
  try {
    version = parseWriteVersion(s.version);
  } catch {
    throw new ValidationError(`credential "${s.id}" version ${s.version} is not a positive integer and cannot keep its number in ${to.description}`, {
      credentialId: s.id,
    });
  }
  const src = await readVersion(from, s, context);
  if (await to.credentialExists(s.id, { version })) {
    const there = await to.getCredential(s.id, { version, context, required: true });
    const found = there.atRest?.format;
    if (opts.format !== undefined && found !== undefined && found !== opts.format) {
      throw new ValidationError(
        `credential "${s.id}" version ${s.version} already exists in ${to.description} in the ${found} format, not ${opts.format}; it was left as it is`,
        { credentialId: s.id, version: s.version },
      );
    }
    if (valuesEqual(there.value, src.value)) {
      report.present.push({ id: s.id, version: s.version });
      return 'present';
    }
    throw new ValidationError(
      `credential "${s.id}" version ${s.version} already exists in ${to.description} with a different value; it was left as it is`,
      { credentialId: s.id, version: s.version },
    );
  }
  await to.storeCredential(s.id, src.value, {
    version,
    context,
    ...(src.comment === undefined ? {} : { comment: src.comment }),
    ...(src.definition === undefined ? {} : { definition: src.definition }),
    ...(opts.format === undefined ? {} : { format: opts.format }),
  });
  report.copied.push({ id: s.id, version: s.version, to: String(version) });
  return 'copied';
}

/** Errors that end a whole run instead of being reported for one version. */
const ABORTS_RUN = new WeakSet<object>();

async function reencryptOne(store: CredentialStore, s: CredentialSummary, context: EncryptionContext, opts: MigrateOptions, report: MigrateReport): Promise<MigrateOutcome> {
  const src = await readVersion(store, s, context);
  const atRest = src.atRest;
  if (atRest === undefined) {
    // Ends the whole run (see `fail`): the same holds for every version.
    const err = new UnsupportedOperationError(
      store.description,
      '--reencrypt: it does not report how each version is encrypted, so which ones are done cannot be told (dynamodb, local and sql do)',
    );
    ABORTS_RUN.add(err);
    throw err;
  }
  const target = opts.format ?? atRest.preferred;
  if (atRest.format === target) {
    report.present.push({ id: s.id, version: s.version });
    return 'present';
  }
  const marker = `[re-encrypted from version ${s.version}]`;
  const put = await store.storeCredential(s.id, src.value, {
    autoVersion: true,
    context,
    comment: src.comment === undefined || src.comment === '' ? marker : `${src.comment} ${marker}`,
    ...(src.definition === undefined ? {} : { definition: src.definition }),
    // The store's preferred format, named: its default write format may differ (DynamoDB's `auto`).
    format: target,
  });
  report.copied.push({ id: s.id, version: s.version, to: String(put.version) });
  return 'copied';
}

async function readVersion(store: CredentialStore, s: CredentialSummary, context: EncryptionContext): Promise<StoredCredential> {
  const cred = await store.getCredential(s.id, { version: s.version, context });
  // Deleted between the listing and the read.
  if (cred === undefined) throw new CredentialNotFoundError({ credentialId: s.id, store: store.description, version: s.version });
  return cred;
}
