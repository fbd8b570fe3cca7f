/**
 * Run the real CLI (bin/credstash → dist/cli/main.js, rebuilt by the test global setup) as a child process
 * and judge its failures: one `credstash: <message>` line, the right exit code, never a stack trace.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** `CREDSTASH_TEST_BIN` lets a developer point the suite at a private build while others rebuild dist/. */
export const BIN = process.env.CREDSTASH_TEST_BIN ?? `${ROOT}bin/credstash`;

export function cliBuilt(): boolean {
  return existsSync(`${ROOT}dist/cli/main.js`);
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  input?: string;
  timeoutMs?: number;
}

/** A clean environment for the CLI: no inherited credstash or AWS settings unless given. */
export function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('CREDSTASH_') && !k.startsWith('AWS_') && !k.startsWith('VAULT_')) env[k] = v;
  env.NO_COLOR = '1';
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}

export function runCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd ?? ROOT, env: opts.env ?? cleanEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
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
  expect(r.signal).toBeNull();
  expect([0, 1, 2], `exit ${r.code}, stderr: ${r.stderr}`).toContain(r.code);
  expectNoStackTrace(r.stderr);
  expectNoStackTrace(r.stdout);
  if (r.code === 1) expectCleanFailure(r);
}
