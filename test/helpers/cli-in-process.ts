/**
 * Run the CLI's main() in this process with captured streams (for tests that register custom stores or mock
 * AWS clients, which a child process could not see). Tests of the real executable spawn bin/credstash instead.
 */
import { PassThrough } from 'node:stream';
import type { CliIO } from '../../src/cli/context.js';
import { main } from '../../src/cli/main.js';

export interface InProcessRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface InProcessOptions {
  cwd: string;
  /** The whole environment the CLI sees (default: just HOME = cwd). */
  env?: NodeJS.ProcessEnv;
  /** Text on stdin (default: empty, closed). */
  stdin?: string;
  /** Pretend stderr is a terminal (progress bars). */
  stderrIsTTY?: boolean;
}

export async function runCliInProcess(args: string[], opts: InProcessOptions): Promise<InProcessRun> {
  let stdout = '';
  let stderr = '';
  const stdin = new PassThrough();
  stdin.end(opts.stdin ?? '');
  const io: CliIO = {
    stdout: { write: (c: string | Uint8Array) => (stdout += typeof c === 'string' ? c : Buffer.from(c).toString('utf8')) },
    stderr: { ...(opts.stderrIsTTY === undefined ? {} : { isTTY: opts.stderrIsTTY }), write: (c: string) => (stderr += c) },
    stdin,
    env: opts.env ?? { HOME: opts.cwd },
    cwd: opts.cwd,
  };
  const code = await main(args, io);
  return { code, stdout, stderr };
}
