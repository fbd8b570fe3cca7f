/**
 * Value input for put/putall: `@file` (verbatim, `~` expanded), `-` (all of stdin), and the -P prompt.
 * Errors name the file, never its content.
 */
import { readFile } from 'node:fs/promises';
import { ValidationError } from '../core/errors.js';
import { resolveUserPath } from '../core/paths.js';
import { decodeUtf8Exact } from '../core/value.js';
import type { CliIO } from './context.js';
import { isStdinArg, readStdin } from './context.js';
import { Interrupted, UsageError } from './errors.js';

/**
 * Python credstash: `@path` = the file's content, `-` = stdin, anything else is the value itself. Read
 * bytes are kept verbatim: valid UTF-8 (a BOM included) is text, anything else is stored as bytes.
 */
export async function readValueArg(arg: string, io: CliIO): Promise<string | Buffer> {
  const bytes = await readInputBytes(arg, io);
  if (bytes === undefined) return arg;
  return decodeUtf8Exact(bytes) ?? bytes;
}

/**
 * The same sources for input that must be text (a JSON document): bytes that are not UTF-8 are refused,
 * never decoded with replacement characters.
 * @throws ValidationError naming `what`, never the content
 */
export async function readTextArg(arg: string, io: CliIO, what: string): Promise<string> {
  const bytes = await readInputBytes(arg, io);
  if (bytes === undefined) return arg;
  const text = decodeUtf8Exact(bytes);
  if (text === undefined) throw new ValidationError(`${what} is not valid UTF-8 text`);
  return text;
}

/** The bytes of `-` or `@file`; undefined for a literal argument. */
async function readInputBytes(arg: string, io: CliIO): Promise<Buffer | undefined> {
  if (isStdinArg(arg)) return readStdin(io);
  if (arg.startsWith('@') && arg.length > 1) return readFileArg(arg.slice(1), io);
  return undefined;
}

export async function readFileArg(path: string, io: CliIO): Promise<Buffer> {
  const full = resolveUserPath(path, io.cwd, io.env);
  try {
    return await readFile(full);
  } catch {
    // Python credstash's argparse message, exit 2
    throw new UsageError(`Unable to read file ${path}`);
  }
}

/**
 * Prompt on stderr and read one line without echo (Python's getpass). On a non-TTY stdin, the first line
 * of stdin is the answer (no echo to suppress, no line editing). The answer ends at the first newline (or
 * carriage return); an empty line is an empty value, as in Python credstash. End of input (or Ctrl-D)
 * before a newline is an error, as Python's getpass raises EOFError: a truncated answer is never stored.
 * Ctrl-C at a terminal exits 130. Bytes that are not UTF-8 (from a pipe) are kept as bytes.
 * @throws ValidationError at end of input; Interrupted on Ctrl-C
 */
export async function promptSecret(prompt: string, io: CliIO): Promise<string | Buffer> {
  const stdin = io.stdin;
  const tty = stdin.isTTY === true && typeof stdin.setRawMode === 'function';
  // Raw mode before the prompt shows: a Ctrl-C typed as soon as it appears is read here (exit 130, one
  // line), not turned into a SIGINT by a terminal still in line mode.
  if (tty) stdin.setRawMode?.(true);
  let bytes: number[] = [];
  try {
    io.stderr.write(prompt);
    const line = await new Promise<Buffer>((resolveLine, reject) => {
      const onData = (chunk: Buffer | string): void => {
        const b = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
        for (const byte of b) {
          if (byte === 0x0a || byte === 0x0d) return done(Buffer.from(bytes));
          if (tty && byte === 0x03) return fail(new Interrupted());
          if (tty && byte === 0x04) return fail(endOfInput());
          if (tty && (byte === 0x7f || byte === 0x08)) {
            // Erase one character: its UTF-8 continuation bytes, then its lead byte.
            while (bytes.length > 0 && ((bytes[bytes.length - 1] as number) & 0xc0) === 0x80) bytes.pop();
            bytes.pop();
          } else bytes.push(byte);
        }
      };
      const onEnd = (): void => fail(endOfInput());
      const cleanup = (): void => {
        stdin.removeListener('data', onData);
        stdin.removeListener('end', onEnd);
        stdin.pause();
      };
      const done = (v: Buffer): void => {
        cleanup();
        resolveLine(v);
      };
      const fail = (e: Error): void => {
        cleanup();
        reject(e);
      };
      if ((stdin as { readableEnded?: boolean }).readableEnded === true) return fail(endOfInput());
      stdin.on('data', onData);
      stdin.on('end', onEnd);
      stdin.resume();
    });
    return decodeUtf8Exact(line) ?? line;
  } finally {
    bytes.fill(0);
    bytes = [];
    if (tty) stdin.setRawMode?.(false);
    io.stderr.write('\n');
  }
}

function endOfInput(): ValidationError {
  return new ValidationError('no value entered: end of input before a newline at the prompt (nothing was stored)');
}
