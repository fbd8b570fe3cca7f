#!/usr/bin/env node
// CLI cold starts: median wall time of 41 (BENCH_RUNS, at least 10) fresh `node bin/credstash ...` processes for `--help`, `get`
// on the local keystore, and `get` against dynalite + the KMS fixture on loopback
// (test/fixtures/aws-stack.mjs in a child process), each interleaved run by run with a bare `node -e 0` of
// the same Node binary, so that the ratio to Node's own start holds when the machine's speed drifts.
// Runs under whichever Node executes it (bench/run.mjs runs it once per installed Node major). Needs a
// built dist/ (npm run build). Prints a JSON object and writes bench/results/cli[-nodeNN].json.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'bin/credstash');
const runs = Math.max(10, Number(process.env.BENCH_RUNS ?? 41));

function baseEnv(home, extra = {}) {
  return { PATH: process.env.PATH, HOME: home, AWS_EC2_METADATA_DISABLED: 'true', AWS_CONFIG_FILE: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent', ...extra };
}

function spawnTimed(argv, cwd, env) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, argv, { cwd, env, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}
const once = (args, cwd, env) => spawnTimed([bin, ...args], cwd, env);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};

/** `runs` pairs: a bare `node -e 0`, then the command; the ratio is taken pair by pair. */
function measure(args, cwd, env) {
  once(args, cwd, env); // warm the OS file cache; every measured run is still a new process
  spawnTimed(['-e', '0'], cwd, env);
  const base = [];
  const times = [];
  const ratios = [];
  for (let i = 0; i < runs; i++) {
    const b = spawnTimed(['-e', '0'], cwd, env);
    const t = once(args, cwd, env);
    base.push(b);
    times.push(t);
    ratios.push(t / b);
  }
  return {
    median_ms: round(median(times)),
    min_ms: round(Math.min(...times)),
    max_ms: round(Math.max(...times)),
    node_e0_median_ms: round(median(base)),
    ratio_to_node_e0: Math.round(median(ratios) * 100) / 100,
    runs,
  };
}

const round = (x) => Math.round(x * 10) / 10;

spawnSync(process.execPath, [join(root, 'esbuild.config.mjs'), '--quiet'], { stdio: 'inherit' });
const dir = mkdtempSync(join(tmpdir(), 'credstash-bench-cli-'));
const results = { node: process.version, runs, load_average_at_start: Math.round(loadavg()[0] * 100) / 100 };
try {
  const local = join(dir, 'local');
  mkdirSync(local);
  const localEnv = baseEnv(local);
  spawnSync(process.execPath, [bin, 'init'], { cwd: local, env: localEnv });
  once(['put', 'bench.secret', 'value'], local, localEnv);
  results.help = { target_ms: 120, ...measure(['--help'], local, localEnv) };
  results.get_local = { target_ms: 100, ...measure(['get', 'bench.secret'], local, localEnv) };

  const stack = spawn(process.execPath, [join(root, 'test/fixtures/aws-stack.mjs'), '--table', 'credential-store'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const line = await new Promise((resolve, reject) => {
    createInterface({ input: stack.stdout }).once('line', resolve);
    stack.once('exit', (c) => reject(new Error(`aws-stack exited ${c}`)));
  });
  try {
    const info = JSON.parse(line);
    const ddb = join(dir, 'ddb');
    mkdirSync(ddb);
    const ddbEnv = baseEnv(ddb, info.env);
    once(['put', 'bench.secret', 'value'], ddb, ddbEnv);
    results.get_dynamodb = { target_ms: 200, ...measure(['get', 'bench.secret'], ddb, ddbEnv) };
    // bin/credstash keeps compiled code between runs (the fast path's V8 code cache on every Node, Node's
    // module compile cache on Node >= 22.1); the figures above are with them filled by the first (unmeasured)
    // run. This one is every run as the very first one.
    results.get_dynamodb_no_compile_cache = measure(['get', 'bench.secret'], ddb, { ...ddbEnv, NODE_DISABLE_COMPILE_CACHE: '1' });
  } finally {
    stack.stdin.end();
    stack.kill('SIGTERM');
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
results.load_average_at_end = Math.round(loadavg()[0] * 100) / 100;
mkdirSync(join(root, 'bench/results'), { recursive: true });
const major = process.versions.node.split('.')[0];
writeFileSync(join(root, `bench/results/${process.env.BENCH_NODE_SUFFIX === '1' ? `cli-node${major}` : 'cli'}.json`), `${JSON.stringify(results, null, 2)}\n`);
process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
