/**
 * The version lifecycle on the envelope tier (docs/FORMAT.md §8, docs/lifecycle.md): the attributes a new
 * version item carries (created, writer, size, expiry and the expiry's MAC), the label proof, the sealed
 * state blob and the companion (lifecycle) table's item. Pure: the data keys arrive already unwrapped by KMS;
 * this file never calls AWS.
 *
 * Every key here is derived with HKDF-SHA256 from the version's own KMS data key, so authenticating a label
 * or an expiry costs no request beyond the Decrypt a read already makes.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { IntegrityError, ValidationError } from '../../core/errors.js';
import { expiryProofInput, labelProofInput, type VersionMeta } from '../../core/lifecycle.js';
import type { VersionRecord } from '../../core/store.js';
import type { EncryptionContext } from '../../core/types.js';
import { displayVersion, padVersion } from '../../core/version.js';
import type { Item } from './dynamodb-item-codec.js';

/** Attribute names of the lifecycle facts on a version item (docs/FORMAT.md §8). */
export const LIFECYCLE_ATTR = {
  createdAt: 'created_at',
  writtenBy: 'written_by',
  expiresAt: 'expires_at',
  size: 'size',
  mac: 'lifecycle_mac',
} as const;

/** HKDF `info` of each derived key: one purpose per key. */
export const HKDF_INFO = { label: 'credstash-ts label', expiry: 'credstash-ts expiry' } as const;

/** The encryption-context pair added to a state blob's data key, so it can never be Decrypted as a value's. */
export const STATE_PURPOSE_KEY = 'credstash-ts:purpose';
export const STATE_PURPOSE_VALUE = 'lifecycle-state';

/** The companion table's name for a credentials table. */
export function lifecycleTableName(table: string): string {
  return `${table}-lifecycle`;
}

/** ProjectionExpression (and its names) of a history or expiry listing: never `contents` or `key`. */
export const VERSION_PROJECTION = {
  ProjectionExpression: '#n, #v, #c, #ca, #wb, #ea, #sz',
  ExpressionAttributeNames: {
    '#n': 'name',
    '#v': 'version',
    '#c': 'comment',
    '#ca': LIFECYCLE_ATTR.createdAt,
    '#wb': LIFECYCLE_ATTR.writtenBy,
    '#ea': LIFECYCLE_ATTR.expiresAt,
    '#sz': LIFECYCLE_ATTR.size,
  },
};

/** HMAC-SHA256 under HKDF-SHA256(ikm = data key, salt = empty, info) of `input`. */
function derivedMac(dataKey: Uint8Array, info: string, input: Buffer): Buffer {
  const key = Buffer.from(hkdfSync('sha256', dataKey, Buffer.alloc(0), info, 32));
  try {
    return createHmac('sha256', key).update(input).digest();
  } finally {
    key.fill(0);
  }
}

function sameMac(want: Buffer, got: string | undefined): boolean {
  if (got === undefined) return false;
  const bytes = Buffer.from(got, 'base64');
  // Only the canonical encoding, as every other base64 attribute of an item.
  if (bytes.toString('base64') !== got) return false;
  return bytes.length === want.length && timingSafeEqual(bytes, want);
}

/** The proof of "label `label` of `id` points at `paddedVersion`", keyed by that version's data key. */
export function labelProof(dataKey: Uint8Array, id: string, label: string, paddedVersion: string): string {
  return derivedMac(dataKey, HKDF_INFO.label, labelProofInput(id, label, paddedVersion)).toString('base64');
}

/** Whether `proof` is the label proof of (id, label, paddedVersion) under this data key. */
export function verifyLabelProof(dataKey: Uint8Array, id: string, label: string, paddedVersion: string, proof: string | undefined): boolean {
  return sameMac(derivedMac(dataKey, HKDF_INFO.label, labelProofInput(id, label, paddedVersion)), proof);
}

/**
 * The lifecycle attributes of a new version item. The expiry is MACed under the item's data key (call this
 * before the data key is zeroed); created, writer and size are informational and not authenticated.
 */
export function lifecycleAttributes(
  input: { id: string; paddedVersion: string; dataKey: Uint8Array; meta: VersionMeta },
): Item {
  const out: Item = {};
  if (input.meta.createdAt !== undefined) out[LIFECYCLE_ATTR.createdAt] = { S: input.meta.createdAt };
  if (input.meta.writtenBy !== undefined && input.meta.writtenBy !== '') out[LIFECYCLE_ATTR.writtenBy] = { S: input.meta.writtenBy };
  if (input.meta.expiresAt !== undefined) {
    out[LIFECYCLE_ATTR.expiresAt] = { S: input.meta.expiresAt };
    const mac = derivedMac(input.dataKey, HKDF_INFO.expiry, expiryProofInput(input.id, input.paddedVersion, input.meta.expiresAt));
    out[LIFECYCLE_ATTR.mac] = { S: mac.toString('base64') };
  }
  return out;
}

/** The `size` attribute: bytes of the stored ciphertext (`contents`, base64-decoded). */
export function sizeAttribute(item: Item): Item {
  const contents = item.contents?.S;
  return contents === undefined ? {} : { [LIFECYCLE_ATTR.size]: { N: String(Buffer.from(contents, 'base64').length) } };
}

/**
 * The lifecycle facts of an item being read, with its expiry verified under the data key: an `expires_at`
 * without a valid `lifecycle_mac`, or a `lifecycle_mac` without `expires_at`, is an IntegrityError (a table
 * writer without the key can neither change an expiry nor remove one alone).
 */
export function verifiedLifecycle(item: Item, dataKey: Uint8Array, where: { credentialId: string; store: string }): VersionMeta {
  const meta = itemMeta(item);
  const mac = item[LIFECYCLE_ATTR.mac]?.S;
  if (meta.expiresAt !== undefined || item[LIFECYCLE_ATTR.mac] !== undefined) {
    const stored = item.version?.S ?? '';
    const ok =
      meta.expiresAt !== undefined &&
      sameMac(derivedMac(dataKey, HKDF_INFO.expiry, expiryProofInput(item.name?.S ?? where.credentialId, stored, meta.expiresAt)), mac);
    if (!ok) throw new IntegrityError({ credentialId: where.credentialId, store: where.store, version: displayVersion(stored) });
  }
  return meta;
}

/** The lifecycle facts an item shows, unverified (history and expiry listings, which never decrypt). */
export function itemMeta(item: Item): VersionMeta {
  const meta: VersionMeta = {};
  const created = item[LIFECYCLE_ATTR.createdAt]?.S;
  const by = item[LIFECYCLE_ATTR.writtenBy]?.S;
  const expires = item[LIFECYCLE_ATTR.expiresAt]?.S;
  if (created !== undefined) meta.createdAt = created;
  if (by !== undefined) meta.writtenBy = by;
  if (expires !== undefined) meta.expiresAt = expires;
  return meta;
}

/** A listed (projected) item as a history entry. */
export function versionRecord(item: Item): VersionRecord | undefined {
  const id = item.name?.S;
  const v = item.version?.S;
  if (id === undefined || v === undefined) return undefined;
  const r: VersionRecord = { id, version: displayVersion(v), ...itemMeta(item) };
  if (v !== padVersion(r.version)) r.storedVersion = v;
  if (item.comment?.S !== undefined) r.comment = item.comment.S;
  const size = Number(item[LIFECYCLE_ATTR.size]?.N);
  if (Number.isSafeInteger(size) && size >= 0) r.size = size;
  return r;
}

/** The context of a state blob's data key: the caller's pairs plus the purpose pair. */
export function stateContext(context: EncryptionContext): Record<string, string> {
  if (Object.prototype.hasOwnProperty.call(context, STATE_PURPOSE_KEY)) {
    throw new ValidationError(`the encryption context key "${STATE_PURPOSE_KEY}" is reserved for lifecycle state`);
  }
  return { ...context, [STATE_PURPOSE_KEY]: STATE_PURPOSE_VALUE };
}

function stateAad(table: string, id: string, key: string): Buffer {
  return Buffer.from(JSON.stringify(['credstash-ts state v1', table, id, key]), 'utf8');
}

const STATE_PREFIX = 'kms-gcm1';

/**
 * Seal state bytes: AES-256-GCM under a fresh KMS data key (zeroed here), AAD bound to table, id and state
 * key. The text is `kms-gcm1:<wrapped key>:<iv>:<tag>:<ciphertext>`, each standard base64.
 */
export function sealState(input: { table: string; id: string; key: string; plaintext: Uint8Array; dataKey: Uint8Array; wrappedKey: Uint8Array }): string {
  try {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', input.dataKey, iv);
    c.setAAD(stateAad(input.table, input.id, input.key));
    const body = Buffer.concat([c.update(input.plaintext), c.final()]);
    return [STATE_PREFIX, Buffer.from(input.wrappedKey).toString('base64'), iv.toString('base64'), c.getAuthTag().toString('base64'), body.toString('base64')].join(':');
  } finally {
    input.dataKey.fill(0);
  }
}

/** The wrapped data key of a sealed blob, for KMS Decrypt. @throws IntegrityError when it is not one. */
export function stateWrappedKey(sealed: string, where: { credentialId: string; store: string }): Uint8Array {
  return parseState(sealed, where).wrapped;
}

/** Open a sealed blob with its unwrapped data key (zeroed here). @throws IntegrityError */
export function openState(input: { table: string; id: string; key: string; sealed: string; dataKey: Uint8Array }, where: { credentialId: string; store: string }): Uint8Array {
  try {
    const p = parseState(input.sealed, where);
    const d = createDecipheriv('aes-256-gcm', input.dataKey, p.iv);
    d.setAAD(stateAad(input.table, input.id, input.key));
    d.setAuthTag(p.tag);
    return Buffer.concat([d.update(p.body), d.final()]);
  } catch {
    throw new IntegrityError(where);
  } finally {
    input.dataKey.fill(0);
  }
}

function parseState(sealed: string, where: { credentialId: string; store: string }): { wrapped: Buffer; iv: Buffer; tag: Buffer; body: Buffer } {
  const parts = sealed.split(':');
  if (parts.length !== 5 || parts[0] !== STATE_PREFIX) throw new IntegrityError(where);
  const [wrapped, iv, tag, body] = parts.slice(1).map((s) => {
    const b = Buffer.from(s, 'base64');
    if (b.toString('base64') !== s) throw new IntegrityError(where);
    return b;
  }) as [Buffer, Buffer, Buffer, Buffer];
  if (iv.length !== 12 || tag.length !== 16 || wrapped.length === 0) throw new IntegrityError(where);
  return { wrapped, iv, tag, body };
}
