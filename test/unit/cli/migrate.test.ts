/**
 * `credstash migrate` output: a progress bar on stderr when it is a terminal and a final summary
 * either way. In-process, with stderr reporting isTTY true or not; the stores are memory stores registered
 * as types, named on the command line as `TYPE:`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { registerCredentialStore, unregisterCredentialStore } from '../../../src/stores/registry.js';
import { MemoryStore } from '../../fixtures/memory-store.js';
import { CANARY, expectNoLeak } from '../../helpers/no-leak.js';
import { runCliInProcess, type InProcessRun } from '../../helpers/cli-in-process.js';

let dir: string;
let src: MemoryStore;
let dst: MemoryStore;

async function run(args: string[], tty: boolean): Promise<InProcessRun> {
  return runCliInProcess(args, { cwd: dir, stderrIsTTY: tty });
}

beforeAll(() => {
  registerCredentialStore('migsrc', () => src);
  registerCredentialStore('migdst', () => dst);
});
afterAll(() => {
  unregisterCredentialStore('migsrc');
  unregisterCredentialStore('migdst');
  process.exitCode = 0;
});
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'credstash-migrate-'));
  writeFileSync(join(dir, 'credstash.toml'), '[credential_store]\ntype = "migdst"\n');
  src = new MemoryStore('src');
  dst = new MemoryStore('dst');
  await src.storeCredential('app.one', CANARY);
  await src.storeCredential('app.one', `${CANARY}-2`, { autoVersion: true });
  await src.storeCredential('app.two', 'two');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('credstash migrate output', () => {
  it('draws a progress bar on stderr when stderr is a terminal, clears it, and prints the summary on stdout', async () => {
    const r = await run(['migrate', '--from', 'migsrc:', '--to', 'migdst:', '--all-versions'], true);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('copied 3 version(s) from memory store "src" to memory store "dst"; 0 already done; 0 failed (of 3)\n');
    // one redraw per version, each starting with \r + clear-line, then a final clear
    const draws = r.stderr.split('\r\u001b[K').filter((s) => s !== '');
    // versions copy concurrently: the count and bar advance in order, the id shown is whichever finished
    expect(draws.map((d) => d.replace(/ app\.(one|two)$/, ''))).toEqual([`[${'#'.repeat(10)}${'-'.repeat(20)}] 1/3`, `[${'#'.repeat(20)}${'-'.repeat(10)}] 2/3`, `[${'#'.repeat(30)}] 3/3`]);
    expect(draws.map((d) => d.split(' ').at(-1)).sort()).toEqual(['app.one', 'app.one', 'app.two']);
    expect(r.stderr.endsWith('\r\u001b[K')).toBe(true);
    expectNoLeak(r.stderr + r.stdout, CANARY);
  });

  it('writes nothing to stderr when stderr is not a terminal; the summary still goes to stdout', async () => {
    const r = await run(['migrate', '--from', 'migsrc:', '--to', 'migdst:', '--all-versions'], false);
    expect(r).toEqual({ code: 0, stderr: '', stdout: 'copied 3 version(s) from memory store "src" to memory store "dst"; 0 already done; 0 failed (of 3)\n' });
    const again = await run(['migrate', '--from', 'migsrc:', '--all-versions'], false);
    expect(again).toEqual({ code: 0, stderr: '', stdout: 'copied 0 version(s) from memory store "src" to memory store "dst"; 3 already done; 0 failed (of 3)\n' });
  });

  it('on failures prints one line per failed version and the summary, exits 1, and no bar when not a terminal', async () => {
    await dst.storeCredential('app.two', `${CANARY}-dst`);
    const r = await run(['migrate', '--from', 'migsrc:', '--to', 'migdst:'], false);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('copied 1 version(s) from memory store "src" to memory store "dst"; 0 already done; 1 failed (of 2)\n');
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^credstash: app\.two version 1: /);
    expect(lines[1]).toBe('credstash: 1 version(s) could not be migrated (listed above); fix them and run the same command again');
    expectNoLeak(r.stderr + r.stdout, CANARY, `${CANARY}-dst`);
  });
});
