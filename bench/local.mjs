#!/usr/bin/env node
// Fernet-tier figures (BENCHMARKS.md). Uses the built library (dist/lib: run `npm run build` first).
//   - local keystore: library get, warm, p50/p95 (target p50 <= 0.2 ms)
//   - local keystore of 10,000 credentials: open + get in a cold process, median of 7 (target <= 150 ms),
//     as wall time of the whole `node` process and as time inside it (import + open + get)
//   - `credstash get` on the local keystore, cold CLI process, median of 7 (target <= 100 ms), and whether any
//     AWS SDK module was loaded (must be false)
//   - SQLite: get p50 (target <= 0.5 ms), put -a p50 (target <= 2 ms)
//   - PostgreSQL and MariaDB (127.0.0.1): the same figures, reported beside them (skipped when no server answers)
//   - the version lifecycle (docs/lifecycle.md), on each SQL engine: statements sent per operation, counted by
//     a Kysely log on the store's connection (must be exactly: get 1; get --label 2, the lifecycle row and the
//     version; a label move 3, the version exists, the record, its compare-and-set; history of 100 versions 2,
//     the versions and the labels, nothing decrypted; get unchanged beside labels and expiry), and get --label
//     p50 beside get p50 on the local keystore and each SQL engine
// Prints one JSON object and writes bench/results/local.json.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { importTs } from '../test/fixtures/load-ts.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
process.chdir(root);
const libLocal = join(root, 'dist/lib/stores/local/index.js');
const libSql = join(root, 'dist/lib/stores/sql/index.js');
if (!existsSync(libLocal) || !existsSync(libSql)) {
  console.error('bench/local.mjs: dist/lib is missing; run `npm run build` first');
  process.exit(1);
}
const { LocalStore } = await import(pathToFileURL(libLocal).href);
const { SqlStore } = await import(pathToFileURL(libSql).href);
const { FernetCodec } = await importTs('src/stores/fernet-codec.ts');
const { serializeKeystore } = await importTs('src/stores/local/local-keystore-file.ts');
const { generateFernetKey } = await importTs('src/crypto/fernet.ts');
const { createDialect } = await importTs('src/stores/sql/sql-dialects.ts');
const { Kysely } = await import('kysely');

const RUNS = Number(process.env.BENCH_GET_RUNS ?? 2000);
const PUT_RUNS = Number(process.env.BENCH_PUT_RUNS ?? 300);
const COLD_RUNS = 7;
const KEY = generateFernetKey();
const dir = mkdtempSync(join(tmpdir(), 'credstash-bench-local-'));
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const ms = (x) => Math.round(x * 1000) / 1000;
async function timeEach(n, fn) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn(i);
    out.push(performance.now() - t);
  }
  return out;
}
async function storeFigures(store, label) {
  await store.storeCredential('bench.get', 's3cret-value', { context: { env: 'bench' } });
  for (let i = 0; i < 50; i++) await store.getCredential('bench.get', { context: { env: 'bench' } }); // warm up
  const gets = await timeEach(RUNS, () => store.getCredential('bench.get', { context: { env: 'bench' } }));
  const puts = await timeEach(PUT_RUNS, (i) => store.storeCredential('bench.put', `v${i}`, { autoVersion: true }));
  return { label, get_p50_ms: ms(pct(gets, 50)), get_p95_ms: ms(pct(gets, 95)), put_auto_p50_ms: ms(pct(puts, 50)), put_auto_p95_ms: ms(pct(puts, 95)) };
}
const portOpen = (port) =>
  new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    const done = (ok) => (s.destroy(), resolve(ok));
    s.setTimeout(1000, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });

/** The SQL statements each lifecycle operation sends, counted on the connection; and get --label p50 beside get p50. */
const LIFECYCLE_EXPECTED = { 'get (latest)': 1, 'get --label': 2, 'label move': 3, 'history (100 versions)': 2, 'get (latest), with labels and expiry in use': 1 };
async function lifecycleFigures(engine, table) {
  let statements = 0;
  const db = new Kysely({ dialect: await createDialect(engine), log: (ev) => void (ev.level === 'query' && statements++) });
  const store = new SqlStore({ engine, table, fernetKeys: [KEY], db });
  const counted = async (fn) => {
    statements = 0;
    await fn();
    return statements;
  };
  try {
    const ctx = { env: 'bench' };
    for (let i = 1; i <= 3; i++) await store.storeCredential('life.db', `v${i}`, { version: i, context: ctx, expiresAt: '90d' });
    await store.labelCredential('life.db', 'current', { version: 2, context: ctx });
    const statementsPer = {};
    statementsPer['get (latest)'] = await counted(() => store.getCredential('life.db', { context: ctx }));
    statementsPer['get --label'] = await counted(() => store.getCredential('life.db', { label: 'current', context: ctx }));
    statementsPer['label move'] = await counted(() => store.labelCredential('life.db', 'current', { version: 3, context: ctx }));
    for (let i = 1; i <= 100; i++) await store.storeCredential('hist.db', `v${i}`, { version: i });
    statementsPer['history (100 versions)'] = await counted(async () => {
      const h = await store.credentialHistory('hist.db');
      if (h.length !== 100) throw new Error(`history returned ${h.length} of 100 versions`);
    });
    statementsPer['get (latest), with labels and expiry in use'] = await counted(() => store.getCredential('life.db', { context: ctx }));
    const labelled = await timeEach(Math.min(RUNS, 500), () => store.getCredential('life.db', { label: 'current', context: ctx }));
    const plain = await timeEach(Math.min(RUNS, 500), () => store.getCredential('life.db', { context: ctx }));
    return {
      statements: statementsPer,
      expected: LIFECYCLE_EXPECTED,
      ok: Object.entries(LIFECYCLE_EXPECTED).every(([op, n]) => statementsPer[op] === n),
      get_label_p50_ms: ms(pct(labelled, 50)),
      get_p50_ms: ms(pct(plain, 50)),
    };
  } finally {
    await store.close();
    await db.destroy();
  }
}

const results = { node: process.version, loadavg_1m_at_start: Math.round(loadavg()[0] * 100) / 100, runs: { get: RUNS, put: PUT_RUNS, cold: COLD_RUNS } };

// 1. local keystore, library get warm
{
  const store = new LocalStore({ path: join(dir, 'warm', 'keystore.json'), fernetKeys: [KEY] });
  for (let i = 0; i < 100; i++) await store.storeCredential(`filler.${i}`, `value-${i}`);
  const f = await storeFigures(store, 'local');
  results.local = { get_warm_p50_ms: f.get_p50_ms, get_warm_p95_ms: f.get_p95_ms, put_auto_p50_ms: f.put_auto_p50_ms, target_get_warm_p50_ms: 0.2 };
  // the version lifecycle: a labelled get reads the (cached) file once more, and decrypts the one token
  await store.labelCredential('bench.get', 'current', { version: 1, context: { env: 'bench' } });
  for (let i = 0; i < 50; i++) await store.getCredential('bench.get', { label: 'current', context: { env: 'bench' } });
  const labelled = await timeEach(RUNS, () => store.getCredential('bench.get', { label: 'current', context: { env: 'bench' } }));
  for (let i = 1; i <= 100; i++) await store.storeCredential('hist.db', `v${i}`, { version: i });
  const history = await timeEach(20, () => store.credentialHistory('hist.db'));
  results.local_lifecycle = { get_label_p50_ms: ms(pct(labelled, 50)), history_100_versions_p50_ms: ms(pct(history, 50)) };
}

// 2. 10,000-credential keystore: open + get in a cold process
{
  const codec = new FernetCodec([KEY]);
  const entries = [];
  for (let i = 0; i < 10_000; i++) {
    const id = `app${i % 100}.service${i}.password`;
    const version = '0000000000000000001';
    entries.push({ id, version, token: codec.seal({ id, version, value: randomBytes(24).toString('base64'), context: {} }) });
  }
  const path = join(dir, 'big', 'keystore.json');
  mkdirSync(join(dir, 'big'), { recursive: true, mode: 0o700 });
  writeFileSync(path, serializeKeystore(entries), { mode: 0o600 });
  const script = `
const t0 = performance.now();
const { LocalStore } = await import(${JSON.stringify(pathToFileURL(libLocal).href)});
const store = new LocalStore({ path: ${JSON.stringify(path)}, fernetKeys: [${JSON.stringify(KEY)}] });
const c = await store.getCredential('app42.service4242.password', { required: true });
if (typeof c.value !== 'string') process.exit(3);
process.stdout.write(JSON.stringify({ inside: performance.now() - t0, total: performance.now() }));`;
  const wall = [];
  const inside = [];
  for (let i = 0; i < COLD_RUNS; i++) {
    const t = performance.now();
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    wall.push(performance.now() - t);
    inside.push(JSON.parse(out).inside);
  }
  results.local_10k_cold = {
    credentials: entries.length,
    file_bytes: serializeKeystore(entries).length,
    process_wall_median_ms: ms(pct(wall, 50)),
    import_open_get_median_ms: ms(pct(inside, 50)),
    target_ms: 150,
  };
}

// 3. `credstash get` on the local keystore, cold CLI process
{
  const bin = join(root, 'bin/credstash');
  const proj = join(dir, 'cli');
  mkdirSync(proj);
  const env = { PATH: process.env.PATH, HOME: dir };
  const init = spawnSync(process.execPath, [bin, 'init'], { cwd: proj, env, encoding: 'utf8' });
  const put = spawnSync(process.execPath, [bin, 'put', 'app.db', 's3cret'], { cwd: proj, env, encoding: 'utf8' });
  if (init.status === 0 && put.status === 0) {
    const wall = [];
    for (let i = 0; i < COLD_RUNS; i++) {
      const t = performance.now();
      const r = spawnSync(process.execPath, [bin, 'get', 'app.db'], { cwd: proj, env, encoding: 'utf8' });
      wall.push(performance.now() - t);
      if (r.stdout.trim() !== 's3cret') throw new Error(`credstash get printed something else (exit ${r.status})`);
    }
    // Which modules does a cold `get` load? A resolve hook records every module URL; a loaded file that
    // contains AWS SDK code (bundled chunks included) means the SDK was imported.
    const log = join(dir, 'modules.log');
    const hooks = join(dir, 'hooks.mjs');
    const reg = join(dir, 'register.mjs');
    writeFileSync(hooks, `import { appendFileSync } from 'node:fs';\nexport async function resolve(s, c, next) { const r = await next(s, c); appendFileSync(${JSON.stringify(log)}, r.url + '\\n'); return r; }\n`);
    writeFileSync(reg, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
    spawnSync(process.execPath, ['--import', pathToFileURL(reg).href, bin, 'get', 'app.db'], { cwd: proj, env, encoding: 'utf8' });
    const loaded = existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter((u) => u.startsWith('file:')) : [];
    const awsLoaded = loaded.some((u) => /@aws-sdk/.test(u) || /client-(kms|dynamodb|ssm|sts)/.test(readFileSync(fileURLToPath(u), 'utf8').slice(0, 2_000_000)));
    results.cli_get_local_cold = {
      process_wall_median_ms: ms(pct(wall, 50)),
      target_ms: 100,
      modules_loaded: loaded.length,
      aws_sdk_loaded: awsLoaded,
    };
  } else {
    results.cli_get_local_cold = { skipped: `credstash init/put failed: ${(init.stderr || put.stderr).trim().split('\n')[0]}` };
  }
}

// 4. SQLite, then PostgreSQL and MariaDB beside it
{
  const sqlite = new SqlStore({ engine: { name: 'sqlite', path: join(dir, 'sqlite', 'data.db') }, fernetKeys: [KEY] });
  const f = await storeFigures(sqlite, 'sqlite');
  await sqlite.close();
  results.sqlite = { get_p50_ms: f.get_p50_ms, get_p95_ms: f.get_p95_ms, put_auto_p50_ms: f.put_auto_p50_ms, put_auto_p95_ms: f.put_auto_p95_ms, target_get_p50_ms: 0.5, target_put_auto_p50_ms: 2 };
  results.sqlite_lifecycle = await lifecycleFigures({ name: 'sqlite', path: join(dir, 'sqlite', 'data.db'), timeoutMs: 5000 }, 'lifecycle_bench');
}
const dbName = `credstash_bench_${process.pid}_${randomBytes(3).toString('hex')}`;
if (await portOpen(5432)) {
  const pg = (await import('pg')).default;
  const admin = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres' });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  try {
    const store = new SqlStore({ engine: { name: 'postgres', host: '127.0.0.1', port: 5432, user: 'postgres', database: dbName }, fernetKeys: [KEY] });
    const f = await storeFigures(store, 'postgres');
    await store.close();
    results.postgres = { get_p50_ms: f.get_p50_ms, get_p95_ms: f.get_p95_ms, put_auto_p50_ms: f.put_auto_p50_ms, put_auto_p95_ms: f.put_auto_p95_ms };
    results.postgres_lifecycle = await lifecycleFigures({ name: 'postgres', host: '127.0.0.1', port: 5432, user: 'postgres', database: dbName, timeoutMs: 5000 }, 'lifecycle_bench');
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
  }
} else results.postgres = { skipped: 'no server on 127.0.0.1:5432' };
if (await portOpen(3306)) {
  const mysql = await import('mysql2/promise');
  const admin = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', password: '' });
  await admin.query(`CREATE DATABASE ${dbName} CHARACTER SET utf8mb4`);
  try {
    const store = new SqlStore({ engine: { name: 'mysql', host: '127.0.0.1', port: 3306, user: 'root', password: '', database: dbName }, fernetKeys: [KEY] });
    const f = await storeFigures(store, 'mariadb');
    await store.close();
    results.mariadb = { get_p50_ms: f.get_p50_ms, get_p95_ms: f.get_p95_ms, put_auto_p50_ms: f.put_auto_p50_ms, put_auto_p95_ms: f.put_auto_p95_ms };
    results.mariadb_lifecycle = await lifecycleFigures({ name: 'mysql', host: '127.0.0.1', port: 3306, user: 'root', password: '', database: dbName, timeoutMs: 5000 }, 'lifecycle_bench');
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${dbName}`);
    await admin.end();
  }
} else results.mariadb = { skipped: 'no server on 127.0.0.1:3306' };

rmSync(dir, { recursive: true, force: true });
mkdirSync(join(root, 'bench/results'), { recursive: true });
writeFileSync(join(root, 'bench/results/local.json'), `${JSON.stringify(results, null, 2)}\n`);
console.log(JSON.stringify(results, null, 2));
const wrong = ['sqlite', 'postgres', 'mariadb'].filter((e) => results[`${e}_lifecycle`] !== undefined && !results[`${e}_lifecycle`].ok);
if (wrong.length > 0) {
  console.error(`bench/local.mjs: lifecycle statement counts differ from the expected ones on ${wrong.join(', ')}`);
  process.exitCode = 1;
}
