#!/usr/bin/env node
// CLI cold starts (issue 2 and 3 figures): median wall time of >= 10 fresh `node bin/credstash ...`
// processes for `--help`, `get` on the local keystore, and `get` against dynalite + the KMS fixture on
// loopback (test/fixtures/aws-stack.mjs in a child process). Needs a built dist/ (npm run build).
// Prints a JSON object and writes bench/results/cli.json.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'bin/credstash');
const runs = Math.max(10, Number(process.env.BENCH_RUNS ?? 15));

function baseEnv(home, extra = {}) {
  return { PATH: process.env.PATH, HOME: home, AWS_EC2_METADATA_DISABLED: 'true', AWS_CONFIG_FILE: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent', ...extra };
}

function once(args, cwd, env) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, env, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`credstash ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}

function measure(args, cwd, env) {
  once(args, cwd, env); // warm the OS file cache; every measured run is still a new process
  const times = Array.from({ length: runs }, () => once(args, cwd, env)).sort((a, b) => a - b);
  const mid = times.length >> 1;
  const median = times.length % 2 ? times[mid] : (times[mid - 1] + times[mid]) / 2;
  return { median_ms: round(median), min_ms: round(times[0]), max_ms: round(times.at(-1)), runs };
}

const round = (x) => Math.round(x * 10) / 10;

spawnSync(process.execPath, [join(root, 'esbuild.config.mjs'), '--quiet'], { stdio: 'inherit' });
const dir = mkdtempSync(join(tmpdir(), 'credstash-bench-cli-'));
const results = { node: process.version, runs };
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
  } finally {
    stack.stdin.end();
    stack.kill('SIGTERM');
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
mkdirSync(join(root, 'bench/results'), { recursive: true });
writeFileSync(join(root, 'bench/results/cli.json'), `${JSON.stringify(results, null, 2)}\n`);
process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
