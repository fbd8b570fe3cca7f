/**
 * The credstash.toml key-list lock: a thin layer over src/core/file-lock.ts (whose own tests cover breaking
 * under every interleaving), checked here for what rotate-key and init rely on.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { acquireConfigLock, realConfigPath, withConfigLock } from '../../../src/config/config-lock.js';

const root = realpathSync(mkdtempSync(join(tmpdir(), 'credstash-config-lock-')));
// A live process other than this one, to hold planted locks (a lock naming this process's own pid that it
// does not hold is an earlier process's, and is broken).
const holder: ChildProcess = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
afterAll(() => {
  holder.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});
const livePid = (): number => holder.pid as number;
let n = 0;
const fresh = (): string => {
  const d = join(root, `d${++n}`);
  mkdirSync(d);
  return join(d, 'credstash.toml');
};
const plant = (file: string, body: object): string => {
  const raw = JSON.stringify(body);
  writeFileSync(`${file}.lock`, raw, { mode: 0o600 });
  return raw;
};
const failure = async (p: Promise<unknown>): Promise<Error & { code?: string }> => {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(Error);
  return e as Error & { code?: string };
};
const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
const linux = existsSync('/proc/self/stat');

describe('the credstash.toml key-list lock', () => {
  it('is a 0600 file beside the config naming pid and host; assertHeld passes while held; release removes it', async () => {
    const file = fresh();
    const lock = await acquireConfigLock(file);
    expect(lock.path).toBe(`${file}.lock`);
    expect(statSync(lock.path).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(lock.path, 'utf8'))).toMatchObject({ pid: process.pid, host: hostname() });
    expect(() => lock.assertHeld()).not.toThrow();
    await lock.release();
    expect(existsSync(lock.path)).toBe(false);
    expect(() => lock.assertHeld()).toThrow(/was removed or replaced while this process held it/);
  });

  it('a live holder is never broken, however old its lock: the waiter fails after its timeout naming the file and the lock', async () => {
    const file = fresh();
    const raw = plant(file, { pid: livePid(), host: hostname(), created: Date.now() - 600_000, nonce: 'live' });
    const started = Date.now();
    const err = await failure(acquireConfigLock(file, { timeoutMs: 400 }));
    expect(Date.now() - started).toBeGreaterThanOrEqual(390);
    expect(err.code).toBe('ERR_STORE_UNAVAILABLE');
    expect(err.message).toMatch(new RegExp(`^${esc(file)} \\(rotate-key\\) is locked by .*${livePid()}.*; waited 400 ms\\. If no credstash process is running, remove "${esc(file)}\\.lock"$`));
    expect(readFileSync(`${file}.lock`, 'utf8')).toBe(raw);
  });

  it('two holders in one process: the second waits for the first to release, then holds it', async () => {
    const file = fresh();
    const order: string[] = [];
    const first = withConfigLock(file, {}, async () => {
      order.push('first in');
      await new Promise((r) => setTimeout(r, 300));
      order.push('first out');
    });
    await new Promise((r) => setTimeout(r, 50));
    const second = withConfigLock(file, { purpose: 'init' }, () => void order.push('second'));
    await Promise.all([first, second]);
    expect(order).toEqual(['first in', 'first out', 'second']);
    expect(existsSync(`${file}.lock`)).toBe(false);
  });

  it('a lock whose pid is dead on this host is broken at once, and its leftovers are removed', async () => {
    const file = fresh();
    const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const dead = Number(child.stdout);
    plant(file, { pid: dead, host: hostname(), created: Date.now(), nonce: 'dead' });
    const draft = `${file}.lock.${dead}.0123abcd.tmp`;
    writeFileSync(draft, '{}', { mode: 0o600 });
    const started = Date.now();
    const lock = await acquireConfigLock(file, { timeoutMs: 5000 });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(JSON.parse(readFileSync(lock.path, 'utf8'))).toMatchObject({ pid: process.pid });
    expect(existsSync(draft)).toBe(false);
    await lock.release();
  });

  it.skipIf(!linux)('a recycled pid (alive, but started at another time than the holder) is broken at once (skipped without /proc)', async () => {
    const file = fresh();
    plant(file, { pid: livePid(), host: hostname(), created: Date.now(), nonce: 'recycled', start: '1' });
    const started = Date.now();
    const lock = await acquireConfigLock(file, { timeoutMs: 5000 });
    expect(Date.now() - started).toBeLessThan(2000);
    await lock.release();
  });

  it('a fresh lock from another host is not broken, even with a timestamp far in the future', async () => {
    const file = fresh();
    const raw = plant(file, { pid: 1, host: 'build-7.example', created: Date.now() + 86_400_000, nonce: 'remote' });
    const err = await failure(acquireConfigLock(file, { timeoutMs: 300 }));
    expect(err.message).toMatch(/is locked by .*build-7\.example/);
    expect(readFileSync(`${file}.lock`, 'utf8')).toBe(raw);
  });

  it('unreadable content (locks are linked into place complete, so it is debris) is broken after about a second', async () => {
    const file = fresh();
    writeFileSync(`${file}.lock`, '', { mode: 0o600 });
    const lock = await acquireConfigLock(file, { timeoutMs: 5000 });
    await lock.release();
  });

  it('a folder at the lock path is refused at once, one line naming it', async () => {
    const file = fresh();
    mkdirSync(`${file}.lock`);
    const started = Date.now();
    const err = await failure(acquireConfigLock(file, { timeoutMs: 5000 }));
    expect(Date.now() - started).toBeLessThan(1000);
    expect(err.message).toBe(`${file} (rotate-key): its lock "${file}.lock" is a directory, not a lock file (credstash never makes one); remove it`);
  });

  it('a symlink at the lock path is never followed: its target is untouched', async () => {
    const file = fresh();
    const target = `${file}.target`;
    writeFileSync(target, 'not yours');
    symlinkSync(target, `${file}.lock`);
    const lock = await acquireConfigLock(file, { timeoutMs: 5000 });
    expect(readFileSync(target, 'utf8')).toBe('not yours');
    await lock.release();
    expect(readFileSync(target, 'utf8')).toBe('not yours');
  });

  it('release never removes a lock that is not its own; assertHeld then fails', async () => {
    const file = fresh();
    const lock = await acquireConfigLock(file);
    rmSync(lock.path);
    const other = plant(file, { pid: livePid(), host: hostname(), created: Date.now(), nonce: 'someone-else' });
    expect(() => lock.assertHeld()).toThrow(/removed or replaced/);
    await lock.release();
    expect(readFileSync(`${file}.lock`, 'utf8')).toBe(other);
  });

  it('every path to one file shares one lock, beside the real file', async () => {
    const file = fresh();
    writeFileSync(file, '');
    const alias = join(root, `alias-${n}.toml`);
    symlinkSync(file, alias);
    expect(realConfigPath(alias)).toBe(file);
    const lock = await acquireConfigLock(alias);
    expect(lock.path).toBe(`${file}.lock`);
    const err = await failure(acquireConfigLock(file, { timeoutMs: 200 }));
    expect(err.message).toMatch(/is locked by/);
    await lock.release();
  });

  it('a folder that cannot hold the lock is a typed error naming the file, not a stack', async () => {
    const err = await failure(acquireConfigLock(join(root, 'missing-folder', 'credstash.toml'), { timeoutMs: 100 }));
    expect(err.code).toBe('ERR_STORE_UNAVAILABLE');
    expect(err.message).toMatch(/^cannot lock .*credstash\.toml \(rotate-key\) \(ENOENT\)$/);
  });
});
