/**
 * The command rotator: a program of the user's does each step. `options.command` is its argv as an array
 * (`["/usr/local/bin/rotate-ldap", "--realm", "corp"]`), run without a shell. For each step it gets:
 *
 * - `CREDSTASH_ROTATION_STEP` = `set`, `test`, `finish` or `revert` (and `CREDSTASH_ROTATION_STRATEGY`) in its
 *   environment, which is credstash's own environment otherwise: no secret is ever put in it or in argv;
 * - on stdin, one JSON object: `{ "step", "strategy", "credential"?, "current", "pending", "admin"? }`
 *   (`admin` only when the policy gives one), then end of file.
 *
 * Exit status 0 is success. A non-zero status, a signal, a program that cannot be started, or one still
 * running after `timeout_seconds` (default 60: SIGTERM, then SIGKILL 5 s later) is a RotationStepError
 * naming the step and the program (the last part of argv[0]), with the exit status or signal. The program's
 * stdout and stderr are never shown in an error, as they may hold the values it was given: they are
 * discarded, or passed through to credstash's stderr with option `output = "inherit"`.
 *
 * `pending` is `current` with the new password in `password` (option `password_field` names another field),
 * and for alternating the other user of `options.users` (as the SQL rotators).
 */
import { spawn } from 'node:child_process';
import { basename } from 'node:path';
import { ConfigError } from '../core/errors.js';
import type { JsonObject } from '../core/types.js';
import { checkPassword, otherUser, secondsOption, stepError, stringOption } from './common.js';
import type { Rotator, RotatorInput, RotationStep, RotationStrategy } from './types.js';

const STRATEGIES: readonly RotationStrategy[] = ['single', 'alternating', 'dual-password'];

/** SIGKILL this long after SIGTERM when the program outlives its timeout. */
export const KILL_GRACE_MS = 5000;

function argv(input: RotatorInput): [string, ...string[]] {
  const cmd = input.options.command;
  if (!Array.isArray(cmd) || cmd.length === 0 || !cmd.every((a): a is string => typeof a === 'string') || cmd[0] === '') {
    throw new ConfigError(
      `${input.credentialId === undefined ? 'rotation' : `rotation of "${input.credentialId}"`}: the command rotator needs option "command", the program and its arguments as an array of strings (never one shell string)`,
      { path: 'options.command' },
    );
  }
  return cmd as [string, ...string[]];
}

function target(input: RotatorInput): string {
  return `command ${basename(argv(input)[0])}`;
}

function passwordField(input: RotatorInput): string {
  return stringOption(input, 'password_field') ?? 'password';
}

/** Run the program for one step; resolves on exit status 0. */
function runStep(input: RotatorInput, step: RotationStep, pending: JsonObject): Promise<void> {
  const [program, ...args] = argv(input);
  const where = target(input);
  const timeoutMs = secondsOption(input, 'timeout_seconds', 60) * 1000;
  const output = stringOption(input, 'output') ?? 'discard';
  if (output !== 'discard' && output !== 'inherit') throw new ConfigError('rotation: rotator option "output" must be "discard" or "inherit"', { path: 'options.output' });
  const payload = JSON.stringify({
    step,
    strategy: input.strategy,
    ...(input.credentialId === undefined ? {} : { credential: input.credentialId }),
    current: input.current,
    pending,
    ...(input.admin === undefined ? {} : { admin: input.admin }),
  });
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, {
      shell: false,
      stdio: ['pipe', output === 'inherit' ? 2 : 'ignore', output === 'inherit' ? 2 : 'ignore'],
      env: { ...process.env, CREDSTASH_ROTATION_STEP: step, CREDSTASH_ROTATION_STRATEGY: input.strategy },
    });
    let timedOut = false;
    let kill: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      kill = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
      kill.unref();
    }, timeoutMs);
    const done = (err?: Error): void => {
      clearTimeout(timer);
      if (kill !== undefined) clearTimeout(kill);
      if (err === undefined) resolve();
      else reject(err);
    };
    child.once('error', (err: NodeJS.ErrnoException) => {
      const code = typeof err.code === 'string' && /^[A-Z0-9_]+$/.test(err.code) ? ` (${err.code})` : '';
      done(stepError(input, step, where, `the program could not be started${code}`));
    });
    child.once('close', (status, signal) => {
      if (timedOut) done(stepError(input, step, where, `the program did not finish within ${timeoutMs / 1000} s and was stopped`));
      else if (signal !== null) done(stepError(input, step, where, `the program was killed by ${signal}`));
      else if (status !== 0) done(stepError(input, step, where, `the program exited with status ${String(status)}`));
      else done();
    });
    // A program that does not read its stdin closes it: that is its business, not an error.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(payload);
  });
}

export const commandRotator: Rotator = {
  name: 'command',
  strategies: STRATEGIES,

  pending(input, newPassword) {
    argv(input);
    const out: JsonObject = { ...input.current, [passwordField(input)]: checkPassword(input, newPassword) };
    if (input.strategy === 'alternating') out.user = otherUser(input);
    return out;
  },

  set: (input, pending) => runStep(input, 'set', pending),
  test: (input, pending) => runStep(input, 'test', pending),
  finish: (input, pending) => runStep(input, 'finish', pending),
  revert: (input, pending) => runStep(input, 'revert', pending),
};
