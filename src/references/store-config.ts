/**
 * Credential references inside the store config itself (docs/references.md#store-config), e.g. a
 * PostgreSQL password held in the local keystore:
 *
 * ```toml
 * [credential_store]
 * type = "sql"
 * [credential_store.config.engine]
 * name = "postgres"
 * config = { host = "db", user = "app", password = "${credential:pg_password}" }
 * [credential_store.references_from]      # optional; default: the local keystore (type "local")
 * type = "local"
 * config = { path = ".credstash/keystore.json" }
 * ```
 *
 * The references are resolved once, when the store is opened, from the `references_from` store (which
 * must not itself use references: there is no bootstrapping loop). A config without references opens
 * no extra store.
 */
import { ConfigError } from '../core/errors.js';
import type { CredentialStore } from '../core/store.js';
import { findCredentialReferences, resolveCredentialReferences } from './resolve.js';
import { openStore, type StoreFactoryContext, type StoreSpec } from '../stores/registry.js';

export const DEFAULT_REFERENCES_FROM: StoreSpec = { type: 'local', config: {} };

/**
 * Return `spec` with every `${credential:...}` in its config replaced, reading from `referencesFrom`
 * (default: the local keystore). Returns `spec` itself when its config holds no reference.
 * @param open how the `references_from` store is opened (the CLI passes one that applies the audit log)
 * @throws CredentialReferenceError naming `credential_store.config.<path>`; ConfigError when the
 *   `references_from` store uses references itself
 */
export async function resolveStoreConfigReferences(
  spec: StoreSpec,
  referencesFrom: StoreSpec | undefined,
  ctx: Partial<StoreFactoryContext>,
  open: (spec: StoreSpec) => Promise<CredentialStore> = (s) => openStore(s, ctx),
): Promise<StoreSpec> {
  const tree = { credential_store: { config: spec.config ?? {} } };
  if (findCredentialReferences(tree).length === 0) return spec;
  const from = referencesFrom ?? DEFAULT_REFERENCES_FROM;
  if (findCredentialReferences({ credential_store: { references_from: from.config ?? {} } }).length > 0) {
    throw new ConfigError('credential_store.references_from must not use credential references itself', { path: 'credential_store.references_from' });
  }
  const source = await open(from);
  try {
    const resolved = await resolveCredentialReferences(tree, source);
    return { ...spec, config: resolved.credential_store.config };
  } finally {
    await source.close();
  }
}
