/**
 * Resolution of credential references over object trees (parsed TOML/JSON/YAML) and strings.
 *
 * Decisions (docs/references.md):
 * - A string that is exactly one reference becomes the value itself (text, a JSON object, or a field of any
 *   JSON type). Inside a longer string a reference must yield text, a number or a boolean.
 * - One read per distinct (id, context, label); reads run in parallel. `?@label` reads the version the label
 *   points at (getCredential's `label`).
 * - Values are NOT resolved again by default (a password may well contain `${`). With `recursive: true`,
 *   references inside resolved text are resolved too, and a cycle is a CredentialReferenceError.
 * - Errors name the reference and the JSON path where it was found, never a value.
 */
import { CredentialNotFoundError, CredentialReferenceError, CredstashError } from '../core/errors.js';
import type { CredentialStore } from '../core/store.js';
import type { CredentialValue, EncryptionContext, JsonValue } from '../core/types.js';
import { assertJsonDepth } from '../core/value.js';
import { parseReferences, quoteRef, type ParsedReference, type Segment } from './parse.js';

/** Options of {@link resolveCredentialReferences}. */
export interface ResolveOptions {
  /** Context for references without a `?...` part (default: none). `${credential:id?}` opts out. */
  context?: EncryptionContext;
  /** Resolve references found inside resolved values too (default false). Cycles are errors. */
  recursive?: boolean;
  /** Maximum nesting for `recursive` (default 8). */
  maxDepth?: number;
}

/** Where a reference was found, for getCredentialsForConfig and tooling. */
export interface FoundReference {
  /** JSON path such as `database.password` or `servers[0].url`; `$` for a root string. */
  path: string;
  reference: string;
  id: string;
  context: EncryptionContext;
  field: string[];
  /** The label it reads through (`?@current`), when it names one. */
  label?: string;
}

type Fetch = (ref: ParsedReference, where: string) => Promise<CredentialValue>;

/**
 * Every credential reference in a tree (or string), in document order, with where it was found.
 *
 * @example
 * ```ts
 * findCredentialReferences({ db: { password: '${credential:db_prod?env=prod}.password' } });
 * // [{ path: 'db.password', reference: '${credential:db_prod?env=prod}.password', id: 'db_prod', context: { env: 'prod' }, field: ['password'] }]
 * ```
 * @throws CredentialReferenceError for a malformed reference, naming its path; ValidationError for an empty
 *   context value (`?env=`) or a tree nested deeper than MAX_JSON_DEPTH
 */
export function findCredentialReferences(tree: unknown): FoundReference[] {
  assertJsonDepth(tree, 'the config tree');
  const out: FoundReference[] = [];
  walk(tree, '', (s, path) => {
    for (const seg of parseReferences(s, path || '$')) {
      if (seg.kind === 'ref') {
        out.push({ path: path || '$', reference: seg.ref.text, id: seg.ref.id, context: seg.ref.context, field: seg.ref.field, ...(seg.ref.label === undefined ? {} : { label: seg.ref.label }) });
      }
    }
  });
  return out;
}

/**
 * The distinct credential ids a config needs, sorted.
 *
 * @example
 * ```ts
 * getCredentialsForConfig({ db: { password: '${credential:db_prod}.password' }, url: 'x://${credential:api}' });
 * // ['api', 'db_prod']
 * ```
 * @throws CredentialReferenceError for a malformed reference; ValidationError for an empty context value
 */
export function getCredentialsForConfig(tree: unknown): string[] {
  return [...new Set(findCredentialReferences(tree).map((r) => r.id))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Replace every `${credential:...}` reference in `tree` with the credential it names, read from `store`.
 * Returns a new tree; the input is not modified. Objects other than plain objects and arrays (dates) are kept.
 *
 * @example
 * ```ts
 * const cfg = await resolveCredentialReferences(
 *   { database: { password: '${credential:db_prod?env=prod}.password', url: 'postgres://app@${credential:db_host}/app' } },
 *   store,
 * );
 * // cfg.database.password is the `password` field of the structured credential db_prod
 * ```
 * @throws CredentialReferenceError naming the reference and its path: unknown id, missing field, a non-text
 *   value inside a longer string, a binary credential, a cycle (recursive), or a failed read (with the store's
 *   error as `cause`); ValidationError for an empty context value in a reference (`?env=`) or a tree nested
 *   deeper than MAX_JSON_DEPTH
 */
export async function resolveCredentialReferences<T>(tree: T, store: CredentialStore, opts: ResolveOptions = {}): Promise<T> {
  // The walks below recurse: a tree nested past MAX_JSON_DEPTH is refused before it could overflow the stack.
  assertJsonDepth(tree, 'the config tree');
  const memo = new Map<string, Promise<CredentialValue>>();
  const fetch: Fetch = (ref, where) => {
    const context = ref.explicitContext ? ref.context : (opts.context ?? ref.context);
    const key = `${ref.id}\u0000${JSON.stringify(context)}\u0000${ref.label ?? ''}`;
    let p = memo.get(key);
    if (p === undefined) {
      p = read(store, ref, context, where);
      // Errors are reported by the first awaiter with its own location; avoid unhandled rejections meanwhile.
      p.catch(() => undefined);
      memo.set(key, p);
    }
    return p;
  };
  // Prefetch every distinct reference in parallel, then substitute (each lookup then hits the memo).
  const found: Array<[ParsedReference, string]> = [];
  walk(tree, '', (s, path) => {
    for (const seg of parseReferences(s, path || '$')) if (seg.kind === 'ref') found.push([seg.ref, path || '$']);
  });
  await Promise.allSettled(found.map(([ref, where]) => fetch(ref, where)));
  const ctx: ResolveCtx = { fetch, recursive: opts.recursive === true, maxDepth: opts.maxDepth ?? 8 };
  return (await resolveNode(tree, '', ctx, [])) as T;
}

interface ResolveCtx {
  fetch: Fetch;
  recursive: boolean;
  maxDepth: number;
  /** During recursive resolution: the config location of the outermost reference. */
  root?: string;
}

async function read(store: CredentialStore, ref: ParsedReference, context: EncryptionContext, where: string): Promise<CredentialValue> {
  let found;
  try {
    found = await store.getCredential(ref.id, ref.label === undefined ? { context } : { context, label: ref.label });
  } catch (err) {
    if (err instanceof CredentialNotFoundError && ref.label === undefined) throw unknownId(ref, where, store);
    const why = err instanceof CredstashError ? err.message : `${store.description} failed`;
    throw new CredentialReferenceError(`credential reference ${quoteRef(ref.text)} at ${where} could not be read: ${why}`, {
      credentialId: ref.id,
      path: where,
      store: store.description,
      cause: err,
    });
  }
  if (found === undefined) {
    if (ref.label === undefined) throw unknownId(ref, where, store);
    throw new CredentialReferenceError(`credential reference ${quoteRef(ref.text)} at ${where}: credential "${ref.id}" has no label "${ref.label}" in ${store.description}`, {
      credentialId: ref.id,
      path: where,
      store: store.description,
    });
  }
  return found.value;
}

function unknownId(ref: ParsedReference, where: string, store: CredentialStore): CredentialReferenceError {
  return new CredentialReferenceError(`credential reference ${quoteRef(ref.text)} at ${where}: credential "${ref.id}" not found in ${store.description}`, {
    credentialId: ref.id,
    path: where,
    store: store.description,
  });
}

async function resolveNode(node: unknown, path: string, ctx: ResolveCtx, stack: string[]): Promise<unknown> {
  if (typeof node === 'string') return resolveString(node, ctx.root ?? (path || '$'), ctx, stack);
  if (Array.isArray(node)) {
    const out: unknown[] = [];
    for (let i = 0; i < node.length; i++) out.push(await resolveNode(node[i], `${path}[${i}]`, ctx, stack));
    return out;
  }
  if (isPlainObject(node)) {
    // Entries, not `out[k] = ...`: a `__proto__` key (JSON and YAML keep it as an own key) would set the
    // prototype instead and vanish from the rendered tree.
    const entries: Array<[string, unknown]> = [];
    for (const [k, v] of Object.entries(node)) entries.push([k, await resolveNode(v, joinPath(path, k), ctx, stack)]);
    return Object.fromEntries(entries);
  }
  return node;
}

async function resolveString(s: string, where: string, ctx: ResolveCtx, stack: string[]): Promise<unknown> {
  if (!s.includes('${credential:')) return s;
  const segs: Segment[] = parseReferences(s, where);
  const first = segs[0];
  if (segs.length === 1 && first?.kind === 'ref') return resolveRef(first.ref, where, ctx, stack, false);
  let out = '';
  for (const seg of segs) {
    out += seg.kind === 'text' ? seg.text : ((await resolveRef(seg.ref, where, ctx, stack, true)) as string);
  }
  return out;
}

async function resolveRef(ref: ParsedReference, where: string, ctx: ResolveCtx, stack: string[], inString: boolean): Promise<unknown> {
  const key = `${ref.id}\u0000${JSON.stringify(ref.context)}\u0000${ref.label ?? ''}`;
  if (stack.includes(key)) {
    const chain = [...stack, key].map((k) => k.split('\u0000')[0]).join(' -> ');
    throw new CredentialReferenceError(`credential reference ${quoteRef(ref.text)} at ${where} forms a cycle: ${chain}`, { credentialId: ref.id, path: where });
  }
  if (stack.length >= ctx.maxDepth) {
    throw new CredentialReferenceError(`credential reference ${quoteRef(ref.text)} at ${where} nests deeper than ${ctx.maxDepth} levels`, { credentialId: ref.id, path: where });
  }
  const value = await ctx.fetch(ref, where);
  if (value instanceof Uint8Array) {
    throw new CredentialReferenceError(`credential reference ${quoteRef(ref.text)} at ${where}: credential "${ref.id}" is binary; references take text or structured credentials`, {
      credentialId: ref.id,
      path: where,
    });
  }
  let picked: JsonValue | undefined = value;
  for (const [i, f] of ref.field.entries()) {
    picked = pickField(picked, f);
    if (picked === undefined) {
      const fieldPath = ref.field.slice(0, i + 1).join('.');
      throw new CredentialReferenceError(`credential reference ${quoteRef(ref.text)} at ${where}: credential "${ref.id}" has no field "${fieldPath}"`, {
        credentialId: ref.id,
        path: where,
      });
    }
  }
  if (ctx.recursive) {
    const inner = [...stack, key];
    picked = (await resolveNode(picked, '', { ...ctx, root: where }, inner)) as JsonValue;
  }
  if (!inString) return picked !== null && typeof picked === 'object' ? structuredClone(picked) : picked;
  if (typeof picked === 'string') return picked;
  if (typeof picked === 'number' || typeof picked === 'boolean') return String(picked);
  const kind = picked === null ? 'null' : Array.isArray(picked) ? 'an array' : 'an object';
  throw new CredentialReferenceError(
    `credential reference ${quoteRef(ref.text)} at ${where} is inside a longer string but its value is ${kind}; ` +
      `reference a text field (\${credential:${ref.id}}.field) or use the reference alone`,
    { credentialId: ref.id, path: where },
  );
}

function pickField(v: JsonValue | undefined, f: string): JsonValue | undefined {
  if (Array.isArray(v)) return /^\d+$/.test(f) ? v[Number(f)] : undefined;
  if (v !== null && typeof v === 'object' && Object.prototype.hasOwnProperty.call(v, f)) return (v as Record<string, JsonValue>)[f];
  return undefined;
}

function walk(node: unknown, path: string, visit: (s: string, path: string) => void): void {
  if (typeof node === 'string') visit(node, path);
  else if (Array.isArray(node)) node.forEach((v, i) => walk(v, `${path}[${i}]`, visit));
  else if (isPlainObject(node)) for (const [k, v] of Object.entries(node)) walk(v, joinPath(path, k), visit);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/** `a.b`, or `a["odd key"]` when the key is not a plain identifier. */
export function joinPath(path: string, key: string): string {
  if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(key)) return path === '' ? key : `${path}.${key}`;
  return `${path}[${JSON.stringify(key)}]`;
}
