/**
 * credstash-ts public API. Named exports only (no `export *`): internals stay internal, and no tier class
 * is re-exported here, so importing the library never loads an AWS SDK client or a SQL driver. Tiers are
 * opened through `openStore()` (lazy) or imported from their subpath.
 */
export {
  CredstashError,
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
  isCredstashError,
} from './core/errors.js';
export type { CredstashErrorCode } from './core/errors.js';
export type {
  CredentialValue,
  CredentialDefinition,
  CredentialType,
  CredentialSummary,
  StoredCredential,
  EncryptionContext,
  ReadOptions,
  GetOptions,
  WriteOptions,
  PutResult,
  DeleteOptions,
  DeleteResult,
  ListOptions,
  GetAllOptions,
  GetAllResult,
  StoreCapabilities,
  SetupOptions,
  SetupResult,
  JsonObject,
  JsonValue,
  VersionInfo,
  LabelTarget,
  LabelOptions,
  LabelResult,
  RollbackOptions,
  RollbackResult,
  ExpiringOptions,
  ExpiringCredential,
} from './core/types.js';
export { CREDENTIAL_TYPES } from './core/types.js';
export { BaseStore, mapConcurrent, isSetupCapable, isLifecycleCapable } from './core/store.js';
export type {
  BulkRead,
  CredentialStore,
  ListHookOptions,
  ReadAllHookOptions,
  ResolvedNextWriteOptions,
  ResolvedReadOptions,
  ResolvedWriteOptions,
  SetupCapable,
  LifecycleCapable,
} from './core/store.js';
export { StoreDecorator, STORE_EXTRAS, forwardExtras } from './core/decorator.js';
export type { ExtraCall, StoreExtra } from './core/decorator.js';
export { checkStoreConfigKeys, readStoreConfig, StoreConfigReader } from './core/factory.js';
export { canonicalContext, parseContextArgs } from './core/context.js';
export { padVersion, displayVersion } from './core/version.js';
export { generateFernetKey, parseFernetKey } from './crypto/fernet.js';
export {
  generateValue,
  parseGeneratePolicy,
  formatGeneratePolicy,
  presetPolicy,
  policyAlphabet,
  policyEntropyBits,
  GENERATE_PRESETS,
  DEFAULT_GENERATE_PRESET,
  MAX_GENERATE_LENGTH,
  CHAR_CLASSES,
  CHAR_CLASS_CHARS,
} from './core/generate.js';
export type { GeneratePolicy, GenerateOptions, GeneratePreset, CharClass } from './core/generate.js';
export { checkCredentialValue, validateDefinition, REQUIRED_FIELDS } from './core/definitions.js';
export { RotationInProgressError } from './core/errors.js';
export { rotateCredential, rotationStatus, rotateDue, ROTATION_STATE_KEY } from './rotation/engine.js';
export type { CredentialRotationResult, RotateOptions, RotationProgress, RotationStatus, PendingRotation, DueOutcome, DueSummary, RotateDueOptions, RotationStore } from './rotation/engine.js';
export { parseRotationPolicy, DEFAULT_LEASE_MS } from './rotation/policy.js';
export type { RotationPolicy } from './rotation/policy.js';
export { createRotationHandler } from './rotation/lambda.js';
export type { RotationHandlerOptions, RotationHandlerSummary } from './rotation/lambda.js';
export { isKeyRotationCapable } from './stores/fernet-rotation.js';
export type { KeyRotationCapable, RotationResult, ReencryptOptions } from './stores/fernet-rotation.js';
export { openStore, registerCredentialStore, unregisterCredentialStore, registeredStoreTypes } from './stores/registry.js';
export type { StoreSpec, StoreFactory, StoreFactoryContext } from './core/factory.js';
export { ChainStore } from './stores/chain/chain-store.js';
export type { ChainMember, ChainWriteOptions, ChainDeleteOptions } from './stores/chain/chain-store.js';
export { CachedStore, withCache } from './stores/cache/cached-store.js';
export type { CacheOptions, CachedGetOptions } from './stores/cache/cached-store.js';
export {
  isCredentialReference,
  containsCredentialReference,
  extractCredentialId,
  resolveCredentialReferences,
  getCredentialsForConfig,
  findCredentialReferences,
} from './references/index.js';
export type { ResolveOptions, FoundReference } from './references/index.js';
export { AuditedStore, withAudit, withAuditLog, fileAuditSink } from './audit/index.js';
export type { AuditAction, AuditOptions, AuditOutcome, AuditRecord, AuditSink, FileAuditSink } from './audit/index.js';
export { exportCredentials, importCredentials, parseImportFile, formatFromFileName, migrate, prune, credentialsToEnv, envName, isProtectedEnvName, PROTECTED_ENV_NAMES, PROTECTED_ENV_PREFIXES } from './ops/index.js';
/**
 * Compare two versions of a credential, or the newest versions of two stores, without showing values
 * unless asked (`credstash diff`; docs/lifecycle.md "Diff").
 *
 * @example
 * ```ts
 * const d = await diffVersions(store, 'myapp.db.prod', { a: 3, b: 4, context: { env: 'prod' } });
 * d.fields; // [{ path: 'password', change: 'changed' }]: names only, no value
 * const s = await diffStores(staging, prod, { pattern: 'myapp.*' });
 * s.onlyInFirst; s.onlyInSecond; s.different.map((x) => x.id);
 * ```
 */
export { compareValues, diffStores, diffVersions } from './ops/index.js';
export type { CompareOptions, DiffFailure, DiffStoresOptions, DiffVersionsOptions, FieldChange, StoreDiff, ValueDiff, ValueKind, VersionDiff } from './ops/index.js';
export type { ExportOptions, ImportFormat, ImportOptions, ImportRecord, ImportReport, MigrateOptions, MigrateProgress, MigrateReport, PruneOptions, PruneResult } from './ops/index.js';
