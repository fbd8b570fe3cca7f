/**
 * AWS Signature Version 4 on node:crypto, for the requests the light AWS client sends (aws-json-client.ts):
 * the canonical request, the string to sign, the derived key and the `Authorization` header, as AWS's
 * SigV4 documentation and its published test suite define them (test/unit/stores/aws/aws-sigv4.test.ts
 * checks get-vanilla, post-vanilla, the query-order case and a session token against those vectors and
 * against the AWS SDK's own signer).
 *
 * Scope: what the AWS JSON protocols need. The path is signed as given (already URI-encoded, `/` for the
 * JSON services); the query string, when there is one, is sorted by encoded key and value. Header values are
 * trimmed and inner runs of spaces collapsed; names lower-cased. The secret key is used only as HMAC key
 * material and appears in no header, message or error.
 */
import { createHash, createHmac } from 'node:crypto';

export interface SigV4Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface SigV4Request {
  method: string;
  /** The host header value: `host` or `host:port` when the port is not the scheme's default. */
  host: string;
  /** The URI-encoded path, e.g. `/`. */
  path: string;
  /** The raw query string without `?` (`Param2=value2&Param1=value1`), or ''. */
  query?: string;
  /** Headers to send and sign besides host, x-amz-date and x-amz-security-token (names in any case). */
  headers?: Readonly<Record<string, string>>;
  body: string | Uint8Array;
  region: string;
  /** The signing name: `dynamodb`, `kms`, `service`. */
  service: string;
  credentials: SigV4Credentials;
  /** Signing time (default: now). */
  now?: Date;
}

export interface SignedHeaders {
  /** Every header to send, names lower-case: the request's own plus host, x-amz-date, x-amz-security-token, authorization. */
  headers: Record<string, string>;
  /** The hex signature alone (tests). */
  signature: string;
}

const sha256Hex = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Uint8Array, data: string): Buffer => createHmac('sha256', key).update(data, 'utf8').digest();

/**
 * `20150830T123600Z`. From the UTC fields, not toISOString(): the first toISOString() of a process sets up
 * V8's date formatting, a tenth of a millisecond of every cold `get`.
 */
export function amzDate(d: Date): string {
  const two = (n: number): string => (n < 10 ? `0${n}` : `${n}`);
  return `${d.getUTCFullYear()}${two(d.getUTCMonth() + 1)}${two(d.getUTCDate())}T${two(d.getUTCHours())}${two(d.getUTCMinutes())}${two(d.getUTCSeconds())}Z`;
}

/**
 * A header value as SigV4 signs it: trimmed, each run of white space one space. A value that is already so
 * (every header a `get` sends) is returned without a regular expression: a first match compiles one, and a
 * second one compiles it again to machine code, on the cold path of every `get`.
 * @internal exported for its unit tests
 */
export function canonicalValue(value: string): string {
  const v = value.trim();
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    // Anything \s could match: ASCII controls and space (only a single space passes), and non-ASCII.
    if (c < 0x21 && !(c === 0x20 && v.charCodeAt(i + 1) > 0x20 && v.charCodeAt(i + 1) < 0x7f)) return v.replace(/\s+/g, ' ');
    if (c > 0x7e) return v.replace(/\s+/g, ' ');
  }
  return v;
}

/** RFC 3986 encoding, as SigV4 wants it (unreserved: A-Z a-z 0-9 - _ . ~). */
function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function canonicalQuery(query: string | undefined): string {
  if (query === undefined || query === '') return '';
  const pairs = query.split('&').map((p) => {
    const eq = p.indexOf('=');
    const k = eq < 0 ? p : p.slice(0, eq);
    const v = eq < 0 ? '' : p.slice(eq + 1);
    return [uriEncode(decodeURIComponent(k)), uriEncode(decodeURIComponent(v))] as const;
  });
  pairs.sort(([ka, va], [kb, vb]) => (ka < kb ? -1 : ka > kb ? 1 : va < vb ? -1 : va > vb ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

/** Sign one request; returns the headers to send with it. */
export function signV4(req: SigV4Request): SignedHeaders {
  const stamp = amzDate(req.now ?? new Date());
  const day = stamp.slice(0, 8);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers ?? {})) headers[k.toLowerCase()] = v;
  headers.host = req.host;
  headers['x-amz-date'] = stamp;
  if (req.credentials.sessionToken !== undefined && req.credentials.sessionToken !== '') headers['x-amz-security-token'] = req.credentials.sessionToken;
  const names = Object.keys(headers).sort();
  const signedNames = names.join(';');
  const canonicalHeaders = names.map((n) => `${n}:${canonicalValue(headers[n] ?? '')}\n`).join('');
  const canonicalRequest = [req.method.toUpperCase(), req.path, canonicalQuery(req.query), canonicalHeaders, signedNames, sha256Hex(req.body)].join('\n');
  const scope = `${day}/${req.region}/${req.service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', stamp, scope, sha256Hex(canonicalRequest)].join('\n');
  const kDate = hmac(`AWS4${req.credentials.secretAccessKey}`, day);
  const kSigning = hmac(hmac(hmac(kDate, req.region), req.service), 'aws4_request');
  const signature = createHmac('sha256', kSigning).update(stringToSign, 'utf8').digest('hex');
  kDate.fill(0);
  kSigning.fill(0);
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${req.credentials.accessKeyId}/${scope}, SignedHeaders=${signedNames}, Signature=${signature}`;
  return { headers, signature };
}
