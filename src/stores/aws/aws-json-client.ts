/**
 * A light client for the AWS JSON protocols (DynamoDB's 1.0, KMS's 1.1): one signed POST per attempt over
 * node:net (http://) or node:tls (https://), SigV4 from aws-sigv4.ts, with the AWS SDK's standard retry
 * mode. The DynamoDB tier uses it for `get` in a short-lived process (the CLI), where loading and running the
 * SDK was most of the command's cold start (BENCHMARKS.md, "CLI cold start"); everything else goes through
 * the SDK.
 *
 * It is used only where it behaves as the SDK client would ({@link lightAwsSession} returns undefined
 * otherwise, and the tier uses the SDK): static credentials from the environment (AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, optionally AWS_SESSION_TOKEN), no profile or role, no shared config file (it could
 * set a region, an endpoint, FIPS or retry settings), no proxy (aws-proxy.ts does those), no other AWS_*
 * setting it does not know, a region in the `aws` partition or an endpoint URL. AWS_CA_BUNDLE replaces the
 * trust store of its TLS connections, as for the SDK's (aws-proxy.ts); a bundle it cannot read leaves the
 * request to the SDK, which reports it.
 *
 * What it keeps from the SDK, so that the tier's error mapping (aws-errors.ts, by `name`) gives the same
 * errors and messages: service errors carry the service's error name, its message and `$metadata`
 * (`httpStatusCode`, `attempts`); a connection failure keeps Node's `code` (ECONNREFUSED, ENOTFOUND with
 * `hostname`); a timeout is a `TimeoutError` (the per-request timeout, and a connection timeout of
 * min(timeout, 3 s)); an answer that is not JSON is a `SyntaxError` with the status and without the body.
 * Retries: throttling (HTTP 429 or a throttling error name), 500/502/503/504, timeouts and connection
 * errors, up to `maxAttempts` attempts (default 3), with full-jitter exponential backoff (base 50 ms,
 * 1 s for throttling, at most 20 s), as the SDK's standard mode; and, as the SDK, a signature refused while
 * the answer's `Date` is 5 minutes or more off the local clock is retried signed with the server's time.
 */
import type { Socket } from 'node:net';
import { isDigits, isRegionChars, isVisibleAscii } from '../../core/chars.js';
import { quietTimer, type CancelTimer } from '../../core/quiet-timer.js';
import { signV4, type SigV4Credentials } from './aws-sigv4.js';
import { DEFAULT_REQUEST_TIMEOUT_MS } from './aws-transport.js';

/** The SDK's default attempts per request. */
const DEFAULT_MAX_ATTEMPTS = 3;
const CONNECT_TIMEOUT_MS = 3_000;
const MAX_RESPONSE_BYTES = 32 * 1024 * 1024;
/** Socket errors the SDK's HTTP handler reports as a `TimeoutError` (keeping the code). */
const SOCKET_TIMEOUT_CODES = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT']);

/** AWS_* variables whose meaning the light client knows; any other one set sends the tier to the SDK. */
const KNOWN_AWS_ENV = new Set([
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
  'AWS_ENDPOINT_URL',
  'AWS_ENDPOINT_URL_DYNAMODB',
  'AWS_ENDPOINT_URL_KMS',
  'AWS_IGNORE_CONFIGURED_ENDPOINT_URLS',
  'AWS_CA_BUNDLE',
  'AWS_CONFIG_FILE',
  'AWS_SHARED_CREDENTIALS_FILE',
  'AWS_EC2_METADATA_DISABLED',
  'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED',
  'AWS_EXECUTION_ENV',
  'AWS_DEFAULT_OUTPUT',
  'AWS_PAGER',
]);
/** Prefixes of variables that set nothing the SDK clients read (Lambda's own, X-Ray, the aws cli's). */
const IGNORED_AWS_ENV_PREFIXES = ['AWS_LAMBDA_', 'AWS_XRAY_', 'AWS_CLI_'];

/** `\w` of a non-unicode regular expression: an ASCII letter, digit or `_`. */
const isWordChar = (c: number): boolean => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;

const AWS_PARTITION_PREFIXES = new Set(['us', 'eu', 'ap', 'sa', 'ca', 'me', 'af', 'il', 'mx']);

/**
 * A region of the SDK's `aws` partition, whose endpoints are `https://<service>.<region>.amazonaws.com`:
 * as `/^(us|eu|ap|sa|ca|me|af|il|mx)-\w+-\d+$/` (three parts, as `\w` holds no `-`), without compiling it on
 * a cold `get` (core/chars.ts).
 * @internal exported for its unit tests
 */
export function isAwsPartitionRegion(region: string): boolean {
  const parts = region.split('-');
  if (parts.length !== 3 || !AWS_PARTITION_PREFIXES.has(parts[0] as string) || !isDigits(parts[2] as string)) return false;
  const word = parts[1] as string;
  if (word === '') return false;
  for (let i = 0; i < word.length; i++) if (!isWordChar(word.charCodeAt(i))) return false;
  return true;
}

export interface LightAwsSettings {
  /** The configured region (option, else AWS_DEFAULT_REGION when AWS_REGION is unset: configuredRegion()). */
  region?: string;
  profile?: string;
  roleArn?: string;
  maxAttempts?: number;
  requestTimeoutMs?: number;
}

/** The credentials and region a light client signs with, when the session allows one (see the file comment). */
export interface LightAwsSession {
  credentials: SigV4Credentials;
  /** The region the SDK would resolve; `regionFallback` when it would fall back to Python's us-east-1. */
  region: string;
  /** True when no region is configured anywhere (the tier says so with its notice, as with the SDK). */
  regionFallback: boolean;
  maxAttempts: number;
  requestTimeoutMs: number;
  /** AWS_CA_BUNDLE's certificates: the trust store of every TLS connection, instead of Node's. */
  ca?: Buffer;
  /**
   * Server time minus local time, learnt from the `Date` of an answer when the clocks differ by 5 minutes or
   * more (the SDK's clock skew correction): signing uses local time plus this.
   */
  clockOffsetMs?: number;
}

/** Proxy variables (aws-proxy.ts applies them; the light client steps aside). */
const PROXY_ENV = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy'] as const;

const nonEmpty = (v: string | undefined): string | undefined => (v === undefined || v === '' ? undefined : v);

/**
 * The session the light client may use, or undefined when only the SDK behaves as configured.
 * @param fallbackRegion the region to use when none is configured anywhere (undefined: the SDK decides)
 */
export function lightAwsSession(settings: LightAwsSettings, env: NodeJS.ProcessEnv, fallbackRegion: string | undefined): LightAwsSession | undefined {
  if (settings.profile !== undefined || settings.roleArn !== undefined) return undefined;
  const accessKeyId = nonEmpty(env.AWS_ACCESS_KEY_ID);
  const secretAccessKey = nonEmpty(env.AWS_SECRET_ACCESS_KEY);
  if (accessKeyId === undefined || secretAccessKey === undefined) return undefined;
  for (const [k, v] of Object.entries(env)) {
    if (!k.startsWith('AWS_') || v === undefined || v === '' || KNOWN_AWS_ENV.has(k) || IGNORED_AWS_ENV_PREFIXES.some((p) => k.startsWith(p))) continue;
    return undefined;
  }
  if (PROXY_ENV.some((k) => (env[k] ?? '').trim() !== '') || sharedConfigFileExists(env)) return undefined;
  let ca: Buffer | undefined;
  const bundle = (env.AWS_CA_BUNDLE ?? '').trim();
  if (bundle !== '') {
    try {
      ca = process.getBuiltinModule('node:fs').readFileSync(bundle);
    } catch {
      return undefined; // the SDK path reports the unreadable bundle (aws-proxy.ts)
    }
  }
  const envRegion = nonEmpty(env.AWS_REGION);
  // AWS_REGION set but empty: the SDK's own message ("region not accepted") comes from the SDK.
  if (settings.region === undefined && env.AWS_REGION === '') return undefined;
  const region = settings.region ?? envRegion ?? fallbackRegion;
  if (region === undefined || !isRegionChars(region)) return undefined;
  const sessionToken = nonEmpty(env.AWS_SESSION_TOKEN);
  // Header values are written by hand here: anything a header cannot hold is left to the SDK, which refuses it.
  if (![accessKeyId, secretAccessKey, sessionToken ?? ''].every(isVisibleAscii)) return undefined;
  return {
    credentials: { accessKeyId, secretAccessKey, ...(sessionToken === undefined ? {} : { sessionToken }) },
    region,
    regionFallback: settings.region === undefined && envRegion === undefined,
    maxAttempts: settings.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    requestTimeoutMs: settings.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    ...(ca === undefined ? {} : { ca }),
  };
}

function sharedConfigFileExists(env: NodeJS.ProcessEnv): boolean {
  const fs = process.getBuiltinModule('node:fs');
  const home = nonEmpty(env.HOME) ?? nonEmpty(env.USERPROFILE) ?? process.getBuiltinModule('node:os').homedir();
  const file = nonEmpty(env.AWS_CONFIG_FILE) ?? `${home}/.aws/config`;
  return fs.statSync(file.startsWith('~/') ? `${home}${file.slice(1)}` : file, { throwIfNoEntry: false }) !== undefined;
}

/**
 * The endpoint the SDK would send to: the configured URL, else AWS_ENDPOINT_URL_<SERVICE> / AWS_ENDPOINT_URL
 * (unless AWS_IGNORE_CONFIGURED_ENDPOINT_URLS), else the service's endpoint in the `aws` partition;
 * undefined for a region outside it (the SDK's endpoint rules decide those).
 */
export function lightEndpoint(service: 'dynamodb' | 'kms', region: string, configured: string | undefined, env: NodeJS.ProcessEnv): URL | undefined {
  let url = configured;
  if (url === undefined && env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS !== 'true') {
    url = nonEmpty(env[`AWS_ENDPOINT_URL_${service.toUpperCase()}`]) ?? nonEmpty(env.AWS_ENDPOINT_URL);
  }
  if (url === undefined) return isAwsPartitionRegion(region) ? new URL(`https://${service}.${region}.amazonaws.com/`) : undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  return (parsed.protocol === 'http:' || parsed.protocol === 'https:') && parsed.search === '' && parsed.username === '' ? parsed : undefined;
}

/** An error as the SDK raises it: a service error's name and message, `$metadata`, and Node's `code` for a connection failure. */
export type LightAwsError = Error & {
  code?: string;
  hostname?: string;
  $fault?: 'client' | 'server';
  $metadata: { httpStatusCode?: number; attempts?: number; totalRetryDelay?: number; clockSkewCorrected?: boolean };
};

function awsError(name: string, message: string, meta: { httpStatusCode?: number }, extra: Record<string, unknown> = {}): LightAwsError {
  const err = new Error(message) as LightAwsError;
  err.name = name;
  err.$metadata = { ...meta };
  return Object.assign(err, extra);
}

export interface AwsJsonCall {
  endpoint: URL;
  region: string;
  /** The signing name: `dynamodb`, `kms`. */
  service: string;
  /** `DynamoDB_20120810.Query`, `TrentService.Decrypt`. */
  target: string;
  /** `1.0` (DynamoDB) or `1.1` (KMS). */
  jsonVersion: '1.0' | '1.1';
  input: unknown;
  session: LightAwsSession;
  /** Where a connection made ahead of this request may be waiting. */
  connections?: ParkedConnections;
}

const THROTTLING_NAMES = new Set([
  'BandwidthLimitExceeded',
  'EC2ThrottledException',
  'LimitExceededException',
  'PriorRequestNotComplete',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'ThrottledException',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'TransactionInProgressException',
]);
const TRANSIENT_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException']);
const TRANSIENT_STATUS = new Set([500, 502, 503, 504]);
/** Answers that may mean a skewed clock; with a `Date` 5 minutes or more off, the SDK corrects and retries. */
const CLOCK_SKEW_NAMES = new Set(['AuthFailure', 'InvalidSignatureException', 'RequestExpired', 'RequestInTheFuture', 'RequestTimeTooSkewed', 'SignatureDoesNotMatch']);
const SKEW_MS = 300_000;
const TRANSIENT_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/** The SDK's classification: throttling, transient (retried), or neither. */
function retryKind(err: LightAwsError): 'throttling' | 'transient' | undefined {
  const status = err.$metadata.httpStatusCode;
  if (status === 429 || THROTTLING_NAMES.has(err.name)) return 'throttling';
  if (TRANSIENT_NAMES.has(err.name) || TRANSIENT_CODES.has(err.code ?? '') || (status !== undefined && TRANSIENT_STATUS.has(status))) return 'transient';
  if (err.name === 'InvalidSignatureException' && err.message.includes('Signature expired')) return 'transient';
  if (err.$metadata.clockSkewCorrected === true) return 'transient';
  return undefined;
}

/**
 * One JSON-protocol operation with the SDK's standard retries; resolves with the parsed answer.
 * @throws LightAwsError (see the file comment)
 */
export async function awsJsonCall(call: AwsJsonCall): Promise<Record<string, unknown>> {
  const body = JSON.stringify(call.input);
  const maxAttempts = Math.max(1, call.session.maxAttempts);
  let totalRetryDelay = 0;
  for (let attempt = 1; ; attempt++) {
    try {
      return await attemptOnce(call, body);
    } catch (caught) {
      const err = caught as LightAwsError;
      err.$metadata ??= {};
      const kind = retryKind(err);
      if (kind === undefined || attempt >= maxAttempts) {
        err.$metadata.attempts = attempt;
        err.$metadata.totalRetryDelay = totalRetryDelay;
        throw err;
      }
      const base = kind === 'throttling' ? 1_000 : 50;
      const delay = Math.floor(Math.random() * Math.min(base * 2 ** (attempt - 1), 20_000));
      totalRetryDelay += delay;
      if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    }
  }
}

/** The error name of a JSON-protocol error answer: the header, else `__type` / `code`, without namespace and suffix. */
function errorName(headerType: string | undefined, parsed: Record<string, unknown>): string | undefined {
  const raw = headerType ?? (typeof parsed.__type === 'string' ? parsed.__type : typeof parsed.code === 'string' ? parsed.code : typeof parsed.Code === 'string' ? parsed.Code : undefined);
  if (raw === undefined) return undefined;
  let name = raw.split(':')[0] ?? raw;
  if (name.includes('#')) name = name.slice(name.lastIndexOf('#') + 1);
  return name.trim() === '' ? undefined : name.trim();
}

/** Where a request to `endpoint` connects. */
interface Target {
  secure: boolean;
  host: string;
  port: number;
  timeoutMs: number;
  ca?: Buffer;
}

function targetOf(endpoint: URL, session: LightAwsSession): Target {
  const secure = endpoint.protocol === 'https:';
  const host = unbracket(endpoint.hostname);
  const port = endpoint.port === '' ? (secure ? 443 : 80) : Number(endpoint.port);
  return { secure, host, port, timeoutMs: session.requestTimeoutMs, ...(session.ca === undefined ? {} : { ca: session.ca }) };
}

/**
 * An IPv6 literal's host name without its brackets (`[::1]` -> `::1`), as net.connect wants it. String
 * methods, not a regular expression: the hot path of a cold `get` compiles none it can do without (a first
 * match compiles the expression, a second one again to machine code). As `hostname.replace(/^\[|\]$/g, '')`.
 * @internal exported for its unit tests
 */
export function unbracket(hostname: string): string {
  const from = hostname.startsWith('[') ? 1 : 0;
  const to = hostname.endsWith(']') ? hostname.length - 1 : hostname.length;
  return from === 0 && to === hostname.length ? hostname : hostname.slice(from, Math.max(from, to));
}

/** A connection opened ahead of its request, until the request takes it. */
interface Parked {
  socket: Socket;
  /** Connected (TLS: the handshake done). */
  ready: boolean;
  release(): void;
}
const parkingKey = (t: Target): string => `${t.secure ? 'https' : 'http'} ${t.host} ${t.port}`;

/**
 * Connections opened ahead of their request (KMS while DynamoDB answers the Query), so that the request finds
 * its connection made (for https, the TLS handshake done): one round trip less on a cold `get`. They hold
 * nothing up: a parked socket does not keep the process alive, nothing is sent on it before a request takes
 * it, and one that fails or is closed before that is dropped, so the request connects as it would have (and
 * reports its own failure). At most one per endpoint; only the next request to that endpoint (passed these
 * connections in AwsJsonCall) uses it. close() drops those no request took.
 */
export class ParkedConnections {
  readonly #parked = new Map<string, Parked>();
  #closed = false;

  /**
   * open() a millisecond later, on a quiet timer (core/quiet-timer.ts): after the request just started has
   * connected and been sent (on loopback, in the same turn), so that connecting here does not delay it.
   * Nothing once close() was called.
   */
  openSoon(endpoint: URL, session: LightAwsSession): void {
    quietTimer(1, () => this.open(endpoint, session));
  }

  open(endpoint: URL, session: LightAwsSession): void {
    if (this.#closed) return;
    const target = targetOf(endpoint, session);
    const key = parkingKey(target);
    if (this.#parked.has(key)) return;
    const socket = connect(target);
    socket.unref();
    const parked = this.#parked;
    const entry: Parked = {
      socket,
      ready: false,
      release() {
        socket.off('error', drop);
        socket.off('close', drop);
        socket.off(target.secure ? 'secureConnect' : 'connect', onReady);
        if (parked.get(key) === entry) parked.delete(key);
      },
    };
    const onReady = (): void => {
      entry.ready = true;
    };
    const drop = (): void => {
      entry.release();
      socket.destroy();
    };
    socket.once(target.secure ? 'secureConnect' : 'connect', onReady);
    socket.on('error', drop);
    socket.on('close', drop);
    parked.set(key, entry);
  }

  /** The connection opened for `target`, if it is still usable; taken once. */
  take(target: Target): Parked | undefined {
    const entry = this.#parked.get(parkingKey(target));
    if (entry === undefined) return undefined;
    entry.release();
    if (entry.socket.destroyed) return undefined;
    entry.socket.ref();
    return entry;
  }

  /** Close every connection no request took; none is opened after this. */
  close(): void {
    this.#closed = true;
    for (const entry of [...this.#parked.values()]) {
      entry.release();
      entry.socket.destroy();
    }
  }

  /** How many are open and untaken (tests). */
  get size(): number {
    return this.#parked.size;
  }
}

async function attemptOnce(call: AwsJsonCall, body: string): Promise<Record<string, unknown>> {
  const { endpoint, session } = call;
  const path = endpoint.pathname === '' ? '/' : endpoint.pathname;
  const signed = signV4({
    method: 'POST',
    host: endpoint.host,
    path,
    headers: { 'content-type': `application/x-amz-json-${call.jsonVersion}`, 'x-amz-target': call.target },
    body,
    region: call.region,
    service: call.service,
    credentials: session.credentials,
    now: new Date(Date.now() + (session.clockOffsetMs ?? 0)),
  });
  const head = [`POST ${path} HTTP/1.1`];
  for (const [k, v] of Object.entries(signed.headers)) head.push(`${k}: ${v}`);
  head.push(`content-length: ${Buffer.byteLength(body)}`, 'connection: close', 'user-agent: credstash-ts', '', '');
  // One buffer of the request: the head is ASCII (header values are checked to be; the path and host come
  // from a URL, percent-encoded and punycoded), so UTF-8 gives it the same bytes as Latin-1 would.
  const response = await exchange(targetOf(endpoint, session), call.connections, Buffer.from(`${head.join('\r\n')}${body}`, 'utf8'));
  const status = response.status;
  const skewCorrected = correctClockSkew(session, response.headers.date);
  const text = response.body.toString('utf8');
  let parsed: unknown;
  try {
    parsed = text === '' ? {} : JSON.parse(text);
  } catch {
    // No cause and no body: it may hold anything (a proxy page, or for Decrypt a data key).
    throw awsError('SyntaxError', `Deserialization error: the answer (HTTP ${status}) is not JSON`, { httpStatusCode: status });
  }
  const obj = (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? parsed : {}) as Record<string, unknown>;
  if (status >= 200 && status < 300) {
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw awsError('SyntaxError', `Deserialization error: the answer (HTTP ${status}) is not a JSON object`, { httpStatusCode: status });
    }
    return obj;
  }
  const name = errorName(response.headers['x-amzn-errortype'], obj) ?? String(status);
  const message = typeof obj.message === 'string' ? obj.message : typeof obj.Message === 'string' ? obj.Message : name;
  const err = awsError(name, message, { httpStatusCode: status }, { $fault: status >= 500 ? 'server' : 'client' });
  if (skewCorrected && CLOCK_SKEW_NAMES.has(name)) err.$metadata.clockSkewCorrected = true;
  throw err;
}

/** The SDK's clock skew correction: adopt the server's time when it is 5 minutes or more off ours. */
function correctClockSkew(session: LightAwsSession, date: string | undefined): boolean {
  if (date === undefined) return false;
  const server = Date.parse(date);
  if (Number.isNaN(server)) return false;
  const offset = session.clockOffsetMs ?? 0;
  if (Math.abs(Date.now() + offset - server) < SKEW_MS) return false;
  session.clockOffsetMs = server - Date.now();
  return true;
}

interface HttpAnswer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * One HTTP/1.1 request on a new connection (`connection: close`) and its answer: Content-Length, chunked,
 * or read to the end; 1xx interim answers skipped. Connection timeout min(timeout, 3 s) until connected;
 * then the socket may be idle at most `timeoutMs`, as the SDK's request timeout. Both bounds are quiet
 * timers (core/quiet-timer.ts: Node's timers module is not compiled on a cold start for them).
 */
function exchange(target: Target, connections: ParkedConnections | undefined, request: Buffer): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const connectMs = Math.min(target.timeoutMs, CONNECT_TIMEOUT_MS);
    let cancelTimer: CancelTimer = () => {};
    const finish = (err: Error | undefined, answer?: HttpAnswer): void => {
      if (settled) return;
      settled = true;
      cancelTimer();
      if (err === undefined) release(socket);
      else socket.destroy();
      if (err !== undefined) reject(err);
      else resolve(answer as HttpAnswer);
    };
    const warm = connections?.take(target);
    const socket = warm?.socket ?? connect(target);
    // Until connected, the connection timeout; then the request's idle timeout, started again by each chunk.
    let sent = false;
    const arm = (): void => {
      cancelTimer();
      cancelTimer = !sent
        ? quietTimer(connectMs, () => finish(awsError('TimeoutError', `Socket timed out without establishing a connection within ${connectMs} ms`, {})))
        : quietTimer(target.timeoutMs, () => finish(awsError('TimeoutError', `Connection timed out after ${target.timeoutMs} ms`, {}, { code: 'ETIMEDOUT' })));
    };
    const send = (): void => {
      sent = true;
      arm();
      socket.write(request);
    };
    if (warm?.ready === true) send();
    else {
      arm();
      socket.once(target.secure ? 'secureConnect' : 'connect', send);
    }
    socket.on('error', (e: NodeJS.ErrnoException) => {
      // As the SDK's HTTP handler names them: a reset, a broken pipe or a TCP timeout is a TimeoutError.
      const err = Object.assign(new Error(e.message), { name: SOCKET_TIMEOUT_CODES.has(e.code ?? '') ? 'TimeoutError' : 'Error', $metadata: {} }) as LightAwsError;
      if (e.code !== undefined) err.code = e.code;
      const hostname = (e as { hostname?: unknown }).hostname;
      if (typeof hostname === 'string') err.hostname = hostname;
      finish(err);
    });
    const parser = new ResponseParser();
    socket.on('data', (chunk: Buffer) => {
      try {
        const answer = parser.push(chunk);
        if (answer !== undefined) finish(undefined, answer);
        else if (!settled) arm();
      } catch (e) {
        finish(e as Error);
      }
    });
    socket.on('end', () => {
      try {
        const answer = parser.end();
        // Node's http client calls this "socket hang up" (ECONNRESET), which the SDK names a TimeoutError.
        finish(answer === undefined ? awsError('TimeoutError', 'socket hang up', {}, { code: 'ECONNRESET' }) : undefined, answer);
      } catch (e) {
        finish(e as Error);
      }
    });
  });
}

/**
 * A connection whose answer is complete (the request said `connection: close`): nothing more is read from
 * it and it keeps nothing alive at once; it is destroyed a millisecond later (a quiet timer), not inside the
 * answer's callback. Node's socket teardown looks at process.stderr (net's _destroy), which creates that
 * stream: a few tenths of a millisecond for a pipe, more for a terminal (node:tty). Deferred, a cold `get`
 * does it while KMS answers, or not at all when the CLI exits first; a long-lived process still closes it
 * a moment later.
 */
function release(socket: Socket): void {
  // Paused, what still arrives stays unread and the server's FIN does not end the stream: with `allowHalfOpen`
  // off, that end would close the socket inside this turn (Node's auto-destroy), teardown included.
  socket.pause();
  socket.unref();
  quietTimer(1, () => socket.destroy());
}

/** A new connection to `target`, no delay on writes. */
function connect(target: Target): Socket {
  // Taken when used: node:tls is loaded only for an https endpoint (cold start).
  const net = process.getBuiltinModule('node:net');
  // SNI names a host, never an address. Asked only for TLS: net.connect asks isIP of the host itself, and
  // a second first-run of its address expressions would compile them again (a few tenths of a millisecond).
  const servername = target.secure && net.isIP(target.host) === 0 ? target.host : undefined;
  const socket = target.secure
    ? process.getBuiltinModule('node:tls').connect({
        host: target.host,
        port: target.port,
        ALPNProtocols: ['http/1.1'],
        ...(servername === undefined ? {} : { servername }),
        ...(target.ca === undefined ? {} : { ca: target.ca }),
      })
    : net.connect({ host: target.host, port: target.port });
  socket.setNoDelay(true);
  return socket;
}

/**
 * Incremental HTTP/1.1 response reader (one answer per connection): status line `HTTP/1.0|1.1 NNN`, 1xx
 * interim answers skipped, then a chunked body (`chunked` as a word of Transfer-Encoding, any case), a
 * Content-Length body (digits only), or everything to the end of the connection. Read with string methods
 * (core/chars.ts).
 * @internal exported for its unit tests
 */
export class ResponseParser {
  // Undefined until the first chunk (no empty Buffer made for it: one Buffer API fewer on a cold start).
  #buf?: Buffer;
  #head?: { status: number; headers: Record<string, string>; bodyStart: number; length?: number; chunked: boolean };

  push(chunk: Buffer): HttpAnswer | undefined {
    const buf = this.#buf === undefined || this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    this.#buf = buf;
    if (buf.length > MAX_RESPONSE_BYTES) throw malformed('the answer is too large');
    return this.#tryComplete(buf, false);
  }

  end(): HttpAnswer | undefined {
    return this.#buf === undefined ? undefined : this.#tryComplete(this.#buf, true);
  }

  #tryComplete(received: Buffer, ended: boolean): HttpAnswer | undefined {
    let buf = received;
    while (this.#head === undefined) {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) {
        if (ended && buf.length > 0) throw malformed('the answer is not HTTP');
        return undefined;
      }
      const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
      const status = statusOf(lines[0] ?? '');
      if (status === undefined) throw malformed('the answer is not HTTP');
      const headers: Record<string, string> = {};
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':');
        if (colon <= 0) continue;
        const k = line.slice(0, colon).trim().toLowerCase();
        const v = line.slice(colon + 1).trim();
        headers[k] = headers[k] === undefined ? v : `${headers[k]}, ${v}`;
      }
      if (status >= 100 && status < 200) {
        buf = buf.subarray(end + 4);
        this.#buf = buf;
        continue;
      }
      const chunked = hasWord(headers['transfer-encoding'] ?? '', 'chunked');
      const cl = headers['content-length'];
      if (!chunked && cl !== undefined && !isDigits(cl)) throw malformed('the answer has an invalid content-length');
      this.#head = { status, headers, bodyStart: end + 4, chunked, ...(chunked || cl === undefined ? {} : { length: Number(cl) }) };
    }
    const head = this.#head;
    const rest = buf.subarray(head.bodyStart);
    if (head.chunked) {
      const body = dechunk(rest);
      if (body !== undefined) return { status: head.status, headers: head.headers, body };
      if (ended) throw malformed('the answer ended inside a chunk');
      return undefined;
    }
    if (head.length !== undefined) {
      if (rest.length >= head.length) return { status: head.status, headers: head.headers, body: rest.subarray(0, head.length) };
      if (ended) throw malformed('the answer ended before its content-length');
      return undefined;
    }
    return ended ? { status: head.status, headers: head.headers, body: rest } : undefined;
  }
}

/**
 * The status of a status line `HTTP/1.0 NNN ...` or `HTTP/1.1 NNN ...`; undefined for anything else. As
 * `/^HTTP\/1\.[01] (\d{3})/`.
 * @internal exported for its unit tests
 */
export function statusOf(line: string): number | undefined {
  if (!line.startsWith('HTTP/1.') || (line[7] !== '0' && line[7] !== '1') || line[8] !== ' ') return undefined;
  const digits = line.slice(9, 12);
  return digits.length === 3 && isDigits(digits) ? Number(digits) : undefined;
}

/**
 * Whether `word` (lower case) is in `text` as a whole word (between non-word characters), in any case: as
 * `/\bword\b/i` for a text of Latin-1 characters (an HTTP header as read here).
 * @internal exported for its unit tests
 */
export function hasWord(text: string, word: string): boolean {
  const lower = text.toLowerCase();
  for (let at = lower.indexOf(word); at >= 0; at = lower.indexOf(word, at + 1)) {
    const end = at + word.length;
    if ((at === 0 || !isWordChar(lower.charCodeAt(at - 1))) && (end === lower.length || !isWordChar(lower.charCodeAt(end)))) return true;
  }
  return false;
}

/** A complete chunked body, or undefined while more is needed. */
function dechunk(data: Buffer): Buffer | undefined {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', at);
    if (lineEnd < 0) return undefined;
    const size = Number.parseInt(data.subarray(at, lineEnd).toString('latin1').split(';')[0]?.trim() ?? '', 16);
    if (!Number.isSafeInteger(size) || size < 0) throw malformed('the answer has an invalid chunk');
    if (size === 0) return Buffer.concat(parts);
    if (data.length < lineEnd + 2 + size + 2) return undefined;
    parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
}

/** An answer that is not HTTP: reported as the SDK reports an answer it cannot read. */
function malformed(what: string): LightAwsError {
  return awsError('SyntaxError', `Deserialization error: ${what}`, {});
}
