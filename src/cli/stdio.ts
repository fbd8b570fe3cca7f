/**
 * What happens when credstash cannot write its own output. Node reports a failed write to stdout or stderr
 * as an `'error'` event; with no listener that is an uncaught exception and a raw stack trace.
 *
 *   EPIPE (the reader went away: `credstash list | head -1`): nothing more is printed, and the exit status is
 *     141 (128 + SIGPIPE), what a shell reports for a program stopped by a closed pipe, so that
 *     `set -o pipefail` still sees that the output was cut short.
 *   anything else (ENOSPC, EIO, EBADF, ...): one `credstash: cannot write to standard output (ENOSPC)` line on
 *     stderr (when stderr itself works) and exit status 1.
 *
 * The command itself runs to its end (a write already done is not left half done); only the exit status
 * changes, and it never claims success. A command that failed on its own keeps its own status.
 */

/** Exit status after a write to a closed pipe. */
export const EXIT_BROKEN_PIPE = 141;
const EXIT_FAILURE = 1;

interface Emitter {
  on(event: 'error', listener: (err: Error) => void): unknown;
}

interface StreamState {
  failure?: number;
}

const states = new WeakMap<object, StreamState>();

export interface StdioGuard {
  /** The exit status a failed write calls for, or undefined when every write so far succeeded. */
  failure(): number | undefined;
}

/**
 * Listen for write errors on the two output streams (once per stream; objects without `on`, such as test
 * captures, cannot fail this way and are left alone).
 */
export function guardStdio(stdout: object, stderr: object): StdioGuard {
  const out = watch(stdout, 'standard output', stderr);
  const err = watch(stderr, 'standard error', undefined);
  return { failure: () => out?.failure ?? err?.failure };
}

function watch(stream: object, label: string, reportTo: object | undefined): StreamState | undefined {
  if (typeof (stream as Partial<Emitter>).on !== 'function') return undefined;
  const known = states.get(stream);
  if (known !== undefined) return known;
  const state: StreamState = {};
  states.set(stream, state);
  (stream as Emitter).on('error', (e: Error) => {
    if (state.failure !== undefined) return;
    const code = (e as NodeJS.ErrnoException).code;
    state.failure = code === 'EPIPE' ? EXIT_BROKEN_PIPE : EXIT_FAILURE;
    if (state.failure !== EXIT_BROKEN_PIPE && reportTo !== undefined) {
      const sink = reportTo as { write?: (s: string) => unknown; destroyed?: boolean };
      try {
        if (sink.destroyed !== true) sink.write?.(cannotWrite(label, code));
      } catch {
        // stderr is gone too: the exit status still tells
      }
    }
    // A write that fails after main() has returned must still change the status the process exits with.
    if (stream === process.stdout || stream === process.stderr) {
      if (process.exitCode === undefined || process.exitCode === 0) process.exitCode = state.failure;
    }
  });
  return state;
}

/** The one line a failed write gets: the error code only when it looks like one (never a message). */
function cannotWrite(label: string, code: unknown): string {
  return `credstash: cannot write to ${label} (${typeof code === 'string' && /^[A-Z0-9_]+$/.test(code) ? code : 'error'})\n`;
}

/** An output that writes at once (the fast path's stdout and stderr). */
export interface DirectOutput {
  write(chunk: string | Uint8Array): boolean;
  readonly isTTY: boolean | undefined;
  /** Whether every write so far has left the process (or failed): none waits in a stream. */
  readonly settled: boolean;
}

/**
 * Standard output or error written with fs.writeSync on the file descriptor itself, under the rules above:
 * no stream object is made (for a pipe, creating process.stdout loads node:net and sets up a socket, about a
 * millisecond of a cold `get`). A descriptor in non-blocking mode that cannot take more now (EAGAIN) hands the
 * rest, and every later write, to the process's stream, which waits for it. `reportTo` gets the one-line
 * message of a failure other than EPIPE. On Windows (console code pages) the process's streams are used.
 */
export function directOutput(fd: 1 | 2, reportTo?: DirectOutput): DirectOutput {
  const stream = (): NodeJS.WriteStream => {
    const s = fd === 1 ? process.stdout : process.stderr;
    if (fd === 1) guardStdio(s, process.stderr);
    else guardStdio({}, s);
    return s;
  };
  if (process.platform === 'win32') {
    return {
      write: (chunk) => stream().write(chunk),
      get isTTY() {
        return stream().isTTY;
      },
      settled: false,
    };
  }
  const fs = process.getBuiltinModule('node:fs');
  let failed = false;
  let handedOver = false;
  return {
    write(chunk) {
      if (failed) return false;
      if (handedOver) return stream().write(chunk);
      const data = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
      let at = 0;
      try {
        while (at < data.byteLength) at += fs.writeSync(fd, data, at, data.byteLength - at);
        return true;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') {
          handedOver = true;
          return stream().write(data.subarray(at));
        }
        failed = true;
        const status = code === 'EPIPE' ? EXIT_BROKEN_PIPE : EXIT_FAILURE;
        if (status !== EXIT_BROKEN_PIPE && reportTo !== undefined) reportTo.write(cannotWrite(fd === 1 ? 'standard output' : 'standard error', code));
        if (process.exitCode === undefined || process.exitCode === 0) process.exitCode = status;
        return false;
      }
    },
    get isTTY() {
      return process.getBuiltinModule('node:tty').isatty(fd) ? true : undefined;
    },
    get settled() {
      return !handedOver;
    },
  };
}
