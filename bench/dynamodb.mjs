#!/usr/bin/env node
// Envelope-tier figures (BENCHMARKS.md), against dynalite and the KMS test endpoint on loopback, in process.
// Uses the built library (dist/lib/stores/dynamodb/index.js: run `npm run build` first) and the TypeScript test
// fixtures (bundled on the fly by test/fixtures/load-ts.mjs).
//   - requests per operation, counted at the endpoints (must be exactly: get 1 Query + 1 Decrypt; get -v 1 GetItem
//     + 1 Decrypt; put -a 1 Query + 1 GenerateDataKey + 1 PutItem; getall of N: Scan pages + N Decrypt; and for
//     the version lifecycle: get --label 2 GetItem (label, version) + 1 Decrypt; a label move 2 GetItem (the version, the
//     label) + 1 PutItem + 1 Decrypt; history of 100 versions 1 Query + 1 GetItem, no Decrypt; get unchanged with labels)
//   - library get, warm, p50/p95 (target p50 <= 2 ms)
//   - getall of 1,000 secrets (target <= 2 s)
// Prints one JSON object and writes bench/results/dynamodb.json.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { importTs } from '../test/fixtures/load-ts.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
process.chdir(root);
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const lib = `${root}dist/lib/stores/dynamodb/index.js`;
if (!existsSync(lib)) {
  console.error('bench/dynamodb.mjs: dist/lib/stores/dynamodb/index.js is missing; run `npm run build` first');
  process.exit(1);
}
const { DynamoDBStore } = await import(pathToFileURL(lib).href);
const { startAwsStack } = await importTs('test/fixtures/aws-stack.ts');

const GET_RUNS = Number(process.env.BENCH_GET_RUNS ?? 2000);
const GETALL_N = Number(process.env.BENCH_GETALL_N ?? 1000);

const stack = await startAwsStack();
const mk = (table) =>
  new DynamoDBStore({ table, region: stack.region, endpointUrl: stack.dynamodb.endpoint, kmsEndpointUrl: stack.kms.endpoint });
const reset = () => {
  stack.dynamodb.requests.reset();
  stack.kms.requests.reset();
};
const counted = async (fn) => {
  reset();
  await fn();
  return { dynamodb: stack.dynamodb.requests.snapshot(), kms: stack.kms.requests.snapshot() };
};
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const ms = (x) => Math.round(x * 1000) / 1000;

try {
  const store = mk('bench-requests');
  await store.setup();
  await store.storeCredential('app.db', 'v1', { context: { env: 'prod' } });
  const requests = {
    'get (latest)': await counted(() => store.getCredential('app.db', { context: { env: 'prod' } })),
    'get -v': await counted(() => store.getCredential('app.db', { version: 1, context: { env: 'prod' } })),
    'put -a': await counted(() => store.storeCredential('app.db', 'v2', { autoVersion: true, context: { env: 'prod' } })),
  };
  for (let i = 0; i < 20; i++) await store.storeCredential(`many.${i}`, `v${i}`);
  requests['getall (20 secrets)'] = await counted(() => store.getAllCredentials({ context: {}, pattern: 'many.*' }));
  requests['list'] = await counted(() => store.listCredentials());

  // The version lifecycle (docs/lifecycle.md): labels live in the lifecycle table, the proof is checked with
  // the data key of the Decrypt a read makes anyway; history reads no value.
  // (A name of its own: the warm get below keeps measuring the same item as before.)
  for (let i = 1; i <= 3; i++) await store.storeCredential('life.db', `v${i}`, { version: i, context: { env: 'prod' }, expiresAt: '90d' });
  await store.labelCredential('life.db', 'current', { version: 2, context: { env: 'prod' } });
  requests['get --label'] = await counted(() => store.getCredential('life.db', { label: 'current', context: { env: 'prod' } }));
  requests['label move'] = await counted(() => store.labelCredential('life.db', 'current', { version: 3, context: { env: 'prod' } }));
  requests['get (latest), with labels and expiry in use'] = await counted(() => store.getCredential('life.db', { context: { env: 'prod' } }));
  for (let i = 1; i <= 100; i++) await store.storeCredential('hist.db', `v${i}`, { version: i });
  requests['history (100 versions)'] = await counted(async () => {
    const h = await store.credentialHistory('hist.db');
    if (h.length !== 100) throw new Error(`history returned ${h.length} of 100 versions`);
  });

  // Warm library get: one store, clients built, connection kept alive.
  const warm = mk('bench-requests');
  for (let i = 0; i < 200; i++) await warm.getCredential('app.db', { context: { env: 'prod' } });
  const samples = [];
  for (let i = 0; i < GET_RUNS; i++) {
    const t0 = process.hrtime.bigint();
    await warm.getCredential('app.db', { context: { env: 'prod' } });
    samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  samples.sort((a, b) => a - b);

  // getall of 1,000 secrets.
  const bulk = mk('bench-getall');
  await bulk.setup();
  const writers = Array.from({ length: 16 }, (_, w) => (async () => {
    for (let i = w; i < GETALL_N; i += 16) await bulk.storeCredential(`svc.${String(i).padStart(4, '0')}`, `secret-value-${i}`);
  })());
  await Promise.all(writers);
  await bulk.getAllCredentials(); // warm
  reset();
  const g0 = process.hrtime.bigint();
  const all = await bulk.getAllCredentials();
  const getallMs = Number(process.hrtime.bigint() - g0) / 1e6;
  const getallRequests = { dynamodb: stack.dynamodb.requests.snapshot(), kms: stack.kms.requests.snapshot() };
  if (all.credentials.length !== GETALL_N) throw new Error(`getall returned ${all.credentials.length} of ${GETALL_N}`);

  const result = {
    bench: 'dynamodb',
    node: process.version,
    endpoints: 'dynalite + KMS test endpoint, loopback, in process',
    requests,
    expected: {
      'get (latest)': { dynamodb: { Query: 1 }, kms: { Decrypt: 1 } },
      'get -v': { dynamodb: { GetItem: 1 }, kms: { Decrypt: 1 } },
      'put -a': { dynamodb: { Query: 1, PutItem: 1 }, kms: { GenerateDataKey: 1 } },
      'get --label': { dynamodb: { GetItem: 2 }, kms: { Decrypt: 1 } },
      'label move': { dynamodb: { GetItem: 2, PutItem: 1 }, kms: { Decrypt: 1 } },
      'get (latest), with labels and expiry in use': { dynamodb: { Query: 1 }, kms: { Decrypt: 1 } },
      'history (100 versions)': { dynamodb: { Query: 1, GetItem: 1 }, kms: {} },
    },
    library_get_warm_ms: { runs: GET_RUNS, p50: ms(pct(samples, 50)), p95: ms(pct(samples, 95)), p99: ms(pct(samples, 99)), target_p50: 2 },
    getall: { secrets: GETALL_N, ms: Math.round(getallMs), target_ms: 2000, requests: getallRequests, concurrency: 32 },
  };
  const ok =
    Object.entries(result.expected).every(([op, want]) => JSON.stringify(requests[op]) === JSON.stringify(want)) &&
    getallRequests.kms.Decrypt === GETALL_N &&
    getallRequests.dynamodb.Query === undefined;
  result.request_counts_as_expected = ok;
  await Promise.all([store.close(), warm.close(), bulk.close()]);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/dynamodb.json', `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  if (!ok) process.exitCode = 1;
} finally {
  await stack.close();
}
