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
export type AuditAction = 'put' | 'get' | 'delete' | 'list' | 'getall' | 'exists' | 'reencrypt';
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
  const user = opts.user ?? osUser();
  const host = safe(() => hostname());
  const now = opts.now ?? (() => new Date());
  const caller = opts.callerIdentity ?? (() => {
    const c = (store as { callerIdentity?: unknown }).callerIdentity;
    return typeof c === 'string' && c.length > 0 ? c : undefined;
  });
  const sinkName = opts.sinkDescription ?? 'audit sink';
  const onIncomplete =
    opts.onIncomplete ?? ((message: string) => process.emitWarning(message, { type: 'CredstashAuditWarning', code: 'ERR_AUDIT_INCOMPLETE' }));

  type Partial0 = Omit<AuditRecord, 'time' | 'store' | 'user' | 'caller' | 'host' | 'pid'>;
  const build = (partial: Partial0): AuditRecord => {
    const record: AuditRecord = { time: now().toISOString(), ...partial, store: store.description, pid: process.pid };
    if (user !== undefined) record.user = user;
    const c = safe(caller);
    if (c !== undefined) record.caller = c;
    if (host !== undefined) record.host = host;
    return record;
  };
  const subject = (p: Partial0): string => `${p.action}${p.id === undefined ? '' : ` of credential "${p.id}"`}`;
  /**
   * "<sink> could not record <what> (<why>)". Only our own errors' messages are quoted (the file sink refusing
   * a symlink, ...); another error shows its code or name (its message is not ours and may quote anything).
   */
  const couldNot = (what: string, err: unknown): string =>
    err instanceof CredstashError
      ? `${err.message}; could not record ${what}`
      : `${sinkName} could not record ${what} (${err instanceof Error ? ((err as NodeJS.ErrnoException).code ?? err.name) : typeof err})`;
  /** Write one record; a failure is a StoreUnavailableError ending with `consequence`. */
  const emit = async (partial: Partial0, consequence: string): Promise<void> => {
    try {
      await sink(build(partial));
    } catch (err) {
      throw new StoreUnavailableError(`${couldNot(subject(partial), err)}; ${consequence}`, {
        store: store.description,
        credentialId: partial.id,
        cause: err,
      });
    }
  };

  /** A read: run the call; record ok / not_found / error; rethrow the original error after recording it. */
  async function audited<T>(base: Omit<AuditRecord, 'time' | 'store' | 'outcome' | 'pid'>, call: () => Promise<T>, describe: (r: T) => Partial<AuditRecord>): Promise<T> {
    let result: T;
    try {
      result = await call();
    } catch (err) {
      const notFound = err instanceof CredentialNotFoundError;
      await emit({ ...base, outcome: notFound ? 'not_found' : 'error', ...(notFound ? {} : { code: errorCode(err) }) }, 'the result was withheld');
      throw err;
    }
    const extra = describe(result);
    await emit({ ...base, outcome: 'ok', ...extra }, 'the result was withheld');
    return result;
  }

  /**
   * A write: record "started" (refuse the write when that fails), run it, record the outcome. The call's own
   * result or error is always what the caller gets: a missing outcome record is reported to `onIncomplete`.
   */
  async function auditedWrite<T>(
    base: Omit<AuditRecord, 'time' | 'store' | 'outcome' | 'pid'>,
    call: () => Promise<T>,
    describe: (r: T) => Partial<AuditRecord>,
    stored: (r: T) => string,
  ): Promise<T> {
    await emit({ ...base, outcome: 'started' }, `the ${base.action} was refused and nothing was written`);
    const after = async (partial: Partial0, happened: string): Promise<void> => {
      try {
        await sink(build(partial));
      } catch (err) {
        const record = build(partial);
        safe(() => onIncomplete(`${couldNot(`the outcome of ${subject(partial)}`, err)}; ${happened}`, record));
      }
    };
    let result: T;
    try {
      result = await call();
    } catch (err) {
      const notFound = err instanceof CredentialNotFoundError;
      await after(
        { ...base, outcome: notFound ? 'not_found' : 'error', ...(notFound ? {} : { code: errorCode(err) }) },
        `the ${base.action} failed (${errorCode(err)}); its "started" record is in the log`,
      );
      throw err;
    }
    await after({ ...base, outcome: 'ok', ...describe(result) }, `${stored(result)}; its "started" record is in the log. Do not retry it`);
    return result;
  }

  const handlers: Record<string, (...args: never[]) => Promise<unknown>> = {
    getCredential: (id: string, o: { version?: number | string; required?: boolean } = {}) =>
      audited({ action: 'get', ...idField(id), ...ver(o.version) }, () => store.getCredential(id, o as never), (r: StoredCredential | undefined) =>
        r === undefined ? { outcome: 'not_found' } : { version: r.version }),
    storeCredential: (id: string, value: never, o: { version?: number } = {}) =>
      auditedWrite(
        { action: 'put', ...idField(id), ...ver(o.version) },
        () => store.storeCredential(id, value, o),
        (r) => ({ version: String(r.version) }),
        (r) => `version ${r.version} WAS stored`,
      ),
    deleteCredential: (id: string, o: { version?: number | string } = {}) =>
      auditedWrite(
        { action: 'delete', ...idField(id), ...ver(o.version) },
        () => store.deleteCredential(id, o),
        (r) => ({ deleted: r.deleted }),
        (r) => `version(s) ${r.deleted.join(', ')} WERE deleted`,
      ),
    listCredentials: (o: { pattern?: string } = {}) =>
      audited({ action: 'list', ...(o.pattern === undefined ? {} : { pattern: o.pattern }) }, () => store.listCredentials(o), (r) => ({ count: r.length })),
    credentialExists: (id: string, o: { version?: number | string } = {}) =>
      audited({ action: 'exists', ...idField(id), ...ver(o.version) }, () => store.credentialExists(id, o), (r) => (r ? {} : { outcome: 'not_found' })),
    getAllCredentials: (o: { pattern?: string; version?: number | string } = {}) =>
      audited(
        { action: 'getall', ...ver(o.version), ...(o.pattern === undefined ? {} : { pattern: o.pattern }) },
        () => store.getAllCredentials(o),
        (r: GetAllResult) => ({
          count: r.credentials.length,
          ids: r.credentials.map((c) => c.id),
          ...(r.skipped.length > 0 ? { failed: r.skipped.map((s) => s.id) } : {}),
        }),
      ),
  };

  // The tier extras pass through by core's one table (STORE_EXTRAS). One that rewrites stored versions
  // (`rotate-key`'s re-encryption decrypts every version) is recorded like any write; the others (setup) pass.
  type Rewrite = { reencrypted?: number; alreadyCurrent?: number };
  const count = (r: unknown): number => ((r as Rewrite | undefined)?.reencrypted ?? 0) + ((r as Rewrite | undefined)?.alreadyCurrent ?? 0);
  const decorate = (extra: StoreExtra, call: ExtraCall): ExtraCall => {
    const action = EXTRA_ACTIONS[extra.method];
    if (!extra.rewritesValues || action === undefined) return call;
    return (...args) =>
      auditedWrite(
        { action },
        () => call(...args),
        (r) => ({ count: count(r) }),
        (r) => `${count(r)} version(s) WERE re-encrypted`,
      );
  };

  return new AuditedStore(store, handlers as unknown as AuditHandlers, decorate, opts.onClose);
}

/** The audit action of each tier extra that rewrites stored versions. */
const EXTRA_ACTIONS: Readonly<Record<string, AuditAction>> = { reencryptAll: 'reencrypt' };

type AuditHandlers = Pick<CredentialStore, 'getCredential' | 'storeCredential' | 'deleteCredential' | 'listCredentials' | 'credentialExists' | 'getAllCredentials'>;

/**
 * The audited store {@link withAudit} returns: a StoreDecorator whose CredentialStore methods leave records,
 * whose extras pass through by STORE_EXTRAS (re-encryption recorded as a write), and whose `close` closes the
 * wrapped store, then calls `onClose` (the file sink's close).
 */
export class AuditedStore extends StoreDecorator {
  readonly #handlers: AuditHandlers;
  readonly #decorate: (extra: StoreExtra, call: ExtraCall) => ExtraCall;
  readonly #onClose: (() => void | Promise<void>) | undefined;

  constructor(
    inner: CredentialStore,
    handlers: AuditHandlers,
    decorate: (extra: StoreExtra, call: ExtraCall) => ExtraCall,
    onClose?: () => void | Promise<void>,
  ) {
    super(inner);
    this.#handlers = handlers;
    this.#decorate = decorate;
    this.#onClose = onClose;
  }

  /** Called from StoreDecorator's constructor: the audited call is built on first use. */
  protected override decorateExtra(extra: StoreExtra, call: ExtraCall): ExtraCall {
    let built: ExtraCall | undefined;
    return (...args) => (built ??= this.#decorate(extra, call))(...args);
  }

  override getCredential(id: string, opts: GetOptions & { required: true }): Promise<StoredCredential>;
  override getCredential(id: string, opts?: GetOptions): Promise<StoredCredential | undefined>;
  override getCredential(id: string, opts?: GetOptions): Promise<StoredCredential | undefined> {
    return this.#handlers.getCredential(id, opts);
  }

  override storeCredential(id: string, value: CredentialValue, opts?: WriteOptions): Promise<PutResult> {
    return this.#handlers.storeCredential(id, value, opts);
  }

  override deleteCredential(id: string, opts?: DeleteOptions): Promise<DeleteResult> {
    return this.#handlers.deleteCredential(id, opts);
  }

  override listCredentials(opts?: ListOptions): Promise<CredentialSummary[]> {
    return this.#handlers.listCredentials(opts);
  }

  override credentialExists(id: string, opts?: { version?: number | string }): Promise<boolean> {
    return this.#handlers.credentialExists(id, opts);
  }

  override getAllCredentials(opts?: GetAllOptions): Promise<GetAllResult> {
    return this.#handlers.getAllCredentials(opts);
  }

  override async close(): Promise<void> {
    try {
      await super.close();
    } finally {
      await this.#onClose?.();
    }
  }
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
