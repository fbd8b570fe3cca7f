/** Value and option types shared by every store. Imports nothing. */

export type JsonPrimitive = string | number | boolean | null;
/** Any JSON value (the field types of a structured credential). */
export type JsonValue = JsonPrimitive | JsonValue[] | { [key: string]: JsonValue };
/** A JSON object: the shape of a structured credential such as `{ user, password }`. */
export type JsonObject = { [key: string]: JsonValue };

/**
 * A credential value: text, raw bytes, or a structured (JSON object) credential such as
 * `{ host, user, password }`.
 */
export type CredentialValue = string | Uint8Array | JsonObject;

/** How a value is encoded at rest; stored beside the ciphertext (and authenticated where the format allows). */
export type ValueKind = 'text' | 'binary' | 'json';

/** KMS-style encryption context: exact-match key/value pairs, order irrelevant. */
export type EncryptionContext = Readonly<Record<string, string>>;

/** Every `credential_type` a definition may name; see REQUIRED_FIELDS for what each requires. */
export const CREDENTIAL_TYPES = ['aws', 'database', 'api_key', 'oauth', 'basic_auth', 'certificate', 'custom'] as const;
/** One of {@link CREDENTIAL_TYPES}. */
export type CredentialType = (typeof CREDENTIAL_TYPES)[number];

/** What a credential is: stored with it, never secret. */
export interface CredentialDefinition {
  id: string;
  name?: string;
  credential_type?: CredentialType;
  description?: string;
  metadata?: Record<string, JsonValue>;
}

/** One stored version, decrypted. */
export interface StoredCredential {
  id: string;
  /** The version as users write it: `"3"` for integers, the stored string (without padding) otherwise. */
  version: string;
  value: CredentialValue;
  comment?: string;
  definition?: CredentialDefinition;
  /**
   * How this version was found encrypted at rest, as decrypting it established (never a stored label, which
   * a table writer could set without any key). Set by the tiers that encrypt themselves (DynamoDB, local,
   * SQL); absent elsewhere. Not enumerable: it is not part of the credential (JSON output, spreads, equality).
   */
  readonly atRest?: AtRestFormat;
  /**
   * Lifecycle facts of this version where the tier keeps them (not enumerable, like `atRest`): when it was
   * written, by whom, when it expires (ISO 8601), and the label it was read through.
   */
  readonly createdAt?: string;
  readonly writtenBy?: string;
  readonly expiresAt?: string;
  readonly label?: string;
}

/** How one stored version is encrypted (see StoredCredential.atRest). */
export interface AtRestFormat {
  /** `aes-gcm` or `legacy` (DynamoDB); `fernet` under the first key, `fernet-old-key` under another (local, SQL). */
  readonly format: string;
  /**
   * The format this store re-encrypts into (`migrate --reencrypt`): DynamoDB `aes-gcm` unless its config
   * says `legacy`; the Fernet tiers `fernet` (the first key). A version in this format needs no re-encryption.
   */
  readonly preferred: string;
}

/** One version in a listing: no value, nothing decrypted. */
export interface CredentialSummary {
  id: string;
  version: string;
  /**
   * The version exactly as the backend stores it, when that is not the 19-digit padded form of `version`
   * (DynamoDB items of clients that did not pad: `1`, `10`, `v5`). `credstash list` prints this form.
   */
  storedVersion?: string;
  comment?: string;
}

/**
 * One version in a credential's history: what is known without decrypting anything (`credstash history`).
 * Fields a tier or an old item does not have are absent.
 */
export interface VersionInfo {
  version: string;
  /** As in {@link CredentialSummary.storedVersion}. */
  storedVersion?: string;
  /** When the version was written (ISO 8601). */
  createdAt?: string;
  /** Who wrote it, as known without an extra request: the assumed role or AWS identity, else `user@host`. */
  writtenBy?: string;
  /** Bytes of the stored (encrypted) value as the backend holds it; never derived by decrypting. */
  size?: number;
  comment?: string;
  /** When it expires (ISO 8601). Informational here: reads authenticate it where the tier can. */
  expiresAt?: string;
  /** The labels pointing at this version, sorted. */
  labels: string[];
}

/** Where a label points. */
export interface LabelTarget {
  /** The version as users write it (`"3"`). */
  version: string;
  /** When the label was last moved (ISO 8601), where the tier keeps it. */
  movedAt?: string;
  /** Who moved it, where the tier keeps it. */
  movedBy?: string;
}

/** Options of `labelCredential`. */
export interface LabelOptions {
  /** The version the label should point at. */
  version: number | string;
  /**
   * Compare-and-set: move only if the label now points at this version (`null`: only if the label does not
   * exist yet). Without it the move still fails with LabelConflictError when another writer changes the
   * labels of the same credential between this call's read and its write.
   */
  expect?: number | string | null;
}

/** What a label move did. */
export interface LabelResult {
  id: string;
  label: string;
  version: string;
  /** Where the label pointed before, if it existed. */
  previous?: string;
}

/** Options of `rollbackCredential`. */
export interface RollbackOptions {
  /** The version whose value becomes the new version. */
  to: number | string;
  /** The context version `to` was stored with (the new version is stored with the same one). */
  context?: EncryptionContext;
  /** Labels to move to the new version once it is written (e.g. `['current']`). */
  labels?: readonly string[];
  comment?: string;
}

/** What a rollback wrote. */
export interface RollbackResult extends PutResult {
  /** The version whose value was copied. */
  from: string;
  /** The labels moved to the new version. */
  labels: string[];
}

/** Options of `expiringCredentials`. */
export interface ExpiringOptions {
  /** Also list what expires within this many milliseconds from `now` (default 0: only what has expired). */
  withinMs?: number;
  /** Glob over ids. */
  pattern?: string;
  /** The reference time (default: now). */
  now?: Date;
  /** Every version (default: only the newest version of each credential, the one readers get). */
  allVersions?: boolean;
}

/** A version that has expired or expires soon. */
export interface ExpiringCredential {
  id: string;
  version: string;
  expiresAt: string;
  /** True when `expiresAt` is at or before the reference time. */
  expired: boolean;
}

/** Which version to read, and the encryption context it was stored with. */
export interface ReadOptions {
  /** A specific version (default: the newest). Integers, or any stored string for legacy tables. */
  version?: number | string;
  context?: EncryptionContext;
}

/** Options of `getCredential`. */
export interface GetOptions extends ReadOptions {
  /** Throw CredentialNotFoundError instead of returning undefined (the CLI always sets it). */
  required?: boolean;
  /**
   * Read the version this label points at (`credstash get NAME --label current`) instead of the newest;
   * not together with `version`. The label's target is authenticated by the tier before the value is
   * returned (docs/lifecycle.md). A label that does not exist reads as a missing credential.
   */
  label?: string;
  /** Throw CredentialExpiredError for a version past its `expiresAt` instead of returning it. */
  strict?: boolean;
}

/** Options of `storeCredential`: which version to create and what to store with it. */
export interface WriteOptions {
  /** Explicit version to create (default 1 when autoVersion is off). Fails if it exists. */
  version?: number;
  /** Create highest + 1, race-safe: retries on conflict, never overwrites. Overrides `version`. */
  autoVersion?: boolean;
  context?: EncryptionContext;
  comment?: string;
  definition?: CredentialDefinition;
  /** Tier-specific write format, e.g. `'legacy'` for Python credstash items in DynamoDB. */
  format?: string;
  /** Tier-specific digest for legacy formats (`SHA256` default). */
  digest?: string;
  /** Tier-specific key id for this write (KMS key id, ARN or alias for the envelope tier). */
  keyId?: string;
  /**
   * When this version expires (a Date or an ISO 8601 string, in the future). Stored with the version on a
   * tier whose `capabilities.expiry` is true (elsewhere UnsupportedOperationError, never silently dropped);
   * reads return it as `expiresAt`; nothing is deleted when it passes.
   */
  expiresAt?: Date | string;
}

/** The version a write created. */
export interface PutResult {
  id: string;
  version: number;
}

/** Options of `deleteCredential`. */
export interface DeleteOptions {
  /** Delete only this version (default: every version). */
  version?: number | string;
}

/** What a delete removed. */
export interface DeleteResult {
  id: string;
  /** The versions that were deleted, oldest first. */
  deleted: string[];
  /**
   * The same versions exactly as the backend stored them, when a tier can hold other forms than the padded
   * one (DynamoDB); `credstash delete` prints these, as Python credstash does.
   */
  stored?: string[];
}

/** Options of `listCredentials`. */
export interface ListOptions {
  /** Only the newest version of each credential. */
  latestOnly?: boolean;
  /** Pattern over ids: `*` any run of characters; everything else literal (`?`, `[`, `.` included). */
  pattern?: string;
}

/** Options of `getAllCredentials`. */
export interface GetAllOptions {
  context?: EncryptionContext;
  /** The same version for every credential (Python credstash `getall -v`). */
  version?: number | string;
  /** Glob over ids. */
  pattern?: string;
  /** Parallel decrypts (default 32). */
  concurrency?: number;
  /** Return what could be read and report the rest, instead of failing the whole call. */
  skipErrors?: boolean;
}

export interface GetAllFailure {
  id: string;
  code: string;
  message: string;
}

/** The credentials a getall read, and (with `skipErrors`) the ones it could not. */
export interface GetAllResult {
  credentials: StoredCredential[];
  /** Only when skipErrors was set. */
  skipped: GetAllFailure[];
}

/** What a store can do; the rest throws UnsupportedOperationError. */
export interface StoreCapabilities {
  write: boolean;
  delete: boolean;
  /** Encryption context bound into the ciphertext. */
  context: boolean;
  /** Several versions per credential. */
  versions: boolean;
  /**
   * Writes take a `format` / `digest` (WriteOptions); true for DynamoDB (AES-GCM or Python credstash's
   * legacy items). The CLI refuses `--format`, `--legacy` and `-d` on a store without it rather than ignore them.
   */
  formats?: boolean;
  /** Labels (`labelCredential`, `getCredential({ label })`): native, or kept beside the versions. */
  labels?: boolean;
  /** Versions carry when and by whom they were written (`credentialHistory` has more than versions). */
  history?: boolean;
  /** Versions may carry an `expiresAt`. */
  expiry?: boolean;
}

/** Options for creating a store's backing resources (`credstash setup`). */
export interface SetupOptions {
  tags?: Record<string, string>;
  /** DynamoDB: on-demand (default) or provisioned capacity. */
  billing?: 'on-demand' | 'provisioned';
  readCapacity?: number;
  writeCapacity?: number;
}

/** What `setup` did. */
export interface SetupResult {
  /** False when everything already existed (setup is idempotent). */
  created: boolean;
  /** One line for the user, e.g. `created dynamodb table "credential-store" (on-demand)`. */
  message: string;
}
