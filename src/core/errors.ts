/**
 * Typed errors for every store and the CLI.
 *
 * Rules: messages start lower-case, have no trailing period, name the credential id,
 * version and store, and end with the next step when there is one. No error class has a field for a
 * value, a data key or a Fernet key. `cause` is kept only for errors that were not built from plaintext
 * (AWS SDK, fs, network); anything thrown while plaintext or key bytes were in hand is re-thrown without
 * a cause.
 */

/** The stable `code` of every CredstashError: branch on it (or on the class), never on the message. */
export type CredstashErrorCode = (typeof ERROR_CLASSES)[number]['code'];

/** Named, value-free facts an error may carry. */
export interface ErrorFields {
  credentialId?: string;
  store?: string;
  version?: string | number;
  /** A config key path (`credential_store.config.path`) or a file path, never file content. */
  path?: string;
  cause?: unknown;
}

/**
 * Marks every CredstashError, shared by every copy of credstash-ts loaded in one process (Symbol.for). The
 * bundled CLI and the library a custom store module imports (`credstash.toml` `credential_store.module`)
 * are two copies with two sets of classes; `instanceof` below recognises the other copy's errors by this
 * mark and their `code`, so that a custom store's CredentialNotFoundError is reported as one, and BaseStore
 * retries on the other copy's VersionConflictError.
 */
const BRAND: unique symbol = Symbol.for('credstash-ts.CredstashError') as never;

/**
 * Base class: every error credstash-ts throws on purpose is a CredstashError with a stable `code`.
 *
 * @example
 * ```ts
 * try {
 *   await store.getCredential('myapp.db.prod', { context: { env: 'prod' }, required: true });
 * } catch (err) {
 *   if (err instanceof CredentialNotFoundError) return defaults;
 *   if (err instanceof CredstashError) logger.error(err.toJSON()); // { name, code, message, credentialId?, ... }: value-free
 *   throw err;
 * }
 * ```
 */
export class CredstashError extends Error {
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (Function.prototype[Symbol.hasInstance].call(this, value)) return true;
    if (typeof value !== 'object' || value === null || (value as { [BRAND]?: unknown })[BRAND] !== true) return false;
    if (this === CredstashError) return true;
    if (!CLASS_NAMES.has(this)) return false;
    return (value as { code?: unknown }).code === (this as unknown as { code: CredstashErrorCode }).code;
  }

  /** Stable and machine-readable (`ERR_CREDENTIAL_NOT_FOUND`, ...); messages may change, codes do not. */
  readonly code: CredstashErrorCode;
  readonly credentialId?: string;
  readonly store?: string;
  readonly version?: string;
  readonly path?: string;

  constructor(code: CredstashErrorCode, message: string, fields: ErrorFields = {}) {
    super(message, fields.cause === undefined ? undefined : { cause: fields.cause });
    Object.defineProperty(this, BRAND, { value: true });
    // Literal names for our classes: the CLI bundle is minified, which renames classes (`new.target.name`
    // would be "i" in a CREDSTASH_DEBUG stack or an error's JSON).
    this.name = CLASS_NAMES.get(new.target) ?? (new.target === CredstashError ? 'CredstashError' : new.target.name);
    this.code = code;
    if (fields.credentialId !== undefined) this.credentialId = fields.credentialId;
    if (fields.store !== undefined) this.store = fields.store;
    if (fields.version !== undefined) this.version = String(fields.version);
    if (fields.path !== undefined) this.path = fields.path;
  }

  /** Only the named fields: never a cause chain, never anything that could hold a value. */
  toJSON(): Record<string, string> {
    const out: Record<string, string> = { name: this.name, code: this.code, message: this.message };
    if (this.credentialId !== undefined) out.credentialId = this.credentialId;
    if (this.store !== undefined) out.store = this.store;
    if (this.version !== undefined) out.version = this.version;
    if (this.path !== undefined) out.path = this.path;
    return out;
  }
}

/** `credential "a" version 3` / `credential "a"` — the common subject of most messages. */
export function describeCredential(credentialId: string, version?: string | number): string {
  return version === undefined ? `credential "${credentialId}"` : `credential "${credentialId}" version ${version}`;
}

/** No such credential (or version) in the store: from `required` reads, deletes and prune. */
export class CredentialNotFoundError extends CredstashError {
  static readonly code = 'ERR_CREDENTIAL_NOT_FOUND';

  constructor(fields: { credentialId: string; store: string; version?: string | number; label?: string }) {
    super(
      CredentialNotFoundError.code,
      fields.label === undefined
        ? `${describeCredential(fields.credentialId, fields.version)} not found in ${fields.store}`
        : `credential "${fields.credentialId}" has no label "${fields.label}" in ${fields.store}; see its labels with credstash history`,
      fields,
    );
  }
}

/** One message for every authentication failure (GCM tag, legacy HMAC, Fernet token): no cause, ever. */
export class IntegrityError extends CredstashError {
  static readonly code = 'ERR_INTEGRITY';

  /**
   * @param fields.unreadable the item is well formed but no configured key verifies it: say that it was
   *   written under another key, or altered (a MAC cannot tell those apart), instead of only "integrity check"
   */
  constructor(fields: { credentialId: string; store?: string; version?: string | number; unreadable?: 'fernet' }) {
    super(
      IntegrityError.code,
      fields.unreadable === 'fernet'
        ? `${describeCredential(fields.credentialId, fields.version)}${fields.store === undefined ? '' : ` in ${fields.store}`} ` +
            `is not readable with the configured Fernet key(s): it was written under a key that is not in the list, or it was altered`
        : `${describeCredential(fields.credentialId, fields.version)} failed its integrity check` + (fields.store === undefined ? '' : ` in ${fields.store}`),
      { credentialId: fields.credentialId, store: fields.store, version: fields.version },
    );
  }
}

/** The context given to a read is not the one the value was stored with (KMS or the tier refused it). */
export class EncryptionContextMismatchError extends CredstashError {
  static readonly code = 'ERR_ENCRYPTION_CONTEXT_MISMATCH';

  constructor(fields: { credentialId: string; store: string; version?: string | number; detail?: string; cause?: unknown }) {
    super(
      EncryptionContextMismatchError.code,
      fields.detail ??
        `${describeCredential(fields.credentialId, fields.version)} could not be decrypted with the given encryption context; ` +
          `pass the exact key=value pairs it was stored with`,
      fields,
    );
  }
}

/**
 * The version to write already exists; writes never overwrite (retry with `autoVersion`).
 *
 * @example
 * ```ts
 * try {
 *   await store.storeCredential('myapp.db.prod', newPassword, { version: 4 });
 * } catch (err) {
 *   if (!(err instanceof VersionConflictError)) throw err;
 *   await store.storeCredential('myapp.db.prod', newPassword, { autoVersion: true }); // someone took 4: use the next
 * }
 * ```
 */
export class VersionConflictError extends CredstashError {
  static readonly code = 'ERR_VERSION_CONFLICT';

  constructor(fields: { credentialId: string; store: string; version: string | number; highest?: string | number; cause?: unknown }) {
    super(
      VersionConflictError.code,
      `${describeCredential(fields.credentialId, fields.version)} already exists in ${fields.store}` +
        (fields.highest === undefined ? '' : ` (highest version is ${fields.highest})`) +
        `; use -a to add the next version or -v to choose a new one`,
      fields,
    );
  }
}

/**
 * A bad credstash.toml, store spec, factory config or Fernet key; `path` names the config key.
 *
 * @example
 * ```ts
 * await openStore({ type: 'local', config: { pth: 'x.json' } }).catch((err: ConfigError) => err.path);
 * // 'credential_store.config.pth'
 * ```
 */
export class ConfigError extends CredstashError {
  static readonly code = 'ERR_CONFIG';

  constructor(message: string, fields: { path?: string; store?: string; cause?: unknown } = {}) {
    super(ConfigError.code, message, fields);
  }
}

/** The backend failed (network, driver, fs, an untyped SDK error); the original is the `cause`. */
export class StoreUnavailableError extends CredstashError {
  static readonly code = 'ERR_STORE_UNAVAILABLE';

  constructor(message: string, fields: ErrorFields = {}) {
    super(StoreUnavailableError.code, message, fields);
  }
}

/** The backend refused the caller (IAM or KMS key policy, SSM, a Vault policy or login). */
export class AccessDeniedError extends CredstashError {
  static readonly code = 'ERR_ACCESS_DENIED';

  constructor(message: string, fields: ErrorFields = {}) {
    super(AccessDeniedError.code, message, fields);
  }
}

/** The backend throttled the call (AWS after the SDK's own retries, Vault's 429); try again later. */
export class ThrottlingError extends CredstashError {
  static readonly code = 'ERR_THROTTLED';

  constructor(message: string, fields: ErrorFields = {}) {
    super(ThrottlingError.code, message, fields);
  }
}

/** KMS failed for a reason other than access or throttling (disabled key, invalid key id, ...). */
export class KmsError extends CredstashError {
  static readonly code = 'ERR_KMS';

  constructor(message: string, fields: ErrorFields = {}) {
    super(KmsError.code, message, fields);
  }
}

/** Missing AWS credentials or region, or an unusable profile / role. */
export class AwsConfigError extends CredstashError {
  static readonly code = 'ERR_AWS_CONFIG';

  constructor(message: string, fields: ErrorFields = {}) {
    super(AwsConfigError.code, message, fields);
  }
}

/** The store cannot do this (writes to `env`, a context on a store that cannot bind one, binary values in SSM, ...). */
export class UnsupportedOperationError extends CredstashError {
  static readonly code = 'ERR_UNSUPPORTED_OPERATION';

  constructor(store: string, operation: string) {
    super(UnsupportedOperationError.code, `${store} does not support ${operation}`, { store });
  }
}

/** Bad name, version, context or argument. The message describes the input, never echoes a value. */
export class ValidationError extends CredstashError {
  static readonly code = 'ERR_INVALID_INPUT';

  constructor(message: string, fields: ErrorFields = {}) {
    super(ValidationError.code, message, fields);
  }
}

/** The encoded value exceeds the tier's limit (the message gives size and limit, never the value). */
export class ValueTooLargeError extends CredstashError {
  static readonly code = 'ERR_VALUE_TOO_LARGE';

  constructor(fields: { credentialId: string; store: string; size: number; limit: number }) {
    super(
      ValueTooLargeError.code,
      `value of ${describeCredential(fields.credentialId)} is ${fields.size} bytes; ${fields.store} accepts at most ${fields.limit}`,
      { credentialId: fields.credentialId, store: fields.store },
    );
  }
}

/** A keystore file, table or item that cannot be parsed. Say where (file, line, attribute), never what. */
export class CorruptStoreError extends CredstashError {
  static readonly code = 'ERR_CORRUPT_STORE';

  constructor(message: string, fields: ErrorFields = {}) {
    super(CorruptStoreError.code, message, fields);
  }
}

/** A `${credential:...}` reference is malformed or cannot be resolved; `path` is where it was found. */
export class CredentialReferenceError extends CredstashError {
  static readonly code = 'ERR_REFERENCE';

  constructor(message: string, fields: ErrorFields = {}) {
    super(CredentialReferenceError.code, message, fields);
  }
}

/**
 * A multi-credential read (getall) in which some credentials failed and the caller did not allow skipping.
 *
 * @example
 * ```ts
 * try {
 *   await store.getAllCredentials({ pattern: 'myapp.*' });
 * } catch (err) {
 *   if (err instanceof PartialResultError) for (const f of err.failures) console.error(f.credentialId, f.code);
 *   else throw err;
 * }
 * ```
 */
export class PartialResultError extends CredstashError {
  static readonly code = 'ERR_PARTIAL_RESULT';

  /** Every credential that could not be read: id, code and a value-free message. */
  readonly failures: ReadonlyArray<{ credentialId: string; code: CredstashErrorCode | 'ERR_UNKNOWN'; message: string }>;
  constructor(store: string, failures: PartialResultError['failures']) {
    const first = failures[0];
    super(
      PartialResultError.code,
      `${failures.length} credential(s) in ${store} could not be read` +
        (first === undefined ? '' : `; first: ${first.message}`) +
        `; nothing was returned (use --skip-errors to get the rest)`,
      { store },
    );
    this.failures = failures;
  }
}

/**
 * A label move lost a race: another writer changed the credential's labels between the read and the
 * compare-and-set write. Nothing was changed by this call; read the labels again and decide.
 *
 * @example
 * ```ts
 * try {
 *   await store.labelCredential('myapp.db.prod', 'current', { version: 4 });
 * } catch (err) {
 *   if (err instanceof LabelConflictError) console.error('someone else moved a label; look again');
 *   else throw err;
 * }
 * ```
 */
export class LabelConflictError extends CredstashError {
  static readonly code = 'ERR_LABEL_CONFLICT';

  /** The label that was being moved or removed. */
  readonly label: string;
  constructor(fields: { credentialId: string; store: string; label: string }) {
    super(
      LabelConflictError.code,
      `label "${fields.label}" of credential "${fields.credentialId}" in ${fields.store} was changed by another writer at the same time; nothing was changed, run the command again`,
      fields,
    );
    this.label = fields.label;
  }
}

/**
 * A credential version past its expiry was read with `strict` (`credstash get --strict`). Without `strict`
 * the value is returned and the CLI warns on stderr; nothing is ever deleted because it expired.
 */
export class CredentialExpiredError extends CredstashError {
  static readonly code = 'ERR_CREDENTIAL_EXPIRED';

  /** When it expired (ISO 8601). */
  readonly expiresAt: string;
  constructor(fields: { credentialId: string; store: string; version: string; expiresAt: string }) {
    super(
      CredentialExpiredError.code,
      `credential "${fields.credentialId}" version ${fields.version} in ${fields.store} expired at ${fields.expiresAt}; store a new version (credstash put -a) or read without --strict`,
      fields,
    );
    this.expiresAt = fields.expiresAt;
  }
}

/** The steps of a rotation (`credstash rotate`): where a {@link RotationStepError} happened. */
export type RotationStep = 'create' | 'set' | 'test' | 'finish' | 'revert';

/**
 * A rotation step failed on its target (the database, Redis or program whose password is rotated). The
 * message names the credential (when known), the step and the target (`postgres 127.0.0.1:5432 user app_b`),
 * and a fixed description of what failed built from the driver's error code, never the driver's own message
 * (which can quote the SQL, and so the password). There is never a `cause`.
 *
 * @example
 * ```ts
 * // rotation of "app.db" failed at step test on postgres 127.0.0.1:5432 user app_b: password authentication failed (28P01)
 * if (err instanceof RotationStepError && err.step === 'test') await rotator.revert(input, pending);
 * ```
 */
export class RotationStepError extends CredstashError {
  static readonly code = 'ERR_ROTATION_STEP';

  readonly step: RotationStep;
  /** `postgres 127.0.0.1:5432 user app_b`, `redis 127.0.0.1:6379 user app`, `command rotate.sh`. */
  readonly target: string;

  constructor(fields: { step: RotationStep; target: string; reason: string; credentialId?: string }) {
    super(
      RotationStepError.code,
      `rotation${fields.credentialId === undefined ? '' : ` of "${fields.credentialId}"`} failed at step ${fields.step} on ${fields.target}: ${fields.reason}`,
      fields.credentialId === undefined ? {} : { credentialId: fields.credentialId },
    );
    this.step = fields.step;
    this.target = fields.target;
  }

  override toJSON(): Record<string, string> {
    return { ...super.toJSON(), step: this.step, target: this.target };
  }
}

/**
 * Another rotation of the credential holds its claim (`credstash rotate`): it is running, or its owner cannot
 * be judged gone yet (another host, within the lease). Nothing was changed by this call.
 *
 * @example
 * ```ts
 * // rotation of "app.db" in local keystore "k" is in progress (step set, started 4 s ago, ...)
 * if (err instanceof RotationInProgressError) console.error(`busy at ${err.step}`);
 * ```
 */
export class RotationInProgressError extends CredstashError {
  static readonly code = 'ERR_ROTATION_IN_PROGRESS';

  /** The step the other rotation is at. */
  readonly step: RotationStep;
  /** Milliseconds since that rotation started. */
  readonly ageMs: number;

  constructor(fields: { credentialId: string; store: string; step: RotationStep; ageMs: number; detail: string; next: string }) {
    super(
      RotationInProgressError.code,
      `rotation of "${fields.credentialId}" in ${fields.store} is in progress (step ${fields.step}, started ${formatAge(fields.ageMs)} ago, ${fields.detail}); ${fields.next}`,
      { credentialId: fields.credentialId, store: fields.store },
    );
    this.step = fields.step;
    this.ageMs = fields.ageMs;
  }

  override toJSON(): Record<string, string> {
    return { ...super.toJSON(), step: this.step, ageMs: String(this.ageMs) };
  }
}

/** `42 s`, `5 min`, `3 h`, `2 d`: an age in messages. */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} d`;
}

/** Every CredstashError subclass: each defines its `code` once, as a static (the class's instances carry it). */
const ERROR_CLASSES = [
  CredentialNotFoundError,
  IntegrityError,
  EncryptionContextMismatchError,
  VersionConflictError,
  ConfigError,
  StoreUnavailableError,
  AccessDeniedError,
  ThrottlingError,
  KmsError,
  AwsConfigError,
  UnsupportedOperationError,
  ValidationError,
  ValueTooLargeError,
  CorruptStoreError,
  CredentialReferenceError,
  PartialResultError,
  LabelConflictError,
  CredentialExpiredError,
  RotationStepError,
  RotationInProgressError,
] as const;

/**
 * Each class's unminified name (the CLI bundle is minified). The classes in it are recognised across copies
 * of the package (see BRAND) by their static `code`.
 */
const CLASS_NAMES = new Map<unknown, string>([
  [CredentialNotFoundError, 'CredentialNotFoundError'],
  [IntegrityError, 'IntegrityError'],
  [EncryptionContextMismatchError, 'EncryptionContextMismatchError'],
  [VersionConflictError, 'VersionConflictError'],
  [ConfigError, 'ConfigError'],
  [StoreUnavailableError, 'StoreUnavailableError'],
  [AccessDeniedError, 'AccessDeniedError'],
  [ThrottlingError, 'ThrottlingError'],
  [KmsError, 'KmsError'],
  [AwsConfigError, 'AwsConfigError'],
  [UnsupportedOperationError, 'UnsupportedOperationError'],
  [ValidationError, 'ValidationError'],
  [ValueTooLargeError, 'ValueTooLargeError'],
  [CorruptStoreError, 'CorruptStoreError'],
  [CredentialReferenceError, 'CredentialReferenceError'],
  [PartialResultError, 'PartialResultError'],
  [LabelConflictError, 'LabelConflictError'],
  [CredentialExpiredError, 'CredentialExpiredError'],
  [RotationStepError, 'RotationStepError'],
  [RotationInProgressError, 'RotationInProgressError'],
]);

/**
 * Type guard for CredstashError, also true for errors thrown by another loaded copy of credstash-ts.
 *
 * @example
 * ```ts
 * process.on('unhandledRejection', (err) => console.error(isCredstashError(err) ? err.code : 'unexpected error'));
 * ```
 */
export function isCredstashError(err: unknown): err is CredstashError {
  return err instanceof CredstashError;
}
