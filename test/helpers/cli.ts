/**
 * Run the real CLI (bin/credstash → dist/cli/main.js of this test run's own build, see test/global-setup.ts)
 * as a child process,
 * and judge what it printed. Asynchronous, so that in-process fixtures (dynalite, the KMS endpoint, Vault)
 * keep answering while the child runs. Tests that need the CLI to see in-process registrations or client
 * mocks use cli-in-process.ts instead.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/**
 * This test run's build, laid out like the package (`bin/credstash`, `dist/`, `package.json`): the global
 * setup builds it from the current source and names it in CREDSTASH_TEST_BUILD.
 */
export const BUILD = testBuild();
/** The build's dist/: `cli/` (the bundle bin/credstash runs), `lib/` (the library), `cli-meta.json` (the chunk graph). */
export const DIST = join(BUILD, 'dist');
/** The executable under test: a copy of bin/credstash that runs this run's dist/cli/main.js. */
export const BIN = join(BUILD, 'bin', 'credstash');

function testBuild(): string {
  const dir = process.env.CREDSTASH_TEST_BUILD;
  if (dir === undefined || dir === '') throw new Error('CREDSTASH_TEST_BUILD is not set: run the tests with vitest (test/global-setup.ts builds into it)');
  return dir;
}

/** Whether the bundled CLI exists (the global setup builds it). */
export function cliBuilt(): boolean {
  return existsSync(join(DIST, 'cli', 'main.js'));
}

export interface CliResult {
  code: number | null;
  /** The signal that ended the child; absent when it exited (so `toEqual({ code, stdout, stderr })` holds). */
  signal?: NodeJS.Signals;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  cwd: string;
  /** The child's whole environment: build it with cleanEnv. */
  env: NodeJS.ProcessEnv;
  /** Text on stdin (default: empty, closed). */
  input?: string | Buffer;
  /** Options for node itself, before bin/credstash (e.g. `--import` a hook). */
  nodeArgs?: string[];
  /** The child is killed with SIGKILL after this long (default 60 s, the integration test timeout). */
  timeoutMs?: number;
  /** Another copy of the executable to run instead of this run's build's (default BIN). */
  bin?: string;
}

/**
 * A hermetic environment for the child: PATH, HOME = `home`, LANG, NO_COLOR, no AWS settings (no shared
 * config or credentials files, no instance metadata) and nothing of the developer's CREDSTASH_* or VAULT_*
 * variables. `extra` is added last; an undefined entry is left out.
 */
export function cleanEnv(home: string, extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: home,
    LANG: 'C.UTF-8',
    NO_COLOR: '1',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: `${home}/.aws-none/config`,
    AWS_SHARED_CREDENTIALS_FILE: `${home}/.aws-none/credentials`,
  };
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}

/** bin/credstash as a child process; stdout decoded as UTF-8. */
export async function runCli(args: string[], opts: CliOptions): Promise<CliResult> {
  const { stdoutBytes, ...r } = await runCliBytes(args, opts);
  return { ...r, stdout: stdoutBytes.toString('utf8') };
}

/** bin/credstash as a child process, with stdout kept as the bytes it wrote. */
export function runCliBytes(args: string[], opts: CliOptions): Promise<Omit<CliResult, 'stdout'> & { stdoutBytes: Buffer }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), opts.bin ?? BIN, ...args], { cwd: opts.cwd, env: opts.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, ...(signal === null ? {} : { signal }), stdoutBytes: Buffer.concat(out), stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** No stack frames, no Node error banners, no `[object Object]`. */
export function expectNoStackTrace(text: string): void {
  expect(text).not.toMatch(/^\s+at .+\(.+:\d+:\d+\)$/m);
  expect(text).not.toMatch(/^\s+at .+:\d+:\d+$/m);
  expect(text).not.toMatch(/node:internal|UnhandledPromiseRejection|Uncaught|\[object Object\]/);
}

/** Errors are one `credstash:` line each; a stack trace never reaches stderr. */
export function expectCleanStderr(stderr: string): void {
  expect(stderr).not.toMatch(/\n\s+at\s/);
  for (const line of stderr.split('\n').filter((l) => l !== '')) expect(line).toMatch(/^(credstash: |run 'credstash)/);
}

/** exit 1: exactly one stderr line `credstash: <message>`, nothing on stdout. */
export function expectCleanFailure(r: CliResult, pattern?: RegExp): void {
  expect(r.code, `stderr: ${r.stderr}`).toBe(1);
  expect(r.stdout).toBe('');
  const lines = r.stderr.split('\n').filter((l) => l.length > 0);
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^credstash: \S/);
  if (pattern !== undefined) expect(lines[0]).toMatch(pattern);
  expectNoStackTrace(r.stderr);
}

/** exit 0, 1 (one clean line) or 2 (usage), never a crash. */
export function expectHandled(r: CliResult): void {
  expect(r.signal).toBeUndefined();
  expect([0, 1, 2], `exit ${r.code}, stderr: ${r.stderr}`).toContain(r.code);
  expectNoStackTrace(r.stderr);
  expectNoStackTrace(r.stdout);
  if (r.code === 1) expectCleanFailure(r);
}
