/**
 * The documented scheduled-rotation Lambda (docs/examples/rotation/handler.mjs) runs as deployed: in a fresh
 * node process whose `credstash-ts` is this run's build, with credstash.toml in its working directory (a
 * local keystore and `command` rotator policies). Of two credentials with `every = "30d"`, the one whose
 * newest version is 40 days old is rotated and the other is not; a second (warm) invocation finds nothing
 * due; the summary holds no password.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BUILD, ROOT, cleanEnv, runCli } from '../../helpers/cli.js';
import { expectNoLeak } from '../../helpers/no-leak.js';

const dir = mkdtempSync(join(tmpdir(), 'credstash-rotation-lambda-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const TARGET = `
import { readFileSync, writeFileSync } from 'node:fs';
const { current, pending } = JSON.parse(readFileSync(0, 'utf8'));
const file = process.env.TARGET_FILE;
const db = JSON.parse(readFileSync(file, 'utf8'));
const step = process.env.CREDSTASH_ROTATION_STEP;
if (step === 'set') db[pending.user] = pending.password;
if (step === 'revert') db[current.user] = current.password;
if (step === 'test' && db[pending.user] !== pending.password) process.exit(1);
writeFileSync(file, JSON.stringify(db));
`;

describe('docs/examples/rotation/handler.mjs', () => {
  it('rotates the due credential only, returns a value-free summary, and a warm invocation finds nothing due', async () => {
    const home = join(dir, 'home');
    mkdirSync(home);
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(BUILD, join(dir, 'node_modules', 'credstash-ts'));
    copyFileSync(join(ROOT, 'docs/examples/rotation/handler.mjs'), join(dir, 'handler.mjs'));
    writeFileSync(join(dir, 'target.mjs'), TARGET);
    const target = join(dir, 'target.json');
    writeFileSync(target, JSON.stringify({ old_user: 'pw-old-1', new_user: 'pw-new-1' }));
    const env = cleanEnv(home, { TARGET_FILE: target });
    expect((await runCli(['init'], { cwd: dir, env })).code).toBe(0);
    for (const [id] of [['app.old'], ['app.new']]) {
      appendFileSync(join(dir, 'credstash.toml'), `\n[[credentials]]\nid = "${id}"\n\n[credentials.rotation]\nrotator = "command"\nevery = "30d"\noptions = { command = [${JSON.stringify(process.execPath)}, "target.mjs"] }\n`);
    }
    expect((await runCli(['put', 'app.old', '{"user": "old_user", "password": "pw-old-1"}'], { cwd: dir, env })).code).toBe(0);
    expect((await runCli(['put', 'app.new', '{"user": "new_user", "password": "pw-new-1"}'], { cwd: dir, env })).code).toBe(0);
    // app.old was written 40 days ago: the history's creation time of its only version, moved back
    const keystore = join(dir, '.credstash', 'keystore.json');
    const text = readFileSync(keystore, 'utf8');
    const old = new Date(Date.now() - 40 * 86_400_000).toISOString();
    const lines = text.split('\n').map((l) => (l.includes('"id":"app.old"') ? l.replace(/"createdAt":"[^"]+"/, `"createdAt":"${old}"`) : l));
    expect(lines.join('\n')).not.toBe(text);
    writeFileSync(keystore, lines.join('\n'));

    const run = spawnSync(
      process.execPath,
      ['--input-type=module', '-e', "const { handler } = await import('./handler.mjs'); const a = await handler({}); const b = await handler({}); process.stdout.write(JSON.stringify([a, b]));"],
      { cwd: dir, env, encoding: 'utf8' },
    );
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const [first, second] = JSON.parse(run.stdout) as Array<{ rotated: number; failed: number; notDue: number; results: Array<{ id: string; outcome: string; version?: string }> }>;
    expect(first).toEqual({ rotated: 1, failed: 0, notDue: 1, results: [{ id: 'app.old', outcome: 'rotated', version: '2' }, { id: 'app.new', outcome: 'not-due' }] });
    expect(second).toMatchObject({ rotated: 0, failed: 0, notDue: 2 });
    const now = JSON.parse((await runCli(['get', 'app.old'], { cwd: dir, env })).stdout) as { user: string; password: string };
    expect(now.password).not.toBe('pw-old-1');
    expect((JSON.parse(readFileSync(target, 'utf8')) as Record<string, string>).old_user).toBe(now.password);
    expectNoLeak(run.stdout, now.password, 'pw-new-1');
  });
});
