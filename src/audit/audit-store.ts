/**
 * Audit: records of every access through a store, to a sink (a JSON-lines file or a callback). A record names
 * the action, the credential id and version, the store, the outcome and who asked, and never holds a value
 * (it is built from ids, versions and error codes only, so no code path can put one there).
 *
 * - A write (put, delete) is recorded before it happens (`outcome: "started"`) and again with its outcome.
 *   When the first record cannot be written the write is refused and nothing is written. When the second
 *   cannot be written after the write succeeded, the call still returns what was stored (the truth, so that
 *   nobody retries a put that happened) and the gap is reported through `onIncomplete` (default: a process
 *   warning); the "started" record stays in the log.
 * - A read (get, getall, list, exists) is recorded once, after the store answered and before anything is
 *   returned; when that record cannot be written the result is withheld (nothing read reaches the caller).
 */
import { hostname, userInfo } from 'node:os';
import { CredentialNotFoundError, CredstashError, StoreUnavailableError } from '../core/errors.js';
import { validateId } from '../core/names.js';
import { StoreDecorator, type ExtraCall, type StoreExtra } from '../core/decorator.js';
import type { CredentialStore } from '../core/store.js';
import type {
  CredentialSummary,
  CredentialValue,
  DeleteOptions,
  DeleteResult,
  GetAllOptions,
  GetAllResult,
  GetOptions,
  ListOptions,
  PutResult,
  StoredCredential,
  WriteOptions,
} from '../core/types.js';
import { parseReadVersion } from '../core/version.js';

/** The store method an audit record is for (`put` = storeCredential, `getall` = getAllCredentials, ...). */
export type AuditAction =
  | 'put'
  | 'get'
  | 'delete'
  | 'list'
  | 'getall'
  | 'exists'
  | 'reencrypt'
  | 'label'
  | 'unlabel'
  | 'rollback'
  | 'history'
  | 'state_read'
  | 'state_write';
/**
 * `started`: a write about to happen (its outcome follows in a second record). `not_found` is a miss
 * (undefined or CredentialNotFoundError); `error` carries the error's `code`.
 */
export type AuditOutcome = 'started' | 'ok' | 'not_found' | 'error';

/** One line of the audit log. Every field is a name, a number or a code: there is no field for a value. */
export interface AuditRecord {
  /** ISO 8601, UTC, milliseconds. */
  time: string;
  action: AuditAction;
  /**
   * The credential id (absent for list/getall, and for an id refused as invalid: such an input may be a
   * value pasted in the wrong place, so it is not written down, as errors do not echo it).
   */
  id?: string;
  /** The version written, read or asked for (display form, `"3"`). */
  version?: string;
  /** get through a label, label/unlabel: the label; rollback: the labels moved (comma-separated). */
  label?: string;
  /** rollback: the version whose value was copied. state_read/state_write: the state's key (`rotation`). */
  from?: string;
  key?: string;
  /** delete: the versions removed, oldest first. */
  deleted?: string[];
  /** list/getall: the glob given, if any. */
  pattern?: string;
  /**
   * list/getall: how many entries were returned; getall also names them in `ids`. reencrypt: how many
   * versions were rewritten under the first key.
   */
  count?: number;
  ids?: string[];
  /** getall with skipErrors: the ids that could not be read. */
  failed?: string[];
  /** The store's description, e.g. `dynamodb table "credential-store"`. */
  store: string;
  outcome: AuditOutcome;
  /** The CredstashError code when outcome is `error` (`ERR_UNKNOWN` for anything else). */
  code?: string;
  /** OS user running the process, when the OS can tell. */
  user?: string;
  /** AWS caller identity (ARN), only when the store already knows it; no STS call is ever made for it. */
  caller?: string;
  host?: string;
  pid: number;
}

/** Receives every record. A sink that throws makes the audited operation fail (fail closed). */
export type AuditSink = (record: AuditRecord) => void | Promise<void>;

/** Options of {@link withAudit} and `withAuditLog`. */
export interface AuditOptions {
  /** Override the OS user (default: `os.userInfo().username`, else $USER / $LOGNAME). */
  user?: string;
  /**
   * Where the AWS caller identity comes from when already known, e.g. the role ARN the CLI assumed.
   * Default: the wrapped store's own `callerIdentity` property, if it has one and it is set.
   */
  callerIdentity?: () => string | undefined;
  /** For messages: where the sink writes (`audit log "/var/log/credstash.jsonl"`). */
  sinkDescription?: string;
  /** Injected clock (tests). */
  now?: () => Date;
  /**
   * Called when the outcome record of a write cannot be written after its "started" record was (the write
   * itself has happened or failed as the call says). Default: `process.emitWarning` with the message, type
   * `CredstashAuditWarning`. The message names the credential and the version stored, never a value.
   */
  onIncomplete?: (message: string, record: AuditRecord) => void;
  /** Called after the wrapped store is closed (whatever the outcome), e.g. to close the sink. */
  onClose?: () => void | Promise<void>;
}

/**
 * Wrap any store so that every access leaves one audit record. The tier extras the store offers pass through
 * as every decorator passes them (core/decorator.ts: `setup` as is, `reencryptAll` recorded as a write);
 * `close` closes the store.
 *
 * @example
 * ```ts
 * const store = withAudit(await openStore(spec), fileAuditSink('/var/log/credstash/audit.jsonl'));
 * await store.getCredential('myapp.db', { required: true }); // appends {"action":"get","id":"myapp.db",...}
 * ```
 * @throws StoreUnavailableError (from the wrapped calls) when the sink cannot record an access: a write is
 *   then refused before it happens, a read's result is withheld
 */
export function withAudit(store: CredentialStore, sink: AuditSink, opts: AuditOptions = {}): AuditedStore {
  return new AuditedStore(store, sink, opts);
}

/**
 * How each tier extra is recorded: a write (a "started" record, then the outcome) or a read (one record after
 * the answer), with the subject taken from the call's arguments — ids, labels, versions and keys only, never
 * a value (writeState's bytes and readState's answer are sealed state: neither is looked at). Extras not listed
 * (setup, listLabels, expiringCredentials) pass unrecorded: they read nothing secret and change nothing.
 */
const EXTRA_AUDIT: Readonly<Record<string, { kind: 'read' | 'write'; subject: (args: unknown[]) => Subject; outcome: (r: unknown) => Partial<AuditRecord> }>> = {
  reencryptAll: { kind: 'write', subject: () => ({ action: 'reencrypt' }), outcome: (r) => ({ count: rewritten(r) }) },
  labelCredential: {
    kind: 'write',
    subject: (a) => ({ action: 'label', ...idField(a[0]), ...labelField(a[1]), ...ver(versionArg(a[2])) }),
    outcome: (r) => ({ version: (r as { version: string }).version }),
  },
  unlabelCredential: {
    kind: 'write',
    subject: (a) => ({ action: 'unlabel', ...idField(a[0]), ...labelField(a[1]) }),
    outcome: (r) => ({ version: (r as { version: string }).version }),
  },
  rollbackCredential: {
    kind: 'write',
    subject: (a) => {
      const o = a[1] as { to?: number | string; labels?: unknown } | undefined;
      const labels = Array.isArray(o?.labels) && o.labels.every((l) => typeof l === 'string') ? (o.labels as string[]) : [];
      return { action: 'rollback', ...idField(a[0]), ...(ver(o?.to).version === undefined ? {} : { from: String(o?.to) }), ...(labels.length > 0 ? labelField(labels.join(',')) : {}) };
    },
    outcome: (r) => ({ version: String((r as { version: number }).version) }),
  },
  writeState: { kind: 'write', subject: (a) => ({ action: 'state_write', ...idField(a[0]), ...keyField(a[1]) }), outcome: () => ({}) },
  readState: {
    kind: 'read',
    subject: (a) => ({ action: 'state_read', ...idField(a[0]), ...keyField(a[1]) }),
    outcome: (r) => ((r as { value?: unknown }).value === undefined ? { outcome: 'not_found' } : {}),
  },
  credentialHistory: { kind: 'read', subject: (a) => ({ action: 'history', ...idField(a[0]) }), outcome: (r) => ({ count: (r as unknown[]).length }) },
};

/** A record before the fields every record has (time, store, who, where). */
type Partial0 = Omit<AuditRecord, 'time' | 'store' | 'user' | 'caller' | 'host' | 'pid'>;
/** What the call is: action, id, version, pattern (its outcome comes after it). */
type Subject = Omit<Partial0, 'outcome'>;

/**
 * The audited store {@link withAudit} returns: a StoreDecorator whose CredentialStore methods leave records,
 * whose extras pass through by STORE_EXTRAS (re-encryption recorded as a write), and whose `close` closes the
 * wrapped store, then calls `onClose` (the file sink's close).
 */
export class AuditedStore extends StoreDecorator {
  readonly #sink: AuditSink;
  readonly #user: string | undefined;
  readonly #host: string | undefined;
  readonly #now: () => Date;
  readonly #caller: () => string | undefined;
  readonly #sinkName: string;
  readonly #onIncomplete: (message: string, record: AuditRecord) => void;
  readonly #onClose: (() => void | Promise<void>) | undefined;

  constructor(inner: CredentialStore, sink: AuditSink, opts: AuditOptions = {}) {
    super(inner);
    this.#sink = sink;
    this.#user = opts.user ?? osUser();
    this.#host = safe(() => hostname());
    this.#now = opts.now ?? (() => new Date());
    this.#caller =
      opts.callerIdentity ??
      (() => {
        const c = this.callerIdentity;
        return c !== undefined && c.length > 0 ? c : undefined;
      });
    this.#sinkName = opts.sinkDescription ?? 'audit sink';
    this.#onIncomplete =
      opts.onIncomplete ?? ((message: string) => process.emitWarning(message, { type: 'CredstashAuditWarning', code: 'ERR_AUDIT_INCOMPLETE' }));
    this.#onClose = opts.onClose;
  }

  /**
   * The tier extras pass through by core's one table (STORE_EXTRAS). One that rewrites stored versions
   * (`rotate-key`'s re-encryption decrypts every version) is recorded like any write; the others (setup)
   * pass. Called from StoreDecorator's constructor: the returned call reads this store's fields only when run.
   */
  protected override decorateExtra(extra: StoreExtra, call: ExtraCall): ExtraCall {
    const how = EXTRA_AUDIT[extra.method];
    if (how === undefined) return call;
    if (how.kind === 'read') return (...args) => this.#read(how.subject(args), () => call(...args), how.outcome);
    return (...args) =>
      this.#write(how.subject(args), () => call(...args), how.outcome, (r) => {
        const o = how.outcome(r);
        return o.count !== undefined ? `${o.count} version(s) WERE re-encrypted` : `the ${extra.method} HAPPENED${o.version === undefined ? '' : ` (version ${o.version})`}`;
      });
  }

  override getCredential(id: string, opts: GetOptions & { required: true }): Promise<StoredCredential>;
  override getCredential(id: string, opts?: GetOptions): Promise<StoredCredential | undefined>;
  override getCredential(id: string, opts?: GetOptions): Promise<StoredCredential | undefined> {
    return this.#read({ action: 'get', ...idField(id), ...ver(opts?.version), ...labelField(opts?.label) }, () => super.getCredential(id, opts), (r) =>
      r === undefined ? { outcome: 'not_found' } : { version: r.version },
    );
  }

  override storeCredential(id: string, value: CredentialValue, opts?: WriteOptions): Promise<PutResult> {
    return this.#write(
      { action: 'put', ...idField(id), ...ver(opts?.version) },
      () => super.storeCredential(id, value, opts),
      (r) => ({ version: String(r.version) }),
      (r) => `version ${r.version} WAS stored`,
    );
  }

  override deleteCredential(id: string, opts?: DeleteOptions): Promise<DeleteResult> {
    return this.#write(
      { action: 'delete', ...idField(id), ...ver(opts?.version) },
      () => super.deleteCredential(id, opts),
      (r) => ({ deleted: r.deleted }),
      (r) => `version(s) ${r.deleted.join(', ')} WERE deleted`,
    );
  }

  override listCredentials(opts?: ListOptions): Promise<CredentialSummary[]> {
    return this.#read({ action: 'list', ...pattern(opts?.pattern) }, () => super.listCredentials(opts), (r) => ({ count: r.length }));
  }

  override credentialExists(id: string, opts?: { version?: number | string }): Promise<boolean> {
    return this.#read({ action: 'exists', ...idField(id), ...ver(opts?.version) }, () => super.credentialExists(id, opts), (r) => (r ? {} : { outcome: 'not_found' }));
  }

  override getAllCredentials(opts?: GetAllOptions): Promise<GetAllResult> {
    return this.#read({ action: 'getall', ...ver(opts?.version), ...pattern(opts?.pattern) }, () => super.getAllCredentials(opts), (r) => ({
      count: r.credentials.length,
      ids: r.credentials.map((c) => c.id),
      ...(r.skipped.length > 0 ? { failed: r.skipped.map((s) => s.id) } : {}),
    }));
  }

  override async close(): Promise<void> {
    try {
      await super.close();
    } finally {
      await this.#onClose?.();
    }
  }

  /** A read: run the call; record ok / not_found / error; rethrow the original error after recording it. */
  async #read<T>(subject: Subject, call: () => Promise<T>, describe: (r: T) => Partial<AuditRecord>): Promise<T> {
    let result: T;
    try {
      result = await call();
    } catch (err) {
      await this.#emit(failed(subject, err), 'the result was withheld');
      throw err;
    }
    await this.#emit({ ...subject, outcome: 'ok', ...describe(result) }, 'the result was withheld');
    return result;
  }

  /**
   * A write: record "started" (refuse the write when that fails), run it, record the outcome. The call's own
   * result or error is always what the caller gets: a missing outcome record is reported to `onIncomplete`.
   */
  async #write<T>(subject: Subject, call: () => Promise<T>, describe: (r: T) => Partial<AuditRecord>, stored: (r: T) => string): Promise<T> {
    await this.#emit({ ...subject, outcome: 'started' }, `the ${subject.action} was refused and nothing was written`);
    const after = async (partial: Partial0, happened: string): Promise<void> => {
      try {
        await this.#sink(this.#build(partial));
      } catch (err) {
        const record = this.#build(partial);
        safe(() => this.#onIncomplete(`${this.#couldNot(`the outcome of ${describeSubject(partial)}`, err)}; ${happened}`, record));
      }
    };
    let result: T;
    try {
      result = await call();
    } catch (err) {
      await after(failed(subject, err), `the ${subject.action} failed (${errorCode(err)}); its "started" record is in the log`);
      throw err;
    }
    await after({ ...subject, outcome: 'ok', ...describe(result) }, `${stored(result)}; its "started" record is in the log. Do not retry it`);
    return result;
  }

  /** Write one record; a failure is a StoreUnavailableError ending with `consequence`. */
  async #emit(partial: Partial0, consequence: string): Promise<void> {
    try {
      await this.#sink(this.#build(partial));
    } catch (err) {
      throw new StoreUnavailableError(`${this.#couldNot(describeSubject(partial), err)}; ${consequence}`, {
        store: this.description,
        credentialId: partial.id,
        cause: err,
      });
    }
  }

  #build(partial: Partial0): AuditRecord {
    const record: AuditRecord = { time: this.#now().toISOString(), ...partial, store: this.description, pid: process.pid };
    if (this.#user !== undefined) record.user = this.#user;
    const c = safe(this.#caller);
    if (c !== undefined) record.caller = c;
    if (this.#host !== undefined) record.host = this.#host;
    return record;
  }

  /**
   * "<sink> could not record <what> (<why>)". Only our own errors' messages are quoted (the file sink refusing
   * a symlink, ...); another error shows its code or name (its message is not ours and may quote anything).
   */
  #couldNot(what: string, err: unknown): string {
    return err instanceof CredstashError
      ? `${err.message}; could not record ${what}`
      : `${this.#sinkName} could not record ${what} (${err instanceof Error ? ((err as NodeJS.ErrnoException).code ?? err.name) : typeof err})`;
  }
}

/** The outcome record of a call that threw: a miss (undefined or CredentialNotFoundError) or an error code. */
function failed(subject: Subject, err: unknown): Partial0 {
  return err instanceof CredentialNotFoundError ? { ...subject, outcome: 'not_found' } : { ...subject, outcome: 'error', code: errorCode(err) };
}

function describeSubject(p: Subject): string {
  return `${p.action}${p.id === undefined ? '' : ` of credential "${p.id}"`}`;
}

/** How many versions a rewriting extra went through (re-encrypted or already under the first key). */
function rewritten(r: unknown): number {
  const n = r as { reencrypted?: unknown; alreadyCurrent?: unknown } | undefined;
  return (typeof n?.reencrypted === 'number' ? n.reencrypted : 0) + (typeof n?.alreadyCurrent === 'number' ? n.alreadyCurrent : 0);
}

/** A label as given when it is a plain word (labels are not secret, but an odd string is left out like an invalid id). */
function labelField(l: unknown): { label?: string } {
  return typeof l === 'string' && /^[a-z][a-z0-9_,-]{0,700}$/.test(l) ? { label: l } : {};
}

function keyField(k: unknown): { key?: string } {
  return typeof k === 'string' && /^[a-z][a-z0-9_-]{0,62}$/.test(k) ? { key: k } : {};
}

function versionArg(o: unknown): number | string | undefined {
  const v = (o as { version?: unknown } | undefined)?.version;
  return typeof v === 'number' || typeof v === 'string' ? v : undefined;
}

function pattern(p: string | undefined): { pattern?: string } {
  return p === undefined ? {} : { pattern: p };
}

/** The id as given, unless the store would refuse it as invalid (then it is left out, never echoed). */
function idField(id: unknown): { id?: string } {
  try {
    return { id: validateId(id) };
  } catch {
    return {};
  }
}

/** The version as given, unless it is not a valid version (then left out, like an invalid id). */
function ver(v: number | string | undefined): { version?: string } {
  if (v === undefined) return {};
  try {
    parseReadVersion(v);
    return { version: String(v) };
  } catch {
    return {};
  }
}

function errorCode(err: unknown): string {
  return err instanceof CredstashError ? err.code : 'ERR_UNKNOWN';
}

function osUser(): string | undefined {
  // userInfo() throws in containers whose uid has no passwd entry.
  const name = safe(() => userInfo().username);
  if (name !== undefined && name !== '') return name;
  const env = process.env.USER ?? process.env.LOGNAME;
  return env === undefined || env === '' ? undefined : env;
}

function safe<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}
