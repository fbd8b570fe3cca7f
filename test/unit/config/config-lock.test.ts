import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { acquireConfigLock, withConfigLock } from '../../../src/config/config-lock.js';

const root = mkdtempSync(join(tmpdir(), 'credstash-config-lock-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
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
const failure = async (p: Promise<unknown>): Promise<Error> => {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(Error);
  return e as Error;
};
const linux = existsSync('/proc/self/stat');

describe('the credstash.toml key-list lock', () => {
  it('is a 0600 file naming pid, host and start time; release removes it, assertHeld passes while held', async () => {
    const file = fresh();
    const lock = await acquireConfigLock(file);
    const st = statSync(`${file}.lock`);
    expect(st.mode & 0o777).toBe(0o600);
    const body = JSON.parse(readFileSync(`${file}.lock`, 'utf8')) as Record<string, unknown>;
    expect(body).toMatchObject({ pid: process.pid, host: hostname(), purpose: 'rotate-key' });
    if (linux) expect(typeof body.started).toBe('string');
    expect(() => lock.assertHeld()).not.toThrow();
    lock.release();
    expect(existsSync(`${file}.lock`)).toBe(false);
    expect(() => lock.assertHeld()).toThrow(/was removed or replaced while this process held it/);
  });

  it('a live holder is never broken, however old its lock: the waiter fails after its timeout naming holder and file', async () => {
    const file = fresh();
    const raw = plant(file, { pid: process.pid, host: hostname(), started: null, created: 0, nonce: 'live', purpose: 'rotate-key' });
    const started = Date.now();
    const err = await failure(acquireConfigLock(file, { timeoutMs: 400 }));
    expect(Date.now() - started).toBeGreaterThanOrEqual(390);
    expect(err).toMatchObject({ code: 'ERR_CONFIG' });
    expect(err.message).toBe(`${file} is locked by rotate-key (process ${process.pid}); waited 400 ms. If no credstash process is running, remove "${file}.lock"`);
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
    const second = withConfigLock(file, {}, () => void order.push('second'));
    await Promise.all([first, second]);
    expect(order).toEqual(['first in', 'first out', 'second']);
    expect(existsSync(`${file}.lock`)).toBe(false);
  });

  it('a lock whose pid is dead on this host is broken at once', async () => {
    const file = fresh();
    const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    plant(file, { pid: Number(child.stdout), host: hostname(), started: '1', created: Date.now(), nonce: 'dead', purpose: 'rotate-key' });
    const started = Date.now();
    const lock = await acquireConfigLock(file, { timeoutMs: 5000 });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(JSON.parse(readFileSync(`${file}.lock`, 'utf8'))).toMatchObject({ pid: process.pid });
    lock.release();
  });

  it.skipIf(!linux)('a recycled pid (alive, but started at another time than the holder) is broken at once (skipped without /proc)', async () => {
    const file = fresh();
    plant(file, { pid: process.pid, host: hostname(), started: '1', created: Date.now(), nonce: 'recycled', purpose: 'rotate-key' });
    const lock = await acquireConfigLock(file, { timeoutMs: 5000 });
    lock.release();
  });

  it('a holder on another host is never broken, even with a timestamp in the future; the message names the host', async () => {
    const file = fresh();
    const raw = plant(file, { pid: 1, host: 'build-7.example', started: '5', created: Date.now() + 86_400_000, nonce: 'remote', purpose: 'init' });
    const err = await failure(acquireConfigLock(file, { timeoutMs: 300 }));
    expect(err.message).toBe(`${file} is locked by init (process 1 on build-7.example); waited 300 ms. If no credstash process is running on build-7.example, remove "${file}.lock"`);
    expect(readFileSync(`${file}.lock`, 'utf8')).toBe(raw);
  });

  it('unreadable content (not written by a holder: locks are linked into place complete) is broken after about a second', async () => {
    const file = fresh();
    writeFileSync(`${file}.lock`, '', { mode: 0o600 });
    const started = Date.now();
    const lock = await acquireConfigLock(file, { timeoutMs: 5000 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    lock.release();
  });

  it('a lock path that is a folder, a symlink or a dangling symlink is refused at once, untouched', async () => {
    for (const make of [
      (p: string) => mkdirSync(p),
      (p: string) => symlinkSync('/nonexistent/credstash-lock-target', p),
      (p: string) => {
        writeFileSync(`${p}.target`, JSON.stringify({ pid: 1, host: 'x', nonce: 'n' }));
        symlinkSync(`${p}.target`, p);
      },
    ]) {
      const file = fresh();
      make(`${file}.lock`);
      const started = Date.now();
      const err = await failure(acquireConfigLock(file, { timeoutMs: 5000 }));
      expect(Date.now() - started).toBeLessThan(1000);
      expect(err.message).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\.lock is not a lock file \\((a folder|a symlink)\\); remove it and retry$`));
    }
  });

  it('release never removes a lock that is not its own; assertHeld then fails', async () => {
    const file = fresh();
    const lock = await acquireConfigLock(file);
    const other = plant(file, { pid: process.pid, host: hostname(), started: null, created: Date.now(), nonce: 'someone-else', purpose: 'rotate-key' });
    expect(() => lock.assertHeld()).toThrow(/removed or replaced/);
    lock.release();
    expect(readFileSync(`${file}.lock`, 'utf8')).toBe(other);
  });

  it('a folder that cannot hold the lock is a ConfigError naming the file, not a stack', async () => {
    const err = await failure(acquireConfigLock(join(root, 'missing-folder', 'credstash.toml'), { timeoutMs: 100 }));
    expect(err).toMatchObject({ code: 'ERR_CONFIG' });
    expect(err.message).toMatch(/^cannot lock .*credstash\.toml \(ENOENT\): cannot create .*credstash\.toml\.lock$/);
  });
});
