import type { Kysely } from 'kysely';
import { CredstashError, StoreUnavailableError, VersionConflictError } from '../../core/errors.js';
import { BaseStore, type ResolvedReadOptions, type ResolvedWriteOptions, type SetupCapable } from '../../core/store.js';
import type { CredentialSummary, CredentialValue, SetupResult, StoreCapabilities, StoredCredential } from '../../core/types.js';
import { padVersion, versionNumber } from '../../core/version.js';
import { FernetCodec } from '../fernet-codec.js';
import { confirmRotationKey, type KeyRotationCapable, type ReencryptOptions, type RotationResult } from '../fernet-rotation.js';
import { classifyDriverError, createDialect, describeEngine, type EngineConfig } from './sql-dialects.js';
import { createCredentialsTable, DEFAULT_TABLE, validateTableName, type CredentialsDB } from './sql-schema.js';
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
  readonly capabilities: StoreCapabilities = Object.freeze({ write: true, delete: true, context: true, versions: true });
  protected readonly maxValueBytes = SQL_MAX_VALUE_BYTES;
  readonly table: string;
  readonly #engine: EngineConfig;
  readonly #ownsDb: boolean;
  #db?: Kysely<CredentialsDB>;
  #ready?: Promise<Kysely<CredentialsDB>>;
  #created = false;
  #codec: FernetCodec;
  #closed = false;

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
        // Two processes creating the table at once: PostgreSQL may report the loser as a duplicate type.
        if (classifyDriverError(err) !== 'duplicate' && (err as { code?: string }).code !== '42P07') throw err;
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
    const row = await this.#run(async (db) => {
      let q = db.selectFrom(this.table).select(['version', 'token']).where('id', '=', id);
      q = version === undefined ? q.orderBy('version', 'desc').limit(1) : q.where('version', '=', version);
      return q.executeTakeFirst();
    }, id);
    if (row === undefined) return undefined;
    return this.#codec.open(row.token, { id, version: padVersion(Number(row.version)), context: opts.context, store: this.description });
  }

  protected async _put(id: string, value: CredentialValue, opts: ResolvedWriteOptions): Promise<void> {
    const token = this.#codec.seal({ id, version: padVersion(opts.version), value, context: opts.context, comment: opts.comment, definition: opts.definition });
    const db = await this.#conn();
    try {
      await db.insertInto(this.table).values({ id, version: opts.version, token, comment: opts.comment ?? null }).execute();
    } catch (err) {
      if (classifyDriverError(err) === 'duplicate') {
        throw new VersionConflictError({ credentialId: id, store: this.description, version: opts.version });
      }
      throw this.#driverError(err, id);
    }
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

  /** Create the table if missing. */
  async setup(): Promise<SetupResult> {
    return this.wrap(async () => {
      await this.#conn();
      return { created: this.#created, message: `${this.description} is ready (created if it was missing)` };
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
        const reencrypted = rows.length - alreadyCurrent;
        return {
          reencrypted,
          alreadyCurrent,
          message: `re-encrypted ${rows.length} version(s) in ${this.description} under the first key (${reencrypted} were under an older key)`,
        };
      }),
    );
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
