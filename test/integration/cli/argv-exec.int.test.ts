/**
 * `exec -- cmd args`: everything after the first `--` reaches the command as typed, as bytes of text: no
 * number parsing (`1e3`, `0x10`, `010`), no option parsing (`-x`, `--`), `-` stays `-`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cleanEnv, runCli } from '../../helpers/cli.js';

let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'credstash-argv-exec-'));
  expect((await runCli(['init'], { cwd: dir, env: cleanEnv(dir) })).code).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('exec passes the arguments after -- to the command exactly as typed', async () => {
  const args = ['0x10', '1e3', '010', '-5', '-', '--', '-x', '- a', '--flag=1', ''];
  const r = await runCli(['exec', '--', process.execPath, '-e', 'process.stdout.write(JSON.stringify(process.argv.slice(1)))', ...args], { cwd: dir, env: cleanEnv(dir) });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(JSON.parse(r.stdout)).toEqual(args);
});
