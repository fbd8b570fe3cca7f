/**
 * Python credstash's "aes-ctr-legacy" scheme (docs/FORMAT.md §5). Pure functions
 * over node:crypto: 64-byte KMS data key = AES-256 key (bytes 0–31) ‖ HMAC key (bytes 32–63); AES-256-CTR with
 * the fixed initial counter block 00…01; HMAC-<digest> over the raw ciphertext, compared in constant time
 * before anything is decrypted.
 */
import { createCipheriv, createDecipheriv, createHmac, timingSafeEqual } from 'node:crypto';
import { IntegrityError, ValidationError } from '../core/errors.js';

export const LEGACY_KEY_BYTES = 64;
/** pycrypto `Counter.new(128)` starts at 1: a 128-bit big-endian counter block 00 … 00 01. */
export const LEGACY_NONCE: Readonly<Buffer> = Buffer.from('00000000000000000000000000000001', 'hex');

/** Digests Python credstash 1.15+ writes (`SHA` means SHA-1). */
export const LEGACY_DIGESTS = ['SHA', 'SHA224', 'SHA256', 'SHA384', 'SHA512', 'MD5'] as const;
export type LegacyDigest = (typeof LEGACY_DIGESTS)[number];
export const DEFAULT_LEGACY_DIGEST: LegacyDigest = 'SHA256';

/** Node hash names; RIPEMD (credstash 1.13–1.14) is readable when this OpenSSL provides it. */
const NODE_HASH: Record<string, string> = {
  SHA: 'sha1',
  SHA224: 'sha224',
  SHA256: 'sha256',
  SHA384: 'sha384',
  SHA512: 'sha512',
  MD5: 'md5',
  RIPEMD: 'ripemd160',
};

export function isLegacyDigest(d: unknown): d is LegacyDigest {
  return typeof d === 'string' && (LEGACY_DIGESTS as readonly string[]).includes(d);
}

/** Node's hash name for a stored digest attribute (missing = SHA256), or undefined when we cannot compute it. */
export function legacyHashName(digest: string | undefined): string | undefined {
  const d = digest ?? DEFAULT_LEGACY_DIGEST;
  return Object.prototype.hasOwnProperty.call(NODE_HASH, d) ? NODE_HASH[d] : undefined;
}

export interface LegacySealed {
  ciphertext: Buffer;
  /** Raw HMAC bytes; the item stores them as lowercase hex. */
  hmac: Buffer;
}

/**
 * Encrypt like Python credstash `seal_aes_ctr_legacy`. The caller's 64-byte `dataKey` is zeroed before returning.
 * @throws ValidationError for a digest Python credstash does not write
 */
export function sealLegacy(input: { plaintext: Uint8Array; dataKey: Uint8Array; digest?: string }): LegacySealed {
  try {
    const digest = input.digest ?? DEFAULT_LEGACY_DIGEST;
    if (!isLegacyDigest(digest)) throw new ValidationError(`digest must be one of ${LEGACY_DIGESTS.join(', ')}`);
    if (input.dataKey.length !== LEGACY_KEY_BYTES) throw new RangeError(`legacy credstash needs a ${LEGACY_KEY_BYTES}-byte data key`);
    const key = Buffer.from(input.dataKey.subarray(0, 32));
    const hmacKey = Buffer.from(input.dataKey.subarray(32, 64));
    try {
      const cipher = createCipheriv('aes-256-ctr', key, LEGACY_NONCE);
      const ciphertext = Buffer.concat([cipher.update(input.plaintext), cipher.final()]);
      const hmac = createHmac(NODE_HASH[digest] as string, hmacKey).update(ciphertext).digest();
      return { ciphertext, hmac };
    } finally {
      key.fill(0);
      hmacKey.fill(0);
    }
  } finally {
    input.dataKey.fill(0);
  }
}

/**
 * Verify the HMAC in constant time, then decrypt. Every failure (wrong HMAC, wrong length, unknown digest
 * after the caller checked it, bad key length) is one IntegrityError with no cause. `dataKey` is zeroed.
 */
export function openLegacy(input: {
  ciphertext: Uint8Array;
  dataKey: Uint8Array;
  hmac: Uint8Array;
  digest?: string;
  credentialId: string;
  version?: string;
  store?: string;
}): Buffer {
  const fail = (): IntegrityError => new IntegrityError({ credentialId: input.credentialId, version: input.version, store: input.store });
  const hashName = legacyHashName(input.digest);
  if (hashName === undefined || input.dataKey.length !== LEGACY_KEY_BYTES) {
    input.dataKey.fill(0);
    throw fail();
  }
  const key = Buffer.from(input.dataKey.subarray(0, 32));
  const hmacKey = Buffer.from(input.dataKey.subarray(32, 64));
  input.dataKey.fill(0);
  try {
    let ok = false;
    try {
      const expected = createHmac(hashName, hmacKey).update(input.ciphertext).digest();
      ok = expected.length === input.hmac.length && timingSafeEqual(expected, input.hmac);
    } catch {
      ok = false;
    }
    if (!ok) throw fail();
    try {
      const decipher = createDecipheriv('aes-256-ctr', key, LEGACY_NONCE);
      const head = decipher.update(input.ciphertext);
      const tail = decipher.final(); // empty for a stream mode (GCM, CTR): no copy into a new Buffer
      return tail.length === 0 ? head : Buffer.concat([head, tail]);
    } catch {
      throw fail();
    }
  } finally {
    key.fill(0);
    hmacKey.fill(0);
  }
}

/**
 * The stored `hmac` attribute as raw digest bytes: S → hex text; B → bytes that are ASCII hex (Python 3
 * boto3 writes the hexdigest as bytes). Returns undefined when it is not hex (the caller reports an
 * integrity failure, never the attribute).
 */
export function decodeLegacyHmac(attr: { S?: string; B?: Uint8Array } | undefined): Buffer | undefined {
  let hex: string | undefined;
  if (attr?.S !== undefined) hex = attr.S;
  else if (attr?.B !== undefined) hex = Buffer.from(attr.B).toString('latin1');
  if (hex === undefined || hex.length === 0 || hex.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(hex)) return undefined;
  return Buffer.from(hex, 'hex');
}
