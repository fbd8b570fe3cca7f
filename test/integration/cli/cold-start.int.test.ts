import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, ROOT, runCli } from '../../helpers/cli.js';

// `credstash get` on the local keystore must not load any AWS SDK code. Checked two ways:
// at run time, by recording every module the process resolves (a module.register hook), and in the
// bundle's chunk graph (dist/cli-meta.json written by esbuild.config.mjs).
const HOOK = fileURLToPath(new URL('../../helpers/record-modules.mjs', import.meta.url));
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'credstash-cold-'));
  expect((await runCli(['init'], { cwd: dir, env: cleanEnv(dir) })).code).toBe(0);
  expect((await runCli(['put', 'a', 'v'], { cwd: dir, env: cleanEnv(dir) })).code).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function awsChunks(): Set<string> {
  const meta = JSON.parse(readFileSync(join(ROOT, 'dist/cli-meta.json'), 'utf8')) as { outputs: Record<string, { inputs: Record<string, unknown> }> };
  const out = new Set<string>();
  for (const [file, o] of Object.entries(meta.outputs)) {
    if (Object.keys(o.inputs).some((i) => /node_modules\/@(aws-sdk|smithy|aws-crypto)\//.test(i))) out.add(join(ROOT, file));
  }
  return out;
}

describe('credstash get on the local keystore', () => {
  it('loads no chunk that holds AWS SDK code', async () => {
    const log = join(dir, 'modules.log');
    const r = await runCli(['get', 'a'], { cwd: dir, env: cleanEnv(dir, { CREDSTASH_MODULE_LOG: log }), nodeArgs: ['--import', HOOK] });
    expect(r).toMatchObject({ code: 0, stdout: 'v\n' });
    const loaded = readFileSync(log, 'utf8').split('\n').filter((l) => l !== '').map((u) => fileURLToPath(u));
    expect(loaded.some((f) => f.endsWith('dist/cli/main.js'))).toBe(true);
    expect(loaded.some((f) => /chunks\/local-/.test(f))).toBe(true);
    const aws = awsChunks();
    expect(aws.size).toBeGreaterThan(0); // the graph does contain SDK chunks: the check below can fail
    expect(loaded.filter((f) => aws.has(f) || f.includes('node_modules/@aws-sdk'))).toEqual([]);
  });

  it('loads AWS SDK chunks when the store is dynamodb (the recorder sees them)', async () => {
    const log = join(dir, 'modules-ddb.log');
    const env = cleanEnv(dir, { CREDSTASH_MODULE_LOG: log, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y', AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:9', AWS_MAX_ATTEMPTS: '1' });
    const r = await runCli(['--store-type', 'dynamodb', 'get', 'a'], { cwd: dir, env, nodeArgs: ['--import', HOOK] });
    expect(r.code).toBe(1);
    const loaded = readFileSync(log, 'utf8').split('\n').filter((l) => l !== '').map((u) => fileURLToPath(u));
    const aws = awsChunks();
    expect(loaded.filter((f) => aws.has(f)).length).toBeGreaterThan(0);
  });

  it('no chunk of the CLI imports a Node built-in as an ES module (its facade reads every export: node:http loaded undici on Node 22+)', () => {
    const meta = JSON.parse(readFileSync(join(ROOT, 'dist/cli-meta.json'), 'utf8')) as { outputs: Record<string, { imports: Array<{ path: string; kind: string }> }> };
    const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
    // (A bundled CommonJS package's own require() of a built-in is a require-call, which builds no facade.)
    const imports = Object.entries(meta.outputs).flatMap(([file, o]) => o.imports.filter((i) => builtins.has(i.path) && i.kind !== 'require-call').map((i) => `${file} ${i.kind} ${i.path}`));
    expect(imports).toEqual([]);
    // They are taken with process.getBuiltinModule (the SDK's HTTP handler takes node:http so), and so is
    // node:module for the banner's require().
    const code = Object.keys(meta.outputs).filter((f) => f.endsWith('.js')).map((f) => readFileSync(join(ROOT, f), 'utf8'));
    expect(code.some((c) => c.includes('process.getBuiltinModule("node:http")'))).toBe(true);
    expect(code.filter((c) => /\b(from\s*|import\s*\(\s*)["'](node:)?(http|https|crypto|fs|process|util|module)["']/.test(c))).toEqual([]);
  });

  it('--help loads neither the config parser nor any store', async () => {
    const log = join(dir, 'modules-help.log');
    const r = await runCli(['--help'], { cwd: dir, env: cleanEnv(dir, { CREDSTASH_MODULE_LOG: log }), nodeArgs: ['--import', HOOK] });
    expect(r.code).toBe(0);
    const loaded = readFileSync(log, 'utf8').split('\n').filter((l) => l !== '');
    expect(loaded.filter((u) => /chunks\/(load|local|dynamodb|sql|ssm)-/.test(u))).toEqual([]);
  });
});
