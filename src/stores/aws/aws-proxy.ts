/**
 * Proxy and CA bundle for the AWS clients, as the aws cli and boto apply them (loaded only when one is
 * configured; see aws-network-env.ts):
 *
 * - `https://` endpoints go through HTTPS_PROXY (https_proxy wins when both are set) with a CONNECT tunnel;
 *   TLS runs end to end inside it, so the proxy never sees a request or a credential.
 * - `http://` endpoints (a local DynamoDB, a test fixture) go through HTTP_PROXY as absolute-form requests,
 *   as urllib3's ProxyManager sends them for boto.
 * - NO_PROXY / no_proxy: comma- or space-separated `*`, host names (a name also matches its sub-domains, a
 *   leading `.` or `*.` is ignored), IP addresses, IPv4 CIDR blocks, each optionally with `:port`.
 * - AWS_CA_BUNDLE: a PEM file that replaces the default trust store for every TLS connection, as boto's
 *   `verify=<bundle>`.
 * - Proxy user and password from the URL go in `Proxy-Authorization: Basic`; a message names the proxy by
 *   host and port only, never with its credentials.
 *
 * Written here instead of adding a proxy-agent dependency: the two agents are a few dozen lines on node:net,
 * node:tls, node:http and node:https.
 */
import { readFileSync } from 'node:fs';
import { Agent as HttpAgent, type AgentOptions as HttpAgentOptions, type ClientRequest } from 'node:http';
import { Agent as HttpsAgent, type AgentOptions as HttpsAgentOptions, type RequestOptions } from 'node:https';
import { connect as netConnect, isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { AwsConfigError, StoreUnavailableError } from '../../core/errors.js';

export interface NetworkAgents {
  httpAgent?: HttpAgent;
  httpsAgent?: HttpsAgent | HttpAgent;
}

interface ProxyTarget {
  host: string;
  port: number;
  /** `Basic ...` when the URL carries a user. */
  authorization?: string;
  /** host:port, for messages (never the credentials). */
  label: string;
}

/**
 * The agents the environment asks for. Never throws: a setting that cannot be used (an unreadable CA bundle,
 * a proxy URL that is not `http://host:port`) gives agents that fail every connection with that one-line
 * AwsConfigError, so that the request reports it.
 */
export function networkAgents(env: NodeJS.ProcessEnv = process.env): NetworkAgents {
  const keepAlive = { keepAlive: true, maxSockets: 50 };
  let ca: Buffer | undefined;
  let problem: AwsConfigError | undefined;
  const bundle = pick(env, 'AWS_CA_BUNDLE');
  if (bundle !== undefined) {
    try {
      ca = readFileSync(bundle);
    } catch (err) {
      problem = new AwsConfigError(`AWS_CA_BUNDLE: cannot read ${bundle} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  let httpsProxy: ProxyTarget | undefined;
  let httpProxy: ProxyTarget | undefined;
  try {
    httpsProxy = parseProxy(pick(env, 'https_proxy') ?? pick(env, 'HTTPS_PROXY'), 'HTTPS_PROXY');
    httpProxy = parseProxy(pick(env, 'http_proxy') ?? pick(env, 'HTTP_PROXY'), 'HTTP_PROXY');
  } catch (err) {
    problem ??= err as AwsConfigError;
  }
  const noProxy = parseNoProxy(pick(env, 'no_proxy') ?? pick(env, 'NO_PROXY'));
  if (problem !== undefined) {
    const failing = problem;
    return { httpAgent: new FailingHttpAgent(failing, keepAlive), httpsAgent: new FailingHttpsAgent(failing, keepAlive) };
  }
  const tls: HttpsAgentOptions = { ...keepAlive, ...(ca === undefined ? {} : { ca }) };
  return {
    httpAgent: httpProxy === undefined ? undefined : new ForwardProxyAgent(httpProxy, noProxy, keepAlive),
    httpsAgent: httpsProxy === undefined ? new HttpsAgent(tls) : new TunnelProxyAgent(httpsProxy, noProxy, tls),
  };
}

function pick(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name]?.trim();
  return v === undefined || v === '' ? undefined : v;
}

function parseProxy(raw: string | undefined, name: string): ProxyTarget | undefined {
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    // A bare host:port is an http proxy, as curl and requests read it.
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`);
  } catch {
    throw new AwsConfigError(`${name} is not a proxy URL (expected http://host:port)`);
  }
  if (url.protocol !== 'http:') throw new AwsConfigError(`${name}: only http:// proxies are supported (got ${url.protocol}//)`);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = url.port === '' ? 80 : Number(url.port);
  const target: ProxyTarget = { host, port, label: `${url.hostname}:${port}` };
  if (url.username !== '') {
    const user = decodeURIComponent(url.username);
    const pass = decodeURIComponent(url.password);
    target.authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
  }
  return target;
}

type NoProxyRule = { kind: 'all' } | { kind: 'host'; host: string; port?: number } | { kind: 'cidr'; net: number; mask: number; port?: number };

function parseNoProxy(raw: string | undefined): NoProxyRule[] {
  if (raw === undefined) return [];
  const rules: NoProxyRule[] = [];
  for (let entry of raw.split(/[\s,]+/)) {
    entry = entry.trim().toLowerCase();
    if (entry === '') continue;
    if (entry === '*') {
      rules.push({ kind: 'all' });
      continue;
    }
    let port: number | undefined;
    const m = /^(\[[^\]]+\]|[^:]+|[0-9a-f:]+)(?::(\d+))?$/.exec(entry);
    if (m !== null && m[2] !== undefined && !(m[1] ?? '').includes(':')) {
      entry = m[1] ?? entry;
      port = Number(m[2]);
    }
    entry = entry.replace(/^\[|\]$/g, '').replace(/^\*?\./, '');
    const cidr = /^(\d+\.\d+\.\d+\.\d+)\/(\d{1,2})$/.exec(entry);
    if (cidr !== null) {
      const bits = Number(cidr[2]);
      const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
      rules.push({ kind: 'cidr', net: (ipv4(cidr[1] ?? '') ?? 0) & mask, mask, ...(port === undefined ? {} : { port }) });
      continue;
    }
    rules.push({ kind: 'host', host: entry, ...(port === undefined ? {} : { port }) });
  }
  return rules;
}

function ipv4(s: string): number | undefined {
  const parts = s.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return undefined;
  return (((parts[0] ?? 0) << 24) | ((parts[1] ?? 0) << 16) | ((parts[2] ?? 0) << 8) | (parts[3] ?? 0)) >>> 0;
}

/** NO_PROXY says to connect to host:port directly. */
export function bypassesProxy(rules: readonly NoProxyRule[], host: string, port: number): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  const ip = isIP(h) === 4 ? ipv4(h) : undefined;
  return rules.some((r) => {
    if (r.kind === 'all') return true;
    if (r.port !== undefined && r.port !== port) return false;
    if (r.kind === 'cidr') return ip !== undefined && ((ip & r.mask) >>> 0) === r.net;
    return h === r.host || h.endsWith(`.${r.host}`);
  });
}

function proxyError(proxy: ProxyTarget, detail: string, code?: string): StoreUnavailableError {
  // A code the AWS error mapping knows (network failure) where there is one; never the proxy's credentials.
  return Object.assign(new StoreUnavailableError(`could not connect through the proxy ${proxy.label}: ${detail}`), code === undefined ? {} : { code });
}

/** `http://` endpoints through HTTP_PROXY: the request line becomes absolute-form and goes to the proxy. */
class ForwardProxyAgent extends HttpAgent {
  readonly #proxy: ProxyTarget;
  readonly #noProxy: readonly NoProxyRule[];

  constructor(proxy: ProxyTarget, noProxy: readonly NoProxyRule[], opts: HttpAgentOptions) {
    super(opts);
    this.#proxy = proxy;
    this.#noProxy = noProxy;
  }

  // Not in @types/node, but the method every http.Agent has: ClientRequest calls it with its options.
  addRequest(req: ClientRequest, options: { host?: string | null; hostname?: string | null; port?: number | string | null } & Record<string, unknown>): void {
    const host = String(options.hostname ?? options.host ?? 'localhost');
    const port = Number(options.port ?? 80);
    if (bypassesProxy(this.#noProxy, host, port)) {
      (HttpAgent.prototype as unknown as { addRequest(r: ClientRequest, o: unknown): void }).addRequest.call(this, req, options);
      return;
    }
    const hostPart = isIP(host) === 6 ? `[${host}]` : host;
    req.path = `http://${hostPart}:${port}${req.path}`;
    if (this.#proxy.authorization !== undefined) req.setHeader('Proxy-Authorization', this.#proxy.authorization);
    (HttpAgent.prototype as unknown as { addRequest(r: ClientRequest, o: unknown): void }).addRequest.call(this, req, {
      ...options,
      host: this.#proxy.host,
      hostname: this.#proxy.host,
      port: this.#proxy.port,
    });
  }
}

/** `https://` endpoints through HTTPS_PROXY: CONNECT host:port, then TLS to the endpoint inside the tunnel. */
class TunnelProxyAgent extends HttpsAgent {
  readonly #proxy: ProxyTarget;
  readonly #noProxy: readonly NoProxyRule[];

  constructor(proxy: ProxyTarget, noProxy: readonly NoProxyRule[], opts: HttpsAgentOptions) {
    super(opts);
    this.#proxy = proxy;
    this.#noProxy = noProxy;
  }

  override createConnection(requestOptions: RequestOptions, cb?: (err: Error | null, stream: Duplex) => void): Duplex | null | undefined {
    const options = requestOptions as ConnectionOptions & { host?: string; port?: number };
    const callback = cb ?? (() => undefined);
    const host = options.host ?? 'localhost';
    const port = Number(options.port ?? 443);
    const servername = options.servername ?? (isIP(host) === 0 ? host : undefined);
    if (bypassesProxy(this.#noProxy, host, port)) {
      return tlsConnect({ ...options, host, port, ...(servername === undefined ? {} : { servername }) });
    }
    const proxy = this.#proxy;
    const raw = netConnect({ host: proxy.host, port: proxy.port });
    let buffered = Buffer.alloc(0);
    const fail = (err: Error): void => {
      raw.destroy();
      callback(err, raw);
    };
    const onError = (err: NodeJS.ErrnoException): void => fail(proxyError(proxy, err.code ?? 'connection failed', err.code));
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n\r\n');
      if (end === -1) {
        if (buffered.length > 16 * 1024) fail(proxyError(proxy, 'its answer to CONNECT is too long'));
        return;
      }
      raw.removeListener('data', onData);
      raw.removeListener('error', onError);
      raw.pause();
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(buffered.subarray(0, end).toString('latin1'))?.[1];
      if (status !== '200') {
        fail(proxyError(proxy, status === undefined ? 'its answer to CONNECT is not HTTP' : `CONNECT ${host}:${port} was answered with HTTP ${status}`, 'ECONNREFUSED'));
        return;
      }
      const rest = buffered.subarray(end + 4);
      if (rest.length > 0) raw.unshift(rest);
      const secure = tlsConnect({ ...options, socket: raw, host, ...(servername === undefined ? {} : { servername }) });
      callback(null, secure);
    };
    raw.on('error', onError);
    raw.on('data', onData);
    raw.once('connect', () => {
      const target = isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
      const auth = proxy.authorization === undefined ? '' : `Proxy-Authorization: ${proxy.authorization}\r\n`;
      raw.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n${auth}\r\n`);
    });
    return undefined;
  }
}

/** Agents that fail every connection with the configuration problem (see networkAgents). */
class FailingHttpAgent extends HttpAgent {
  readonly #err: Error;
  constructor(err: Error, opts: HttpAgentOptions) {
    super(opts);
    this.#err = err;
  }
  override createConnection(_o: unknown, callback?: (err: Error | null, stream: Duplex) => void): undefined {
    process.nextTick(() => callback?.(this.#err, undefined as never));
    return undefined;
  }
}

class FailingHttpsAgent extends HttpsAgent {
  readonly #err: Error;
  constructor(err: Error, opts: HttpsAgentOptions) {
    super(opts);
    this.#err = err;
  }
  override createConnection(_o: unknown, callback?: (err: Error | null, stream: Duplex) => void): undefined {
    process.nextTick(() => callback?.(this.#err, undefined as never));
    return undefined;
  }
}
