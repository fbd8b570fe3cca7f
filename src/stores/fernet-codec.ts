/**
 * The one token format of both Fernet tiers (local keystore and SQL), docs/fernet.md §2.
 *
 * Each stored version is one Fernet token whose plaintext is
 *
 *     "credstash-ts/fernet/v1\n" ‖ header (one line of JSON) ‖ "\n" ‖ value bytes
 *
 * with header = {"id", "version" (19-char padded), "kind" (text|binary|json), "context" (byte-sorted),
 * "comment"?, "definition"?, "createdAt"?, "writtenBy"?, "expiresAt"?}. Everything is under the token's HMAC, so a token copied to another id or
 * version fails (IntegrityError), and — because the context is compared only after the MAC verified — a wrong
 * context is told apart from tampering and reported as EncryptionContextMismatchError, as KMS would.
 *
 * The lifecycle facts (createdAt, writtenBy, expiresAt) are optional header fields: a token written before
 * them opens as before (createdAt then comes from the token's own timestamp), and a reader that predates
 * them ignores them. The same keys also authenticate label targets (an HMAC under a key derived from the
 * first key's signing half) and seal the rotation engine's state (a token with its own magic line).
 */
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { canonicalContext, contextsEqual } from '../core/context.js';
import { withAtRest } from '../core/at-rest.js';
import { ConfigError, EncryptionContextMismatchError, IntegrityError, ValidationError } from '../core/errors.js';
import { labelProofInput, withLifecycle, type VersionMeta } from '../core/lifecycle.js';
import type { CredentialDefinition, CredentialValue, EncryptionContext, StoredCredential, ValueKind } from '../core/types.js';
import { decodeValue, encodeValue, isValueKind } from '../core/value.js';
import { displayVersion } from '../core/version.js';
import { fernetTimestamp, MultiFernet, parseFernetKey } from '../crypto/fernet.js';

const MAGIC = Buffer.from('credstash-ts/fernet/v1\n', 'utf8');
/** Sealed lifecycle state (never a credential version): a magic line of its own, so neither opens as the other. */
const STATE_MAGIC = Buffer.from('credstash-ts/fernet-state/v1\n', 'utf8');
/** HKDF-SHA256 info of the label-proof key (derived from a Fernet key's signing half). */
const LABEL_KEY_INFO = 'credstash-ts label';

export interface SealInput {
  id: string;
  /** Stored (padded) version. */
  version: string;
  value: CredentialValue;
  context: EncryptionContext;
  comment?: string;
  definition?: CredentialDefinition;
  /** Lifecycle facts kept in the header (authenticated); absent ones are left out. */
  meta?: VersionMeta;
}

export interface OpenExpectation {
  id: string;
  /** Stored (padded) version the token was found under. */
  version: string;
  context: EncryptionContext;
  /** Store description for messages. */
  store: string;
}

interface Header {
  id: string;
  version: string;
  kind: ValueKind;
  context: Record<string, string>;
  comment?: string;
  definition?: CredentialDefinition;
  createdAt?: string;
  writtenBy?: string;
  expiresAt?: string;
}

const META_FIELDS = ['createdAt', 'writtenBy', 'expiresAt'] as const;

/** Holds the project keys (parsed once, on first use) and seals / opens credential tokens. */
export class FernetCodec {
  readonly #keys: readonly string[] | undefined;
  #fernet?: MultiFernet;
  #labelKeys?: Buffer[];

  constructor(keys: readonly string[] | undefined) {
    this.#keys = keys === undefined ? undefined : [...keys];
    // Validate eagerly so that a bad key is a config error at open time, not at the first get.
    if (this.#keys !== undefined && this.#keys.length > 0) this.#fernet = new MultiFernet(this.#keys);
  }

  get keyCount(): number {
    return this.#keys?.length ?? 0;
  }

  #f(): MultiFernet {
    if (this.#fernet === undefined) {
      throw new ConfigError('no Fernet key configured; run `credstash init` or set CREDSTASH_FERNET_KEY', { path: 'fernet.keys' });
    }
    return this.#fernet;
  }

  /** Whether `key` is the key this codec encrypts under (its first). */
  encryptsWith(key: string): boolean {
    return this.#keys !== undefined && this.#keys.length > 0 && this.#keys[0] === key;
  }

  /** Encrypt one version under the first key. */
  seal(input: SealInput): string {
    const fernet = this.#f();
    const { kind, bytes } = encodeValue(input.value);
    const header: Header = { id: input.id, version: input.version, kind, context: { ...canonicalContext(input.context) } };
    if (input.comment !== undefined) header.comment = input.comment;
    if (input.definition !== undefined) header.definition = input.definition;
    for (const k of META_FIELDS) {
      const v = input.meta?.[k];
      if (v !== undefined) header[k] = v;
    }
    const plaintext = Buffer.concat([MAGIC, Buffer.from(JSON.stringify(header), 'utf8'), Buffer.from('\n'), bytes]);
    try {
      return fernet.encrypt(plaintext);
    } finally {
      plaintext.fill(0);
      bytes.fill(0);
    }
  }

  /**
   * Verify, decrypt and check a token against where it was found and the caller's context.
   * @throws IntegrityError (any token failure, or a token moved from another id/version), EncryptionContextMismatchError
   */
  open(token: string, expect: OpenExpectation): StoredCredential {
    const fernet = this.#f();
    const display = displayVersion(expect.version);
    const integrity = (): IntegrityError => new IntegrityError({ credentialId: expect.id, version: display, store: expect.store });
    let plaintext: Buffer;
    let keyIndex: number;
    try {
      ({ plaintext, keyIndex } = fernet.decryptWithKeyIndex(token));
    } catch {
      throw unreadable(token, expect.id, display, expect.store); // no cause: a token error must not carry one
    }
    try {
      const header = parseHeader(plaintext);
      if (header === undefined || header.id !== expect.id || header.version !== expect.version) throw integrity();
      if (!contextsEqual(header.context, expect.context)) {
        throw new EncryptionContextMismatchError({ credentialId: expect.id, version: display, store: expect.store });
      }
      const value = decodeValue(header.kind, plaintext.subarray(header.valueOffset), expect.id);
      const out: StoredCredential = { id: expect.id, version: display, value };
      if (header.comment !== undefined) out.comment = header.comment;
      if (header.definition !== undefined) out.definition = header.definition;
      // The authenticated lifecycle facts; a token from before them has its own (MACed) timestamp.
      const meta: VersionMeta = { createdAt: header.createdAt ?? fernetCreatedAt(token) };
      if (header.writtenBy !== undefined) meta.writtenBy = header.writtenBy;
      if (header.expiresAt !== undefined) meta.expiresAt = header.expiresAt;
      withLifecycle(out, meta);
      // The key whose MAC verified the token: the first one is the one every write uses.
      return withAtRest(out, { format: keyIndex === 0 ? 'fernet' : 'fernet-old-key', preferred: 'fernet' });
    } catch (err) {
      // A ValidationError comes from decoding the value of an authentic token (not a JSON object, nested too
      // deep): a writer's fault, not tampering, so it is not reported as an integrity failure.
      if (err instanceof IntegrityError || err instanceof EncryptionContextMismatchError || err instanceof ValidationError) throw err;
      throw integrity();
    } finally {
      plaintext.fill(0);
    }
  }

  /** Re-encrypt under the first key (plaintext and timestamp kept). @throws IntegrityError when no key verifies it */
  rotate(token: string, where: { id: string; version: string; store: string }): string {
    try {
      return this.#f().rotate(token);
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      throw unreadable(token, where.id, displayVersion(where.version), where.store);
    }
  }

  /**
   * The authenticator of "label `label` of `id` points at padded version `version`": HMAC-SHA256 over
   * labelProofInput() under a key derived (HKDF-SHA256, info "credstash-ts label") from the first key's
   * signing half, base64url. Someone who can edit the keystore or the table but has no key cannot make one.
   */
  labelProof(id: string, label: string, version: string): string {
    return createHmac('sha256', this.#labelKeyList()[0] as Buffer).update(labelProofInput(id, label, version)).digest('base64url');
  }

  /**
   * Whether `proof` authenticates the label under any configured key (so a label made before `rotate-key`
   * wrote a new first key still verifies until the rotation re-proves it).
   * @returns the index of the key that verified it, or -1
   */
  labelProofKeyIndex(id: string, label: string, version: string, proof: string | undefined): number {
    if (typeof proof !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(proof)) return -1;
    const got = Buffer.from(proof, 'base64url');
    const input = labelProofInput(id, label, version);
    const keys = this.#labelKeyList();
    for (let i = 0; i < keys.length; i++) {
      const want = createHmac('sha256', keys[i] as Buffer).update(input).digest();
      if (got.length === want.length && timingSafeEqual(got, want)) return i;
    }
    return -1;
  }

  #labelKeyList(): Buffer[] {
    this.#f(); // no key: the same ConfigError as a get
    this.#labelKeys ??= (this.#keys as readonly string[]).map((k) => Buffer.from(hkdfSync('sha256', parseFernetKey(k).signing, Buffer.alloc(0), LABEL_KEY_INFO, 32)));
    return this.#labelKeys;
  }

  /**
   * Seal lifecycle state (the rotation engine's pending value, its step) as a Fernet token under the first
   * key whose plaintext binds the credential id, the state key and the context.
   */
  sealState(id: string, key: string, bytes: Uint8Array, context: EncryptionContext): string {
    const fernet = this.#f();
    const header = JSON.stringify({ id, state: key, context: { ...canonicalContext(context) } });
    const plaintext = Buffer.concat([STATE_MAGIC, Buffer.from(header, 'utf8'), Buffer.from('\n'), bytes]);
    try {
      return fernet.encrypt(plaintext);
    } finally {
      plaintext.fill(0);
    }
  }

  /**
   * Open what {@link sealState} made, for the same id, state key and context.
   * @throws IntegrityError (no key verifies it, or it was made for another id or state key),
   *   EncryptionContextMismatchError (another context)
   */
  openState(id: string, key: string, sealed: string, context: EncryptionContext, store: string): Uint8Array {
    const fernet = this.#f();
    const integrity = (): IntegrityError => new IntegrityError({ credentialId: id, store });
    let plaintext: Buffer;
    try {
      plaintext = fernet.decrypt(sealed);
    } catch {
      throw integrity();
    }
    try {
      if (plaintext.length < STATE_MAGIC.length || !plaintext.subarray(0, STATE_MAGIC.length).equals(STATE_MAGIC)) throw integrity();
      const end = plaintext.indexOf(0x0a, STATE_MAGIC.length);
      if (end < 0) throw integrity();
      const h = JSON.parse(plaintext.subarray(STATE_MAGIC.length, end).toString('utf8')) as { id?: unknown; state?: unknown; context?: unknown };
      if (h.id !== id || h.state !== key || h.context === null || typeof h.context !== 'object' || Array.isArray(h.context)) throw integrity();
      if (!contextsEqual(h.context as Record<string, string>, context)) throw new EncryptionContextMismatchError({ credentialId: id, store });
      return Uint8Array.from(plaintext.subarray(end + 1));
    } catch (err) {
      if (err instanceof IntegrityError || err instanceof EncryptionContextMismatchError) throw err;
      throw integrity();
    } finally {
      plaintext.fill(0);
    }
  }

  /** Re-encrypt sealed state under the first key. @throws IntegrityError naming the credential when no key verifies it */
  rotateState(sealed: string, where: { id: string; store: string }): string {
    try {
      return this.#f().rotate(sealed);
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      throw new IntegrityError({ credentialId: where.id, store: where.store });
    }
  }

  /** Whether the token is already under the first key (rotation skips nothing, but reports it). */
  isCurrent(token: string): boolean {
    try {
      return this.#f().keyIndexOf(token) === 0;
    } catch {
      return false;
    }
  }
}

/**
 * A token no configured key verifies. A Fernet MAC fails the same way for a token written under another key
 * and for an altered one, so the message says both when the token is well formed (version byte, length,
 * whole blocks); a token that is not even well formed was damaged, and fails its integrity check.
 */
function unreadable(token: string, credentialId: string, version: string, store: string): IntegrityError {
  let wellFormed = true;
  try {
    fernetTimestamp(token);
  } catch {
    wellFormed = false;
  }
  return new IntegrityError({ credentialId, version, store, ...(wellFormed ? { unreadable: 'fernet' as const } : {}) });
}

/**
 * When a token was made, from its own timestamp (readable without the key; under the MAC once verified), as
 * ISO 8601. Takes the whole token or just its first 12 characters (version byte and timestamp); undefined
 * when they are not a Fernet token's.
 */
export function fernetCreatedAt(tokenOrHead: string): string | undefined {
  const head = tokenOrHead.slice(0, 12);
  if (!/^[A-Za-z0-9_-]{12}$/.test(head)) return undefined;
  const raw = Buffer.from(head, 'base64url');
  if (raw.length !== 9 || raw[0] !== 0x80) return undefined;
  const ms = Number(raw.readBigUInt64BE(1)) * 1000;
  return Number.isSafeInteger(ms) && ms <= 8.64e15 ? new Date(ms).toISOString() : undefined;
}

function parseHeader(plaintext: Buffer): (Header & { valueOffset: number }) | undefined {
  if (plaintext.length < MAGIC.length || !plaintext.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
  const end = plaintext.indexOf(0x0a, MAGIC.length);
  if (end < 0) return undefined;
  // The header holds no secret, but keep JSON.parse's message out of errors anyway (the caller maps it).
  const h = JSON.parse(plaintext.subarray(MAGIC.length, end).toString('utf8')) as Partial<Header>;
  if (typeof h.id !== 'string' || typeof h.version !== 'string' || !isValueKind(h.kind)) return undefined;
  if (h.context === null || typeof h.context !== 'object' || Array.isArray(h.context)) return undefined;
  for (const k of META_FIELDS) if (h[k] !== undefined && typeof h[k] !== 'string') return undefined;
  return { ...(h as Header), valueOffset: end + 1 };
}

/**
 * The keys a factory uses: the configured list (credstash.toml, already merged with the environment by the
 * CLI's config loader), else `CREDSTASH_FERNET_KEY` (comma-separated) for library users who open a store
 * directly. Undefined when neither is set (get/put then fail with a ConfigError; list still works).
 */
export function fernetKeysFrom(ctx: { fernetKeys?: readonly string[]; env?: NodeJS.ProcessEnv }): readonly string[] | undefined {
  if (ctx.fernetKeys !== undefined && ctx.fernetKeys.length > 0) return ctx.fernetKeys;
  const raw = (ctx.env ?? process.env).CREDSTASH_FERNET_KEY;
  if (raw === undefined || raw.trim() === '') return undefined;
  return raw.split(',').map((k) => k.trim()).filter((k) => k !== '');
}
