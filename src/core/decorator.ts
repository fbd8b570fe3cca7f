/**
 * One shape for every store that wraps other stores (cache, audit, chain): the CredentialStore methods are
 * the decorator's own, and the tier extras (optional capability methods beside CredentialStore: `setup`,
 * key rotation's `reencryptAll`, ...) pass through by one table, {@link STORE_EXTRAS}. A decorator over one
 * store offers exactly the extras that store offers, so `isSetupCapable(withCache(x))`,
 * `isSetupCapable(withAudit(x))` and `isSetupCapable(x)` always agree; a chain offers an extra by the table's
 * `chain` rule. Nothing else of a tier's own API (its `table`, `parameterName`, ...) passes through.
 */
import type { CredentialStore } from './store.js';
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
  StoreCapabilities,
  StoredCredential,
  WriteOptions,
} from './types.js';

/** A tier extra: an optional method a store may offer beside {@link CredentialStore}. */
export interface StoreExtra {
  /** The method's name on the store. */
  readonly method: string;
  /**
   * It rewrites stored versions (decrypts and re-encrypts them): the audit log records it as a write, a
   * cache drops its entries afterwards.
   */
  readonly rewritesValues: boolean;
  /**
   * How a chain offers it: `each` = when any member offers it, calling it on the chain calls it on every
   * member that offers it, in order; `none` = a chain does not offer it (the members' answers cannot be one:
   * each Fernet member has its own keys, so rotation is done on one store at a time).
   */
  readonly chain: 'each' | 'none';
}

/** Every tier extra, and how decorators pass it through. A new capability (labels, history...) is one row. */
export const STORE_EXTRAS: readonly StoreExtra[] = [
  { method: 'setup', rewritesValues: false, chain: 'each' },
  { method: 'reencryptAll', rewritesValues: true, chain: 'none' },
  // The version lifecycle (BaseStore): a label move or a rollback changes what a read returns, so an audit
  // log records it as a write and a cache drops its entries; a chain offers none of them (each member has
  // its own labels: run them on one store, `--store NAME`).
  { method: 'labelCredential', rewritesValues: true, chain: 'none' },
  { method: 'unlabelCredential', rewritesValues: true, chain: 'none' },
  { method: 'rollbackCredential', rewritesValues: true, chain: 'none' },
  { method: 'writeState', rewritesValues: true, chain: 'none' },
  { method: 'readState', rewritesValues: false, chain: 'none' },
  { method: 'listLabels', rewritesValues: false, chain: 'none' },
  { method: 'credentialHistory', rewritesValues: false, chain: 'none' },
  { method: 'expiringCredentials', rewritesValues: false, chain: 'none' },
];

/** An extra's call, with the wrapped store as `this`. */
export type ExtraCall = (...args: unknown[]) => Promise<unknown>;

/**
 * Define on `target`, for each extra of {@link STORE_EXTRAS} that at least one of `inners` offers, the method
 * `decorate` returns (given the calls of the inners that offer it, by index); `undefined` leaves it out.
 *
 * @example
 * ```ts
 * forwardExtras(this, [inner], (_extra, [first]) => first?.call);
 * ```
 */
export function forwardExtras(
  target: object,
  inners: readonly CredentialStore[],
  decorate: (extra: StoreExtra, calls: ReadonlyArray<{ index: number; call: ExtraCall }>) => ExtraCall | undefined,
): void {
  for (const extra of STORE_EXTRAS) {
    const calls: Array<{ index: number; call: ExtraCall }> = [];
    inners.forEach((inner, index) => {
      const fn = (inner as unknown as Record<string, unknown>)[extra.method];
      if (typeof fn === 'function') calls.push({ index, call: (...args) => (fn as ExtraCall).apply(inner, args) });
    });
    if (calls.length === 0) continue;
    const method = decorate(extra, calls);
    if (method !== undefined) Object.defineProperty(target, extra.method, { value: method, configurable: true, writable: true, enumerable: false });
  }
}

/**
 * Base of a decorator over one store: name, description and capabilities are the inner store's, every
 * CredentialStore method forwards to it unless the decorator overrides it, the extras pass through by
 * {@link STORE_EXTRAS} (through {@link StoreDecorator.decorateExtra}), and `callerIdentity` is the inner
 * store's (read by the audit log).
 *
 * @example
 * ```ts
 * class Counting extends StoreDecorator {
 *   gets = 0;
 *   override getCredential(id: string, opts?: GetOptions) { this.gets++; return super.getCredential(id, opts); }
 * }
 * ```
 */
export abstract class StoreDecorator implements CredentialStore {
  readonly kind: string;
  readonly description: string;
  readonly capabilities: StoreCapabilities;
  readonly #inner: CredentialStore;

  constructor(inner: CredentialStore) {
    this.#inner = inner;
    this.kind = inner.kind;
    this.description = inner.description;
    this.capabilities = inner.capabilities;
    forwardExtras(this, [inner], (extra, calls) => {
      const first = calls[0];
      return first === undefined ? undefined : this.decorateExtra(extra, first.call);
    });
  }

  /** The wrapped store. */
  get inner(): CredentialStore {
    return this.#inner;
  }

  /** The wrapped store's AWS caller identity, when it knows one (read by the audit log). */
  get callerIdentity(): string | undefined {
    const c = (this.#inner as { callerIdentity?: unknown }).callerIdentity;
    return typeof c === 'string' ? c : undefined;
  }

  /** What this decorator does around an extra the inner store offers; by default, nothing. */
  protected decorateExtra(_extra: StoreExtra, call: ExtraCall): ExtraCall {
    return call;
  }

  getCredential(id: string, opts: GetOptions & { required: true }): Promise<StoredCredential>;
  getCredential(id: string, opts?: GetOptions): Promise<StoredCredential | undefined>;
  getCredential(id: string, opts?: GetOptions): Promise<StoredCredential | undefined> {
    return this.#inner.getCredential(id, opts);
  }

  storeCredential(id: string, value: CredentialValue, opts?: WriteOptions): Promise<PutResult> {
    return this.#inner.storeCredential(id, value, opts);
  }

  deleteCredential(id: string, opts?: DeleteOptions): Promise<DeleteResult> {
    return this.#inner.deleteCredential(id, opts);
  }

  listCredentials(opts?: ListOptions): Promise<CredentialSummary[]> {
    return this.#inner.listCredentials(opts);
  }

  credentialExists(id: string, opts?: { version?: number | string }): Promise<boolean> {
    return this.#inner.credentialExists(id, opts);
  }

  getAllCredentials(opts?: GetAllOptions): Promise<GetAllResult> {
    return this.#inner.getAllCredentials(opts);
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}
