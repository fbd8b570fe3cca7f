import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, BUILD, cleanEnv, DIST, ROOT, runCli } from '../../helpers/cli.js';

// What `credstash get` loads, checked two ways: at run time, by recording every module the process loads
// (test/helpers/record-modules.mjs), and in what esbuild put into each file (dist/cli-meta.json for the
// code-split build, dist/cli-fast-meta.json for the fast path; both written by esbuild.config.mjs).
const HOOK = fileURLToPath(new URL('../../helpers/record-modules.mjs', import.meta.url));
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'credstash-cold-'));
  expect((await runCli(['init'], { cwd: dir, env: cleanEnv(dir) })).code).toBe(0);
  expect((await runCli(['put', 'a', 'v'], { cwd: dir, env: cleanEnv(dir) })).code).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function chunksOf(input: RegExp): Set<string> {
  const meta = JSON.parse(readFileSync(join(DIST, 'cli-meta.json'), 'utf8')) as { outputs: Record<string, { inputs: Record<string, unknown> }> };
  const out = new Set<string>();
  for (const [file, o] of Object.entries(meta.outputs)) {
    if (Object.keys(o.inputs).some((i) => input.test(i))) out.add(join(ROOT, file));
  }
  return out;
}
const awsChunks = (): Set<string> => chunksOf(/node_modules\/@(aws-sdk|smithy|aws-crypto)\//);

/** The source files esbuild put into dist/cli/fast.cjs, the CLI's fast path (src/cli/fast-path.ts). */
function fastPathInputs(): string[] {
  const meta = JSON.parse(readFileSync(join(DIST, 'cli-fast-meta.json'), 'utf8')) as { inputs: Record<string, unknown> };
  return Object.keys(meta.inputs);
}
const loadedFiles = (log: string): string[] => readFileSync(log, 'utf8').split('\n').filter((l) => l !== '').map((u) => fileURLToPath(u));
/** Whether the run stayed on the fast path: fast.cjs loaded, nothing of the code-split build. */
function ranOnFastPath(loaded: string[]): boolean {
  return loaded.some((f) => f.endsWith('dist/cli/fast.cjs')) && !loaded.some((f) => f.endsWith('dist/cli/main.js') || f.includes('/dist/cli/chunks/'));
}

describe('credstash get on the local keystore', () => {
  it('runs from the fast-path bundle alone, which holds the local tier and no AWS SDK code', async () => {
    const log = join(dir, 'modules.log');
    const r = await runCli(['get', 'a'], { cwd: dir, env: cleanEnv(dir, { CREDSTASH_MODULE_LOG: log }), nodeArgs: ['--import', HOOK] });
    expect(r).toMatchObject({ code: 0, stdout: 'v\n' });
    const loaded = loadedFiles(log);
    expect(ranOnFastPath(loaded)).toBe(true);
    expect(loaded.filter((f) => f.includes('node_modules/'))).toEqual([]);
    const inputs = fastPathInputs();
    expect(inputs.some((i) => i.startsWith('src/stores/local/'))).toBe(true);
    expect(inputs.filter((i) => /node_modules\/@(aws-sdk|smithy|aws-crypto)\//.test(i))).toEqual([]);
    expect(awsChunks().size).toBeGreaterThan(0); // the full build does hold SDK chunks: the pattern above matches them
  });

  it('writes its output to the descriptor itself: no stdout stream, so no node:net or node:tty (stdin a pipe)', async () => {
    const list = join(dir, 'builtins.txt');
    const preload = join(dir, 'builtins.cjs');
    writeFileSync(preload, `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(list)}, process.moduleLoadList.join('\\n')));\n`);
    const r = await runCli(['get', 'a'], { cwd: dir, env: cleanEnv(dir), nodeArgs: ['--require', preload] });
    expect(r).toEqual({ code: 0, stdout: 'v\n', stderr: '' });
    const loaded = readFileSync(list, 'utf8').split('\n');
    expect(loaded).toContain('NativeModule fs'); // the list is Node's own record of its built-in modules
    expect(loaded.filter((m) => /^NativeModule (net|tty)$|^Internal Binding (pipe_wrap|tty_wrap|tcp_wrap)$/.test(m))).toEqual([]);
  });

  // Once the store is closed and every byte written, bin/credstash exits at once: the event loop is not turned
  // again (so 'beforeExit' never fires), with the run's exit status and all its output.
  it.each([
    ['a, found', ['get', 'a'], 0, 'v\n', ''],
    ['a missing name', ['get', 'missing'], 1, '', 'credstash: credential "missing" not found'],
  ] as const)('get of %s exits as soon as its output is written, with its status', (_name, args, code, stdout, stderr) => {
    const marker = join(dir, 'before-exit.txt');
    rmSync(marker, { force: true });
    const preload = join(dir, 'before-exit.cjs');
    writeFileSync(preload, `process.on('beforeExit', () => require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'turned'));\n`);
    const r = spawnSync(process.execPath, ['--require', preload, BIN, ...args], { cwd: dir, env: cleanEnv(dir), encoding: 'utf8' });
    expect(r.status).toBe(code);
    expect(r.stdout).toBe(stdout);
    expect(r.stderr.startsWith(stderr)).toBe(true);
    expect(existsSync(marker)).toBe(false);
    // the same preload sees the event loop run dry in a process that does not exit at once
    expect(spawnSync(process.execPath, ['--require', preload, '-e', '0']).status).toBe(0);
    expect(existsSync(marker)).toBe(true);
  });

  // stdin /dev/null (systemd's default for a unit, so every boot-time `get`) is told from a terminal without
  // node:tty; a real terminal still is one (python3's pty gives the child a pseudo-terminal as fd 0).
  it.each([
    ['/dev/null', false],
    ['a pseudo-terminal', true],
  ] as const)('with stdin %s, node:tty is loaded: %s', (_stdin, tty) => {
    const list = join(dir, `builtins-${String(tty)}.txt`);
    const preload = join(dir, 'builtins-stdin.cjs');
    writeFileSync(preload, `process.on('exit', () => require('node:fs').writeFileSync(process.env.BUILTINS_LIST, process.moduleLoadList.join('\\n')));\n`);
    const argv = [process.execPath, '--require', preload, BIN, 'get', 'a'];
    const env = cleanEnv(dir, { BUILTINS_LIST: list });
    const r = tty
      ? spawnSync('python3', ['-c', 'import os, pty, subprocess, sys\nm, s = pty.openpty()\nsys.exit(subprocess.run(sys.argv[1:], stdin=s).returncode)', ...argv], { cwd: dir, env, encoding: 'utf8' })
      : spawnSync(argv[0]!, argv.slice(1), { cwd: dir, env, encoding: 'utf8', stdio: [openSync('/dev/null', 'r'), 'pipe', 'pipe'] });
    expect({ code: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 0, stdout: 'v\n', stderr: '' });
    const loaded = readFileSync(list, 'utf8').split('\n');
    expect(loaded).toContain('NativeModule fs');
    expect(loaded.includes('NativeModule tty')).toBe(tty);
  });

  it('loads AWS SDK chunks when the store is dynamodb (the recorder sees them)', async () => {
    const log = join(dir, 'modules-ddb.log');
    const env = cleanEnv(dir, { CREDSTASH_MODULE_LOG: log, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y', AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:9', AWS_MAX_ATTEMPTS: '1' });
    const r = await runCli(['--store-type', 'dynamodb', 'get', 'a'], { cwd: dir, env, nodeArgs: ['--import', HOOK] });
    expect(r.code).toBe(1);
    const loaded = loadedFiles(log);
    const aws = awsChunks();
    expect(loaded.filter((f) => aws.has(f)).length).toBeGreaterThan(0);
  });

  it('get on DynamoDB with credentials from the environment runs on the fast path, which holds neither the AWS SDK nor yargs (the light client, direct argv)', async () => {
    const log = join(dir, 'modules-light.log');
    const env = cleanEnv(dir, { CREDSTASH_MODULE_LOG: log, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y', AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:9' });
    const r = await runCli(['--store-type', 'dynamodb', 'get', 'a'], { cwd: dir, env, nodeArgs: ['--import', HOOK] });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/could not reach DynamoDB at http:\/\/127\.0\.0\.1:9 \(ECONNREFUSED\)/);
    expect(ranOnFastPath(loadedFiles(log))).toBe(true);
    const inputs = fastPathInputs();
    expect(inputs.some((i) => i === 'src/stores/dynamodb/dynamodb-light.ts')).toBe(true);
    expect(inputs.filter((i) => /node_modules\/(@(aws-sdk|smithy|aws-crypto)|yargs|yargs-parser|cliui)\//.test(i))).toEqual([]);
    // A plain get (no wildcard) needs neither the output formatters nor the variable-name rules.
    expect(inputs.filter((i) => /^src\/(cli\/output\/(index|csv|dotenv|json|yaml)|ops\/env-names)\.ts$/.test(i))).toEqual([]);
    // --help goes through yargs, in the full build (the recorder sees its chunk)
    const yargs = chunksOf(/node_modules\/yargs\//);
    expect(yargs.size).toBeGreaterThan(0);
    const help = join(dir, 'modules-help-yargs.log');
    expect((await runCli(['get', '--help'], { cwd: dir, env: cleanEnv(dir, { CREDSTASH_MODULE_LOG: help }), nodeArgs: ['--import', HOOK] })).code).toBe(0);
    expect(loadedFiles(help).some((f) => yargs.has(f))).toBe(true);
  });

  it('a get the fast path holds no code for (a wildcard: the output formatters) runs from the full build, each line written once', async () => {
    const log = join(dir, 'modules-wild.log');
    const r = await runCli(['get', 'a*', '-f', 'dotenv'], { cwd: dir, env: cleanEnv(dir, { CREDSTASH_MODULE_LOG: log }), nodeArgs: ['--import', HOOK] });
    expect(r).toEqual({ code: 0, stdout: "A='v'\n", stderr: '' });
    const loaded = loadedFiles(log);
    expect(loaded.some((f) => f.endsWith('dist/cli/fast.cjs'))).toBe(true);
    expect(loaded.some((f) => f.endsWith('dist/cli/main.js'))).toBe(true);
    // An error the fast path can report itself is reported by it, once.
    const missing = await runCli(['get', 'nope'], { cwd: dir, env: cleanEnv(dir) });
    expect(missing.code).toBe(1);
    expect(missing.stderr.split('\n').filter((l) => l !== '')).toHaveLength(1);
    expect(missing.stderr).toMatch(/^credstash: credential "nope" not found/);
  });

  it('the fast-path bundle holds no import(): bin/credstash compiles it with no dynamic-import callback', () => {
    const code = readFileSync(join(DIST, 'cli', 'fast.cjs'), 'utf8');
    expect(code).not.toMatch(/\bimport\(/);
    expect(code).toContain('NeedsFullCli'); // the stand-ins for what it leaves out are there
  });

  /** A copy of the package's bin/ with these files as its dist/cli/; removed after `fn`. */
  async function withFakeBuild(files: Record<string, string>, fn: (pkg: string) => Promise<void>): Promise<void> {
    const pkg = mkdtempSync(join(tmpdir(), 'credstash-bin-'));
    try {
      mkdirSync(join(pkg, 'bin'));
      mkdirSync(join(pkg, 'dist', 'cli'), { recursive: true });
      for (const f of ['bin/credstash', 'bin/package.json', 'package.json']) copyFileSync(join(BUILD, f), join(pkg, f));
      for (const [name, text] of Object.entries(files)) writeFileSync(join(pkg, 'dist', 'cli', name), text);
      await fn(pkg);
    } finally {
      rmSync(pkg, { recursive: true, force: true });
    }
  }

  it('bin/credstash reports a failure of its own as one line and exit 1, never a stack trace', async () => {
    // A fast path that fails in a way it does not expect.
    await withFakeBuild({ 'fast.cjs': "exports.runFast = async () => { throw new TypeError('secret-looking detail') };\n" }, async (pkg) => {
      const r = await runCli(['get', 'a'], { cwd: dir, env: cleanEnv(dir), bin: join(pkg, 'bin', 'credstash') });
      expect(r).toEqual({ code: 1, stdout: '', stderr: 'credstash: internal error (TypeError)\n' });
    });
  });

  it.each([
    ['with the code cache', {}],
    ['without it', { NODE_DISABLE_COMPILE_CACHE: '1' }],
  ] as const)("the fast path's require() gives built-ins by their node: name and resolves any other id from its own folder (%s)", async (_l, extra) => {
    const files = {
      'helper.cjs': "module.exports = 'from the helper';\n",
      'fast.cjs': "const helper = require('./helper.cjs');\nexports.runFast = async () => { require('node:fs').writeSync(1, `${helper} ${typeof require('node:crypto').createHash}\\n`); process.exitCode = 0; return 0; };\n",
    };
    await withFakeBuild(files, async (pkg) => {
      const r = await runCli(['get', 'a'], { cwd: dir, env: cleanEnv(dir, { TMPDIR: pkg, ...extra }), bin: join(pkg, 'bin', 'credstash') });
      expect(r).toEqual({ code: 0, stdout: 'from the helper function\n', stderr: '' });
    });
  });

  // npm installs the executable as node_modules/.bin/credstash, a symlink; Node runs its real path, unless
  // told to keep the link's (--preserve-symlinks-main), and both builds must then still be found.
  it.each([
    ['', []],
    [' with --preserve-symlinks-main', ['--preserve-symlinks-main']],
  ] as const)('run through a symlink like npm\'s node_modules/.bin%s: the fast path and the full build both run', async (_l, nodeArgs) => {
    const links = mkdtempSync(join(tmpdir(), 'credstash-links-'));
    try {
      mkdirSync(join(links, '.bin'));
      symlinkSync(BIN, join(links, '.bin', 'credstash'));
      const bin = join(links, '.bin', 'credstash');
      expect(await runCli(['get', 'a'], { cwd: dir, env: cleanEnv(dir), bin, nodeArgs: [...nodeArgs] })).toEqual({ code: 0, stdout: 'v\n', stderr: '' });
      const listed = await runCli(['list'], { cwd: dir, env: cleanEnv(dir), bin, nodeArgs: [...nodeArgs] });
      expect([listed.code, listed.stderr]).toEqual([0, '']);
      expect(listed.stdout).toMatch(/^a -- version 0+1/);
    } finally {
      rmSync(links, { recursive: true, force: true });
    }
  });

  it('no chunk of the CLI imports a Node built-in as an ES module (its facade reads every export: node:http loaded undici on Node 22+)', () => {
    const meta = JSON.parse(readFileSync(join(DIST, 'cli-meta.json'), 'utf8')) as {
      inputs: Record<string, { imports: Array<{ path: string; kind: string }> }>;
      outputs: Record<string, { inputs: Record<string, unknown>; imports: Array<{ path: string; kind: string }> }>;
    };
    const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
    const statics = Object.entries(meta.outputs).flatMap(([file, o]) => o.imports.filter((i) => builtins.has(i.path) && i.kind === 'import-statement').map((i) => `${file} ${i.path}`));
    expect(statics).toEqual([]);
    // The SDK HTTP handler's `await import("node:http")` is rewritten to process.getBuiltinModule.
    const handler = Object.entries(meta.outputs).filter(([, o]) => Object.keys(o.inputs).some((i) => i.endsWith('@smithy/node-http-handler/dist-es/node-http-handler.js')));
    expect(handler).toHaveLength(1);
    const code = readFileSync(join(ROOT, (handler[0] as [string, unknown])[0]), 'utf8');
    expect(code).toContain('process.getBuiltinModule("node:http")');
    expect(code).not.toMatch(/import\(\s*["'](node:)?http["']\s*\)/);
    // The banner's require() comes from process.getBuiltinModule too, not from an ESM import of node:module.
    expect(readFileSync(join(DIST, 'cli/main.js'), 'utf8')).not.toMatch(/\bfrom\s*["'](node:)?module["']/);
  });

  it('a dynamic import() of a built-in stays a real import() (a CommonJS wrapper behind one yields only `default`)', () => {
    const meta = JSON.parse(readFileSync(join(DIST, 'cli-meta.json'), 'utf8')) as { inputs: Record<string, { imports: Array<{ path: string; kind: string; external?: boolean }> }> };
    const wrapped = Object.entries(meta.inputs).flatMap(([input, v]) => v.imports.filter((i) => i.path.startsWith('builtin-by-require:') && i.kind !== 'import-statement').map((i) => `${input} ${i.kind} ${i.path}`));
    expect(wrapped).toEqual([]);
    const dynamic = Object.values(meta.inputs).flatMap((v) => v.imports.filter((i) => i.kind === 'dynamic-import' && /^node:/.test(i.path)));
    expect(dynamic.length).toBeGreaterThan(0); // the bundle has some (the SDK's instance-metadata region lookup): the check above can fail
  });

  it('--help loads neither the config parser nor any store', async () => {
    const log = join(dir, 'modules-help.log');
    const r = await runCli(['--help'], { cwd: dir, env: cleanEnv(dir, { CREDSTASH_MODULE_LOG: log }), nodeArgs: ['--import', HOOK] });
    expect(r.code).toBe(0);
    const loaded = readFileSync(log, 'utf8').split('\n').filter((l) => l !== '');
    expect(loaded.filter((u) => /chunks\/(load|local|dynamodb|sql|ssm)-/.test(u))).toEqual([]);
  });
});
