/**
 * Proxy and CA bundle as the aws cli and boto apply them: HTTPS_PROXY (CONNECT tunnel, TLS end to end) for
 * https:// endpoints, HTTP_PROXY (absolute-form requests) for http:// endpoints such as a local DynamoDB,
 * NO_PROXY to bypass, lowercase variants, AWS_CA_BUNDLE replacing the trust store. bin/credstash runs as a real
 * process; dynalite and the KMS fixture sit behind loopback https fronts with the fixture certificate
 * (test/fixtures/tls), and a counting proxy (test/fixtures/http-proxy.ts) sees what passes through.
 */
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer as createHttpsServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startAwsStack, type AwsStack } from '../../fixtures/aws-stack.js';
import { startHttpProxy, type ProxyHandle } from '../../fixtures/http-proxy.js';
import { CANARY, expectNoLeak } from '../../helpers/no-leak.js';
import { expectCleanStderr, runCli, type CliResult } from '../../helpers/cli.js';

const TLS_DIR = fileURLToPath(new URL('../../fixtures/tls/', import.meta.url));
const CA = join(TLS_DIR, 'loopback-cert.pem');
const HOOK = fileURLToPath(new URL('../../helpers/record-modules.mjs', import.meta.url));

let stack: AwsStack;
let proxy: ProxyHandle;
let fronts: Server[] = [];
let httpsDdb: string;
let httpsKms: string;
let dir: string;
let base: NodeJS.ProcessEnv;

/** TLS-terminating reverse proxy on 127.0.0.1 in front of an http endpoint. */
async function httpsFront(target: string): Promise<string> {
  const to = new URL(target);
  const server = createHttpsServer({ cert: readFileSync(CA), key: readFileSync(join(TLS_DIR, 'loopback-key.pem')) }, (req, res) => {
    const up = httpRequest({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  fronts.push(server);
  return `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  [stack, proxy] = await Promise.all([startAwsStack(), startHttpProxy()]);
  [httpsDdb, httpsKms] = await Promise.all([httpsFront(stack.dynamodb.endpoint), httpsFront(stack.kms.endpoint)]);
  dir = mkdtempSync(join(tmpdir(), 'credstash-cli-net-'));
  base = stack.env({ HOME: dir, AWS_MAX_ATTEMPTS: '1' });
  expect((await runCli(['setup'], { cwd: dir, env: base })).code).toBe(0);
  expect((await runCli(['put', 'net.secret', CANARY], { cwd: dir, env: base })).code).toBe(0);
});
afterAll(async () => {
  await Promise.all([stack?.close(), proxy?.close(), ...fronts.map((s) => new Promise<void>((r) => { s.closeAllConnections(); s.close(() => r()); }))]);
  fronts = [];
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => proxy.reset());

const cli = (args: string[], extra: NodeJS.ProcessEnv): Promise<CliResult> => runCli(args, { cwd: dir, env: { ...base, ...extra } });
const https = (): NodeJS.ProcessEnv => ({ AWS_ENDPOINT_URL_DYNAMODB: httpsDdb, AWS_ENDPOINT_URL_KMS: httpsKms });

describe('HTTP_PROXY for http:// endpoints', () => {
  it('sends every DynamoDB and KMS request through the proxy as an absolute-form request (upper- and lowercase)', async () => {
    for (const name of ['HTTP_PROXY', 'http_proxy']) {
      proxy.reset();
      expect(await cli(['get', 'net.secret'], { [name]: proxy.url })).toEqual({ code: 0, stdout: `${CANARY}\n`, stderr: '' });
      expect(proxy.forwarded.map((u) => new URL(u).origin).sort()).toEqual([stack.dynamodb.endpoint, stack.kms.endpoint].sort());
      expect(proxy.tunnels).toEqual([]);
    }
  });

  it('connects directly to hosts NO_PROXY names (host, CIDR, host:port, *)', async () => {
    const ddbPort = new URL(stack.dynamodb.endpoint).port;
    for (const noProxy of ['127.0.0.1', 'localhost, 127.0.0.0/8', '*']) {
      expect(await cli(['get', 'net.secret'], { HTTP_PROXY: proxy.url, NO_PROXY: noProxy })).toMatchObject({ code: 0, stdout: `${CANARY}\n` });
    }
    expect(proxy.forwarded).toEqual([]);
    expect((await cli(['get', 'net.secret'], { HTTP_PROXY: proxy.url, no_proxy: `127.0.0.1:${ddbPort}` })).code).toBe(0);
    expect(proxy.forwarded.map((u) => new URL(u).origin)).toEqual([stack.kms.endpoint]);
  });

  it('ignores HTTPS_PROXY for http:// endpoints, as boto does', async () => {
    expect(await cli(['get', 'net.secret'], { HTTPS_PROXY: proxy.url })).toMatchObject({ code: 0, stdout: `${CANARY}\n` });
    expect(proxy.forwarded).toEqual([]);
    expect(proxy.tunnels).toEqual([]);
  });
});

describe('AWS_CA_BUNDLE and HTTPS_PROXY for https:// endpoints', () => {
  it('trusts the CA bundle (and only with it: the default trust store refuses the self-signed endpoint)', async () => {
    expect(await cli(['get', 'net.secret'], { ...https(), AWS_CA_BUNDLE: CA })).toEqual({ code: 0, stdout: `${CANARY}\n`, stderr: '' });
    const untrusted = await cli(['get', 'net.secret'], { ...https(), AWS_CA_BUNDLE: '' });
    expect(untrusted).toMatchObject({ code: 1, stdout: '' });
    expect(untrusted.stderr).toMatch(/^credstash: could not reach DynamoDB at https:\/\/127\.0\.0\.1:\d+ \((DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE)\)/);
    expectCleanStderr(untrusted.stderr);
  });

  it('tunnels through HTTPS_PROXY with CONNECT (TLS end to end, the proxy sees no request), with the proxy credentials from the URL', async () => {
    const r = await cli(['get', 'net.secret'], { ...https(), AWS_CA_BUNDLE: CA, https_proxy: `http://ops:pr0xy-pass@127.0.0.1:${proxy.port}` });
    expect(r).toEqual({ code: 0, stdout: `${CANARY}\n`, stderr: '' });
    expect(proxy.tunnels.sort()).toEqual([new URL(httpsDdb).host, new URL(httpsKms).host].sort());
    expect(proxy.forwarded).toEqual([]);
    expect(proxy.authorizations.every((a) => a === `Basic ${Buffer.from('ops:pr0xy-pass').toString('base64')}`)).toBe(true);
    expect(proxy.authorizations.length).toBeGreaterThan(0);
  });

  it('names the proxy (never its password) when it refuses, and a CA bundle it cannot read, in one line', async () => {
    const strict = await startHttpProxy({ requireAuthorization: 'Basic nobody' });
    try {
      const refused = await cli(['get', 'net.secret'], { ...https(), AWS_CA_BUNDLE: CA, HTTPS_PROXY: `http://ops:pr0xy-pass@127.0.0.1:${strict.port}` });
      expect(refused).toMatchObject({ code: 1, stdout: '' });
      expect(refused.stderr).toMatch(new RegExp(`^credstash: could not connect through the proxy 127\\.0\\.0\\.1:${strict.port}: CONNECT 127\\.0\\.0\\.1:\\d+ was answered with HTTP 407`));
      expectNoLeak(refused.stderr, 'pr0xy-pass', Buffer.from('ops:pr0xy-pass').toString('base64'));
      expectCleanStderr(refused.stderr);
    } finally {
      await strict.close();
    }
    const noBundle = await cli(['get', 'net.secret'], { ...https(), AWS_CA_BUNDLE: join(dir, 'missing.pem') });
    expect(noBundle).toMatchObject({ code: 1, stdout: '' });
    expect(noBundle.stderr).toMatch(/^credstash: AWS_CA_BUNDLE: cannot read .*missing\.pem \(ENOENT\)/);
    const badProxy = await cli(['get', 'net.secret'], { ...https(), HTTPS_PROXY: 'socks5://127.0.0.1:1080' });
    expect(badProxy).toMatchObject({ code: 1, stdout: '' });
    expect(badProxy.stderr).toMatch(/^credstash: HTTPS_PROXY: only http:\/\/ proxies are supported/);
    expectCleanStderr(noBundle.stderr + badProxy.stderr);
  });
});

describe('cold start', () => {
  it('loads the proxy code only when a proxy or CA bundle is set', async () => {
    const loadedWith = async (extra: NodeJS.ProcessEnv): Promise<string[]> => {
      const log = join(dir, `modules-${Math.random().toString(36).slice(2)}.log`);
      const r = await runCli(['get', 'net.secret'], { cwd: dir, env: { ...base, ...extra, CREDSTASH_MODULE_LOG: log }, nodeArgs: ['--import', HOOK] });
      expect(r).toMatchObject({ code: 0, stdout: `${CANARY}\n` });
      return readFileSync(log, 'utf8').split('\n').filter((l) => /chunks\/aws-proxy-/.test(l));
    };
    expect(await loadedWith({})).toEqual([]);
    expect((await loadedWith({ HTTP_PROXY: proxy.url })).length).toBeGreaterThan(0);
  });
});
