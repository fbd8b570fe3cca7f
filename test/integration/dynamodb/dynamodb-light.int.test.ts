/**
 * The envelope tier's `get` without the AWS SDK (`light`, what the CLI uses) against dynalite and the KMS
 * fixture, side by side with the SDK path on the same table: the same results byte for byte, the same
 * requests (1 Query + 1 Decrypt; 1 GetItem + 1 Decrypt with a version), and for every fault the same error
 * code and message after the same number of attempts. Also when the light client must step aside (the SDK
 * then serves the request).
 */
import { createServer, request as httpRequest, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect as netConnect, createServer as createNetServer, Socket as NetSocket, type AddressInfo, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { DynamoDBStore, type DynamoDBStoreOptions } from '../../../src/stores/dynamodb/index.js';
import { lightAwsSession, lightEndpoint, ParkedConnections } from '../../../src/stores/aws/aws-json-client.js';
import { startDynalite, type DynaliteHandle } from '../../fixtures/dynalite.js';
import { startKmsEndpoint, type KmsEndpointHandle } from '../../fixtures/kms-endpoint.js';
import type { FaultSpec } from '../../fixtures/fault-injection.js';
import { CANARY, expectNoLeak, rejectionOf } from '../../helpers/no-leak.js';

const TABLE = 'light-table';
let ddb: DynaliteHandle;
let kms: KmsEndpointHandle;
let seed: DynamoDBStore;
const saved: Record<string, string | undefined> = {};

// The machine's own proxy / CA bundle settings would send both paths to the SDK.
const NETWORK_VARS = ['AWS_CA_BUNDLE', 'HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'NO_PROXY', 'no_proxy'];

beforeAll(async () => {
  for (const k of NETWORK_VARS) {
    saved[k] = process.env[k];
    delete process.env[k];
  }
  [ddb, kms] = await Promise.all([startDynalite(), startKmsEndpoint()]);
  seed = new DynamoDBStore({ table: TABLE, region: 'us-east-1', endpointUrl: ddb.endpoint, kmsEndpointUrl: kms.endpoint, format: 'gcm' });
  await seed.setup();
  await seed.storeCredential('l.text', `${CANARY}-text`, { context: { env: 'prod' } });
  await seed.storeCredential('l.text', `${CANARY}-text-2`, { context: { env: 'prod' }, version: 2 });
  await seed.storeCredential('l.bytes', new Uint8Array([0, 255, 1, 254, 10, 13]));
  await seed.storeCredential('l.json', { user: 'u', port: 5432, nested: { ok: true } });
  await seed.storeCredential('l.unicode', 'ünï©ødé ✓ \u0000 "quoted"');
  const legacy = new DynamoDBStore({ table: TABLE, region: 'us-east-1', endpointUrl: ddb.endpoint, kmsEndpointUrl: kms.endpoint, format: 'legacy' });
  await legacy.storeCredential('l.legacy', `${CANARY}-legacy`, { context: { team: 'x' } });
  await legacy.close();
});
afterAll(async () => {
  await seed?.close();
  await Promise.all([ddb?.close(), kms?.close()]);
  for (const [k, v] of Object.entries(saved)) if (v !== undefined) process.env[k] = v;
});
beforeEach(() => {
  ddb.clearFaults();
  kms.clearFaults();
  ddb.requests.reset();
  kms.requests.reset();
});
afterEach(() => {
  vi.restoreAllMocks();
});

const open = (light: boolean, extra: DynamoDBStoreOptions = {}): DynamoDBStore =>
  new DynamoDBStore({ table: TABLE, region: 'us-east-1', endpointUrl: ddb.endpoint, kmsEndpointUrl: kms.endpoint, light, ...extra });

/** Runs fn on a light store while the SDK clients' send is watched: the light path must not call it. */
async function onLight<T>(fn: (s: DynamoDBStore) => Promise<T>, extra: DynamoDBStoreOptions = {}): Promise<T> {
  const ddbSend = vi.spyOn(DynamoDBClient.prototype, 'send');
  const kmsSend = vi.spyOn(KMSClient.prototype, 'send');
  const s = open(true, extra);
  try {
    return await fn(s);
  } finally {
    await s.close();
    expect(ddbSend).not.toHaveBeenCalled();
    expect(kmsSend).not.toHaveBeenCalled();
    ddbSend.mockRestore();
    kmsSend.mockRestore();
  }
}

async function onSdk<T>(fn: (s: DynamoDBStore) => Promise<T>, extra: DynamoDBStoreOptions = {}): Promise<T> {
  const s = open(false, extra);
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

const counts = () => ({ Query: ddb.requests.get('Query'), GetItem: ddb.requests.get('GetItem'), Decrypt: kms.requests.get('Decrypt') });

describe('light get: the same answers as the SDK path', () => {
  const reads: Array<[string, string, { version?: string; context?: Record<string, string> }]> = [
    ['text with a context, newest', 'l.text', { context: { env: 'prod' } }],
    ['text with a context, version 1', 'l.text', { version: '1', context: { env: 'prod' } }],
    ['binary', 'l.bytes', {}],
    ['JSON', 'l.json', {}],
    ['unicode and control characters', 'l.unicode', {}],
    ['legacy (Python credstash) item', 'l.legacy', { context: { team: 'x' } }],
  ];
  it.each(reads)('%s', async (_l, id, o) => {
    const viaSdk = await onSdk((s) => s.getCredential(id, { ...o, required: true }));
    ddb.requests.reset();
    kms.requests.reset();
    const viaLight = await onLight((s) => s.getCredential(id, { ...o, required: true }));
    expect(viaLight).toStrictEqual(viaSdk);
    expect(counts()).toEqual(o.version === undefined ? { Query: 1, GetItem: 0, Decrypt: 1 } : { Query: 0, GetItem: 1, Decrypt: 1 });
  });

  it('a missing credential is undefined (required: the same not-found error), with no Decrypt', async () => {
    expect(await onLight((s) => s.getCredential('l.nosuch'))).toBeUndefined();
    const a = await rejectionOf(onLight((s) => s.getCredential('l.nosuch', { required: true })));
    const b = await rejectionOf(onSdk((s) => s.getCredential('l.nosuch', { required: true })));
    expect([a.code, a.message]).toEqual([b.code, b.message]);
    expect(kms.requests.get('Decrypt')).toBe(0);
  });

  it('no region anywhere: us-east-1 with the same notice as the SDK path, once', async () => {
    const saved = { r: process.env.AWS_REGION, d: process.env.AWS_DEFAULT_REGION };
    delete process.env.AWS_REGION;
    delete process.env.AWS_DEFAULT_REGION;
    try {
      const notes = { light: [] as string[], sdk: [] as string[] };
      const opts = (into: string[]): DynamoDBStoreOptions => ({ region: undefined, onNotice: (m) => into.push(m) });
      await onLight(async (s) => {
        await s.getCredential('l.json', { required: true });
        await s.getCredential('l.json', { required: true });
      }, opts(notes.light));
      await onSdk(async (s) => {
        await s.getCredential('l.json', { required: true });
        await s.getCredential('l.json', { required: true });
      }, opts(notes.sdk));
      expect(notes.light).toEqual(notes.sdk);
      expect(notes.light).toEqual([expect.stringMatching(/^no AWS region configured; using us-east-1 as Python credstash does/)]);
    } finally {
      if (saved.r !== undefined) process.env.AWS_REGION = saved.r;
      if (saved.d !== undefined) process.env.AWS_DEFAULT_REGION = saved.d;
    }
  });

  it('a wrong context is the same KMS error, without the value', async () => {
    const a = await rejectionOf(onLight((s) => s.getCredential('l.text', { context: { env: 'dev' } })));
    const b = await rejectionOf(onSdk((s) => s.getCredential('l.text', { context: { env: 'dev' } })));
    expect([a.code, a.message]).toEqual([b.code, b.message]);
    expectNoLeak(a, [`${CANARY}-text-2`]);
  });
});

type Case = { label: string; service: 'kms' | 'dynamodb'; operation: string; fault: FaultSpec };
const FAULTS: Case[] = [
  { label: 'KMS throttling', service: 'kms', operation: 'Decrypt', fault: { kind: 'throttle' } },
  { label: 'KMS throttled once', service: 'kms', operation: 'Decrypt', fault: { kind: 'throttle', count: 1 } },
  { label: 'KMS 500', service: 'kms', operation: 'Decrypt', fault: { kind: 'internal' } },
  { label: 'KMS access denied', service: 'kms', operation: 'Decrypt', fault: { kind: 'accessDenied' } },
  { label: 'KMS disabled key', service: 'kms', operation: 'Decrypt', fault: { kind: 'error', errorType: 'DisabledException' } },
  { label: 'KMS connection reset', service: 'kms', operation: 'Decrypt', fault: { kind: 'reset' } },
  { label: 'DynamoDB throttling', service: 'dynamodb', operation: 'Query', fault: { kind: 'throttle' } },
  { label: 'DynamoDB 500 once', service: 'dynamodb', operation: 'Query', fault: { kind: 'internal', count: 1 } },
  { label: 'DynamoDB 500', service: 'dynamodb', operation: 'Query', fault: { kind: 'internal' } },
  { label: 'DynamoDB access denied', service: 'dynamodb', operation: 'Query', fault: { kind: 'accessDenied' } },
  { label: 'DynamoDB table missing', service: 'dynamodb', operation: 'Query', fault: { kind: 'error', errorType: 'ResourceNotFoundException' } },
  { label: 'DynamoDB expired token', service: 'dynamodb', operation: 'Query', fault: { kind: 'error', errorType: 'ExpiredTokenException' } },
];

/**
 * A TCP relay in front of the KMS fixture that records, per connection, when it was accepted and when its
 * first bytes (the request) arrived, and counts the connections still open.
 */
/** A relay to the KMS fixture; with `trickle`, each answer goes back `bytes` at a time, `gapMs` apart. */
async function kmsRelay(trickle?: { bytes: number; gapMs: number }): Promise<{ url: string; conns: Array<{ accepted: number; firstByte?: number }>; open: () => number; close: () => Promise<void> }> {
  const target = new URL(kms.endpoint);
  const conns: Array<{ accepted: number; firstByte?: number }> = [];
  const sockets = new Set<Socket>();
  const server = createNetServer((client) => {
    const conn: { accepted: number; firstByte?: number } = { accepted: Date.now() };
    conns.push(conn);
    sockets.add(client);
    const upstream = netConnect(Number(target.port), target.hostname);
    client.on('data', (d) => {
      conn.firstByte ??= Date.now();
      upstream.write(d);
    });
    let pending = Buffer.alloc(0);
    let ended = false;
    let dripping = false;
    const drip = (): void => {
      if (client.destroyed) return;
      if (pending.length === 0) {
        dripping = false;
        if (ended) client.end();
        return;
      }
      dripping = true;
      client.write(pending.subarray(0, trickle!.bytes));
      pending = pending.subarray(trickle!.bytes);
      setTimeout(drip, trickle!.gapMs);
    };
    upstream.on('data', (d: Buffer) => {
      if (trickle === undefined) return void client.write(d);
      pending = Buffer.concat([pending, d]);
      if (!dripping) drip();
    });
    upstream.on('end', () => {
      ended = true;
      if (!dripping) client.end();
    });
    client.on('close', () => {
      sockets.delete(client);
      upstream.destroy();
    });
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    conns,
    open: () => sockets.size,
    close: async () => {
      for (const c of sockets) c.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe('light get: the KMS connection is made while DynamoDB answers', () => {
  it('connects to KMS before the Query is answered, and sends the Decrypt on that connection, the only one', async () => {
    const relay = await kmsRelay();
    try {
      ddb.fault('Query', { kind: 'delay', delayMs: 300 });
      const started = Date.now();
      const got = await onLight((s) => s.getCredential('l.text', { context: { env: 'prod' }, required: true }), { kmsEndpointUrl: relay.url });
      expect(got?.value).toBe(`${CANARY}-text-2`);
      expect(counts()).toEqual({ Query: 1, GetItem: 0, Decrypt: 1 });
      expect(relay.conns).toHaveLength(1);
      const [conn] = relay.conns as [{ accepted: number; firstByte?: number }];
      expect(conn.accepted - started).toBeLessThan(250); // during the Query's 300 ms
      expect((conn.firstByte as number) - started).toBeGreaterThanOrEqual(290); // the Decrypt, after it
    } finally {
      await relay.close();
    }
  });

  // Node's socket teardown creates process.stderr (net's _destroy compares the socket with it); done a
  // moment later, a cold `get` does it while KMS answers, or not at all when the CLI exits first.
  it('each answered connection is destroyed a moment after its answer, not inside it, and none stays open', async () => {
    const ports = new Set([Number(new URL(ddb.endpoint).port), Number(new URL(kms.endpoint).port)]);
    let inData = false;
    const destroyed: boolean[] = [];
    const emit = NetSocket.prototype.emit as (this: Socket, event: string | symbol, ...args: unknown[]) => boolean;
    const destroy = NetSocket.prototype.destroy;
    // The client's sockets, known by the answers they receive (a moment later the peer may be gone, and
    // with it remotePort).
    const clients = new WeakSet<Socket>();
    vi.spyOn(NetSocket.prototype, 'emit').mockImplementation(function (this: Socket, event: string | symbol, ...args: unknown[]) {
      if (event !== 'data') return emit.call(this, event, ...args);
      if (this.remotePort !== undefined && ports.has(this.remotePort)) clients.add(this);
      inData = true;
      try {
        return emit.call(this, event, ...args);
      } finally {
        inData = false;
      }
    });
    vi.spyOn(NetSocket.prototype, 'destroy').mockImplementation(function (this: Socket, ...args: [Error?]) {
      if (clients.has(this) && !this.destroyed) destroyed.push(inData);
      return destroy.apply(this, args);
    });
    const got = await onLight((s) => s.getCredential('l.text', { context: { env: 'prod' }, required: true }));
    expect(got?.value).toBe(`${CANARY}-text-2`);
    await expect.poll(() => destroyed.length, { timeout: 2_000, interval: 2 }).toBe(2);
    expect(destroyed).toEqual([false, false]); // the Query's connection and the Decrypt's, each after its answer
  });

  it('a credential that is not there: the connection made ahead carries nothing and is closed with the store', async () => {
    const relay = await kmsRelay();
    try {
      expect(await onLight((s) => s.getCredential('l.nosuch'), { kmsEndpointUrl: relay.url })).toBeUndefined();
      expect(kms.requests.get('Decrypt')).toBe(0);
      expect(relay.conns.every((c) => c.firstByte === undefined)).toBe(true);
      await expect.poll(() => relay.open(), { timeout: 2_000 }).toBe(0);
    } finally {
      await relay.close();
    }
  });

  it('a connection asked for a moment later is not made once the connections are closed', async () => {
    const relay = await kmsRelay();
    try {
      const session = lightAwsSession({}, { AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'x', AWS_REGION: 'us-east-1', AWS_CONFIG_FILE: '/nonexistent' }, undefined);
      expect(session).toBeDefined();
      const parked = new ParkedConnections();
      parked.openSoon(new URL(relay.url), session!);
      expect(parked.size).toBe(0); // not yet: after the request that asked has been sent
      await expect.poll(() => parked.size, { timeout: 2_000, interval: 1 }).toBe(1);
      parked.close();
      const late = new ParkedConnections();
      late.openSoon(new URL(relay.url), session!);
      late.close();
      await new Promise((r) => setTimeout(r, 50)); // well past the moment it would have been made
      expect(late.size).toBe(0);
      await expect.poll(() => relay.conns.length, { timeout: 1_000 }).toBe(1);
      await expect.poll(() => relay.open(), { timeout: 2_000 }).toBe(0);
    } finally {
      await relay.close();
    }
  });

  it('a KMS that refuses connections: the Decrypt reports it as before, after the same attempts', async () => {
    const dead = createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(dead.address() as AddressInfo).port}`;
    await new Promise<void>((r) => dead.close(() => r()));
    const get = (s: DynamoDBStore) => s.getCredential('l.text', { context: { env: 'prod' } });
    const a = await rejectionOf(onLight(get, { kmsEndpointUrl: url, maxAttempts: 2 }));
    const b = await rejectionOf(onSdk(get, { kmsEndpointUrl: url, maxAttempts: 2 }));
    expect([a.code, a.message]).toEqual([b.code, b.message]);
    expect(a.message).toMatch(/could not reach KMS at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
  });
});

describe('light get under faults: the same error, message and attempts as the SDK', () => {
  // Short backoff: throttling waits up to 1 s, 2 s, 4 s between attempts on both paths.
  const extra = { maxAttempts: 3 };
  it.each(FAULTS.map((c) => [c.label, c] as const))('%s', async (_l, c) => {
    const endpoint = c.service === 'kms' ? kms : ddb;
    const run = async (viaLight: boolean) => {
      ddb.clearFaults();
      kms.clearFaults();
      endpoint.fault(c.operation, c.fault);
      endpoint.requests.reset();
      const get = (s: DynamoDBStore) => s.getCredential('l.text', { context: { env: 'prod' } });
      const p = viaLight ? onLight(get, extra) : onSdk(get, extra);
      const outcome = await p.then(
        (v) => ({ ok: v?.value }),
        (e: Error & { code?: string }) => ({ code: e.code, message: e.message, name: e.name }),
      );
      return { outcome, requests: endpoint.requests.get(c.operation) };
    };
    const sdk = await run(false);
    const light = await run(true);
    expect(light).toEqual(sdk);
  }, 30_000);

  it('a slow KMS: the same timeout error after the same attempts, within the same bound', async () => {
    const run = async (viaLight: boolean) => {
      kms.clearFaults();
      kms.fault('Decrypt', { kind: 'delay', delayMs: 2_000 });
      kms.requests.reset();
      const started = Date.now();
      const get = (s: DynamoDBStore) => s.getCredential('l.text', { context: { env: 'prod' } });
      const err = await rejectionOf(viaLight ? onLight(get, { maxAttempts: 2, requestTimeoutMs: 300 }) : onSdk(get, { maxAttempts: 2, requestTimeoutMs: 300 }));
      return { code: err.code, message: err.message, requests: kms.requests.get('Decrypt'), quick: Date.now() - started < 1_900 };
    };
    const sdk = await run(false);
    expect(sdk.quick).toBe(true);
    expect(await run(true)).toEqual(sdk);
  });

  // The request timeout bounds how long the connection may be idle, as the SDK's socket timeout does: an
  // answer that keeps arriving is read to its end, one that stops for longer is a timeout.
  it('an answer that arrives slowly but steadily is read to its end; one that stalls longer than the timeout times out', async () => {
    const steady = await kmsRelay({ bytes: 40, gapMs: 100 });
    const stalled = await kmsRelay({ bytes: 40, gapMs: 700 });
    try {
      const get = (s: DynamoDBStore) => s.getCredential('l.text', { context: { env: 'prod' }, required: true });
      const started = Date.now();
      const got = await onLight(get, { kmsEndpointUrl: steady.url, maxAttempts: 1, requestTimeoutMs: 300 });
      expect(got.value).toBe(`${CANARY}-text-2`);
      expect(Date.now() - started).toBeGreaterThan(600); // longer than the timeout in all, never idle that long
      const stalledAt = Date.now();
      const err = await rejectionOf(onLight(get, { kmsEndpointUrl: stalled.url, maxAttempts: 1, requestTimeoutMs: 300 }));
      expect(err.message).toContain('KMS Decrypt for credential "l.text" version 2 timed out');
      expect(Date.now() - stalledAt).toBeLessThan(690); // at the idle bound, before the stalled relay's next piece
    } finally {
      await steady.close();
      await stalled.close();
    }
  });

  it('nothing listening: the same "could not reach" error', async () => {
    const dead = createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const port = (dead.address() as AddressInfo).port;
    await new Promise<void>((r) => dead.close(() => r()));
    const url = `http://127.0.0.1:${port}`;
    const get = (s: DynamoDBStore) => s.getCredential('l.text');
    const a = await rejectionOf(onLight(get, { endpointUrl: url, maxAttempts: 2 }));
    const b = await rejectionOf(onSdk(get, { endpointUrl: url, maxAttempts: 2 }));
    expect([a.code, a.message]).toEqual([b.code, b.message]);
    expect(a.message).toMatch(/could not reach DynamoDB at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
  });
});

describe('an answer that is not AWS JSON (a wrong endpoint): the same message, no body kept', () => {
  let server: Server;
  let url: string;
  let hits = 0;
  let status = 200;
  beforeAll(async () => {
    server = createServer((req, res) => {
      hits++;
      req.resume();
      req.on('end', () => {
        // Chunked (no content-length), as many servers answer.
        res.writeHead(status, { 'content-type': 'text/html' });
        res.write('<html><body>');
        res.end(`${CANARY} not aws</body></html>`);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
  });
  it.each([200, 502])('HTTP %i', async (s) => {
    status = s;
    const get = (st: DynamoDBStore) => st.getCredential('l.text');
    hits = 0;
    const b = await rejectionOf(onSdk(get, { endpointUrl: url, maxAttempts: 2 }));
    const sdkHits = hits;
    hits = 0;
    const a = await rejectionOf(onLight(get, { endpointUrl: url, maxAttempts: 2 }));
    expect([a.code, a.message]).toEqual([b.code, b.message]);
    expect(hits).toBe(sdkHits);
    expect(a.message).toMatch(/is not an AWS DynamoDB response/);
    expectNoLeak(a, [CANARY]);
  });
});

describe('a skewed clock: the server\'s Date is adopted and the request retried, as the SDK does', () => {
  let front: Server;
  let url: string;
  let seen: string[] = [];
  beforeAll(async () => {
    const to = new URL(ddb.endpoint);
    const AHEAD_MS = 3_600_000;
    front = createServer((req, res) => {
      const stamp = String(req.headers['x-amz-date'] ?? '');
      seen.push(stamp);
      const signed = Date.parse(stamp.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6Z'));
      const serverNow = Date.now() + AHEAD_MS;
      if (Number.isNaN(signed) || Math.abs(signed - serverNow) > 60_000) {
        req.resume();
        res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0', date: new Date(serverNow).toUTCString() });
        res.end(JSON.stringify({ __type: 'com.amazon.coral.service#InvalidSignatureException', message: 'Signature not yet current' }));
        return;
      }
      const up = httpRequest({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, { ...answer.headers, date: new Date(serverNow).toUTCString() });
        answer.pipe(res);
      });
      req.pipe(up);
    });
    await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(front.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((r) => front.close(() => r()));
  });
  it('one rejected attempt, then the get succeeds, on both paths', async () => {
    const get = (s: DynamoDBStore) => s.getCredential('l.json', { required: true });
    seen = [];
    const viaSdk = await onSdk(get, { endpointUrl: url });
    const sdkSeen = seen.length;
    seen = [];
    const viaLight = await onLight(get, { endpointUrl: url });
    expect(viaLight).toStrictEqual(viaSdk);
    expect(sdkSeen).toBe(2);
    expect(seen).toHaveLength(2);
  });
});

describe('https endpoints (TLS to the endpoint, AWS_CA_BUNDLE as the trust store)', () => {
  const TLS_DIR = fileURLToPath(new URL('../../fixtures/tls/', import.meta.url));
  const CA = join(TLS_DIR, 'loopback-cert.pem');
  const fronts: Server[] = [];
  let urls: { dynamodb: string; kms: string };
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
    const [d, k] = await Promise.all([httpsFront(ddb.endpoint), httpsFront(kms.endpoint)]);
    urls = { dynamodb: d, kms: k };
  });
  afterAll(async () => {
    await Promise.all(fronts.map((f) => new Promise<void>((r) => f.close(() => r()))));
    delete process.env.AWS_CA_BUNDLE;
  });
  const tls = (): DynamoDBStoreOptions => ({ endpointUrl: urls.dynamodb, kmsEndpointUrl: urls.kms, maxAttempts: 1 });

  it('with the bundle: the same answer as the SDK, without the SDK', async () => {
    process.env.AWS_CA_BUNDLE = CA;
    try {
      const get = (s: DynamoDBStore) => s.getCredential('l.text', { context: { env: 'prod' }, required: true });
      const viaSdk = await onSdk(get, tls());
      expect(viaSdk.value).toBe(`${CANARY}-text-2`);
      expect(await onLight(get, tls())).toStrictEqual(viaSdk);
    } finally {
      delete process.env.AWS_CA_BUNDLE;
    }
  });

  it('an endpoint that takes the connection and never answers the handshake: the same timeout as the SDK, within its bound', async () => {
    const taken: Socket[] = [];
    const silent = createNetServer((socket) => {
      taken.push(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const url = `https://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    try {
      const get = (s: DynamoDBStore) => s.getCredential('l.text');
      const timed = async (p: Promise<unknown>) => {
        const started = Date.now();
        const e = await rejectionOf(p);
        return { code: e.code, message: e.message, quick: Date.now() - started < 2_000 };
      };
      const opts = { endpointUrl: url, maxAttempts: 1, requestTimeoutMs: 300 };
      const sdk = await timed(onSdk(get, opts));
      expect(sdk.quick).toBe(true);
      expect(await timed(onLight(get, opts))).toEqual(sdk);
    } finally {
      for (const socket of taken) socket.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });

  it('without it: the same refusal of the self-signed endpoint', async () => {
    const get = (s: DynamoDBStore) => s.getCredential('l.text', { context: { env: 'prod' } });
    const a = await rejectionOf(onLight(get, tls()));
    const b = await rejectionOf(onSdk(get, tls()));
    expect([a.code, a.message]).toEqual([b.code, b.message]);
    expect(a.message).toMatch(/could not reach DynamoDB at https:\/\/127\.0\.0\.1:\d+ \((DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE)\)/);
  });
});

describe('when the light client steps aside for the SDK', () => {
  const base: NodeJS.ProcessEnv = { AWS_ACCESS_KEY_ID: 'AKIAFAKE', AWS_SECRET_ACCESS_KEY: 'secret', AWS_REGION: 'eu-west-1', AWS_CONFIG_FILE: '/nonexistent/config', HOME: '/nonexistent' };
  it('credentials from the environment, a region, no config file: light', () => {
    expect(lightAwsSession({}, base, 'us-east-1')).toMatchObject({ region: 'eu-west-1', regionFallback: false, maxAttempts: 3, requestTimeoutMs: 10_000 });
    expect(lightAwsSession({}, { ...base, AWS_SESSION_TOKEN: 'tok' }, undefined)?.credentials).toEqual({ accessKeyId: 'AKIAFAKE', secretAccessKey: 'secret', sessionToken: 'tok' });
    expect(lightAwsSession({ region: 'ap-south-1', maxAttempts: 5 }, base, undefined)).toMatchObject({ region: 'ap-south-1', maxAttempts: 5 });
  });
  it('no region anywhere: the fallback region, flagged for the notice', () => {
    const { AWS_REGION: _r, ...noRegion } = base;
    expect(lightAwsSession({}, noRegion, 'us-east-1')).toMatchObject({ region: 'us-east-1', regionFallback: true });
    expect(lightAwsSession({}, noRegion, undefined)).toBeUndefined();
    expect(lightAwsSession({}, { ...base, AWS_REGION: '' }, 'us-east-1')).toBeUndefined();
  });
  it.each<[string, NodeJS.ProcessEnv, object]>([
    ['a profile option', base, { profile: 'p' }],
    ['a role', base, { roleArn: 'arn:aws:iam::1:role/r' }],
    ['AWS_PROFILE', { ...base, AWS_PROFILE: 'p' }, {}],
    ['no access key', { ...base, AWS_ACCESS_KEY_ID: '' }, {}],
    ['a CA bundle it cannot read (the SDK path reports it)', { ...base, AWS_CA_BUNDLE: '/nonexistent/x.pem' }, {}],
    ['a proxy', { ...base, HTTPS_PROXY: 'http://proxy:3128' }, {}],
    ['FIPS endpoints', { ...base, AWS_USE_FIPS_ENDPOINT: 'true' }, {}],
    ['an account id (account endpoints)', { ...base, AWS_ACCOUNT_ID: '111122223333' }, {}],
    ['retry settings of the SDK', { ...base, AWS_MAX_ATTEMPTS: '7' }, {}],
    ['a session token a header cannot hold', { ...base, AWS_SESSION_TOKEN: 'tok\r\nx-injected: 1' }, {}],
  ])('%s: SDK', (_l, env, settings) => {
    expect(lightAwsSession(settings, env, 'us-east-1')).toBeUndefined();
  });
  it('a shared config file that exists (it may set a region, an endpoint, retries): SDK', () => {
    const dir = mkdtempSync(join(tmpdir(), 'credstash-light-'));
    try {
      writeFileSync(join(dir, 'config'), '[default]\nregion = eu-west-1\n');
      expect(lightAwsSession({}, { ...base, AWS_CONFIG_FILE: join(dir, 'config') }, 'us-east-1')).toBeUndefined();
      const { AWS_CONFIG_FILE: _c, ...home } = base;
      expect(lightAwsSession({}, { ...home, HOME: dir }, 'us-east-1')).toBeDefined(); // ~/.aws/config absent
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('endpoints: the configured URL, then AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL, then the aws partition', () => {
    expect(lightEndpoint('kms', 'eu-west-1', 'http://127.0.0.1:9/x', { AWS_ENDPOINT_URL_KMS: 'http://other' })?.href).toBe('http://127.0.0.1:9/x');
    expect(lightEndpoint('kms', 'eu-west-1', undefined, { AWS_ENDPOINT_URL_KMS: 'http://k:1', AWS_ENDPOINT_URL: 'http://all:2' })?.href).toBe('http://k:1/');
    expect(lightEndpoint('dynamodb', 'eu-west-1', undefined, { AWS_ENDPOINT_URL_KMS: 'http://k:1', AWS_ENDPOINT_URL: 'http://all:2' })?.href).toBe('http://all:2/');
    expect(lightEndpoint('dynamodb', 'eu-west-1', undefined, { AWS_ENDPOINT_URL: 'http://all:2', AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true' })?.href).toBe('https://dynamodb.eu-west-1.amazonaws.com/');
    expect(lightEndpoint('kms', 'ap-southeast-2', undefined, {})?.href).toBe('https://kms.ap-southeast-2.amazonaws.com/');
    // Outside the aws partition (China, GovCloud, ISO) the SDK's endpoint rules decide.
    expect(lightEndpoint('kms', 'cn-north-1', undefined, {})).toBeUndefined();
    expect(lightEndpoint('dynamodb', 'us-gov-west-1', undefined, {})).toBeUndefined();
  });
  it('an injected client: the SDK, even with light on', async () => {
    const send = vi.spyOn(DynamoDBClient.prototype, 'send');
    const client = new DynamoDBClient({ region: 'us-east-1', endpoint: ddb.endpoint });
    const s = open(true, { dynamodb: client });
    expect((await s.getCredential('l.json', { required: true })).value).toEqual({ user: 'u', port: 5432, nested: { ok: true } });
    expect(send).toHaveBeenCalledTimes(1);
    await s.close();
    client.destroy();
  });
});
