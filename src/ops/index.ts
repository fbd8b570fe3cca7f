/** Library-level operator tools: they use only the CredentialStore interface. */
export { credentialsToEnv, envName, isProtectedEnvName, PROTECTED_ENV_NAMES, PROTECTED_ENV_PREFIXES } from './env-names.js';
export type { EnvOptions } from './env-names.js';
export { exportCredentials, formatFromFileName, importCredentials, parseImportFile, IMPORT_FORMATS } from './import-export.js';
export type { ExportOptions, ImportFormat, ImportOptions, ImportRecord, ImportReport } from './import-export.js';
export { compareValues, diffStores, diffVersions } from './diff.js';
export type { CompareOptions, DiffFailure, DiffStoresOptions, DiffVersionsOptions, FieldChange, StoreDiff, ValueDiff, ValueKind, VersionDiff } from './diff.js';
export { migrate, REENCRYPT_MARKER } from './migrate.js';
export type { MigrateOptions, MigrateOutcome, MigrateProgress, MigrateReport } from './migrate.js';
export { prune } from './prune.js';
export type { PruneOptions, PruneResult } from './prune.js';
export { valuesEqual } from './values.js';
