/**
 * The SSM tier over a real SDK client against loopback endpoints that misbehave the way a wrong endpoint,
 * a wrong region or a dead network does: a TCP server that never answers, an HTML page, a refused port, a
 * host DNS cannot resolve, and AWS-shaped access-denied and throttling answers. Each is a typed error within
 * the request timeout and the SDK's bounded retries, naming SSM, the operation and the endpoint, never a value.
 * (No client mock in this file: aws-sdk-client-mock would replace every SSMClient's send.)
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import '../../../fixtures/aws-env.js';
import { requestHandlerOptions } from '../../../../src/stores/aws/aws-transport.js';
import { openStore } from '../../../../src/stores/registry.js';
import { SSMStore } from '../../../../src/stores/ssm/index.js';
import { runCliInProcess } from '../../../helpers/cli-in-process.js';
import { CANARY, expectNoLeak, rejectionOf } from '../../../helpers/no-leak.js';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

/** A TCP server that accepts connections and never answers; counts them. */
async function silentServer(): Promise<{ endpoint: string; connections: () => number }> {
  let n = 0;
  const sockets = new Set<Socket>();
  const server = createTcpServer((s) => {
    n++;
    sockets.add(s);
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, connections: () => n };
}

/** An HTTP server answering every request with `handler`; counts requests. */
async function httpServer(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ endpoint: string; requests: () => number }> {
  let n = 0;
  const server: Server = createHttpServer((req, res) => {
    n++;
    req.resume();
    req.on('end', () => handler(req, res));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise<void>((r) => server.close(() => r())));
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests: () => n };
}

/** A port nothing listens on (bound, then closed). */
async function refusedEndpoint(): Promise<string> {
  const server = createTcpServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return `http://127.0.0.1:${port}`;
}

function awsJson(status: number, type: string, message: string): (req: IncomingMessage, res: ServerResponse) => void {
  return (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
    res.end(JSON.stringify({ __type: type, message }));
  };
}

const store = (endpoint: string, extra: Partial<ConstructorParameters<typeof SSMStore>[0]> = {}): SSMStore =>
  new SSMStore({ region: 'us-east-1', endpoint, maxAttempts: 2, requestTimeoutMs: 400, ...extra });

describe('SSM requests against misbehaving endpoints', () => {
  it('a silent endpoint is cut off by the request timeout, retried a bounded number of times, and reported as a timeout naming SSM and the endpoint', async () => {
    const silent = await silentServer();
    const s = store(silent.endpoint);
    const started = Date.now();
    const err = await rejectionOf(s.getCredential('app.db'));
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(err).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE', store: 'ssm parameters /credstash/credentials/* in us-east-1', credentialId: 'app.db' });
    expect(err.message).toBe(`SSM GetParameter for credential "app.db" timed out at ${silent.endpoint} after 2 attempts; check the network path to SSM and that the endpoint answers`);
    expect(silent.connections()).toBe(2);
    // A write too: the value never shows.
    const put = await rejectionOf(s.storeCredential('app.db', CANARY, { autoVersion: true }));
    expect(put.message).toMatch(/^SSM PutParameter for credential "app\.db" timed out at /);
    expectNoLeak(put, CANARY);
    await s.close();
  });

  it('the store config sets the timeout and the retry budget (request_timeout_ms, max_attempts); the default timeout is 10 s', async () => {
    const silent = await silentServer();
    const s = await openStore({ type: 'ssm', config: { region: 'us-east-1', endpoint_url: silent.endpoint, request_timeout_ms: 300, max_attempts: 3 } });
    const started = Date.now();
    expect((await rejectionOf(s.getCredential('x'))).message).toContain('timed out');
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(silent.connections()).toBe(3);
    await s.close();
    expect(requestHandlerOptions()).toEqual({ requestTimeout: 10_000, connectionTimeout: 3_000, throwOnRequestTimeout: true });
    for (const bad of [0, -1, 1.5, 'x']) {
      expect(await rejectionOf(openStore({ type: 'ssm', config: { request_timeout_ms: bad } }))).toMatchObject({ code: 'ERR_CONFIG', path: 'credential_store.config.request_timeout_ms' });
    }
    expect(await rejectionOf(openStore({ type: 'ssm', config: { max_attempts: 0 } }))).toMatchObject({ code: 'ERR_CONFIG', path: 'credential_store.config.max_attempts' });
  });

  for (const status of [200, 404, 502]) {
    it(`an HTML answer (HTTP ${status}, a wrong endpoint) is a clear error naming SSM and the endpoint, keeping no part of the body`, async () => {
      const html = await httpServer((_req, res) => {
        res.writeHead(status, { 'content-type': 'text/html' });
        res.end(`<html><body>not ssm ${CANARY}</body></html>`);
      });
      const s = store(html.endpoint);
      for (const [op, run] of [
        ['GetParameter', () => s.getCredential('app.db')],
        ['DescribeParameters', () => s.getAllCredentials()],
        ['DescribeParameters', () => s.listCredentials({ latestOnly: true })],
        ['PutParameter', () => s.storeCredential('app.db', CANARY, { autoVersion: true })],
      ] as const) {
        const err = await rejectionOf(run());
        expect(err).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE', store: 'ssm parameters /credstash/credentials/* in us-east-1' });
        expect(err.message).toMatch(new RegExp(`^SSM ${op}( for credential "app\\.db")?: the answer at ${html.endpoint.replace(/[.]/g, '\\.')} \\(HTTP ${status}\\) is not an AWS SSM response`));
        expect(err.message).not.toMatch(/SyntaxError|<html|not ssm/);
        expect(err.cause).toBeUndefined();
        expectNoLeak(err, CANARY);
      }
      await s.close();
    });
  }

  it('a refused port says so, naming SSM and the endpoint', async () => {
    const endpoint = await refusedEndpoint();
    const err = await rejectionOf(store(endpoint).getCredential('app.db'));
    expect(err).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
    expect(err.message).toBe(`could not reach SSM at ${endpoint} (ECONNREFUSED)`);
  });

  it('a host name DNS cannot resolve says so, naming the host', async () => {
    const err = await rejectionOf(store('http://credstash-test.invalid:4566').getCredential('app.db'));
    expect(err).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
    expect(err.message).toMatch(/^could not reach SSM at http:\/\/credstash-test\.invalid:4566: DNS cannot resolve "credstash-test\.invalid" \((ENOTFOUND|EAI_AGAIN)\); check the endpoint URL and that DNS works$/);
  });

  it('an invalid or missing region is an AwsConfigError saying what to set', async () => {
    const invalid = await rejectionOf(new SSMStore({ region: 'not a region', maxAttempts: 1 }).getCredential('x'));
    expect(invalid).toMatchObject({ code: 'ERR_AWS_CONFIG', message: 'the AWS region is empty or not a valid region name; pass -r/--region or fix AWS_REGION / the store config' });
    const empty = await rejectionOf(new SSMStore({ region: '', maxAttempts: 1 }).getCredential('x'));
    expect(empty).toMatchObject({ code: 'ERR_AWS_CONFIG', message: 'no AWS region configured; pass -r/--region, set region in the store config, or set AWS_REGION' });
  });

  it('access denied and throttling answers are typed, name SSM, the operation and the endpoint, and are retried only when retryable', async () => {
    const denied = await httpServer(awsJson(400, 'AccessDeniedException', 'User: arn:aws:iam::111122223333:user/ci is not authorized to perform: ssm:GetParameter'));
    const err = await rejectionOf(store(denied.endpoint).getCredential('app.db'));
    expect(err).toMatchObject({ code: 'ERR_ACCESS_DENIED', credentialId: 'app.db' });
    expect(err.message).toBe(`SSM denied GetParameter for credential "app.db" at ${denied.endpoint}: User: arn:aws:iam::111122223333:user/ci is not authorized to perform: ssm:GetParameter`);
    expect(denied.requests()).toBe(1);
    const throttled = await httpServer(awsJson(400, 'ThrottlingException', 'Rate exceeded'));
    const t = await rejectionOf(store(throttled.endpoint).storeCredential('app.db', CANARY, { autoVersion: true }));
    expect(t).toMatchObject({ code: 'ERR_THROTTLED' });
    expect(t.message).toBe(`SSM throttled PutParameter for credential "app.db" at ${throttled.endpoint} (ThrottlingException) and the SDK's retries ran out after 2 attempts; try again later or ask for a higher SSM request quota`);
    expect(throttled.requests()).toBe(2);
    expectNoLeak(t, CANARY);
  });

  it('on the CLI: exit 1 and one credstash: line naming SSM and the endpoint, for an HTML answer and a silent endpoint', async () => {
    const html = await httpServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>login page</html>');
    });
    const silent = await silentServer();
    const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'credstash-ssm-transport-'));
    try {
      for (const [endpoint, expected] of [
        [html.endpoint, /^credstash: SSM GetParameter for credential "app\.db": the answer at http:\/\/127\.0\.0\.1:\d+ \(HTTP 200\) is not an AWS SSM response/],
        [silent.endpoint, /^credstash: SSM GetParameter for credential "app\.db" timed out at http:\/\/127\.0\.0\.1:\d+ after 2 attempts/],
      ] as const) {
        writeFileSync(join(dir, 'credstash.toml'), `[credential_store]\ntype = "ssm"\n[credential_store.config]\nregion = "us-east-1"\nendpoint_url = "${endpoint}"\nmax_attempts = 2\nrequest_timeout_ms = 300\n`);
        const r = await runCliInProcess(['get', 'app.db'], { cwd: dir, env: { ...process.env, HOME: dir } });
        expect(r.code).toBe(1);
        expect(r.stdout).toBe('');
        expect(r.stderr).toMatch(expected);
        expect(r.stderr).toMatch(/^credstash: [^\n]+\n$/);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
