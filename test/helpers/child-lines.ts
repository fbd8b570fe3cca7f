/** A child process whose stdout is read line by line, and a bounded wait for a condition on it. */
import { spawn, type ChildProcess } from 'node:child_process';

export interface LineChild {
  child: ChildProcess;
  /** Complete stdout lines so far (a partial last line is held back until its newline). */
  lines: string[];
  exited: Promise<number | null>;
  stderr: () => string;
}

/** Start `node script ...args` with piped output. */
export function startLineChild(script: string, args: string[]): LineChild {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let err = '';
  let buf = '';
  child.stdout?.on('data', (d: Buffer) => {
    buf += d.toString();
    const parts = buf.split('\n');
    buf = parts.pop() ?? '';
    lines.push(...parts);
  });
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, lines, exited, stderr: () => err };
}

/** Poll `cond` every `pollMs` until it holds; after `ms`, fail with `explain()`. */
export async function until(cond: () => boolean, explain: () => string, ms = 30_000, pollMs = 1): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting: ${explain()}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
