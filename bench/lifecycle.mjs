#!/usr/bin/env node
// Version lifecycle figures (BENCHMARKS.md, "Version lifecycle"), beside bench/lifecycle-requests.mjs (SSM and
// Vault request counts) and the lifecycle parts of bench/dynamodb.mjs and bench/local.mjs (DynamoDB requests,
// SQL statements). Uses the built library (dist/lib: run `npm run build` first) and the test fixtures.
//   - diff of two stores of 1,000 names each (990 on both sides, 10 of them with another newest value, 10 on
//     each side only), with diffStores (what `credstash diff --store A --against B` runs):
//       - two DynamoDB tables on dynalite + the KMS test endpoint: requests counted at the endpoints (must be
//         Scans only for the listings and exactly one Decrypt per name on both sides per side: names on one
//         side only are never read), wall time and CPU time of this process (the endpoints run in it, on the
//         same thread: the CPU time is theirs and the client's together), median of DIFF_RUNS;
//       - two local keystores: wall time and CPU time, median of DIFF_RUNS.
//   - get --label p50 beside get p50 on dynalite, measured interleaved in the same run, as ratios: get of a
//     name without any lifecycle data, get of a name with labels and expiry in use (must stay the same: `get`
//     without a label keeps its requests and latency), get --label of that name; and the same get by the
//     library as built from the commit before the version lifecycle (BENCH_LIFECYCLE_BASELINE, default
//     cb3bd4b^; `none` skips it: the tree is taken with `git archive` into a temporary folder and built there
//     with this checkout's node_modules), same table, same run: today's get against the one before.
// Prints one JSON object and writes bench/results/lifecycle.json.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { importTs } from '../test/fixtures/load-ts.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
process.chdir(root);
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const libs = ['dist/lib/index.js', 'dist/lib/stores/dynamodb/index.js', 'dist/lib/stores/local/index.js'].map((p) => join(root, p));
if (!libs.every(existsSync)) {
  console.error('bench/lifecycle.mjs: dist/lib is missing; run `npm run build` first');
  process.exit(1);
}
const [{ diffStores }, { DynamoDBStore }, { LocalStore }] = await Promise.all(libs.map((p) => import(pathToFileURL(p).href)));
const { startAwsStack } = await importTs('test/fixtures/aws-stack.ts');
const { generateFernetKey } = await importTs('src/crypto/fernet.ts');

const NAMES = Number(process.env.BENCH_DIFF_NAMES ?? 1000);
const ONE_SIDE = 10; // names on each side only
const CHANGED = 10; // names on both sides whose newest values differ
const SHARED = NAMES - ONE_SIDE;
const DIFF_RUNS = Number(process.env.BENCH_DIFF_RUNS ?? 3);
const GET_RUNS = Number(process.env.BENCH_GET_RUNS ?? 1000);
const BASELINE = process.env.BENCH_LIFECYCLE_BASELINE ?? 'cb3bd4b^';

/** The DynamoDB tier as built from `commit` (in `dir`), or undefined when that cannot be done here. */
async function baselineStore(commit, dir) {
  try {
    const rev = execFileSync('git', ['rev-parse', '--verify', `${commit}^{commit}`], { encoding: 'utf8' }).trim();
    const tree = join(dir, 'baseline');
    mkdirSync(tree);
    execFileSync('sh', ['-c', 'git archive "$0" | tar -x -C "$1"', rev, tree]);
    symlinkSync(join(root, 'node_modules'), join(tree, 'node_modules'));
    execFileSync(process.execPath, ['esbuild.config.mjs', '--quiet'], { cwd: tree, stdio: ['ignore', 'ignore', 'inherit'] });
    const { DynamoDBStore: Old } = await import(pathToFileURL(join(tree, 'dist/lib/stores/dynamodb/index.js')).href);
    return { commit: rev, Store: Old };
  } catch (err) {
    return { skipped: `the build of ${commit} failed (${err instanceof Error ? err.message.split('\n')[0] : String(err)})` };
  }
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const ms = (x) => Math.round(x * 1000) / 1000;
const ratio = (x) => Math.round(x * 100) / 100;
const pad = (i) => String(i).padStart(4, '0');

/** The names and values of both sides: `shared.NNNN` on both, `first.NN` / `second.NN` on one side only. */
async function fill(first, second) {
  const jobs = [];
  for (let i = 0; i < SHARED; i++) {
    jobs.push([first, `shared.${pad(i)}`, `value-${i}`]);
    jobs.push([second, `shared.${pad(i)}`, i < CHANGED ? `other-value-${i}` : `value-${i}`]);
  }
  for (let i = 0; i < ONE_SIDE; i++) {
    jobs.push([first, `first.${pad(i)}`, `value-${i}`]);
    jobs.push([second, `second.${pad(i)}`, `value-${i}`]);
  }
  // A few writers at a time per store (the local keystore serialises its writes under its file lock anyway).
  const workers = Array.from({ length: 16 }, (_, w) => (async () => {
    for (let j = w; j < jobs.length; j += 16) {
      const [store, id, value] = jobs[j];
      await store.storeCredential(id, value);
    }
  })());
  await Promise.all(workers);
}

function checkDiff(d) {
  const want = { onlyInFirst: ONE_SIDE, onlyInSecond: ONE_SIDE, different: CHANGED, same: SHARED - CHANGED, failed: 0 };
  const got = Object.fromEntries(Object.keys(want).map((k) => [k, d[k].length]));
  if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`diff answered ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
  if (d.different.some((x) => x.diff.from !== undefined || x.diff.to !== undefined)) throw new Error('diff put a value in its answer without showValues');
}

async function timedDiffs(first, second, each) {
  await diffStores(first, second).then(checkDiff); // warm: clients, connections, the keystore caches
  const times = [];
  const cpu = [];
  for (let i = 0; i < DIFF_RUNS; i++) {
    await each?.before?.();
    const c = process.cpuUsage();
    const t = performance.now();
    const d = await diffStores(first, second);
    times.push(performance.now() - t);
    const u = process.cpuUsage(c);
    cpu.push((u.user + u.system) / 1000);
    await each?.after?.();
    checkDiff(d);
  }
  return { median_ms: ms(pct(times, 50)), min_ms: ms(Math.min(...times)), cpu_median_ms: ms(pct(cpu, 50)) };
}

const result = { bench: 'lifecycle', node: process.version, load_average_at_start: ratio(loadavg()[0]), diff_runs: DIFF_RUNS };
const stack = await startAwsStack();
const dir = mkdtempSync(join(tmpdir(), 'credstash-bench-lifecycle-'));
try {
  const mk = (table) => new DynamoDBStore({ table, region: stack.region, endpointUrl: stack.dynamodb.endpoint, kmsEndpointUrl: stack.kms.endpoint });
  const snapshot = () => ({ dynamodb: stack.dynamodb.requests.snapshot(), kms: stack.kms.requests.snapshot() });
  const reset = () => {
    stack.dynamodb.requests.reset();
    stack.kms.requests.reset();
  };

  // 1. Diff of two DynamoDB tables of 1,000 names.
  {
    const first = mk('bench-diff-first');
    const second = mk('bench-diff-second');
    await Promise.all([first.setup(), second.setup()]);
    await fill(first, second);
    const counts = [];
    const timing = await timedDiffs(first, second, { before: reset, after: () => counts.push(snapshot()) });
    const same = counts.every((c) => JSON.stringify(c) === JSON.stringify(counts[0]));
    const req = counts[0];
    const reads = SHARED * 2; // each name on both sides, once per side
    const ok =
      same &&
      req.kms.Decrypt === reads &&
      Object.keys(req.kms).length === 1 &&
      (req.dynamodb.Scan ?? 0) >= 2 &&
      ['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem'].every((op) => req.dynamodb[op] === undefined);
    result.diff_dynamodb = {
      names_per_side: NAMES,
      on_both_sides: SHARED,
      different: CHANGED,
      on_one_side_only: ONE_SIDE,
      concurrency: 16,
      requests: req,
      request_counts_same_every_run: same,
      expected_decrypts: reads,
      ok,
      ...timing,
    };
    await Promise.all([first.close(), second.close()]);
  }

  // 2. get --label beside get on dynalite, and get of the build before the lifecycle, interleaved (the same load for each).
  {
    const store = mk('bench-lifecycle-get');
    await store.setup();
    const ctx = { env: 'prod' };
    await store.storeCredential('plain.db', 'v1', { context: ctx });
    const base = BASELINE === 'none' ? { skipped: 'BENCH_LIFECYCLE_BASELINE=none' } : await baselineStore(BASELINE, dir);
    const old = base.Store && new base.Store({ table: 'bench-lifecycle-get', region: stack.region, endpointUrl: stack.dynamodb.endpoint, kmsEndpointUrl: stack.kms.endpoint });
    for (let i = 1; i <= 3; i++) await store.storeCredential('life.db', `v${i}`, { version: i, context: ctx, expiresAt: '90d' });
    await store.labelCredential('life.db', 'current', { version: 2, context: ctx });
    const ops = {
      get: () => store.getCredential('plain.db', { context: ctx, required: true }),
      get_with_lifecycle: () => store.getCredential('life.db', { context: ctx, required: true }),
      get_label: () => store.getCredential('life.db', { label: 'current', context: ctx, required: true }),
      ...(old ? { get_before_lifecycle: () => old.getCredential('plain.db', { context: ctx, required: true }) } : {}),
    };
    const requests = {};
    for (const [k, fn] of Object.entries(ops)) {
      reset();
      await fn();
      requests[k] = snapshot();
    }
    for (let i = 0; i < 200; i++) for (const fn of Object.values(ops)) await fn(); // warm
    const samples = Object.fromEntries(Object.keys(ops).map((k) => [k, []]));
    const order = Object.keys(ops);
    for (let i = 0; i < GET_RUNS; i++) {
      for (let j = 0; j < order.length; j++) {
        const k = order[(i + j) % order.length]; // rotate which goes first
        const t = performance.now();
        await ops[k]();
        samples[k].push(performance.now() - t);
      }
    }
    const p50 = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, ms(pct(v, 50))]));
    result.get_label_dynamodb = {
      runs: GET_RUNS,
      requests,
      p50_ms: p50,
      p95_ms: Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, ms(pct(v, 95))])),
      ratio_get_label_to_get: ratio(p50.get_label / p50.get),
      ratio_get_with_lifecycle_to_get: ratio(p50.get_with_lifecycle / p50.get),
      ...(old
        ? {
            baseline_commit: base.commit,
            ratio_get_to_get_before_lifecycle: ratio(p50.get / p50.get_before_lifecycle),
            requests_same_as_before_lifecycle: JSON.stringify(requests.get) === JSON.stringify(requests.get_before_lifecycle),
          }
        : { baseline_skipped: base.skipped }),
    };
    await store.close();
    await old?.close();
  }

  // 3. Diff of two local keystores of 1,000 names.
  {
    const key = generateFernetKey();
    const first = new LocalStore({ path: join(dir, 'first', 'keystore.json'), fernetKeys: [key] });
    const second = new LocalStore({ path: join(dir, 'second', 'keystore.json'), fernetKeys: [key] });
    await fill(first, second);
    const timing = await timedDiffs(first, second);
    result.diff_local = { names_per_side: NAMES, on_both_sides: SHARED, different: CHANGED, on_one_side_only: ONE_SIDE, ...timing };
    await Promise.all([first.close?.(), second.close?.()]);
  }
  result.load_average_at_end = ratio(loadavg()[0]);
} finally {
  await stack.close();
  rmSync(dir, { recursive: true, force: true });
}

mkdirSync(join(root, 'bench/results'), { recursive: true });
writeFileSync(join(root, 'bench/results/lifecycle.json'), `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result, null, 2));
if (result.get_label_dynamodb.requests_same_as_before_lifecycle === false) {
  console.error('bench/lifecycle.mjs: get sends other requests than the build before the version lifecycle');
  process.exitCode = 1;
}
if (!result.diff_dynamodb.ok) {
  console.error('bench/lifecycle.mjs: the requests of the DynamoDB store diff differ from the expected ones');
  process.exitCode = 1;
}
