/**
 * `credstash rotate` as real processes on the local keystore, with the `command` rotator and a script whose
 * "server" is a JSON file (user -> password). The script can be made to sleep before or after doing its part
 * of a step (an env var); the test then kills the credstash process group with SIGKILL (the machine going
 * away: credstash and its rotator program at once) and rotates again: the store and the server must agree,
 * with exactly one new version (or none, after a rollback). Also: 8 concurrent `credstash rotate`, a failing
 * test step, --status, --cancel, --due.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { BIN, cleanEnv, runCli } from '../../helpers/cli.js';
import { expectNoLeak } from '../../helpers/no-leak.js';

const root = mkdtempSync(join(tmpdir(), 'credstash-rotate-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const SERVER_SCRIPT = `
import { existsSync, mkdirSync, readFileSync, renameSync, rmdirSync, writeFileSync } from 'node:fs';
const input = JSON.parse(readFileSync(0, 'utf8'));
const file = process.env.FAKE_SERVER_FILE;
const read = () => JSON.parse(readFileSync(file, 'utf8'));
// One change at a time, as a real server makes them: --due runs several rotations at once, each step its own
// process, and unserialised read-modify-writes of one file (through one temp name) lose or fail a change.
const change = (edit) => {
  for (;;) {
    try { mkdirSync(file + '.lock'); break; } catch (err) { if (err.code !== 'EEXIST') throw err; }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
  }
  try {
    const db = read();
    edit(db);
    writeFileSync(file + '.tmp', JSON.stringify(db));
    renameSync(file + '.tmp', file);
  } finally {
    rmdirSync(file + '.lock');
  }
};
const step = process.env.CREDSTASH_ROTATION_STEP;
const sleepy = process.env.FAKE_SLEEP === step + ':' + (process.env.FAKE_SLEEP_WHEN ?? 'before');
// Sleeps FAKE_SLEEP_MS, or less when the file FAKE_RELEASE appears.
const pause = async () => {
  writeFileSync(process.env.FAKE_MARKER, String(process.pid));
  const end = Date.now() + Number(process.env.FAKE_SLEEP_MS ?? 30000);
  while (Date.now() < end && !(process.env.FAKE_RELEASE !== undefined && existsSync(process.env.FAKE_RELEASE))) await new Promise((r) => setTimeout(r, 20));
};
if (sleepy && process.env.FAKE_SLEEP_WHEN !== 'after') await pause();
if (step === 'set') change((db) => { db[input.pending.user] = input.pending.password; });
if (step === 'revert') change((db) => { db[input.current.user] = input.current.password; });
if (step === 'test' && (read()[input.pending.user] !== input.pending.password || process.env.FAKE_FAIL_TEST === '1' || process.env.FAKE_FAIL_TEST_USER === input.pending.user)) process.exit(3);
if (sleepy && process.env.FAKE_SLEEP_WHEN === 'after') await pause();
`;

interface Project {
  dir: string;
  env: NodeJS.ProcessEnv;
  server: string;
  marker: string;
}

let n = 0;
async function project(): Promise<Project> {
  const dir = join(root, `p${n++}`);
  const home = join(dir, 'home');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(home, { recursive: true });
  const server = join(dir, 'server.json');
  const marker = join(dir, 'sleeping');
  const script = join(dir, 'fake-server.mjs');
  writeFileSync(script, SERVER_SCRIPT);
  writeFileSync(server, JSON.stringify({ app: 'old-password-1' }));
  const env = cleanEnv(home, { FAKE_SERVER_FILE: server, FAKE_MARKER: marker });
  expect((await runCli(['init'], { cwd: dir, env })).code).toBe(0);
  appendFileSync(
    join(dir, 'credstash.toml'),
    `
[[credentials]]
id = "app.db"

[credentials.rotation]
rotator = "command"
every = "30d"
options = { command = [${JSON.stringify(process.execPath)}, ${JSON.stringify(script)}] }
`,
  );
  const put = await runCli(['put', 'app.db', JSON.stringify({ user: 'app', password: 'old-password-1' })], { cwd: dir, env });
  expect(put.code, put.stderr).toBe(0);
  return { dir, env, server, marker };
}

async function rotate(p: Project, args: string[] = [], extra: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runCli(['rotate', ...args], { cwd: p.dir, env: { ...p.env, ...extra } });
}

/** Start `credstash rotate app.db` in its own process group, wait until the script sleeps, SIGKILL the group. */
async function rotateAndKill(p: Project, extra: Record<string, string>): Promise<void> {
  rmSync(p.marker, { force: true });
  const child = spawn(process.execPath, [BIN, 'rotate', 'app.db'], { cwd: p.dir, env: { ...p.env, ...extra }, stdio: 'ignore', detached: true });
  const exited = new Promise<void>((r) => child.on('close', () => r()));
  const deadline = Date.now() + 20_000;
  while (!existsSync(p.marker)) {
    if (Date.now() > deadline) throw new Error('the rotator script never reached its sleep');
    await new Promise((r) => setTimeout(r, 20));
  }
  process.kill(-(child.pid as number), 'SIGKILL');
  await exited;
}

async function versions(p: Project): Promise<string[]> {
  const r = await runCli(['list'], { cwd: p.dir, env: p.env });
  expect(r.code, r.stderr).toBe(0);
  return r.stdout
    .split('\n')
    .filter((l) => l.startsWith('app.db '))
    .map((l) => String(Number(/version (\S+)/.exec(l)?.[1] ?? 'NaN')));
}

async function stored(p: Project): Promise<{ user: string; password: string }> {
  const r = await runCli(['get', 'app.db'], { cwd: p.dir, env: p.env });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { user: string; password: string };
}

/** Move the history's creation time of every version of `ids` back by `days` (the keystore's plaintext copy, which --due reads). */
function backdate(p: Project, ids: string[], days: number): void {
  const file = join(p.dir, '.credstash', 'keystore.json');
  const old = new Date(Date.now() - days * 86_400_000).toISOString();
  const text = readFileSync(file, 'utf8');
  const next = text
    .split('\n')
    .map((l) => (ids.some((id) => l.includes(`"id":${JSON.stringify(id)}`)) ? l.replace(/"createdAt":"[^"]+"/, `"createdAt":"${old}"`) : l))
    .join('\n');
  expect(next).not.toBe(text);
  writeFileSync(file, next);
}

function serverDb(p: Project): Record<string, string> {
  return JSON.parse(readFileSync(p.server, 'utf8')) as Record<string, string>;
}

async function expectAgree(p: Project): Promise<void> {
  const v = await stored(p);
  expect(serverDb(p)[v.user]).toBe(v.password);
}

describe('credstash rotate: real processes on the local keystore with the command rotator', () => {
  let p: Project;
  beforeEach(async () => {
    p = await project();
  });

  it('rotates: one new version, the server holds its password, --status shows no rotation in progress', async () => {
    const r = await rotate(p, ['app.db']);
    expect(r, r.stderr).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toBe('Rotated app.db -- version 2 (from 1; command, single)\n');
    expect(await versions(p)).toHaveLength(2);
    const v = await stored(p);
    expect(v.password).not.toBe('old-password-1');
    await expectAgree(p);
    expectNoLeak(r, v.password);
    const st = await rotate(p, ['--status', '--json']);
    expect(st.code, st.stderr).toBe(0);
    const rows = JSON.parse(st.stdout) as Array<Record<string, unknown>>;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id: 'app.db', rotator: 'command', strategy: 'single', every: '30d', version: '2', due: false });
    expect(rows[0]).not.toHaveProperty('pending');
    expectNoLeak(st, v.password);
  });

  const points: Array<[string, 'before' | 'after', 'rotated' | 'rolled-back']> = [
    ['set', 'before', 'rotated'],
    ['set', 'after', 'rotated'],
    ['test', 'before', 'rotated'],
    ['test', 'after', 'rotated'],
    ['finish', 'before', 'rotated'],
    ['finish', 'after', 'rotated'],
  ];
  for (const [step, when, outcome] of points) {
    it(`kill -9 ${when} the rotator's ${step}, then rotate again: the store and the server agree, exactly one new version`, async () => {
      await rotateAndKill(p, { FAKE_SLEEP: `${step}:${when}`, FAKE_SLEEP_WHEN: when });
      expect((await versions(p)).length).toBeLessThanOrEqual(2);
      // until finish, readers get the old value, whatever the server already has
      if (step !== 'finish') {
        expect(await versions(p)).toEqual(['1']);
        expect((await stored(p)).password).toBe('old-password-1');
      }
      const st = await rotate(p, ['--status']);
      expect(st.stdout).toMatch(new RegExp(`in progress: step ${step}, started \\d+ s ago by process \\d+ on .+ \\(gone\\)`));
      const again = await rotate(p, ['app.db']);
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).toMatch(outcome === 'rotated' ? /^Rotated app\.db -- version 2 \(from 1; command, single, resumed\)\n$/ : /^Rolled back/);
      expect(await versions(p)).toHaveLength(2);
      await expectAgree(p);
      expect(serverDb(p).app).not.toBe('old-password-1');
    });
  }

  for (const when of ['before', 'after'] as const) {
    it(`a failing test step, with kill -9 ${when} the revert: the next rotate completes the rollback, no version, the old password works`, async () => {
      await rotateAndKill(p, { FAKE_SLEEP: `revert:${when}`, FAKE_SLEEP_WHEN: when, FAKE_FAIL_TEST: '1' });
      const again = await rotate(p, ['app.db']);
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).toMatch(/^Rolled back the rotation of app\.db: version 1 is current and the target uses it; no version was added \(command, single, resumed\)\n$/);
      expect(await versions(p)).toEqual(['1']);
      expect(serverDb(p).app).toBe('old-password-1');
    });
  }

  it('a failing test step: exit 1, the error names the step and the target, no version, the old password works', async () => {
    const r = await rotate(p, ['app.db'], { FAKE_FAIL_TEST: '1' });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'credstash: rotation of "app.db" failed at step test on command node: the program exited with status 3; rolled back: the current password is in use again, the pending value was discarded and no version was added\n',
    );
    expect(await versions(p)).toEqual(['1']);
    expect(serverDb(p).app).toBe('old-password-1');
  });

  it('kill -9 inside set, then --cancel: the server has the old password again, no version', async () => {
    await rotateAndKill(p, { FAKE_SLEEP: 'set:after', FAKE_SLEEP_WHEN: 'after' });
    expect(serverDb(p).app).not.toBe('old-password-1');
    const c = await rotate(p, ['app.db', '--cancel']);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).toMatch(/^Rolled back the rotation of app\.db/);
    expect(serverDb(p).app).toBe('old-password-1');
    expect(await versions(p)).toEqual(['1']);
    const none = await rotate(p, ['app.db', '--cancel']);
    expect(none).toMatchObject({ code: 1, stderr: expect.stringMatching(/^credstash: no rotation of "app\.db" is in progress in .+; nothing to cancel\n$/) });
  });

  it('8 concurrent credstash rotate: exactly one rotates, the others exit 1 saying a rotation is in progress with its step and age; one new version', async () => {
    // The rotation that claims holds its set step until the other 7 have answered (or 30 s passed), so a
    // process that starts late on a loaded machine still meets it in progress, never already finished.
    const release = join(p.dir, 'release');
    const extra = { FAKE_SLEEP: 'set:before', FAKE_SLEEP_WHEN: 'before', FAKE_SLEEP_MS: '30000', FAKE_RELEASE: release };
    const started = Array.from({ length: 8 }, () => rotate(p, ['app.db'], extra));
    let answered = 0;
    for (const r of started) void r.then(() => answered++);
    const deadline = Date.now() + 30_000;
    while (answered < 7 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    writeFileSync(release, '');
    const runs = await Promise.all(started);
    const ok = runs.filter((r) => r.code === 0);
    const busy = runs.filter((r) => r.code === 1);
    expect(ok.length, runs.map((r) => r.stderr).join('')).toBe(1);
    expect(busy.length).toBe(7);
    for (const b of busy) {
      expect(b.stderr).toMatch(/^credstash: rotation of "app\.db" in local keystore .+ is in progress \(step (set|test|finish), started \d+ s ago, updated \d+ s ago by process \d+ on .+\); wait for it to end; run the command again afterwards\n$/);
    }
    expect(await versions(p)).toHaveLength(2);
    await expectAgree(p);
  });

  it('usage: a name, --due or --status is needed; modes do not combine; --json goes with --status (exit 2); a name without a policy is a config error (exit 1)', async () => {
    for (const args of [[], ['--due', 'app.db'], ['app.db', '--cancel', '--resume'], ['app.db', '--json']]) {
      const r = await rotate(p, args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
    }
    const none = await rotate(p, ['other.db']);
    expect(none.code).toBe(1);
    expect(none.stderr).toBe('credstash: credential "other.db" has no rotation policy; add a rotation table (rotator, strategy, every, ...) to its [[credentials]] definition in credstash.toml\n');
    // the Fernet key rotation command is still its own command
    const rk = await runCli(['rotate-key', '--help'], { cwd: p.dir, env: p.env });
    expect(rk.code).toBe(0);
    expect(rk.stdout).toContain('--reencrypt-only');
    const help = await rotate(p, ['--help']);
    expect(help.stdout).toContain('credstash rotate app.db.prod');
  });

  it('--due rotates the credentials older than every, goes on after a failure and exits 1; --status shows each', async () => {
    const script = join(p.dir, 'fake-server.mjs');
    for (const id of ['old.ok', 'old.bad', 'fresh.db']) {
      appendFileSync(join(p.dir, 'credstash.toml'), `\n[[credentials]]\nid = "${id}"\n\n[credentials.rotation]\nrotator = "command"\nevery = "30d"\noptions = { command = [${JSON.stringify(process.execPath)}, ${JSON.stringify(script)}] }\n`);
    }
    writeFileSync(p.server, JSON.stringify({ app: 'old-password-1', ok: 'ok-1', bad: 'bad-1' }));
    for (const [id, user] of [['old.ok', 'ok'], ['old.bad', 'bad'], ['fresh.db', 'ok']] as const) {
      expect((await runCli(['put', id, JSON.stringify({ user, password: `${user}-1` })], { cwd: p.dir, env: p.env })).code).toBe(0);
    }
    backdate(p, ['app.db', 'old.ok', 'old.bad'], 40);
    // old.bad's target refuses the test; the others go on
    const r = await rotate(p, ['--due'], { FAKE_FAIL_TEST_USER: 'bad' });
    expect(r.code).toBe(1);
    expect(r.stdout.split('\n').filter((l) => l !== '').sort()).toEqual([
      '2 rotated, 1 failed, 1 not due',
      'Failed old.bad: rotation of "old.bad" failed at step test on command node: the program exited with status 3; rolled back: the current password is in use again, the pending value was discarded and no version was added',
      'Rotated app.db -- version 2',
      'Rotated old.ok -- version 2',
    ]);
    expect(r.stderr).toBe('credstash: 1 of the due rotations failed (listed above); first: rotation of "old.bad" failed at step test on command node: the program exited with status 3; rolled back: the current password is in use again, the pending value was discarded and no version was added\n');
    const st = await rotate(p, ['--status']);
    expect(st.code, st.stderr).toBe(0);
    const lines = st.stdout.split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(4);
    expect(lines.find((l) => l.startsWith('old.bad:'))).toMatch(/^old\.bad: command \(single\); version 1 written \S+; every 30d, next due \S+ \(due\)$/);
    expect(lines.find((l) => l.startsWith('old.ok:'))).toMatch(/^old\.ok: command \(single\); version 2 written \S+; every 30d, next due \S+$/);
    const again = await rotate(p, ['--due']);
    expect(again.stdout).toBe('Rotated old.bad -- version 2\n1 rotated, 0 failed, 3 not due\n');
  });
});
