/**
 * DynamoDB item layouts (docs/FORMAT.md): the AES-256-GCM items credstash-ts writes by default, and Python
 * credstash's legacy AES-CTR + HMAC items (read in every variant, written on request). Pure: the data key
 * arrives already unwrapped by KMS; this file never calls AWS.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { CorruptStoreError, IntegrityError, ValidationError } from '../../core/errors.js';
import type { CredentialDefinition, CredentialValue, StoredCredential, ValueKind } from '../../core/types.js';
import { decodeValue, encodeValue, isValueKind } from '../../core/value.js';
import { displayVersion } from '../../core/version.js';
import { decryptGcm, encryptGcm, gcmAad, GCM_ALGORITHM } from '../../crypto/envelope-gcm.js';
import { decodeLegacyHmac, legacyHashName, openLegacy, sealLegacy, DEFAULT_LEGACY_DIGEST } from '../../crypto/legacy-ctr-hmac.js';

export type Item = Record<string, AttributeValue>;

/** Bytes of KMS data key each format asks GenerateDataKey for. */
export const GCM_DATA_KEY_BYTES = 32;
export const LEGACY_DATA_KEY_BYTES = 64;

/** Limits that keep every item under DynamoDB's 400 KB (docs/FORMAT.md §4). */
export const MAX_VALUE_BYTES = 256 * 1024;
export const MAX_COMMENT_BYTES = 16 * 1024;
export const MAX_DEFINITION_BYTES = 16 * 1024;

export type ItemFormat = 'gcm' | 'legacy';

/** Which format an item is in: no `algorithm` attribute (or `aes-ctr-legacy`) = Python credstash. */
export function itemFormat(item: Item, where: { credentialId: string; store: string }): ItemFormat {
  const alg = item.algorithm?.S;
  if (alg === undefined || alg === 'aes-ctr-legacy') return 'legacy';
  if (alg === GCM_ALGORITHM) return 'gcm';
  throw new CorruptStoreError(
    `${describe(where.credentialId, item)} in ${where.store} uses algorithm "${alg.slice(0, 40)}", which credstash-ts cannot read`,
    { credentialId: where.credentialId, store: where.store },
  );
}

/** The wrapped data key (`key` attribute: base64 S, or raw B from 2015-era items). */
export function wrappedKey(item: Item, where: { credentialId: string; store: string }): Uint8Array {
  return bytesAttr(item, 'key', where);
}

/** Build a GCM item. Zeroes `dataKey`. */
export function buildGcmItem(input: {
  name: string;
  paddedVersion: string;
  value: CredentialValue;
  dataKey: Uint8Array;
  wrappedKey: Uint8Array;
  comment?: string;
  definition?: CredentialDefinition;
  /** Bound in the AAD (docs/FORMAT.md §8); the store writes the `expires_at` attribute itself. */
  expiresAt?: string;
}): Item {
  const { kind, bytes } = encodeValue(input.value);
  const aad = gcmAad({ name: input.name, paddedVersion: input.paddedVersion, kind, ...(input.expiresAt === undefined ? {} : { expiresAt: input.expiresAt }) });
  let sealed;
  try {
    sealed = encryptGcm({ plaintext: bytes, dataKey: input.dataKey, aad });
  } finally {
    bytes.fill(0);
  }
  const item: Item = {
    name: { S: input.name },
    version: { S: input.paddedVersion },
    algorithm: { S: GCM_ALGORITHM },
    kind: { S: kind },
    key: { S: Buffer.from(input.wrappedKey).toString('base64') },
    iv: { S: sealed.iv.toString('base64') },
    contents: { S: sealed.ciphertext.toString('base64') },
    tag: { S: sealed.tag.toString('base64') },
  };
  addMetadata(item, input);
  return item;
}

/**
 * Python credstash items hold text only; checked before KMS is asked for a data key, and again by buildLegacyItem.
 * @throws ValidationError naming the value's kind, never the value
 */
export function assertLegacyText(id: string, value: CredentialValue, store?: string): asserts value is string {
  if (typeof value === 'string') return;
  throw new ValidationError(
    `the legacy credstash format holds only text; credential "${id}" has a ${value instanceof Uint8Array ? 'binary' : 'JSON'} value (use --format gcm)`,
    { credentialId: id, store },
  );
}

/**
 * Build a Python-credstash item (docs/FORMAT.md §5): hmac as an S hex string. Text values only.
 * Zeroes `dataKey`.
 * @throws ValidationError for binary or JSON values (Python credstash can only hold text)
 */
export function buildLegacyItem(input: {
  name: string;
  paddedVersion: string;
  value: CredentialValue;
  dataKey: Uint8Array;
  wrappedKey: Uint8Array;
  digest?: string;
  comment?: string;
  definition?: CredentialDefinition;
}): Item {
  try {
    assertLegacyText(input.name, input.value);
  } catch (err) {
    input.dataKey.fill(0);
    throw err;
  }
  const digest = input.digest ?? DEFAULT_LEGACY_DIGEST;
  const plaintext = Buffer.from(input.value, 'utf8');
  let sealed;
  try {
    sealed = sealLegacy({ plaintext, dataKey: input.dataKey, digest });
  } finally {
    plaintext.fill(0);
  }
  const item: Item = {
    name: { S: input.name },
    version: { S: input.paddedVersion },
    key: { S: Buffer.from(input.wrappedKey).toString('base64') },
    contents: { S: sealed.ciphertext.toString('base64') },
    hmac: { S: sealed.hmac.toString('hex') },
    digest: { S: digest },
  };
  addMetadata(item, input);
  return item;
}

/** Decrypt an item of either format with its unwrapped data key (zeroed here). */
export function openItem(item: Item, dataKey: Uint8Array, where: { credentialId: string; store: string }): StoredCredential {
  const stored = item.version?.S ?? '';
  const version = displayVersion(stored);
  const fields = { credentialId: where.credentialId, version, store: where.store };
  let value: CredentialValue;
  if (itemFormat(item, where) === 'gcm') {
    const kindAttr = item.kind?.S;
    const kind: ValueKind = isValueKind(kindAttr) ? kindAttr : 'text';
    let ciphertext: Uint8Array, iv: Uint8Array, tag: Uint8Array;
    try {
      ciphertext = bytesAttr(item, 'contents', where);
      iv = bytesAttr(item, 'iv', where);
      tag = bytesAttr(item, 'tag', where);
    } catch (err) {
      dataKey.fill(0);
      throw err;
    }
    // A changed `kind` attribute changes the AAD, so it cannot turn bytes into text undetected.
    // So is `expires_at` (docs/FORMAT.md §8): removing it, adding one or changing it fails the tag.
    const expiresAt = item.expires_at?.S;
    const aad = gcmAad({ name: item.name?.S ?? where.credentialId, paddedVersion: stored, kind: kindAttr ?? '', ...(expiresAt === undefined ? {} : { expiresAt }) });
    const plain = decryptGcm({ ciphertext, dataKey, iv, tag, aad, ...fields });
    try {
      value = decodeValue(kind, plain, where.credentialId);
    } finally {
      if (kind !== 'binary') plain.fill(0);
    }
  } else {
    let ciphertext: Uint8Array;
    try {
      ciphertext = bytesAttr(item, 'contents', where);
    } catch (err) {
      dataKey.fill(0);
      throw err;
    }
    const digest = item.digest?.S; // missing = SHA256 (credstash before mid-2016)
    const hmac = decodeLegacyHmac(item.hmac as { S?: string; B?: Uint8Array } | undefined);
    if (hmac === undefined || legacyHashName(digest) === undefined) {
      dataKey.fill(0);
      throw new IntegrityError(fields);
    }
    const plain = openLegacy({ ciphertext, dataKey, hmac, digest, ...fields });
    try {
      // Python credstash writes UTF-8 text; bytes that are not UTF-8 come back as bytes, never with U+FFFD.
      value = decodeValue('text', plain, where.credentialId);
    } finally {
      plain.fill(0);
    }
  }
  const out: StoredCredential = { id: where.credentialId, version, value };
  const meta = readMetadata(item, where);
  if (meta.comment !== undefined) out.comment = meta.comment;
  if (meta.definition !== undefined) out.definition = meta.definition;
  return out;
}

/** Comment and definition, not secret, stored in the clear (as Python credstash stores comments). */
export function readMetadata(item: Item, where: { credentialId: string; store: string }): { comment?: string; definition?: CredentialDefinition } {
  const out: { comment?: string; definition?: CredentialDefinition } = {};
  if (item.comment?.S !== undefined) out.comment = item.comment.S;
  const def = item.definition?.S;
  if (def !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(def);
    } catch {
      parsed = undefined;
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new CorruptStoreError(`${describe(where.credentialId, item)} in ${where.store} has a definition attribute that is not a JSON object`, {
        credentialId: where.credentialId,
        store: where.store,
      });
    }
    out.definition = parsed as CredentialDefinition;
  }
  return out;
}

/** Check comment and definition sizes before anything is encrypted, so the item stays under 400 KB. */
export function checkMetadata(id: string, store: string, comment: string | undefined, definition: CredentialDefinition | undefined): void {
  if (comment !== undefined && Buffer.byteLength(comment, 'utf8') > MAX_COMMENT_BYTES) {
    throw new ValidationError(`comment of credential "${id}" is longer than ${MAX_COMMENT_BYTES} bytes`, { credentialId: id, store });
  }
  if (definition !== undefined && Buffer.byteLength(JSON.stringify(definition), 'utf8') > MAX_DEFINITION_BYTES) {
    throw new ValidationError(`definition of credential "${id}" is longer than ${MAX_DEFINITION_BYTES} bytes`, { credentialId: id, store });
  }
}

/** DynamoDB's item size: UTF-8 lengths of attribute names plus values (S as UTF-8, B as bytes). */
export function itemSize(item: Item): number {
  let n = 0;
  for (const [k, v] of Object.entries(item)) {
    n += Buffer.byteLength(k, 'utf8');
    if (v.S !== undefined) n += Buffer.byteLength(v.S, 'utf8');
    else if (v.B !== undefined) n += v.B.length;
    else if (v.N !== undefined) n += v.N.length;
  }
  return n;
}

function addMetadata(item: Item, input: { comment?: string; definition?: CredentialDefinition }): void {
  // Python credstash writes a comment only when non-empty.
  if (input.comment !== undefined && input.comment !== '') item.comment = { S: input.comment };
  if (input.definition !== undefined) item.definition = { S: JSON.stringify(input.definition) };
}

/** A base64 S attribute, or a B attribute holding the base64 text (2015-era Python 3 items); canonical only. */
function bytesAttr(item: Item, name: string, where: { credentialId: string; store: string }): Uint8Array {
  const a = item[name];
  // Node's base64 decoder skips stray characters and ignores the unused low bits of the last character, so
  // `contents + "A"`, a newline or `QR==` for `QQ==` would decode to the same bytes and an edited item would
  // still read. Only the canonical encoding (what credstash-ts and Python's b64encode write) is accepted,
  // whatever the attribute's type; anything else is a tampered item (test/adversarial/tamper-dynamodb.test.ts).
  // Old Python 3 items hold the base64 text itself in a B attribute: the same rule applies to its bytes.
  const text = a?.S ?? (a?.B === undefined ? undefined : Buffer.from(a.B).toString('latin1'));
  if (text !== undefined) {
    const bytes = Buffer.from(text, 'base64');
    if (bytes.toString('base64') !== text) {
      const v = item.version?.S;
      throw new IntegrityError({ credentialId: where.credentialId, store: where.store, version: v === undefined ? undefined : displayVersion(v) });
    }
    return bytes;
  }
  throw new CorruptStoreError(`${describe(where.credentialId, item)} in ${where.store} has no "${name}" attribute`, {
    credentialId: where.credentialId,
    store: where.store,
  });
}

function describe(id: string, item: Item): string {
  const v = item.version?.S;
  return v === undefined ? `credential "${id}"` : `credential "${id}" version ${displayVersion(v)}`;
}
