import type { Kysely, Transaction } from 'kysely';
import { CredstashError, IntegrityError, StoreUnavailableError, VersionConflictError } from '../../core/errors.js';
import { decodeCompanion, encodeCompanion, type CompanionDoc, type CompanionRecord } from '../../core/lifecycle.js';
import {
  BaseStore,
  type ResolvedReadOptions,
  type ResolvedWriteOptions,
  type SetupCapable,
  type VersionRecord,
  type VersionsHookOptions,
} from '../../core/store.js';
import type { CredentialSummary, CredentialValue, EncryptionContext, SetupResult, StoreCapabilities, StoredCredential } from '../../core/types.js';
import { displayVersion, padVersion, versionNumber } from '../../core/version.js';
import { FernetCodec, fernetCreatedAt } from '../fernet-codec.js';
import { confirmRotationKey, type KeyRotationCapable, type ReencryptOptions, type RotationResult } from '../fernet-rotation.js';
import { classifyDriverError, createdMeanwhile, createDialect, describeEngine, type EngineConfig } from './sql-dialects.js';
import {
  addLifecycleColumns,
  createCredentialsTable,
  createLifecycleTable,
  DEFAULT_TABLE,
  lifecycleTableName,
  MAX_LIFECYCLE_BASE,
  validateTableName,
  type CredentialsDB,
} from './sql-schema.js';
import { loadKysely } from './sql-packages.js';

export interface SqlStoreOptions {
  engine: EngineConfig;
  /** Table name (default `xt_credentials`), created on first use. */
  table?: string;
  /** Project Fernet keys: the first encrypts, all decrypt. */
  fernetKeys?: readonly string[];
  /** An existing Kysely instance over the same engine (tests, or an application's own pool). Not closed by `close()`. */
  db?: Kysely<CredentialsDB>;
}

/** Largest value the SQL tier takes (MySQL MEDIUMTEXT and the default max_allowed_packet leave room for it). */
export const SQL_MAX_VALUE_BYTES = 1024 * 1024;

/**
 * The SQL Fernet tier: SQLite (embedded), PostgreSQL and MySQL/MariaDB through one Kysely query layer.
 * Same token format as the local keystore (src/stores/fernet-codec.ts).
 */
export class SqlStore extends BaseStore implements SetupCapable, KeyRotationCapable {
  readonly kind = 'sql';
  readonly description: string;
  readonly capabilities: StoreCapabilities = Object.freeze({
    write: true,
    delete: true,
    context: true,
    versions: true,
    labels: true,
    history: true,
    expiry: true,
  });
  protected readonly maxValueBytes = SQL_MAX_VALUE_BYTES;
  readonly table: string;
  readonly #engine: EngineConfig;
  readonly #ownsDb: boolean;
  #db?: Kysely<CredentialsDB>;
  #ready?: Promise<Kysely<CredentialsDB>>;
  #created = false;
  #codec: FernetCodec;
  #closed = false;
  /** Adding the lifecycle columns to a table created before them: once per store, on the first write that needs them. */
  #columnsAdded?: Promise<boolean>;
  /** CREATE TABLE IF NOT EXISTS of the lifecycle table: once per store, before the first label or state write. */
  #lifecycleReady?: Promise<void>;

  constructor(opts: SqlStoreOptions) {
    super();
    this.table = validateTableName(opts.table ?? DEFAULT_TABLE);
    this.#engine = opts.engine;
    this.#codec = new FernetCodec(opts.fernetKeys);
    this.#db = opts.db;
    this.#ownsDb = opts.db === undefined;
    this.description = `sql table "${this.table}" (${describeEngine(opts.engine)})`;
  }

  /** The connection, built once on first use, with the table created if missing. */
  #conn(): Promise<Kysely<CredentialsDB>> {
    this.#ready ??= (async () => {
      if (this.#closed) throw new StoreUnavailableError(`${this.description} is closed`, { store: this.description });
      // kysely and the driver are optional peer dependencies: loaded here, on first use (sql-packages.ts)
      const db = (this.#db ??= new (await loadKysely()).Kysely<CredentialsDB>({ dialect: await createDialect(this.#engine) }));
      try {
        await createCredentialsTable(db, this.table, this.#engine.name);
        this.#created = true;
      } catch (err) {
        if (!createdMeanwhile(err)) throw err;
      }
      return db;
    })().catch((err: unknown) => {
      this.#ready = undefined; // a server that was down may come back: retry on the next call
      throw this.#driverError(err);
    });
    return this.#ready;
  }

  async #run<T>(fn: (db: Kysely<CredentialsDB>) => Promise<T>, credentialId?: string): Promise<T> {
    const db = await this.#conn();
    try {
      return await fn(db);
    } catch (err) {
      throw this.#driverError(err, credentialId);
    }
  }

  /** Driver errors -> typed errors naming engine, host:port and database, never the password. */
  #driverError(err: unknown, credentialId?: string): CredstashError {
    if (err instanceof CredstashError) return err;
    const where = describeEngine(this.#engine);
    const code = (err as { code?: unknown })?.code;
    const tag = typeof code === 'string' || typeof code === 'number' ? ` (${String(code)})` : '';
    switch (classifyDriverError(err)) {
      case 'connection':
        return new StoreUnavailableError(`cannot connect to ${where}${tag}; is the server running?`, { store: this.description, credentialId, cause: err });
      case 'auth':
        // no cause: some drivers echo connection settings in their auth errors
        return new StoreUnavailableError(`authentication to ${where} failed for user "${this.#engine.user ?? ''}"${tag}; check user and password`, {
          store: this.description,
          credentialId,
        });
      case 'no-database':
        return new StoreUnavailableError(`${where} does not exist${tag}; create the database first`, { store: this.description, credentialId });
      case 'busy':
        return new StoreUnavailableError(`${where} stayed locked by another writer for ${this.#engine.timeoutMs ?? 5000} ms${tag}`, { store: this.description, credentialId });
      default:
        return new StoreUnavailableError(`${this.description} failed${tag}${credentialId === undefined ? '' : ` for credential "${credentialId}"`}`, {
          store: this.description,
          credentialId,
          cause: err,
        });
    }
  }

  protected async _get(id: string, opts: ResolvedReadOptions): Promise<StoredCredential | undefined> {
    const version = opts.version === undefined ? undefined : versionNumber(opts.version);
    if (opts.version !== undefined && version === undefined) return undefined; // `v5`: never written by this tier
    // A read through a label: its target must carry a proof made with a project key (checked before the
    // query: someone who can write the lifecycle table but has no key cannot point a label elsewhere).
    if (opts.label !== undefined && (opts.label.target.v !== opts.version || this.#codec.labelProofKeyIndex(id, opts.label.name, opts.label.target.v, opts.label.target.proof) < 0)) {
      throw new IntegrityError({ credentialId: id, version: displayVersion(opts.label.target.v), store: this.description });
    }
    const row = await this.#run(async (db) => {
      let q = db.selectFrom(this.table).select(['version', 'token']).where('id', '=', id);
      q = version === undefined ? q.orderBy('version', 'desc').limit(1) : q.where('version', '=', version);
      return q.executeTakeFirst();
    }, id);
    if (row === undefined) return undefined;
    return this.#codec.open(row.token, { id, version: padVersion(Number(row.version)), context: opts.context, store: this.description });
  }

  protected async _put(id: string, value: CredentialValue, opts: ResolvedWriteOptions): Promise<void> {
    const { meta } = opts;
    const token = this.#codec.seal({ id, version: padVersion(opts.version), value, context: opts.context, comment: opts.comment, definition: opts.definition, meta });
    const db = await this.#conn();
    const row = {
      id,
      version: opts.version,
      token,
      comment: opts.comment ?? null,
      // plaintext copies of the header's facts, for history and check (get returns the token's copy)
      created_at: meta.createdAt,
      written_by: meta.writtenBy ?? null,
      expires_at: meta.expiresAt ?? null,
    };
    for (let attempt = 0; ; attempt++) {
      try {
        await db.insertInto(this.table).values(row).execute();
        return;
      } catch (err) {
        const kind = classifyDriverError(err);
        if (kind === 'duplicate') throw new VersionConflictError({ credentialId: id, store: this.description, version: opts.version });
        // A table created before the lifecycle columns: add them (once) and write again.
        if (kind === 'no-column' && attempt === 0) {
          await this.#addColumns(db, id);
          continue;
        }
        throw this.#driverError(err, id);
      }
    }
  }

  /** Add the lifecycle columns to a table created before them (idempotent; concurrent writers are fine). */
  #addColumns(db: Kysely<CredentialsDB>, credentialId?: string): Promise<boolean> {
    this.#columnsAdded ??= addLifecycleColumns(
      db,
      this.table,
      (e) => classifyDriverError(e) === 'duplicate-column',
      (e) => classifyDriverError(e) === 'no-column',
    ).catch((err: unknown) => {
      this.#columnsAdded = undefined;
      const code = (err as { code?: unknown })?.code;
      throw new StoreUnavailableError(
        `${this.description} was created before the lifecycle columns (created_at, written_by, expires_at) and adding them failed${typeof code === 'string' ? ` (${code})` : ''}; run credstash setup as a user that may alter the table`,
        { store: this.description, credentialId, cause: err },
      );
    });
    return this.#columnsAdded;
  }

  protected async _highestVersion(id: string): Promise<number> {
    const row = await this.#run(
      (db) => db.selectFrom(this.table).select((eb) => eb.fn.max('version').as('v')).where('id', '=', id).executeTakeFirst(),
      id,
    );
    const v = row?.v;
    return v === null || v === undefined ? 0 : Number(v);
  }

  protected async _delete(id: string, version: string | undefined): Promise<string[]> {
    const n = version === undefined ? undefined : versionNumber(version);
    if (version !== undefined && n === undefined) return [];
    // Delete exactly the versions seen (no transaction: on SQLite a read-then-write transaction fails at once
    // with SQLITE_BUSY when another process wrote in between; a version added meanwhile is simply kept).
    return this.#run(async (db) => {
      let sel = db.selectFrom(this.table).select('version').where('id', '=', id);
      if (n !== undefined) sel = sel.where('version', '=', n);
      const versions = (await sel.execute()).map((r) => Number(r.version)).sort((a, b) => a - b);
      if (versions.length === 0) return [];
      await db.deleteFrom(this.table).where('id', '=', id).where('version', 'in', versions).execute();
      return versions.map(String);
    }, id);
  }

  protected async _list(): Promise<CredentialSummary[]> {
    const rows = await this.#run((db) => db.selectFrom(this.table).select(['id', 'version', 'comment']).execute());
    return rows.map((r) => {
      const s: CredentialSummary = { id: rowId(r.id), version: String(Number(r.version)) };
      if (r.comment !== null && r.comment !== undefined) s.comment = r.comment;
      return s;
    });
  }

  /**
   * Versions with their plaintext facts and token length, in one query (`opts.id`: that credential only);
   * nothing is decrypted. On a table created before the lifecycle columns, the versions have what the
   * token's own timestamp gives (created time) and nothing is altered.
   */
  protected override async _versions(opts: VersionsHookOptions): Promise<VersionRecord[]> {
    const { sql } = await loadKysely();
    const query = (withFacts: boolean) =>
      this.#run(async (db) => {
        let q = db
          .selectFrom(this.table)
          .select(['id', 'version', 'comment', sql<number>`length(token)`.as('size'), sql<string>`substr(token, 1, 12)`.as('head')]);
        if (withFacts) q = q.select(['created_at', 'written_by', 'expires_at']);
        if (opts.id !== undefined) q = q.where('id', '=', opts.id);
        return (await q.execute()) as Array<{
          id: unknown;
          version: unknown;
          comment: string | null;
          size: unknown;
          head: string;
          created_at?: string | null;
          written_by?: string | null;
          expires_at?: string | null;
        }>;
      }, opts.id);
    let rows;
    try {
      rows = await query(true);
    } catch (err) {
      if (!(err instanceof StoreUnavailableError && classifyDriverError(err.cause) === 'no-column')) throw err;
      rows = await query(false);
    }
    return rows.map((r) => {
      const v: VersionRecord = { id: rowId(r.id), version: String(Number(r.version)), size: Number(r.size) };
      const createdAt = r.created_at ?? fernetCreatedAt(String(r.head));
      if (createdAt !== undefined) v.createdAt = createdAt;
      if (r.written_by !== null && r.written_by !== undefined) v.writtenBy = r.written_by;
      if (r.comment !== null && r.comment !== undefined) v.comment = r.comment;
      if (r.expires_at !== null && r.expires_at !== undefined) v.expiresAt = r.expires_at;
      return v;
    });
  }

  /** The lifecycle table, created if missing (once per store). */
  async #lifecycle(): Promise<{ db: Kysely<CredentialsDB>; table: string }> {
    const table = lifecycleTableName(this.table);
    const db = await this.#conn();
    this.#lifecycleReady ??= createLifecycleTable(db, this.table, this.#engine.name).catch((err: unknown) => {
      if (createdMeanwhile(err)) return;
      this.#lifecycleReady = undefined;
      throw this.#driverError(err);
    });
    await this.#lifecycleReady;
    return { db, table };
  }

  protected override async _readCompanion(id: string): Promise<CompanionRecord | undefined> {
    const table = lifecycleTableName(this.table);
    const { sql } = await loadKysely();
    let rows: Array<{ rev: unknown; doc: unknown }>;
    try {
      rows = (await this.#run((db) => sql<{ rev: unknown; doc: unknown }>`SELECT rev, doc FROM ${sql.table(table)} WHERE id = ${id}`.execute(db), id)).rows;
    } catch (err) {
      // No lifecycle table yet: no labels (a read never creates it).
      if (err instanceof StoreUnavailableError && classifyDriverError(err.cause) === 'no-table') return undefined;
      throw err;
    }
    const row = rows[0];
    if (row === undefined) return undefined;
    return { doc: decodeCompanion(String(row.doc), `${this.description} credential "${id}"`), rev: String(Number(row.rev)) };
  }

  /**
   * Compare-and-set: `INSERT` (the primary key refuses a second creator) when there is no record, else
   * `UPDATE … SET rev = rev + 1 WHERE id = ? AND rev = ?` (one row changed, or the race was lost). An emptied
   * record is kept as a row (never deleted), so its revision keeps growing and is never reused.
   */
  protected override async _writeCompanion(id: string, doc: CompanionDoc, expectedRev: string | undefined): Promise<boolean> {
    const { sql } = await loadKysely();
    const { db, table } = await this.#lifecycle();
    const text = encodeCompanion(doc);
    if (expectedRev === undefined) {
      if (Object.keys(doc.labels).length === 0 && Object.keys(doc.state).length === 0) return true;
      try {
        await sql`INSERT INTO ${sql.table(table)} (id, rev, doc) VALUES (${id}, ${1}, ${text})`.execute(db);
        return true;
      } catch (err) {
        if (classifyDriverError(err) === 'duplicate') return false;
        throw this.#driverError(err, id);
      }
    }
    if (!/^\d{1,15}$/.test(expectedRev)) return false;
    const rev = Number(expectedRev);
    try {
      const r = await sql`UPDATE ${sql.table(table)} SET rev = ${rev + 1}, doc = ${text} WHERE id = ${id} AND rev = ${rev}`.execute(db);
      return Number(r.numAffectedRows ?? 0n) === 1;
    } catch (err) {
      throw this.#driverError(err, id);
    }
  }

  protected override async _listCompanions(): Promise<Array<{ id: string; doc: CompanionDoc }>> {
    const table = lifecycleTableName(this.table);
    const { sql } = await loadKysely();
    let rows: Array<{ id: unknown; doc: unknown }>;
    try {
      rows = (await this.#run((db) => sql<{ id: unknown; doc: unknown }>`SELECT id, doc FROM ${sql.table(table)}`.execute(db))).rows;
    } catch (err) {
      if (err instanceof StoreUnavailableError && classifyDriverError(err.cause) === 'no-table') return [];
      throw err;
    }
    return rows.map((r) => {
      const id = rowId(r.id);
      return { id, doc: decodeCompanion(String(r.doc), `${this.description} credential "${id}"`) };
    });
  }

  protected override async _labelProof(id: string, label: string, paddedVersion: string): Promise<string> {
    return this.#codec.labelProof(id, label, paddedVersion);
  }

  protected override async _sealState(id: string, key: string, plaintext: Uint8Array, context: EncryptionContext): Promise<string> {
    return this.#codec.sealState(id, key, plaintext, context);
  }

  protected override async _openState(id: string, key: string, sealed: string, context: EncryptionContext): Promise<Uint8Array> {
    return this.#codec.openState(id, key, sealed, context, this.description);
  }

  protected override async _exists(id: string, version: string | undefined): Promise<boolean> {
    const n = version === undefined ? undefined : versionNumber(version);
    if (version !== undefined && n === undefined) return false;
    const row = await this.#run(async (db) => {
      let q = db.selectFrom(this.table).select('version').where('id', '=', id);
      if (n !== undefined) q = q.where('version', '=', n);
      return q.limit(1).executeTakeFirst();
    }, id);
    return row !== undefined;
  }

  /** One query for every credential, then decrypt in process (no query per id). */
  protected override async _getAll(ids: string[], opts: ResolvedReadOptions & { concurrency: number }): Promise<Array<StoredCredential | Error | undefined>> {
    const n = opts.version === undefined ? undefined : versionNumber(opts.version);
    if (opts.version !== undefined && n === undefined) return ids.map(() => undefined);
    const rows = await this.#run(async (db) => {
      let q = db.selectFrom(this.table).select(['id', 'version', 'token']);
      if (n !== undefined) q = q.where('version', '=', n);
      return q.execute();
    });
    const best = new Map<string, { version: number; token: string }>();
    for (const r of rows) {
      const id = rowId(r.id);
      const v = Number(r.version);
      const cur = best.get(id);
      if (cur === undefined || v > cur.version) best.set(id, { version: v, token: r.token });
    }
    return ids.map((id) => {
      const row = best.get(id);
      if (row === undefined) return undefined;
      try {
        return this.#codec.open(row.token, { id, version: padVersion(row.version), context: opts.context, store: this.description });
      } catch (err) {
        return err as Error;
      }
    });
  }

  /**
   * Create the table if missing, add the lifecycle columns to a table created before them, and create the
   * lifecycle table (labels and state). Idempotent.
   */
  async setup(): Promise<SetupResult> {
    return this.wrap(async () => {
      const db = await this.#conn();
      this.#columnsAdded = undefined; // check again: setup is the explicit upgrade
      const upgraded = await this.#addColumns(db);
      // A table name too long for a lifecycle table still works without labels (they say why when used).
      if (this.table.length <= MAX_LIFECYCLE_BASE) await this.#lifecycle();
      return {
        created: this.#created || upgraded,
        message: `${this.description} is ready (created if it was missing${upgraded ? '; lifecycle columns added' : ''})`,
      };
    });
  }

  /**
   * Re-encrypt every row under the first key inside one transaction: per-row updates, committed together,
   * so an interruption rolls back to tokens the old keys still open. Concurrent rotations are serialised by
   * the database (SQLite's write lock, `SELECT … FOR UPDATE` elsewhere); a key list that changed
   * (`opts.currentKeys`) stops the rotation before anything is written.
   */
  async reencryptAll(opts: ReencryptOptions = {}): Promise<RotationResult> {
    if (opts.keys !== undefined) this.#codec = new FernetCodec(opts.keys);
    const codec = this.#codec;
    // The lifecycle table must exist before the transaction (a failed statement aborts a PostgreSQL one).
    const lifecycle = this.table.length <= MAX_LIFECYCLE_BASE ? (await this.#lifecycle()).table : undefined;
    return this.#run((db) =>
      db.transaction().execute(async (trx) => {
        if (this.#engine.name === 'sqlite') {
          // Take SQLite's write lock first (waiting busy_timeout), so the read below cannot go stale.
          const { sql } = await loadKysely();
          await trx.updateTable(this.table).set((eb) => ({ token: eb.ref('token') })).where(sql<boolean>`1 = 0`).execute();
        }
        // PostgreSQL / MySQL: lock every row, so that a second rotation (another process, another config
        // file over the same table) waits for this one to commit and then sees its tokens.
        const select = trx.selectFrom(this.table).select(['id', 'version', 'token']);
        const rows = await (this.#engine.name === 'sqlite' ? select : select.forUpdate()).execute();
        // Under those locks: the key list where it is kept must still start with our key.
        confirmRotationKey(codec, opts);
        let alreadyCurrent = 0;
        const updates = rows.map((r) => {
          const id = rowId(r.id);
          if (codec.isCurrent(r.token)) alreadyCurrent++;
          return { id, version: Number(r.version), token: codec.rotate(r.token, { id, version: padVersion(Number(r.version)), store: this.description }) };
        });
        for (const u of updates) {
          await trx.updateTable(this.table).set({ token: u.token }).where('id', '=', u.id).where('version', '=', u.version).execute();
        }
        if (lifecycle !== undefined) await this.#reproveLabels(trx, lifecycle, codec);
        const reencrypted = rows.length - alreadyCurrent;
        return {
          reencrypted,
          alreadyCurrent,
          message: `re-encrypted ${rows.length} version(s) in ${this.description} under the first key (${reencrypted} were under an older key)`,
        };
      }),
    );
  }

  /**
   * Inside the rotation's transaction (rows locked): each label whose proof verifies under one of the keys is
   * proved again under the first key, so the old key can be removed afterwards; a label no key verifies is
   * left as it is (still refused on read: a rotation never launders a forged target). Sealed state is
   * re-encrypted; state no key opens stops the rotation. Each record gets a new revision.
   */
  async #reproveLabels(trx: Transaction<CredentialsDB>, table: string, codec: FernetCodec): Promise<void> {
    const { sql } = await loadKysely();
    const lock = this.#engine.name === 'sqlite' ? sql`` : sql` FOR UPDATE`;
    const rows = (await sql<{ id: unknown; rev: unknown; doc: unknown }>`SELECT id, rev, doc FROM ${sql.table(table)}${lock}`.execute(trx)).rows;
    for (const r of rows) {
      const id = rowId(r.id);
      const doc = decodeCompanion(String(r.doc), `${this.description} credential "${id}"`);
      for (const [name, t] of Object.entries(doc.labels)) {
        if (codec.labelProofKeyIndex(id, name, t.v, t.proof) >= 0) t.proof = codec.labelProof(id, name, t.v);
      }
      for (const [key, sealed] of Object.entries(doc.state)) doc.state[key] = codec.rotateState(sealed, { id, store: this.description });
      const rev = Number(r.rev);
      await sql`UPDATE ${sql.table(table)} SET rev = ${rev + 1}, doc = ${encodeCompanion(doc)} WHERE id = ${r.id} AND rev = ${rev}`.execute(trx);
    }
  }

  /** Refuse further calls and destroy the pool this store built (an injected Kysely belongs to the caller). */
  protected override async _close(): Promise<void> {
    this.#closed = true;
    const db = this.#db;
    this.#db = undefined;
    this.#ready = undefined;
    if (db !== undefined && this.#ownsDb) await db.destroy();
  }
}

/** MySQL returns VARBINARY as bytes. */
function rowId(id: unknown): string {
  return Buffer.isBuffer(id) ? id.toString('utf8') : String(id);
}
