/**
 * An ordered search path of stores (docs/stores.md, Chain; after Airflow's secrets search path but stricter):
 * the first store that has the credential answers; "not found" falls through; any other error stops the
 * search and names the failing store. A lower-priority value is never returned because a higher one failed.
 * Imports core only.
 */
import { canonicalContext } from '../../core/context.js';
import { forwardExtras, type ExtraCall, type StoreExtra } from '../../core/decorator.js';
import {
  CredentialNotFoundError,
  CredstashError,
  PartialResultError,
  StoreUnavailableError,
  UnsupportedOperationError,
  ValidationError,
} from '../../core/errors.js';
import { validateId } from '../../core/names.js';
import { compareIds, compareSummaries, type CredentialStore } from '../../core/store.js';
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
  SetupResult,
  StoreCapabilities,
  StoredCredential,
  WriteOptions,
} from '../../core/types.js';

/** A chain member: a store and the name used in messages and by `store` options (`--store NAME`). */
export interface ChainMember {
  name: string;
  store: CredentialStore;
}

/** `store` picks a member by name instead of the first writable one. */
export interface ChainWriteOptions extends WriteOptions {
  store?: string;
}
/** `store` picks the member to delete from instead of the first one that allows deletes. */
export interface ChainDeleteOptions extends DeleteOptions {
  store?: string;
}

/**
 * An ordered chain of stores: the first that has a credential answers, "not found" falls through, any other
 * error stops the search (naming the failing store). Writes and deletes go to the first writable member, or
 * to the member named by the `store` option.
 *
 * @example
 * ```ts
 * import { EnvStore } from 'credstash-ts/env';
 * const chain = new ChainStore([{ name: 'project', store: await openStore({ type: 'local' }) }, new EnvStore()]);
 * const cred = await chain.getCredential('db.prod', { required: true });   // local first, then env
 * await chain.storeCredential('db.prod', 'n3w', { autoVersion: true });    // into "project"
 * ```
 * @throws CredentialNotFoundError (required), the first failing member's typed error, or StoreUnavailableError
 *   naming the member; UnsupportedOperationError when no member can write; ValidationError for an unknown `store`
 */
export class ChainStore implements CredentialStore {
  readonly kind = 'chain';
  readonly description: string;
  readonly capabilities: StoreCapabilities;
  /** The members in search order, with the names used by the `store` options. */
  readonly members: readonly ChainMember[];

  /**
   * @param members stores in search order; bare stores are named after their `kind` (`local`, `env`, `env#2` ...)
   * @throws ValidationError for an empty chain or a duplicate member name
   */
  constructor(members: ReadonlyArray<CredentialStore | ChainMember>) {
    if (members.length === 0) throw new ValidationError('a chain needs at least one store');
    const seen = new Set<string>();
    this.members = members.map((m) => {
      let member: ChainMember;
      if ('store' in m && 'name' in m && typeof m.name === 'string') {
        member = { name: m.name, store: m.store };
      } else {
        const store = m as CredentialStore;
        let name = store.kind;
        for (let i = 2; seen.has(name); i++) name = `${store.kind}#${i}`;
        member = { name, store };
      }
      if (seen.has(member.name)) throw new ValidationError(`chain store name "${member.name}" is used twice`);
      seen.add(member.name);
      return member;
    });
    this.description = `chain (${this.members.map((m) => m.name).join(', ')})`;
    const any = (k: keyof StoreCapabilities): boolean => this.members.some((m) => m.store.capabilities[k]);
    this.capabilities = { write: any('write'), delete: any('delete'), context: any('context'), versions: any('versions'), formats: any('formats') };
    // The tier extras, by the one table every decorator follows: `each` extras (setup) run on every member
    // that offers them, in order; the others (key rotation: each member has its own keys) are not offered.
    forwardExtras(this, this.members.map((m) => m.store), (extra, calls) => (extra.chain === 'each' ? (...args) => this.#each(extra, calls, args) : undefined));
  }

  /**
   * An `each` extra (setup) on every member that offers it, in chain order, one line per member; a member
   * without it says it needs none. The first failure stops there, naming the member (those before it are done).
   */
  async #each(extra: StoreExtra, calls: ReadonlyArray<{ index: number; call: ExtraCall }>, args: unknown[]): Promise<SetupResult> {
    const lines: string[] = [];
    let created = false;
    for (const [index, m] of this.members.entries()) {
      const c = calls.find((x) => x.index === index);
      if (c === undefined) {
        lines.push(`chain store "${m.name}": ${m.store.description} needs no ${extra.method}`);
        continue;
      }
      let r: unknown;
      try {
        r = await c.call(...args);
      } catch (err) {
        throw this.#fail(m, err);
      }
      const result = r as Partial<SetupResult> | undefined;
      if (result?.created === true) created = true;
      lines.push(`chain store "${m.name}": ${typeof result?.message === 'string' ? result.message : 'done'}`);
    }
    return { created, message: lines.join('\n') };
  }

  /**
   * The first member holding the credential answers; with a context, members that cannot bind one are skipped.
   * With a `label`, only members that keep labels are asked, and the first one where the label exists answers;
   * `strict` is passed to the member that answers.
   *
   * @example
   * ```ts
   * const db = await chain.getCredential('myapp.db.prod', { context: { env: 'prod' }, required: true });
   * ```
   * @throws ValidationError (id), CredentialNotFoundError (required, after every member), UnsupportedOperationError
   *   for a context when no member binds one, the failing member's typed error or StoreUnavailableError naming it
   */
  getCredential(id: string, opts: GetOptions & { required: true }): Promise<StoredCredential>;
  getCredential(id: string, opts?: GetOptions): Promise<StoredCredential | undefined>;
  async getCredential(id: string, opts: GetOptions = {}): Promise<StoredCredential | undefined> {
    validateId(id);
    // Members canonicalise and validate the context themselves; here only "is there one" matters.
    const withContext = opts.context !== undefined && opts.context !== null && Object.keys(opts.context).length > 0;
    // No member can bind a context: "not found" would hide a misconfigured chain, so say so (as each tier does).
    if (withContext && !this.capabilities.context) throw new UnsupportedOperationError(this.description, 'encryption context (no member store binds one)');
    // A labelled read goes only to members that keep labels (the first one where the label exists answers);
    // dropping the label would answer with the newest version instead of the labelled one.
    const label = opts.label;
    if (label !== undefined && !this.members.some((m) => m.store.capabilities.labels === true)) throw new UnsupportedOperationError(this.description, 'labels (no member store keeps them)');
    const read: GetOptions = { version: opts.version, context: opts.context };
    if (label !== undefined) read.label = label;
    if (opts.strict === true) read.strict = true;
    for (const m of this.members) {
      // A store that cannot bind a context cannot hold a credential stored with one: skipping it is a miss.
      if (withContext && !m.store.capabilities.context) continue;
      if (label !== undefined && m.store.capabilities.labels !== true) continue;
      let found: StoredCredential | undefined;
      try {
        found = await m.store.getCredential(id, read);
      } catch (err) {
        if (err instanceof CredentialNotFoundError) continue;
        throw this.#fail(m, err, id);
      }
      if (found !== undefined) return found;
    }
    if (opts.required === true) {
      throw new CredentialNotFoundError(label === undefined ? { credentialId: id, store: this.description, version: opts.version } : { credentialId: id, store: this.description, label });
    }
    return undefined;
  }

  /**
   * Write to the member named by `store`, else to the first writable member.
   *
   * @example
   * ```ts
   * await chain.storeCredential('myapp.db.prod', newPassword, { autoVersion: true, store: 'project' });
   * ```
   * @throws ValidationError for an unknown `store` name, UnsupportedOperationError when no member is writable,
   *   the member's write errors (VersionConflictError, ValueTooLargeError, ...) or StoreUnavailableError naming it
   */
  async storeCredential(id: string, value: CredentialValue, opts: ChainWriteOptions = {}): Promise<PutResult> {
    const { store, ...rest } = opts;
    const m = this.#target(store, 'write');
    try {
      return await m.store.storeCredential(id, value, rest);
    } catch (err) {
      throw this.#fail(m, err, id);
    }
  }

  /**
   * Deletes go to the member named by `store`, else to the first member that allows deletes.
   *
   * @example
   * ```ts
   * await chain.deleteCredential('myapp.db.old', { store: 'project' });
   * ```
   * @throws ValidationError for an unknown `store` name, UnsupportedOperationError when no member allows
   *   deletes, CredentialNotFoundError from that member, or StoreUnavailableError naming it
   */
  async deleteCredential(id: string, opts: ChainDeleteOptions = {}): Promise<DeleteResult> {
    const { store, ...rest } = opts;
    const m = this.#target(store, 'delete');
    try {
      return await m.store.deleteCredential(id, rest);
    } catch (err) {
      throw this.#fail(m, err, id);
    }
  }

  /**
   * Every store's listing merged; for an id held by several stores only the first store's versions show.
   *
   * @example
   * ```ts
   * const ids = (await chain.listCredentials({ latestOnly: true })).map((s) => s.id);
   * ```
   * @throws the first failing member's typed error, or StoreUnavailableError naming it
   */
  async listCredentials(opts: ListOptions = {}): Promise<CredentialSummary[]> {
    const seen = new Set<string>();
    const out: CredentialSummary[] = [];
    for (const m of this.members) {
      let list: CredentialSummary[];
      try {
        list = await m.store.listCredentials(opts);
      } catch (err) {
        throw this.#fail(m, err);
      }
      const mine = new Set<string>();
      for (const s of list) {
        if (seen.has(s.id)) continue;
        mine.add(s.id);
        out.push(s);
      }
      for (const id of mine) seen.add(id);
    }
    return out.sort(compareSummaries);
  }

  /**
   * Whether any member holds the credential (or that version).
   *
   * @example
   * ```ts
   * if (!(await chain.credentialExists('myapp.api_key'))) throw new Error('run credstash put myapp.api_key first');
   * ```
   * @throws the first failing member's typed error (ValidationError for a bad id), or StoreUnavailableError naming it
   */
  async credentialExists(id: string, opts: { version?: number | string } = {}): Promise<boolean> {
    for (const m of this.members) {
      try {
        if (await m.store.credentialExists(id, opts)) return true;
      } catch (err) {
        throw this.#fail(m, err, id);
      }
    }
    return false;
  }

  /**
   * Each store's getall merged, first store wins per id; any store's failure stops it.
   *
   * @example
   * ```ts
   * const { credentials } = await chain.getAllCredentials({ pattern: 'myapp.*' });
   * ```
   * @throws ValidationError (context), UnsupportedOperationError for a context when no member binds one,
   *   PartialResultError from a member (unless `skipErrors`), the failing member's typed error or StoreUnavailableError
   */
  async getAllCredentials(opts: GetAllOptions = {}): Promise<GetAllResult> {
    const withContext = Object.keys(canonicalContext(opts.context)).length > 0;
    if (withContext && !this.capabilities.context) throw new UnsupportedOperationError(this.description, 'encryption context (no member store binds one)');
    const byId = new Map<string, StoredCredential>();
    const skipped: GetAllResult['skipped'] = [];
    const claimed = new Set<string>();
    // `getall -v N`: a member where an id has no version N has not got it; the search goes on to the next
    // member, as it does for `get` ("not found" falls through). Asked of each member with skipErrors, so
    // that such a miss does not fail the whole call there; any other failure stops it as before.
    const notFound = new Map<string, GetAllResult['skipped'][number]>();
    const versioned = opts.version !== undefined;
    for (const m of this.members) {
      if (withContext && !m.store.capabilities.context) continue;
      let res: GetAllResult;
      try {
        res = await m.store.getAllCredentials(versioned ? { ...opts, skipErrors: true } : opts);
      } catch (err) {
        throw this.#fail(m, err);
      }
      const misses = res.skipped.filter((s) => versioned && s.code === CredentialNotFoundError.code);
      const failures = res.skipped.filter((s) => !misses.includes(s));
      if (versioned && opts.skipErrors !== true && failures.some((s) => !claimed.has(s.id))) {
        throw this.#fail(m, new PartialResultError(m.store.description, failures.map((s) => ({ credentialId: s.id, code: s.code as PartialResultError['failures'][number]['code'], message: s.message }))));
      }
      for (const c of res.credentials) {
        if (!claimed.has(c.id)) byId.set(c.id, c);
      }
      for (const s of failures) {
        if (!claimed.has(s.id)) skipped.push(s);
      }
      for (const s of misses) if (!claimed.has(s.id) && !notFound.has(s.id)) notFound.set(s.id, s);
      for (const c of res.credentials) claimed.add(c.id);
      for (const s of failures) claimed.add(s.id);
    }
    const missing = [...notFound.values()].filter((s) => !claimed.has(s.id));
    if (missing.length > 0 && opts.skipErrors !== true) {
      throw new PartialResultError(this.description, missing.map((s) => ({ credentialId: s.id, code: CredentialNotFoundError.code, message: s.message })));
    }
    skipped.push(...missing);
    const credentials = [...byId.values()].sort((a, b) => compareIds(a.id, b.id));
    return { credentials, skipped };
  }

  /**
   * Close every member, even when one fails.
   *
   * @example
   * ```ts
   * await chain.close();
   * ```
   * @throws the first failing member's typed error, or StoreUnavailableError naming it (after all were closed)
   */
  async close(): Promise<void> {
    const results = await Promise.allSettled(this.members.map((m) => m.store.close()));
    const failed = results.findIndex((r) => r.status === 'rejected');
    if (failed >= 0) {
      throw this.#fail(this.members[failed] as ChainMember, (results[failed] as PromiseRejectedResult).reason);
    }
  }

  #target(name: string | undefined, op: 'write' | 'delete'): ChainMember {
    if (name !== undefined) {
      const m = this.members.find((x) => x.name === name);
      if (m === undefined) {
        throw new ValidationError(`no store named "${name}" in ${this.description}`);
      }
      return m;
    }
    const m = this.members.find((x) => x.store.capabilities[op]);
    if (m === undefined) throw new UnsupportedOperationError(this.description, op === 'write' ? 'writes (no member store is writable)' : 'deletes (no member store allows them)');
    return m;
  }

  /**
   * Keep a typed error that already names its store, and a ValidationError (the caller's input was refused:
   * a bad id, version or context is not a store failure); otherwise say which member failed.
   */
  #fail(m: ChainMember, err: unknown, credentialId?: string): CredstashError {
    if (err instanceof CredstashError && (err.store !== undefined || err instanceof ValidationError)) return err;
    if (err instanceof CredstashError) {
      return new StoreUnavailableError(`chain store "${m.name}" (${m.store.description}) failed: ${err.message}`, { store: m.name, credentialId, cause: err });
    }
    const what = err instanceof Error ? err.name : typeof err;
    return new StoreUnavailableError(
      `chain store "${m.name}" (${m.store.description}) failed (${what})${credentialId === undefined ? '' : ` on credential "${credentialId}"`}; the search stopped there`,
      { store: m.name, credentialId, cause: err },
    );
  }
}
