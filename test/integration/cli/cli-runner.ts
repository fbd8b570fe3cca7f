/**
 * Run bin/credstash as a real child process: asynchronous, so that in-process fixtures
 * (dynalite, the KMS endpoint) keep answering while the child runs.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

export const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
/** `CREDSTASH_TEST_BIN` points the CLI tests at another build of the executable (default: bin/credstash). */
export const BIN = process.env.CREDSTASH_TEST_BIN ?? `${ROOT}bin/credstash`;

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; input?: string | Buffer; nodeArgs?: string[] }): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), BIN, ...args], { cwd: opts.cwd, env: opts.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

/** A clean environment for the child: no AWS_* or CREDSTASH_* from the developer's shell. */
export function cleanEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: home, LANG: 'C.UTF-8' };
  return { ...env, AWS_EC2_METADATA_DISABLED: 'true', AWS_CONFIG_FILE: `${home}/.aws-none/config`, AWS_SHARED_CREDENTIALS_FILE: `${home}/.aws-none/credentials`, ...extra };
}

/** Errors are one `credstash:` line each; a stack trace never reaches stderr. */
export function expectCleanStderr(stderr: string): void {
  expect(stderr).not.toMatch(/\n\s+at\s/);
  for (const line of stderr.split('\n').filter((l) => l !== '')) expect(line).toMatch(/^(credstash: |run 'credstash)/);
}
