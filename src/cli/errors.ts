/**
 * Error -> exit code + one stderr line. Only main.ts calls `reportError`; commands throw.
 *   0  success
 *   1  a CredstashError (`credstash: <message>`), or an unexpected error (`credstash: unexpected error (<name>)`)
 *   2  usage: yargs validation failures and UsageError thrown by a command
 *   1 or 2 also for the commands whose answer is their exit status, as diff(1): `diff` (0 same, 1 different,
 *      2 trouble) and `check` (0 nothing expires, 1 something does, 2 trouble); they throw ExitStatus for the
 *      answer and wrap a failure in Trouble (its one line as above, then exit 2)
 *   LabelConflictError (a label moved by another writer at the same time) and CredentialExpiredError
 *   (`get --strict` of an expired version) are CredstashErrors like the others: one line, exit 1
 *   130  Ctrl-C at a prompt (Interrupted)
 *   141  a write to stdout or stderr hit a closed pipe (stdio.ts); other write failures are 1
 * Stacks are printed only with CREDSTASH_DEBUG=1, with every `cause` under the error (debugTrace); an
 * unexpected error's message is never printed, even then, because it was not written by us and may quote
 * input (JSON.parse does). Messages are escaped for the terminal (output/terminal.ts).
 */
import { isCredstashError } from '../core/errors.js';
import { displayText } from './output/terminal.js';

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

/**
 * The answer of a command that answers with its exit status (`diff`: 1 = the two differ; `check`: 1 = something
 * expires), after its output is written. Nothing more is printed.
 */
export class ExitStatus extends Error {
  constructor(readonly exitCode: number) {
    super(`exit status ${exitCode}`);
    this.name = 'ExitStatus';
  }
}

/**
 * A failure of a command whose exit 1 means an answer (diff, check): reported as `error` would be (one line,
 * a usage error's hint), with exit 2, diff(1)'s "trouble", so a script never takes a failure for "different".
 */
export class Trouble extends Error {
  constructor(readonly error: unknown) {
    super('trouble');
    this.name = 'Trouble';
  }
}

/** diff(1)'s exit status for trouble. */
export const EXIT_TROUBLE = 2;

/** Ctrl-C at a prompt (the terminal is in raw mode, so no SIGINT arrives): exit 130, as a shell reports SIGINT. */
export class Interrupted extends Error {
  constructor() {
    super('interrupted');
    this.name = 'Interrupted';
  }
}

/** The exit status of a run stopped by Ctrl-C (128 + SIGINT). */
export const EXIT_INTERRUPTED = 130;

export interface ErrorSink {
  write(chunk: string): unknown;
}

/** Print the error the way the CLI promises and return the exit code. */
export function reportError(err: unknown, stderr: ErrorSink, env: NodeJS.ProcessEnv, command?: string): number {
  const debug = env.CREDSTASH_DEBUG === '1';
  if (err instanceof ChildExit || err instanceof ExitStatus) return err.exitCode;
  if (err instanceof Trouble) {
    const code = reportError(err.error, stderr, env, command);
    return code === EXIT_INTERRUPTED ? code : EXIT_TROUBLE;
  }
  if (interrupted(err)) {
    stderr.write('credstash: interrupted\n');
    return EXIT_INTERRUPTED;
  }
  if (err instanceof UsageError) {
    stderr.write(`credstash: ${oneLine(err.message)}\n`);
    stderr.write(`run 'credstash ${command === undefined ? '' : `${command} `}--help' for usage\n`);
    return EXIT_USAGE;
  }
  if (isCredstashError(err)) {
    stderr.write(`credstash: ${oneLine(err.message)}\n`);
    if (debug) stderr.write(debugTrace(err));
    return EXIT_FAILURE;
  }
  const name = err instanceof Error ? err.name : typeof err;
  stderr.write(`credstash: unexpected error (${oneLine(name)})\n`);
  if (debug) stderr.write(debugTrace(err));
  return EXIT_FAILURE;
}

/**
 * Ctrl-C at a prompt, also when the prompt ran inside a store or the AWS SDK and comes back as the `cause`
 * of their error: the MFA code prompt runs inside the SDK's credential provider, and the DynamoDB store
 * reports what it throws as a failed Query.
 */
function interrupted(err: unknown): boolean {
  let e: unknown = err;
  for (let depth = 0; depth <= MAX_CAUSES && e instanceof Error; depth++) {
    if (e instanceof Interrupted) return true;
    e = (e as Error & { cause?: unknown }).cause;
  }
  return false;
}

/**
 * Messages are one line by contract, and they may quote a name or comment that a table writer chose: control
 * characters (newlines included), C1 and bidi controls are escaped (output/terminal.ts).
 */
function oneLine(s: string): string {
  return displayText(s);
}

/** How many causes CREDSTASH_DEBUG follows (a cycle or a runaway chain stops there). */
const MAX_CAUSES = 16;

/**
 * CREDSTASH_DEBUG=1: the error and every `cause` under it, each as a header and its stack frames. A
 * CredstashError's message is ours and never holds a value, so it is shown; any other error's message is
 * withheld (a parser's or a driver's message may quote its input), and only its name, its `code` and its
 * frames are printed.
 */
export function debugTrace(err: unknown): string {
  const lines: string[] = [];
  const seen = new Set<unknown>();
  const walk = (e: unknown, label: string): void => {
    if (e === undefined || e === null || seen.has(e) || seen.size > MAX_CAUSES) return;
    seen.add(e);
    lines.push(`${label}${describeForDebug(e)}`);
    if (!(e instanceof Error)) return;
    for (const line of (e.stack ?? '').split('\n')) if (/^\s+at /.test(line)) lines.push(displayText(line));
    // An AggregateError (Promise.any, a driver's failed connection attempts) carries its causes in `errors`.
    if (e instanceof AggregateError && Array.isArray(e.errors)) e.errors.forEach((x: unknown, i, all) => walk(x, `caused by (${i + 1} of ${all.length}): `));
    walk((e as Error & { cause?: unknown }).cause, 'caused by: ');
  };
  walk(err, '');
  return lines.map((l) => `${l}\n`).join('');
}

function describeForDebug(e: unknown): string {
  if (!(e instanceof Error)) return `(a thrown ${typeof e})`;
  const code = (e as { code?: unknown }).code;
  const codeText = typeof code === 'string' || typeof code === 'number' ? ` [${String(code)}]` : '';
  if (isCredstashError(e)) return `${displayText(e.name)}: ${displayText(e.message)}`;
  return `${displayText(e.name)}${codeText} (message withheld: it may quote input)`;
}
