/**
 * The one token format of both Fernet tiers (local keystore and SQL), docs/fernet.md §2.
 *
 * Each stored version is one Fernet token whose plaintext is
 *
 *     "credstash-ts/fernet/v1\n" ‖ header (one line of JSON) ‖ "\n" ‖ value bytes
 *
 * with header = {"id", "version" (19-char padded), "kind" (text|binary|json), "context" (byte-sorted),
 * "comment"?, "definition"?}. Everything is under the token's HMAC, so a token copied to another id or
 * version fails (IntegrityError), and — because the context is compared only after the MAC verified — a wrong
 * context is told apart from tampering and reported as EncryptionContextMismatchError, as KMS would.
 */
import { canonicalContext, contextsEqual } from '../core/context.js';
import { withAtRest } from '../core/at-rest.js';
import { ConfigError, EncryptionContextMismatchError, IntegrityError, ValidationError } from '../core/errors.js';
import type { CredentialDefinition, CredentialValue, EncryptionContext, StoredCredential, ValueKind } from '../core/types.js';
import { decodeValue, encodeValue, isValueKind } from '../core/value.js';
import { displayVersion } from '../core/version.js';
import { fernetTimestamp, MultiFernet } from '../crypto/fernet.js';

const MAGIC = Buffer.from('credstash-ts/fernet/v1\n', 'utf8');

export interface SealInput {
  id: string;
  /** Stored (padded) version. */
  version: string;
  value: CredentialValue;
  context: EncryptionContext;
  comment?: string;
  definition?: CredentialDefinition;
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
}

/** Holds the project keys (parsed once, on first use) and seals / opens credential tokens. */
export class FernetCodec {
  readonly #keys: readonly string[] | undefined;
  #fernet?: MultiFernet;

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

function parseHeader(plaintext: Buffer): (Header & { valueOffset: number }) | undefined {
  if (plaintext.length < MAGIC.length || !plaintext.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
  const end = plaintext.indexOf(0x0a, MAGIC.length);
  if (end < 0) return undefined;
  // The header holds no secret, but keep JSON.parse's message out of errors anyway (the caller maps it).
  const h = JSON.parse(plaintext.subarray(MAGIC.length, end).toString('utf8')) as Partial<Header>;
  if (typeof h.id !== 'string' || typeof h.version !== 'string' || !isValueKind(h.kind)) return undefined;
  if (h.context === null || typeof h.context !== 'object' || Array.isArray(h.context)) return undefined;
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
