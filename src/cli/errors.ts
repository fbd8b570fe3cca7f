/**
 * Error -> exit code + one stderr line (style.md §c.11). Only main.ts calls `reportError`; commands throw.
 *   0  success
 *   1  a CredstashError (`credstash: <message>`), or an unexpected error (`credstash: unexpected error (<name>)`)
 *   2  usage: yargs validation failures and UsageError thrown by a command
 * Stacks are printed only with CREDSTASH_DEBUG=1; an unexpected error's message is never printed, because
 * it was not written by us and may quote input (JSON.parse does).
 */
import { isCredstashError } from '../core/errors.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** A command-line mistake found after yargs parsed the arguments (bad `-v`, bad `key=value`, unreadable `@file`). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * `credstash exec`: the child's exit status, passed through as credstash's own. Not an error to report:
 * the child has already said what it had to say.
 */
export class ChildExit extends Error {
  constructor(readonly exitCode: number) {
    super(`child exited with ${exitCode}`);
    this.name = 'ChildExit';
  }
}

export interface ErrorSink {
  write(chunk: string): unknown;
}

/** Print the error the way the CLI promises and return the exit code. */
export function reportError(err: unknown, stderr: ErrorSink, env: NodeJS.ProcessEnv, command?: string): number {
  const debug = env.CREDSTASH_DEBUG === '1';
  if (err instanceof ChildExit) return err.exitCode;
  if (err instanceof UsageError) {
    stderr.write(`credstash: ${oneLine(err.message)}\n`);
    stderr.write(`run 'credstash ${command === undefined ? '' : `${command} `}--help' for usage\n`);
    return EXIT_USAGE;
  }
  if (isCredstashError(err)) {
    stderr.write(`credstash: ${oneLine(err.message)}\n`);
    if (debug && err.stack !== undefined) stderr.write(`${err.stack}\n`);
    return EXIT_FAILURE;
  }
  const name = err instanceof Error ? err.name : typeof err;
  stderr.write(`credstash: unexpected error (${oneLine(name)})\n`);
  if (debug && err instanceof Error && err.stack !== undefined) stderr.write(`${err.stack}\n`);
  return EXIT_FAILURE;
}

/** Messages are one line by contract; keep it so even if one is not. */
function oneLine(s: string): string {
  return s.replace(/\r?\n/g, ' ').replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '?');
}
