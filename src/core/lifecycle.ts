/**
 * The version lifecycle's pure parts, shared by the store kernel, every tier and the CLI: label names,
 * expiry times and durations, who is writing, the companion record a tier keeps beside the versions, and the
 * lifecycle facts attached to a decrypted credential. docs/lifecycle.md describes what users see.
 */
import { ValidationError } from './errors.js';
import type { StoredCredential } from './types.js';

/**
 * A label name: a lower-case letter, then up to 62 lower-case letters, digits, `_` and `-`. Never all
 * digits (it could be read as a version), never `latest` (that is what a read without a label gets).
 */
const LABEL_RE = /^[a-z][a-z0-9_-]{0,62}$/;

/**
 * Check a label name; see {@link LABEL_RE}.
 * @throws ValidationError describing the rule (the name is echoed: a label is not secret, but it is bounded)
 */
export function validateLabel(label: unknown): string {
  if (typeof label !== 'string') throw new ValidationError('a label must be a string');
  if (!LABEL_RE.test(label)) {
    throw new ValidationError(
      `label ${label.length > 64 ? 'of more than 64 characters' : `"${label.replace(/[^\x20-\x7e]/g, '?')}"`} is not valid: use a lower-case letter, then lower-case letters, digits, _ or - (at most 63 characters)`,
    );
  }
  if (label === 'latest') throw new ValidationError('"latest" is not a label: it is the newest version, which a read without --label gets');
  return label;
}

/**
 * What a tier keeps beside a credential's versions (one record per credential id): its labels and, for the
 * rotation engine, sealed state. A tier stores it as the JSON text {@link encodeCompanion} gives and
 * compares-and-sets it by `rev`; nothing in it is a secret in clear (`state` values are sealed by the tier).
 */
export interface CompanionDoc {
  /** label -> target. `version` is the padded (stored) version; `proof` authenticates the pair (tier-specific). */
  labels: Record<string, CompanionLabel>;
  /** Named sealed blobs (e.g. `rotation`), opaque to the kernel. */
  state: Record<string, string>;
}

/** A label as a tier stores it. */
export interface CompanionLabel {
  /** Padded version. */
  v: string;
  /** ISO 8601 time of the move. */
  at?: string;
  /** Who moved it. */
  by?: string;
  /** The tier's authenticator of (id, label, version), when it has one. */
  proof?: string;
}

/** A companion record as read: the document and the revision a write must compare against. */
export interface CompanionRecord {
  doc: CompanionDoc;
  /** Opaque revision: a compare-and-set write succeeds only while the stored revision is still this one. */
  rev: string;
}

/** An empty companion document. */
export function emptyCompanion(): CompanionDoc {
  return { labels: Object.create(null) as Record<string, CompanionLabel>, state: Object.create(null) as Record<string, string> };
}

/** The text a tier stores. Keys are sorted so the same document is the same text. */
export function encodeCompanion(doc: CompanionDoc): string {
  const labels: Record<string, CompanionLabel> = {};
  for (const k of Object.keys(doc.labels).sort()) labels[k] = doc.labels[k] as CompanionLabel;
  const state: Record<string, string> = {};
  for (const k of Object.keys(doc.state).sort()) state[k] = doc.state[k] as string;
  return JSON.stringify({ labels, state });
}

/**
 * Parse a stored companion document. Malformed text (a hand edit, a foreign writer) is refused as a whole:
 * a half-understood label table could send a reader to the wrong version.
 * @throws ValidationError naming `where` (never quoting the text)
 */
export function decodeCompanion(text: string, where: string): CompanionDoc {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new ValidationError(`${where}: the lifecycle record is not valid JSON`);
  }
  const doc = emptyCompanion();
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ValidationError(`${where}: the lifecycle record is not an object`);
  const { labels, state } = raw as { labels?: unknown; state?: unknown };
  if (labels !== undefined) {
    if (typeof labels !== 'object' || labels === null || Array.isArray(labels)) throw new ValidationError(`${where}: lifecycle labels are not an object`);
    for (const [name, t] of Object.entries(labels)) {
      if (!LABEL_RE.test(name)) throw new ValidationError(`${where}: the lifecycle record holds an invalid label name`);
      if (typeof t !== 'object' || t === null || typeof (t as CompanionLabel).v !== 'string') {
        throw new ValidationError(`${where}: label "${name}" has no version`);
      }
      const { v, at, by, proof } = t as CompanionLabel;
      const entry: CompanionLabel = { v };
      if (typeof at === 'string') entry.at = at;
      if (typeof by === 'string') entry.by = by;
      if (typeof proof === 'string') entry.proof = proof;
      doc.labels[name] = entry;
    }
  }
  if (state !== undefined) {
    if (typeof state !== 'object' || state === null || Array.isArray(state)) throw new ValidationError(`${where}: lifecycle state is not an object`);
    for (const [k, v] of Object.entries(state)) {
      if (typeof v !== 'string') throw new ValidationError(`${where}: lifecycle state "${k}" is not a string`);
      doc.state[k] = v;
    }
  }
  return doc;
}

/** The text over which a tier computes a label's proof: id, label and padded version, unambiguously joined. */
export function labelProofInput(id: string, label: string, paddedVersion: string): Buffer {
  return Buffer.from(JSON.stringify(['credstash-ts label v1', id, label, paddedVersion]), 'utf8');
}

/** The text over which a tier authenticates a version's expiry where the value's format does not hold it. */
export function expiryProofInput(id: string, paddedVersion: string, expiresAt: string): Buffer {
  return Buffer.from(JSON.stringify(['credstash-ts expiry v1', id, paddedVersion, expiresAt]), 'utf8');
}

const DURATION_RE = /^(\d{1,6})\s*(m|min|h|d|w|y)$/;
const UNIT_MS: Record<string, number> = { m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000, y: 365 * 86_400_000 };

/**
 * A duration as the CLI takes it: `90d`, `12h`, `2w`, `30m`, `1y` (365 days).
 * @throws ValidationError naming `what`
 */
export function parseDuration(text: string, what: string): number {
  const m = DURATION_RE.exec(text.trim());
  if (m === null) throw new ValidationError(`${what} must be a duration such as 90d, 12h, 2w or 30m`);
  return Number(m[1]) * (UNIT_MS[m[2] as string] as number);
}

/**
 * An expiry time from a duration (`90d`, from `now`) or a date (`2027-03-01`, `2027-03-01T12:00:00Z`; a date
 * without a time is midnight UTC), as ISO 8601. It must be in the future.
 * @throws ValidationError
 */
export function parseExpiry(input: string | Date, now: Date = new Date()): string {
  let at: Date;
  if (input instanceof Date) at = new Date(input.getTime());
  else if (typeof input !== 'string') throw new ValidationError('expiresAt must be a Date or an ISO 8601 string');
  else if (DURATION_RE.test(input.trim())) at = new Date(now.getTime() + parseDuration(input, 'the expiry'));
  else if (/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/.test(input.trim())) {
    const t = input.trim();
    at = new Date(t.length === 10 ? `${t}T00:00:00Z` : t);
  } else {
    throw new ValidationError('the expiry must be a duration (90d, 12h, 2w) or a date (2027-03-01 or 2027-03-01T12:00:00Z)');
  }
  if (Number.isNaN(at.getTime())) throw new ValidationError('the expiry is not a valid date');
  if (at.getTime() <= now.getTime()) throw new ValidationError('the expiry is in the past; give a future date or a duration such as 90d');
  return at.toISOString();
}

let osWriter: string | undefined | null = null;

/** `user@host` of this process, or undefined where the OS has no user name for it (a container's uid). */
export function osWriterIdentity(): string | undefined {
  if (osWriter === null) {
    let user: string | undefined;
    // node:os when a write asks, not when the module loads (every cold `get` loads this module).
    const { hostname, userInfo } = process.getBuiltinModule('node:os');
    try {
      user = userInfo().username;
    } catch {
      user = process.env.USER ?? process.env.LOGNAME;
    }
    osWriter = user === undefined || user === '' ? undefined : `${user}@${hostname()}`;
  }
  return osWriter;
}

/** The lifecycle facts a tier attaches to a credential it read. */
export interface VersionMeta {
  createdAt?: string;
  writtenBy?: string;
  expiresAt?: string;
}

/**
 * Attach lifecycle facts to a credential (not enumerable, like `atRest`: JSON output, spreads and equality
 * stay what they were). Absent facts are not defined.
 * @returns `cred` itself
 */
export function withLifecycle<T extends StoredCredential>(cred: T, meta: VersionMeta & { label?: string }): T {
  for (const key of ['createdAt', 'writtenBy', 'expiresAt', 'label'] as const) {
    const v = meta[key];
    if (v !== undefined) Object.defineProperty(cred, key, { value: v, enumerable: false, writable: false, configurable: true });
  }
  return cred;
}
