/**
 * The command rotator runs a real child process (node running a small script written per test): the step in
 * its environment, the values as JSON on stdin and nowhere else (argv, environment), no shell, a timeout,
 * and a failure reported as a RotationStepError that names step and program and shows none of its output.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, RotationStepError } from '../../../src/core/errors.js';
import { commandRotator } from '../../../src/rotation/command.js';
import type { RotatorInput } from '../../../src/rotation/types.js';
import { CANARY, expectNoLeak, rejectionOf } from '../../helpers/no-leak.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'credstash-rot-cmd-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const OLD = `${CANARY}-old`;
const NEW = `${CANARY}-new`;

/** A script that records what it was given (step, argv, env, stdin) to out.json, then runs `tail`. */
function script(tail = ''): string {
  const path = join(dir, 'rotate.mjs');
  writeFileSync(
    path,
    `import { readFileSync, writeFileSync } from 'node:fs';
const stdin = readFileSync(0, 'utf8');
writeFileSync(${JSON.stringify(join(dir, 'out.json'))}, JSON.stringify({ step: process.env.CREDSTASH_ROTATION_STEP, strategy: process.env.CREDSTASH_ROTATION_STRATEGY, argv: process.argv.slice(2), env: process.env, stdin }));
${tail}`,
  );
  return path;
}

function input(command: unknown, extra: Partial<RotatorInput> = {}): RotatorInput {
  return { current: { host: 'h', user: 'app', password: OLD }, strategy: 'single', options: { command: command as string[] }, credentialId: 'app.ldap', ...extra };
}

function recorded(): { step: string; strategy: string; argv: string[]; env: Record<string, string>; stdin: string } {
  return JSON.parse(readFileSync(join(dir, 'out.json'), 'utf8')) as ReturnType<typeof recorded>;
}

describe('command rotator', () => {
  it('pending is current with the new password; alternating takes the other user of options.users', () => {
    expect(commandRotator.pending(input(['x']), NEW)).toEqual({ host: 'h', user: 'app', password: NEW });
    expect(commandRotator.pending(input(['x'], { strategy: 'alternating', options: { command: ['x'], users: ['app', 'app2'] } }), NEW)).toMatchObject({ user: 'app2', password: NEW });
    expect(commandRotator.pending(input(['x'], { options: { command: ['x'], password_field: 'secret' } }), NEW)).toEqual({ host: 'h', user: 'app', password: OLD, secret: NEW });
  });

  it.each(['set', 'test', 'finish', 'revert'] as const)('%s: the step is in CREDSTASH_ROTATION_STEP and the values are on stdin only (not argv, not the environment)', async (step) => {
    const s = script();
    const i = input([process.execPath, s, '--realm', 'corp']);
    const pending = commandRotator.pending(i, NEW);
    await (commandRotator[step] as (i: RotatorInput, p: typeof pending) => Promise<void>)(i, pending);
    const r = recorded();
    expect(r.step).toBe(step);
    expect(r.strategy).toBe('single');
    expect(r.argv).toEqual(['--realm', 'corp']);
    expect(JSON.parse(r.stdin)).toEqual({ step, strategy: 'single', credential: 'app.ldap', current: i.current, pending });
    expectNoLeak({ argv: r.argv, env: r.env }, OLD, NEW);
  });

  it('runs no shell: an argument with shell syntax reaches the program as it is', async () => {
    const s = script();
    const marker = join(dir, 'pwned');
    await commandRotator.set(input([process.execPath, s, `$(touch ${marker})`, '; touch x']), commandRotator.pending(input(['x']), NEW));
    expect(recorded().argv).toEqual([`$(touch ${marker})`, '; touch x']);
    expect(existsSync(marker)).toBe(false);
  });

  it('a non-zero exit is a RotationStepError naming step and program; what the program printed (the password) is not shown', async () => {
    const s = script(`process.stderr.write(JSON.parse(stdin).pending.password); process.stdout.write(JSON.parse(stdin).current.password); process.exit(3);`);
    const i = input([process.execPath, s]);
    const err = await rejectionOf(commandRotator.test(i, commandRotator.pending(i, NEW)));
    expect(err).toBeInstanceOf(RotationStepError);
    expect(err.message).toBe(`rotation of "app.ldap" failed at step test on command ${process.execPath.split('/').pop() as string}: the program exited with status 3`);
    expect(err).toMatchObject({ code: 'ERR_ROTATION_STEP', step: 'test', credentialId: 'app.ldap' });
    expectNoLeak(err, OLD, NEW);
  });

  it('a program still running after timeout_seconds is stopped and reported', async () => {
    const s = script(`setInterval(() => {}, 1000);`);
    const i = input([process.execPath, s], { options: { command: [process.execPath, s], timeout_seconds: 0.5 } });
    const started = Date.now();
    const err = await rejectionOf(commandRotator.set(i, commandRotator.pending(i, NEW)));
    expect(err).toBeInstanceOf(RotationStepError);
    expect(err.message).toMatch(/failed at step set on command .*: the program did not finish within 0\.5 s and was stopped$/);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('a program killed by a signal, and one that cannot be started, are reported without output', async () => {
    const s = script(`process.kill(process.pid, 'SIGKILL');`);
    const i = input([process.execPath, s]);
    expect((await rejectionOf(commandRotator.finish?.(i, commandRotator.pending(i, NEW)) ?? Promise.resolve())).message).toMatch(/at step finish .*: the program was killed by SIGKILL$/);
    const missing = input([join(dir, 'no-such-program')]);
    const err = await rejectionOf(commandRotator.set(missing, commandRotator.pending(missing, NEW)));
    expect(err.message).toBe('rotation of "app.ldap" failed at step set on command no-such-program: the program could not be started (ENOENT)');
    expectNoLeak(err, OLD, NEW);
  });

  it('a program that does not read stdin still succeeds', async () => {
    const path = join(dir, 'noread.mjs');
    writeFileSync(path, 'process.exit(0);');
    const i = input([process.execPath, path]);
    await commandRotator.set(i, { ...commandRotator.pending(i, NEW), pad: 'x'.repeat(1 << 20) });
  });

  it('a command given as one string (a shell line) is refused with a ConfigError', () => {
    expect(() => commandRotator.pending(input('rotate.sh --all'), NEW)).toThrow(ConfigError);
    expect(() => commandRotator.pending(input([]), NEW)).toThrow(/array of strings/);
  });
});
