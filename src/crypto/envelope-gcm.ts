/**
 * AES-256-GCM envelope encryption of one credential value (docs/FORMAT.md §2–§3). Pure functions over
 * node:crypto: no I/O, no AWS. The data key comes from KMS GenerateDataKey (32 bytes) and is zeroed here.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { IntegrityError } from '../core/errors.js';

export const GCM_ALGORITHM = 'aes-256-gcm';
/** Format tag bound into the AAD, so that a future layout can never be confused with this one. */
export const GCM_FORMAT_TAG = 'credstash-ts/aes-256-gcm/v1';
export const GCM_KEY_BYTES = 32;
export const GCM_IV_BYTES = 12;
export const GCM_TAG_BYTES = 16;

export interface GcmAadFields {
  name: string;
  /** The stored (19-character padded) version. */
  paddedVersion: string;
  /** The value kind: text, binary or json. */
  kind: string;
  /**
   * The version's expiry (ISO 8601) when it has one (docs/FORMAT.md §8): bound after the four fields, so an
   * item without one has exactly the AAD it always had, and an expiry cannot be added, changed or removed.
   */
  expiresAt?: string;
}

/**
 * docs/FORMAT.md §3 — AAD = for each of [format tag, name, padded version, kind]:
 * uint32 big-endian byte length ‖ UTF-8 bytes. Length prefixes make the encoding injective for any name.
 * With an expiry (§8), two more fields follow: `expires_at` and its value.
 */
export function gcmAad(fields: GcmAadFields): Buffer {
  const strings = [GCM_FORMAT_TAG, fields.name, fields.paddedVersion, fields.kind];
  if (fields.expiresAt !== undefined) strings.push('expires_at', fields.expiresAt);
  // One buffer, written in place: the UTF-8 length of each field, then the field (on a cold start each
  // Buffer API's first use is compiled then; this takes the fewest).
  let size = 0;
  for (const s of strings) size += 4 + Buffer.byteLength(s, 'utf8');
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const s of strings) {
    const n = out.write(s, at + 4, 'utf8');
    out[at] = n >>> 24;
    out[at + 1] = (n >>> 16) & 0xff;
    out[at + 2] = (n >>> 8) & 0xff;
    out[at + 3] = n & 0xff;
    at += 4 + n;
  }
  return out;
}

export interface GcmSealed {
  iv: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
}

/**
 * Encrypt `plaintext` under `dataKey` (32 bytes) with a random 96-bit IV. The caller's `dataKey` buffer is
 * zeroed before returning, whatever happens. `iv` may be given only by known-answer tests.
 */
export function encryptGcm(input: { plaintext: Uint8Array; dataKey: Uint8Array; aad: Uint8Array; iv?: Uint8Array }): GcmSealed {
  try {
    if (input.dataKey.length !== GCM_KEY_BYTES) throw new RangeError(`AES-256-GCM needs a ${GCM_KEY_BYTES}-byte data key`);
    const iv = input.iv === undefined ? randomBytes(GCM_IV_BYTES) : Buffer.from(input.iv);
    if (iv.length !== GCM_IV_BYTES) throw new RangeError(`AES-256-GCM needs a ${GCM_IV_BYTES}-byte IV`);
    const cipher = createCipheriv('aes-256-gcm', input.dataKey, iv, { authTagLength: GCM_TAG_BYTES });
    cipher.setAAD(input.aad);
    const ciphertext = Buffer.concat([cipher.update(input.plaintext), cipher.final()]);
    return { iv, ciphertext, tag: cipher.getAuthTag() };
  } finally {
    input.dataKey.fill(0);
  }
}

/**
 * Decrypt and authenticate. Any failure (bad tag, wrong AAD, wrong key, bad lengths) is one IntegrityError
 * naming the credential, with no cause (it was thrown with key bytes in hand). The `dataKey` buffer is zeroed before returning.
 */
export function decryptGcm(input: {
  ciphertext: Uint8Array;
  dataKey: Uint8Array;
  iv: Uint8Array;
  tag: Uint8Array;
  aad: Uint8Array;
  credentialId: string;
  version?: string;
  store?: string;
}): Buffer {
  try {
    if (input.dataKey.length !== GCM_KEY_BYTES || input.iv.length !== GCM_IV_BYTES || input.tag.length !== GCM_TAG_BYTES) {
      throw new Error('length');
    }
    const decipher = createDecipheriv('aes-256-gcm', input.dataKey, input.iv, { authTagLength: GCM_TAG_BYTES });
    decipher.setAAD(input.aad);
    decipher.setAuthTag(input.tag);
    const head = decipher.update(input.ciphertext);
    const tail = decipher.final(); // empty for a stream mode (GCM, CTR): no copy into a new Buffer
    return tail.length === 0 ? head : Buffer.concat([head, tail]);
  } catch {
    throw new IntegrityError({ credentialId: input.credentialId, version: input.version, store: input.store });
  } finally {
    input.dataKey.fill(0);
  }
}
