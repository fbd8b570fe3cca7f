#!/usr/bin/env node
// Rotation figures (BENCHMARKS.md), docs/rotation.md "The engine". Bundles the TypeScript source on the fly
// (test/fixtures/load-ts.mjs), so it needs no build.
//   - per store (memory fixture, local keystore, DynamoDB on dynalite + the KMS fixture): wall time of one
//     rotation with a rotator that does nothing (the engine's own cost), median of RUNS, and the store
//     operations it makes (counted on the store: reads, writes, state and label operations), plus on DynamoDB
//     the requests counted at the endpoints
//   - the real rotators against this machine's servers (skipped when a server does not answer): postgres
//     and mysql (MariaDB) single and alternating, redis dual-password, on the local keystore and on DynamoDB: wall time per
//     rotation, median of REAL_RUNS
//   - `rotate --due` over 100 due credentials (the no-op rotator, concurrency 4), per store
// Prints one JSON object and writes bench/results/rotation.json.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { importTs } from '../test/fixtures/load-ts.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
process.chdir(root);
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const RUNS = Number(process.env.BENCH_ROTATION_RUNS ?? 30);
const REAL_RUNS = Number(process.env.BENCH_ROTATION_REAL_RUNS ?? 7);
const DUE_N = Number(process.env.BENCH_ROTATION_DUE_N ?? 100);

const lib = await importTs('src/index.ts');
const { MemoryStore } = await importTs('test/fixtures/memory-store.ts');
const { LocalStore } = await importTs('src/stores/local/index.ts');
const { DynamoDBStore } = await importTs('src/stores/dynamodb/index.ts');
const { startAwsStack } = await importTs('test/fixtures/aws-stack.ts');
const { RedisClient } = await importTs('src/rotation/redis-client.ts');

const dir = mkdtempSync(join(tmpdir(), 'credstash-bench-rotation-'));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
const ms = (x) => Math.round(x * 100) / 100;
const portOpen = (port) =>
  new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.setTimeout(1000);
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
    s.once('timeout', () => (s.destroy(), resolve(false)));
  });

/** A rotator that changes nothing anywhere: the engine's own cost. */
const noop = { name: 'noop', strategies: ['single'], pending: (i, pw) => ({ ...i.current, password: pw }), set: async () => {}, test: async () => {}, revert: async () => {} };

const COUNTED = ['getCredential', 'storeCredential', 'readState', 'writeState', 'labelCredential', 'credentialHistory'];
/** The store with each operation the engine uses counted. */
function counting(store) {
  const counts = Object.fromEntries(COUNTED.map((m) => [m, 0]));
  const proxy = new Proxy(store, {
    get(target, prop) {
      const v = Reflect.get(target, prop, target);
      if (typeof v !== 'function') return v;
      if (COUNTED.includes(prop)) return (...args) => (counts[prop]++, v.apply(target, args));
      return v.bind(target);
    },
  });
  return { proxy, counts, reset: () => COUNTED.forEach((m) => (counts[m] = 0)) };
}

const stack = await startAwsStack();
let tables = 0;
const stores = {
  memory: async () => new MemoryStore('bench'),
  local: async () => new LocalStore({ path: join(dir, `ks-${randomBytes(4).toString('hex')}`, 'keystore.json'), fernetKeys: [lib.generateFernetKey()] }),
  dynamodb: async () => {
    const s = new DynamoDBStore({ table: `bench-rot-${++tables}`, region: stack.region, endpointUrl: stack.dynamodb.endpoint, kmsEndpointUrl: stack.kms.endpoint });
    await s.setup();
    return s;
  },
};

const out = { runs: RUNS, real_runs: REAL_RUNS, load_average_at_start: Number(loadavg()[0].toFixed(2)), engine: {}, real: {}, due: {} };
try {
  for (const [name, open] of Object.entries(stores)) {
    const store = await open();
    const { proxy, counts, reset } = counting(store);
    await store.storeCredential('app.db', { user: 'app', password: 'p0' }, {});
    const times = [];
    let ops;
    let requests;
    for (let i = 0; i < RUNS; i++) {
      reset();
      stack.dynamodb.requests.reset();
      stack.kms.requests.reset();
      const t = performance.now();
      await lib.rotateCredential(proxy, 'app.db', { rotator: noop });
      times.push(performance.now() - t);
      ops = { ...counts };
      if (name === 'dynamodb') requests = { dynamodb: stack.dynamodb.requests.snapshot(), kms: stack.kms.requests.snapshot() };
    }
    out.engine[name] = { rotation_median_ms: ms(median(times)), store_operations: ops, ...(requests === undefined ? {} : { requests }) };
    await store.close();

    // rotate --due over DUE_N credentials, all due (a month from now), concurrency 4
    const due = await open();
    const policies = [];
    for (let i = 0; i < DUE_N; i++) {
      const id = `svc${String(i).padStart(3, '0')}.db`;
      await due.storeCredential(id, { user: 'app', password: 'p0' }, {});
      policies.push({ id, policy: { rotator: noop, every: '30d' } });
    }
    stack.dynamodb.requests.reset();
    stack.kms.requests.reset();
    const t = performance.now();
    const summary = await lib.rotateDue(due, policies, { now: new Date(Date.now() + 31 * 86_400_000) });
    const wall = performance.now() - t;
    if (summary.rotated !== DUE_N) throw new Error(`rotate --due on ${name}: ${summary.rotated} of ${DUE_N} rotated`);
    out.due[name] = { credentials: DUE_N, ms: ms(wall), per_credential_ms: ms(wall / DUE_N), ...(name === 'dynamodb' ? { requests: { dynamodb: stack.dynamodb.requests.snapshot(), kms: stack.kms.requests.snapshot() } } : {}) };
    await due.close();
  }

  // The real rotators on the local keystore and DynamoDB.
  const pgUp = await portOpen(5432);
  const redisUp = await portOpen(6379);
  const myUp = await portOpen(3306);
  const run = `bench_rot_${process.pid}`;
  let pgAdmin;
  let redisAdmin;
  const cleanup = [];
  if (pgUp) {
    const pg = (await import('pg')).default;
    pgAdmin = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres' });
    await pgAdmin.connect();
    await pgAdmin.query(`CREATE ROLE "${run}_owner" NOLOGIN`);
    cleanup.push(async () => {
      for (const r of [`${run}_a`, `${run}_b`, `${run}_single`, `${run}_owner`]) {
        await pgAdmin.query(`DROP OWNED BY "${r}"`).catch(() => undefined);
        await pgAdmin.query(`DROP ROLE IF EXISTS "${r}"`);
      }
      await pgAdmin.end();
    });
  }
  let myAdmin;
  if (myUp) {
    const mysql = await import('mysql2/promise');
    myAdmin = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', password: '' });
    await myAdmin.query(`CREATE ROLE ${run}_owner`);
    cleanup.push(async () => {
      for (const u of [`${run}_ma`, `${run}_mb`, `${run}_ms`]) await myAdmin.query('DROP USER IF EXISTS ?@?', [u, '%']);
      await myAdmin.query(`DROP ROLE IF EXISTS ${run}_owner`);
      await myAdmin.end();
    });
  }
  if (redisUp) {
    redisAdmin = await RedisClient.connect({ host: '127.0.0.1', port: 6379 });
    cleanup.push(async () => {
      await redisAdmin.command('ACL', 'DELUSER', `${run}_redis`);
      redisAdmin.close();
    });
  }
  const cases = [];
  if (pgUp) {
    cases.push(['postgres single', `${run}_single`, { rotator: 'postgres', admin: '${credential:pg_admin}' }, async (u) => pgAdmin.query(`CREATE ROLE "${u}" LOGIN PASSWORD 'p0'`)]);
    cases.push([
      'postgres alternating',
      `${run}_a`,
      { rotator: 'postgres', strategy: 'alternating', admin: '${credential:pg_admin}', options: { users: [`${run}_a`, `${run}_b`], owner: `${run}_owner` } },
      async (u) => pgAdmin.query(`CREATE ROLE "${u}" LOGIN PASSWORD 'p0'`),
    ]);
  }
  if (myUp) {
    const create = async (u) => myAdmin.query('CREATE USER ?@? IDENTIFIED BY ?', [u, '%', 'p0']);
    cases.push(['mysql single (MariaDB)', `${run}_ms`, { rotator: 'mysql', admin: '${credential:my_admin}' }, create]);
    cases.push(['mysql alternating (MariaDB)', `${run}_ma`, { rotator: 'mysql', strategy: 'alternating', admin: '${credential:my_admin}', options: { users: [`${run}_ma`, `${run}_mb`], owner: `${run}_owner` } }, create]);
  }
  if (redisUp) cases.push(['redis dual-password', `${run}_redis`, { rotator: 'redis', admin: '${credential:redis_admin}' }, async (u) => redisAdmin.command('ACL', 'SETUSER', u, 'on', '>p0', '+ping')]);
  try {
    for (const [label, user, policy, create] of cases) {
      await create(user);
      for (const storeName of ['local', 'dynamodb']) {
        const store = await stores[storeName]();
        const kind = label.split(' ')[0];
        const server = { postgres: { port: 5432, admin: 'pg_admin', login: { user: 'postgres', password: 'unused-trust' } }, mysql: { port: 3306, admin: 'my_admin', login: { user: 'root', password: '' } }, redis: { port: 6379, admin: 'redis_admin', login: {} } }[kind];
        await store.storeCredential(server.admin, { host: '127.0.0.1', port: server.port, ...server.login }, {});
        await store.storeCredential('app.real', { host: '127.0.0.1', port: server.port, user, password: 'p0', ...(kind === 'postgres' ? { database: 'postgres' } : {}) }, {});
        const times = [];
        let requests;
        for (let i = 0; i < REAL_RUNS; i++) {
          stack.dynamodb.requests.reset();
          stack.kms.requests.reset();
          const t = performance.now();
          await lib.rotateCredential(store, 'app.real', policy);
          times.push(performance.now() - t);
          if (storeName === 'dynamodb') requests = { dynamodb: stack.dynamodb.requests.snapshot(), kms: stack.kms.requests.snapshot() };
        }
        out.real[`${label}, ${storeName}`] = { rotation_median_ms: ms(median(times)), ...(requests === undefined ? {} : { requests }) };
        await store.close();
      }
    }
  } finally {
    for (const c of cleanup) await c();
  }
  if (!pgUp) out.real.postgres = 'skipped: no server on 127.0.0.1:5432';
  if (!redisUp) out.real.redis = 'skipped: no server on 127.0.0.1:6379';
  if (!myUp) out.real.mysql = 'skipped: no server on 127.0.0.1:3306';
} finally {
  await stack.close();
  rmSync(dir, { recursive: true, force: true });
}
out.load_average_at_end = Number(loadavg()[0].toFixed(2));
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/rotation.json', `${JSON.stringify(out, null, 2)}\n`);
process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
