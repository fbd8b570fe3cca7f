/**
 * What every AWS-backed tier (dynamodb, ssm) shares about talking to AWS, without loading an SDK: the request
 * timeouts of a client, the region and endpoint the SDK will use (for messages), and the mapping of failures
 * that got no AWS answer — a timeout, DNS, a refused connection, an answer that is not AWS JSON (a wrong
 * endpoint) — to typed errors that name the service and the endpoint. The client builder is aws-clients.ts,
 * the rest of the shared error mapping aws-errors.ts.
 *
 * Rules kept here so that no tier can forget one:
 * - The SDK sets no request timeout, so a silent endpoint would hang forever: every client gets one.
 * - A response body is never kept: the SDK attaches the raw body of an answer it could not parse to the error
 *   (`$response`), and its message quotes part of it; for a decrypting call that body holds plaintext. Such
 *   an error becomes a message of our own with no `cause`.
 */
import { type CredstashError, StoreUnavailableError } from '../../core/errors.js';

/** Default per-request timeout of every AWS client. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
/** Connection timeout: the smaller of the request timeout and this. */
const CONNECT_TIMEOUT_MS = 3_000;

/** `requestHandler` options of an SDK client: a request timeout that throws, and a connection timeout. */
export function requestHandlerOptions(requestTimeoutMs: number = DEFAULT_REQUEST_TIMEOUT_MS): {
  requestTimeout: number;
  connectionTimeout: number;
  throwOnRequestTimeout: boolean;
} {
  // Without throwOnRequestTimeout @smithy/node-http-handler only logs a warning when requestTimeout passes.
  return { requestTimeout: requestTimeoutMs, connectionTimeout: Math.min(requestTimeoutMs, CONNECT_TIMEOUT_MS), throwOnRequestTimeout: true };
}

/**
 * The configured region; else, when AWS_REGION is unset or empty, boto's AWS_DEFAULT_REGION, which Python
 * credstash users set and the JS SDK does not read. Undefined leaves the SDK's own chain (AWS_REGION, profile).
 */
export function configuredRegion(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (explicit !== undefined) return explicit;
  if ((env.AWS_REGION ?? '') === '' && (env.AWS_DEFAULT_REGION ?? '') !== '') return env.AWS_DEFAULT_REGION;
  return undefined;
}

/**
 * AWS_ENDPOINT_URL_<SERVICE>, else AWS_ENDPOINT_URL, as the SDK reads them; none when
 * AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is set. For messages only: the SDK resolves the endpoint itself.
 */
export function envEndpoint(service: 'DYNAMODB' | 'KMS' | 'SSM', env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS === 'true') return undefined;
  const v = env[`AWS_ENDPOINT_URL_${service}`] ?? env.AWS_ENDPOINT_URL;
  return v === undefined || v === '' ? undefined : v;
}

export interface AwsTransportContext {
  /** Service as shown in messages: `DynamoDB`, `KMS`, `STS`, `SSM`. */
  service: string;
  /** The AWS operation, e.g. `GetParameter`. */
  operation: string;
  /** Store description, set as the error's `store`. */
  store: string;
  /** `for credential "x"` style subject, when there is one. */
  subject?: string;
  credentialId?: string;
  version?: string;
  /** Resolved region when known. */
  region?: string;
  /** Configured endpoint URL when there is one. */
  endpoint?: string;
  /** The shared-config profile in use, for the credentials message (default: AWS_PROFILE). */
  profile?: string;
}

/** AWS throttling error names across services. */
export const THROTTLING_ERRORS: ReadonlySet<string> = new Set([
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'LimitExceededException',
  'ThrottledException',
  'TooManyUpdates',
]);

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'EPIPE', 'ENETUNREACH', 'ECONNABORTED', 'EPROTO', 'CERT_HAS_EXPIRED', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'ERR_TLS_CERT_ALTNAME_INVALID']);

interface SdkErrorShape {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  hostname?: unknown;
  $metadata?: { attempts?: number; httpStatusCode?: number };
}

/** The error's `name` (SDK service errors are identified by it), `Error` when it has none. */
export function awsErrorName(err: unknown): string {
  const n = (err as SdkErrorShape | null | undefined)?.name;
  return typeof n === 'string' && n !== '' ? n : err instanceof Error ? 'Error' : typeof err;
}

/** `after N attempts` when the SDK retried, else ''. */
export function attemptsText(err: unknown): string {
  const a = (err as SdkErrorShape | null | undefined)?.$metadata?.attempts;
  return typeof a === 'number' && a > 1 ? ` after ${a} attempts` : '';
}

/** The error's message made safe for one line (AWS service messages name principals and resources, not values). */
export function awsMessageOf(err: unknown): string {
  const m = (err as SdkErrorShape | null | undefined)?.message;
  return typeof m === 'string' ? sanitizeAwsText(m, 500) : '';
}

/**
 * SDK text made safe for a one-line message: control characters removed, anything shaped like an access key
 * id, a secret or a session token replaced by `***`, cut to `max` characters.
 */
export function sanitizeAwsText(s: string, max: number): string {
  const clean = s
    .replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ')
    .replace(/\b(?:AKIA|ASIA|AROA|AIDA)[A-Z0-9]{12,}\b/g, '***')
    .replace(/[A-Za-z0-9+/=_-]{32,}/g, '***')
    .trim();
  return clean.length > max ? `${clean.slice(0, max - 3)}...` : clean;
}

/**
 * The credentials message, keeping the SDK's own reason when it says more than "none found" (the profile that
 * is missing, the SSO session to log in to, the MFA code to give), as the aws cli does. With a profile in use
 * it names that profile instead of advising to set AWS_PROFILE. `advice` ends it (how to pick other credentials).
 */
export function credentialsMessage(awsMessage: string, profile: string | undefined, advice?: { profile: string; none: string }): string {
  const generic = awsMessage === '' || /^could not load credentials from any providers\.?$/i.test(awsMessage);
  const reason = generic ? '' : ` (${sanitizeAwsText(awsMessage.replace(/\s*Should not be thrown.*$/i, ''), 300)})`;
  if (profile !== undefined) {
    const mfa = /multi-factor authentication/i.test(awsMessage) ? '; run credstash on a terminal to be asked for the MFA code' : '';
    return `no AWS credentials found for profile "${sanitizeAwsText(profile, 64)}"${reason}${mfa}; fix that profile (aws configure / aws sso login)${advice === undefined ? '' : `, or ${advice.profile}`}`;
  }
  return `no AWS credentials found${reason}; set AWS_PROFILE or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY${advice === undefined ? '' : `, ${advice.none}`}`;
}

/**
 * The SDK could not parse the answer (not AWS JSON: an HTML page, a proxy's error, another service). The SDK
 * raises the parser's SyntaxError with a "Deserialization error" hint and the raw body attached.
 */
export function isUnparsableAnswer(err: unknown): boolean {
  const e = err as SdkErrorShape | null | undefined;
  const message = typeof e?.message === 'string' ? e.message : '';
  return awsErrorName(err) === 'SyntaxError' || /Deserialization error/.test(message);
}

/**
 * The request never got an AWS answer: a timeout, DNS, a refused or broken connection, or an answer that is
 * not AWS JSON (a wrong endpoint). The same for every AWS tier; undefined for anything else. Messages name
 * the service and the endpoint (or region), never a value.
 */
export function mapAwsNetworkError(err: unknown, ctx: AwsTransportContext): CredstashError | undefined {
  const e = (err ?? {}) as SdkErrorShape;
  const name = awsErrorName(err);
  const fields = { credentialId: ctx.credentialId, store: ctx.store, version: ctx.version, cause: err };
  const where = ctx.endpoint === undefined ? (ctx.region === undefined ? '' : ` in ${ctx.region}`) : ` at ${ctx.endpoint}`;
  const on = ctx.subject === undefined ? '' : ` for ${ctx.subject}`;
  if (isUnparsableAnswer(err)) {
    const status = e.$metadata?.httpStatusCode;
    // No cause: the SDK's error carries the raw body ($response) and its message quotes part of it.
    return new StoreUnavailableError(
      `${ctx.service} ${ctx.operation}${on}: the answer${where}${status === undefined ? '' : ` (HTTP ${status})`} is not an AWS ${ctx.service} response ` +
        `(an HTML page or another service?); check the endpoint URL and the region`,
      { credentialId: ctx.credentialId, store: ctx.store, version: ctx.version },
    );
  }
  const code = typeof e.code === 'string' ? e.code : undefined;
  if (name === 'TimeoutError' || code === 'ETIMEDOUT') {
    return new StoreUnavailableError(
      `${ctx.service} ${ctx.operation}${on} timed out${where}${attemptsText(err)}; check the network path to ${ctx.service}` +
        (ctx.endpoint === undefined ? '' : ' and that the endpoint answers'),
      fields,
    );
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    const host = typeof e.hostname === 'string' && e.hostname !== '' ? `"${e.hostname}"` : 'the host name';
    const check = ctx.endpoint === undefined
      ? `check that the region${ctx.region === undefined ? '' : ` "${ctx.region}"`} exists and that DNS works`
      : 'check the endpoint URL and that DNS works';
    return new StoreUnavailableError(`could not reach ${ctx.service}${where}: DNS cannot resolve ${host} (${code}); ${check}`, fields);
  }
  if (code !== undefined && NETWORK_CODES.has(code)) {
    return new StoreUnavailableError(`could not reach ${ctx.service}${where} (${code})`, fields);
  }
  return undefined;
}
