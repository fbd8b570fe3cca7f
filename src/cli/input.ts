/**
 * Value input for put/putall: `@file` (verbatim, `~` expanded), `-` (all of stdin), and the -P prompt.
 * Errors name the file, never its content.
 */
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { CliIO } from './context.js';
import { isStdinArg, readStdin } from './context.js';
import { UsageError } from './errors.js';

/** Python credstash: `@path` = the file's text, `-` = stdin, anything else is the value itself. */
export async function readValueArg(arg: string, io: CliIO): Promise<string> {
  if (isStdinArg(arg)) return (await readStdin(io)).toString('utf8');
  if (arg.startsWith('@') && arg.length > 1) return (await readFileArg(arg.slice(1), io)).toString('utf8');
  return arg;
}

export async function readFileArg(path: string, io: CliIO): Promise<Buffer> {
  const home = io.env.HOME !== undefined && io.env.HOME !== '' ? io.env.HOME : homedir();
  const full = path === '~' ? home : path.startsWith('~/') ? join(home, path.slice(2)) : resolve(io.cwd, path);
  try {
    return await readFile(full);
  } catch {
    // Python credstash's argparse message, exit 2
    throw new UsageError(`Unable to read file ${path}`);
  }
}

/**
 * Prompt on stderr and read one line without echo (Python's getpass). On a non-TTY stdin, the first line
 * of stdin is the answer (no echo to suppress).
 */
export async function promptSecret(prompt: string, io: CliIO): Promise<string> {
  io.stderr.write(prompt);
  const stdin = io.stdin;
  const tty = stdin.isTTY === true && typeof stdin.setRawMode === 'function';
  if (tty) stdin.setRawMode?.(true);
  try {
    return await new Promise<string>((resolveLine, reject) => {
      let buf = '';
      const onData = (chunk: Buffer | string): void => {
        const s = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
        for (const ch of s) {
          if (ch === '\n' || ch === '\r' || ch === '\u0004') return done(buf);
          if (ch === '\u0003') return fail(new UsageError('interrupted'));
          if (ch === '\u007f' || ch === '\b') buf = buf.slice(0, -1);
          else buf += ch;
        }
      };
      const onEnd = (): void => done(buf);
      const cleanup = (): void => {
        stdin.removeListener('data', onData);
        stdin.removeListener('end', onEnd);
        stdin.pause();
      };
      const done = (v: string): void => {
        cleanup();
        resolveLine(v);
      };
      const fail = (e: Error): void => {
        cleanup();
        reject(e);
      };
      stdin.on('data', onData);
      stdin.on('end', onEnd);
      stdin.resume();
    });
  } finally {
    if (tty) stdin.setRawMode?.(false);
    io.stderr.write('\n');
  }
}
