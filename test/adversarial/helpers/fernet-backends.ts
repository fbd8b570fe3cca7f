/**
 * The Fernet tiers as tamperable backends for the adversarial suite: a store plus raw access to its rows
 * (keystore file entries, SQL rows), so that tests can edit what is at rest without going through the store.
 */
import type { CredentialStore } from '../../../src/core/store.js';

/** One stored version at rest: id, padded version, Fernet token. */
export interface Row {
  id: string;
  version: string;
  token: string;
  comment?: string;
}

export interface FernetHandle {
  store: CredentialStore;
  /** The same backing storage opened with other keys. */
  reopen(keys: string[]): CredentialStore;
  rows(): Promise<Row[]>;
  /** Replace (or with `undefined`, delete) the row with this id and version. */
  replace(match: Pick<Row, 'id' | 'version'>, next: Row | undefined): Promise<void>;
  insert(row: Row): Promise<void>;
  close(): Promise<void>;
}

export interface FernetBackend {
  name: string;
  /** Set when the backend cannot run here; the suffix names the reason (style.md §c.14). */
  skip?: string;
  open(keys?: string[]): Promise<FernetHandle>;
}

/** SQL backends (SQLite, PostgreSQL, MariaDB): filled in once the SQL tier exists. */
export function sqlBackends(): FernetBackend[] {
  return [];
}
