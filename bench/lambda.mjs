#!/usr/bin/env node
// Lambda figures (cache and cold start, BENCHMARKS.md). Bundles docs/examples/lambda/handler.ts with esbuild the way a Lambda
// deployment would (minified, platform node, ESM, the AWS SDK bundled, nothing external), code-split as the
// tiers are written (SDK clients and STS are dynamic imports), then runs the handler in fresh node processes
// against dynalite + the KMS test endpoint (test/fixtures/aws-stack.ts) and reports:
//   - the get path: bytes of every bundle file a cold get actually loaded (target <= 600 KB); each output file
//     carries a one-line banner that records its own URL, so the list is measured, not guessed
//   - cold import time of the handler module, and cold import + first get (median of 7; target <= 150 ms import)
//   - whether SSM, STS, yargs, smol-toml or a SQL driver was loaded (must not be)
//   - the single-file bundle size (everything inlined), for reference
// Prints one JSON object and writes bench/results/lambda.json.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { importTs } from '../test/fixtures/load-ts.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
process.chdir(root);
const out = mkdtempSync(join(tmpdir(), 'credstash-lambda-'));
const requireShim = "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);";
const common = {
  entryPoints: { handler: 'docs/examples/lambda/handler.ts' },
  bundle: true,
  minify: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  // ESM builds of the SDK first (as AWS CDK's NodejsFunction does for ESM output): named exports survive code
  // splitting, and tree-shaking works. With the CommonJS builds, a split chunk's namespace has only `default`.
  mainFields: ['module', 'main'],
  metafile: true,
  legalComments: 'none',
  logLevel: 'error',
};

const single = await build({ ...common, outdir: join(out, 'single'), banner: { js: requireShim } });
void single;
const singleBytes = statSync(join(out, 'single', 'handler.js')).size;

const splitDir = join(out, 'split');
const split = await build({
  ...common,
  outdir: splitDir,
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  banner: { js: `${requireShim} (globalThis.__credstashLoaded ??= []).push(import.meta.url);` },
});
const outputs = split.metafile.outputs;

// A credential to read, with context, in a real (local) DynamoDB + KMS endpoint.
const { startAwsStack } = await importTs('test/fixtures/aws-stack.ts');
const { DynamoDBStore } = await importTs('src/stores/dynamodb/index.ts');
const stack = await startAwsStack();
const seed = new DynamoDBStore({ table: 'credential-store', region: stack.region, endpointUrl: stack.dynamodb.endpoint, kmsEndpointUrl: stack.kms.endpoint });
await seed.setup();
await seed.storeCredential('myapp.db.prod', { user: 'app', password: 'bench-only' }, { context: { env: 'prod' } });
await seed.close();

function run(args, env) {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d) => (stdout += d));
    c.stderr.on('data', (d) => (stderr += d));
    c.on('exit', (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
}

const handlerUrl = pathToFileURL(join(splitDir, 'handler.js')).href;
const child = `
const t0 = performance.now();
const m = await import(${JSON.stringify(handlerUrl)});
const t1 = performance.now();
const r = await m.handler();
const t2 = performance.now();
const again = await m.handler();
const t3 = performance.now();
console.log(JSON.stringify({ importMs: t1 - t0, firstGetMs: t2 - t1, cachedGetMs: t3 - t2, status: r.statusCode, cachedStatus: again.statusCode, loaded: globalThis.__credstashLoaded }));
process.exit(0); // the SDK keeps its keep-alive sockets open, as a warm Lambda container would
`;
const env = { PATH: process.env.PATH ?? '', ...stack.env(), CREDENTIAL_ID: 'myapp.db.prod', APP_ENV: 'prod', CREDSTASH_TABLE: 'credential-store' };
const RUNS = 7;
const runs = [];
for (let i = 0; i < RUNS; i++) {
  // Asynchronous: dynalite and the KMS endpoint answer from this process's event loop.
  const r = await run(['--input-type=module', '-e', child], env);
  if (r.status !== 0) {
    console.error(`handler process failed (status ${r.status}, signal ${r.signal}, error ${r.error?.code ?? 'none'})`);
    console.error(r.stdout, r.stderr);
    await stack.close();
    process.exit(1);
  }
  const res = JSON.parse(r.stdout.trim().split('\n').at(-1));
  if (res.status !== 200 || res.cachedStatus !== 200) throw new Error('handler did not answer 200');
  runs.push(res);
}
await stack.close();

const loadedFiles = [...new Set(runs[0].loaded.map((u) => fileURLToPath(u)))];
const bytes = loadedFiles.reduce((n, f) => n + statSync(f).size, 0);
const rel = (f) => f.slice(root.length).replace(/^\//, '');
const inputs = Object.entries(outputs)
  .filter(([f]) => loadedFiles.some((l) => l.endsWith(f.replace(/^.*\/split\//, '/split/').replace(/^\/?/, '')) || l === join(root, f)))
  .flatMap(([, o]) => Object.keys(o.inputs));
const has = (re) => inputs.some((p) => re.test(p));
const median = (xs) => Math.round([...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] * 10) / 10;
rmSync(out, { recursive: true, force: true });

const figures = {
  bundle: 'docs/examples/lambda/handler.ts (esbuild, minified, platform node, ESM, AWS SDK bundled, code-split)',
  getPathFiles: loadedFiles.length,
  getPathBytes: bytes,
  getPathKB: Math.round((bytes / 1024) * 10) / 10,
  getPathTargetKB: 600,
  singleFileKB: Math.round((singleBytes / 1024) * 10) / 10,
  coldImportMsMedian: median(runs.map((r) => r.importMs)),
  coldImportTargetMs: 150,
  coldFirstGetMsMedian: median(runs.map((r) => r.firstGetMs)),
  cachedGetMsMedian: median(runs.map((r) => r.cachedGetMs)),
  loaded: {
    ssm: has(/@aws-sdk\/client-ssm\//),
    sts: has(/@aws-sdk\/client-sts\//),
    yargs: has(/node_modules\/yargs\//),
    smolToml: has(/node_modules\/smol-toml\//),
    sql: has(/node_modules\/(better-sqlite3|pg|mysql2|kysely)\//),
  },
  inputsMeasured: inputs.length > 0,
  node: process.version,
};
figures.meetsTargets = bytes <= 600 * 1024 && figures.coldImportMsMedian <= 150 && !Object.values(figures.loaded).some(Boolean);
void rel;
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/lambda.json', `${JSON.stringify(figures, null, 2)}\n`);
console.log(JSON.stringify(figures, null, 2));
