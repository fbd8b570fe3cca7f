/**
 * Fernet (https://github.com/fernet/spec/blob/master/Spec.md) on node:crypto, plus the multi-key form
 * (first key encrypts, every key decrypts). Pure functions: no I/O.
 *
 * Token = base64url( 0x80 ‖ timestamp (uint64 BE, seconds) ‖ IV (16) ‖ AES-128-CBC ciphertext ‖ HMAC-SHA256 (32) ),
 * the HMAC covering everything before it. Key = base64url( signing key (16) ‖ encryption key (16) ).
 *
 * Every token failure — bad base64, wrong version byte, short token, MAC mismatch, bad padding, expired,
 * clock skew — is the same `InvalidFernetTokenError` with the same message and no cause (an error thrown with key bytes in hand never keeps one):
 * callers must not be able to tell which check failed, and nothing about the key or plaintext is carried.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ConfigError } from '../core/errors.js';

const VERSION = 0x80;
const HEADER_BYTES = 1 + 8 + 16;
const MAC_BYTES = 32;
const BLOCK = 16;
/** Fernet spec (github.com/fernet/spec, "Verifying"): a token whose timestamp is more than 60 s in the future is refused (when a TTL is checked). */
export const MAX_CLOCK_SKEW_SECONDS = 60;

/** The one error for every token that does not verify. Internal: stores turn it into IntegrityError. */
export class InvalidFernetTokenError extends Error {
  constructor() {
    super('fernet token is invalid');
    this.name = 'InvalidFernetTokenError';
  }
}

/** A parsed key: signing half and encryption half. */
export interface FernetKey {
  readonly signing: Buffer;
  readonly encryption: Buffer;
}

export interface FernetEncryptOptions {
  /** Seconds since the epoch to record (default: now). */
  now?: number;
  /** 16-byte IV (tests only; default random). */
  iv?: Uint8Array;
}

export interface FernetDecryptOptions {
  /** Refuse tokens older than this many seconds (and, as Python does, more than 60 s in the future). */
  ttlSeconds?: number;
  /** Seconds since the epoch to check against (default: now). */
  now?: number;
}

/**
 * A new random key in the spec's text form (what `credstash init` writes into credstash.toml).
 *
 * @example
 * ```ts
 * // rotate: the new key first (it encrypts), the old one kept so existing tokens still decrypt
 * const keys = [generateFernetKey(), oldKey];
 * ```
 */
export function generateFernetKey(): string {
  return randomBytes(32).toString('base64url').padEnd(44, '=');
}

/**
 * Parse a key given as 32 bytes of URL-safe base64 (padding optional; standard base64 `+/` refused).
 *
 * @example
 * ```ts
 * parseFernetKey(keyText, 'fernet.keys[0]'); // { signing, encryption }; a bad key: ConfigError "fernet.keys[0] is not a Fernet key ..."
 * ```
 * @throws ConfigError naming where the key came from, never the key
 */
export function parseFernetKey(key: string, where = 'fernet key'): FernetKey {
  const raw = typeof key === 'string' ? decodeBase64Url(key.trim()) : undefined;
  if (raw === undefined || raw.length !== 32) {
    throw new ConfigError(`${where} is not a Fernet key (expected 32 bytes of URL-safe base64, as written by \`credstash init\`)`);
  }
  return Object.freeze({ signing: raw.subarray(0, 16), encryption: raw.subarray(16, 32) });
}

/** Encrypt `plaintext` under one key. */
export function fernetEncrypt(key: FernetKey, plaintext: Uint8Array, opts: FernetEncryptOptions = {}): string {
  const now = opts.now ?? Math.floor(Date.now() / 1000);
  const iv = opts.iv === undefined ? randomBytes(16) : Buffer.from(opts.iv);
  if (iv.length !== 16) throw new RangeError('fernet IV must be 16 bytes');
  return encryptAt(key, plaintext, BigInt(Math.floor(now)), iv);
}

function encryptAt(key: FernetKey, plaintext: Uint8Array, timestamp: bigint, iv: Buffer): string {
  const cipher = createCipheriv('aes-128-cbc', key.encryption, iv);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const header = Buffer.alloc(9);
  header[0] = VERSION;
  header.writeBigUInt64BE(timestamp, 1);
  const body = Buffer.concat([header, iv, ciphertext]);
  const mac = createHmac('sha256', key.signing).update(body).digest();
  return Buffer.concat([body, mac]).toString('base64url').padEnd(Math.ceil((body.length + MAC_BYTES) / 3) * 4, '=');
}

/** The checked parts of a token: the raw bytes and its timestamp. */
interface ParsedToken {
  data: Buffer;
  timestamp: bigint;
}

function parseToken(token: string): ParsedToken {
  const data = typeof token === 'string' ? decodeBase64Url(token) : undefined;
  // version + timestamp + IV + at least one block + MAC, and whole blocks of ciphertext
  if (data === undefined || data.length < HEADER_BYTES + BLOCK + MAC_BYTES || data[0] !== VERSION) throw new InvalidFernetTokenError();
  if ((data.length - HEADER_BYTES - MAC_BYTES) % BLOCK !== 0) throw new InvalidFernetTokenError();
  return { data, timestamp: data.readBigUInt64BE(1) };
}

function checkTime(timestamp: bigint, opts: FernetDecryptOptions): void {
  if (opts.ttlSeconds === undefined) return;
  const now = BigInt(Math.floor(opts.now ?? Date.now() / 1000));
  // Python cryptography's order and rules: expired, then too far in the future.
  if (timestamp + BigInt(opts.ttlSeconds) < now) throw new InvalidFernetTokenError();
  if (now + BigInt(MAX_CLOCK_SKEW_SECONDS) < timestamp) throw new InvalidFernetTokenError();
}

function macMatches(key: FernetKey, data: Buffer): boolean {
  const body = data.subarray(0, data.length - MAC_BYTES);
  const expected = createHmac('sha256', key.signing).update(body).digest();
  return timingSafeEqual(expected, data.subarray(data.length - MAC_BYTES));
}

function decryptBody(key: FernetKey, data: Buffer): Buffer {
  const iv = data.subarray(9, HEADER_BYTES);
  const ciphertext = data.subarray(HEADER_BYTES, data.length - MAC_BYTES);
  try {
    const decipher = createDecipheriv('aes-128-cbc', key.encryption, iv);
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch {
    // bad PKCS#7 padding: OpenSSL's message is not needed and must not become a cause
    throw new InvalidFernetTokenError();
  }
}

/**
 * Verify and decrypt a token under one key.
 * @throws InvalidFernetTokenError for every failure
 */
export function fernetDecrypt(key: FernetKey, token: string, opts: FernetDecryptOptions = {}): Buffer {
  const { data, timestamp } = parseToken(token);
  checkTime(timestamp, opts);
  if (!macMatches(key, data)) throw new InvalidFernetTokenError();
  return decryptBody(key, data);
}

/** Seconds since the epoch recorded in a token, without verifying it. */
export function fernetTimestamp(token: string): number {
  return Number(parseToken(token).timestamp);
}

/**
 * Several keys: the first encrypts, every one decrypts (Python `MultiFernet`). Keys are parsed once.
 *
 * @example
 * ```ts
 * const f = new MultiFernet([newKey, oldKey]);
 * const token = f.encrypt(Buffer.from('s3cret'));
 * const rotated = f.rotate(tokenFromOldKey); // same plaintext and timestamp, now under newKey
 * ```
 */
export class MultiFernet {
  readonly #keys: readonly FernetKey[];

  /** @throws ConfigError when the list is empty or a key does not parse (naming its position, not the key) */
  constructor(keys: readonly string[]) {
    if (keys.length === 0) throw new ConfigError('no Fernet key configured; run `credstash init` or set CREDSTASH_FERNET_KEY');
    this.#keys = keys.map((k, i) => parseFernetKey(k, keys.length === 1 ? 'fernet key' : `fernet key ${i + 1} of ${keys.length}`));
  }

  get keyCount(): number {
    return this.#keys.length;
  }

  encrypt(plaintext: Uint8Array, opts: FernetEncryptOptions = {}): string {
    return fernetEncrypt(this.#keys[0] as FernetKey, plaintext, opts);
  }

  /** @throws InvalidFernetTokenError when no key verifies the token (or it is expired / too far in the future) */
  decrypt(token: string, opts: FernetDecryptOptions = {}): Buffer {
    return this.#open(token, opts).plaintext;
  }

  /**
   * {@link decrypt}, and the index of the key that verified the token (0 = the key that encrypts), found by
   * the same single pass over the keys.
   * @throws InvalidFernetTokenError as decrypt
   */
  decryptWithKeyIndex(token: string, opts: FernetDecryptOptions = {}): { plaintext: Buffer; keyIndex: number } {
    const { plaintext, index } = this.#open(token, opts);
    return { plaintext, keyIndex: index };
  }

  /** Index of the key that verifies the token (0 = already under the current key). */
  keyIndexOf(token: string): number {
    return this.#open(token, {}).index;
  }

  /** Re-encrypt under the first key, keeping the plaintext and the original timestamp (as Python's `rotate`). */
  rotate(token: string): string {
    const { plaintext, timestamp } = this.#open(token, {});
    try {
      return encryptAt(this.#keys[0] as FernetKey, plaintext, timestamp, randomBytes(16));
    } finally {
      plaintext.fill(0);
    }
  }

  #open(token: string, opts: FernetDecryptOptions): { plaintext: Buffer; timestamp: bigint; index: number } {
    const { data, timestamp } = parseToken(token);
    checkTime(timestamp, opts);
    for (let i = 0; i < this.#keys.length; i++) {
      const key = this.#keys[i] as FernetKey;
      if (macMatches(key, data)) return { plaintext: decryptBody(key, data), timestamp, index: i };
    }
    throw new InvalidFernetTokenError();
  }
}

const BASE64URL = /^[A-Za-z0-9_-]*={0,2}$/;

/**
 * Strict, canonical URL-safe base64 (Buffer.from(…, 'base64url') silently skips bad characters and ignores
 * the unused low bits of the last character, so `…A=` and `…B=` would decode alike). Padding is optional but,
 * when present, exact. Undefined when invalid or not the one encoding of its bytes.
 */
function decodeBase64Url(s: string): Buffer | undefined {
  if (!BASE64URL.test(s)) return undefined;
  const bare = s.replace(/=+$/, '');
  if (bare.length % 4 === 1) return undefined;
  if (s.length !== bare.length && s.length % 4 !== 0) return undefined;
  const bytes = Buffer.from(bare, 'base64url');
  return bytes.toString('base64url') === bare ? bytes : undefined;
}
