/**
 * The keystore lock (src/core/file-lock.ts) against real processes: a live holder is never broken however long
 * it stalls, breaking an abandoned lock is safe when many race to do it, a writer checks its lock before it
 * renames, odd things at the lock path (symlink, directory, FIFO, another host's or a future timestamp) never
 * block writers silently, and what killed writers leave beside the keystore is cleaned up.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireFileLock } from '../../../src/core/file-lock.js';
import { generateFernetKey } from '../../../src/crypto/fernet.js';
import { LocalStore } from '../../../src/stores/local/index.js';
import { startLineChild, until } from '../../helpers/child-lines.js';
import { CANARY, expectNoLeak, rejectionOf } from '../../helpers/no-leak.js';

const WRITER = fileURLToPath(new URL('../../fixtures/fernet-writer.mjs', import.meta.url));
const RACER = fileURLToPath(new URL('../../fixtures/lock-racer.mjs', import.meta.url));
const KEY = generateFernetKey();
const root = mkdtempSync(join(tmpdir(), 'credstash-lock-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => {
  const dir = join(root, `s${++n}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return join(dir, 'keystore.json');
};
/** A pid that is not running (above the default pid_max range and checked). */
function deadPid(): number {
  for (let p = 4_000_000; ; p++) {
    try {
      process.kill(p, 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') return p;
    }
  }
}
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const start = startLineChild;

function lockBody(path: string): { pid?: number; nonce?: string } | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as { pid?: number; nonce?: string };
  } catch {
    return undefined;
  }
}

describe('a live lock holder is never broken', () => {
  it('a writer stopped with SIGSTOP for 4x the stale age keeps its lock; the other writer waits, and every acknowledged put survives', async () => {
    const path = fresh();
    const lockPath = `${path}.lock`;
    const a = start(WRITER, ['local', path, KEY, 'loop', 'stalled', String(200 * 1024)]);
    try {
      await until(() => a.lines.length >= 2, () => a.stderr());
      // Stop it while it holds the lock (the lock names its pid before and after the stop).
      let stopped = false;
      for (let tries = 0; tries < 5000 && !stopped; tries++) {
        const before = lockBody(lockPath);
        if (before === undefined || before.pid !== a.child.pid) {
          await sleep(0);
          continue;
        }
        a.child.kill('SIGSTOP');
        await sleep(20);
        const after = lockBody(lockPath);
        if (after?.nonce === before.nonce) stopped = true;
        else a.child.kill('SIGCONT');
      }
      expect(stopped, 'caught the writer holding the lock').toBe(true);
      const ackedBeforeStop = a.lines.map(Number);
      const other = new LocalStore({ path, fernetKeys: [KEY], lock: { timeoutMs: 800, staleMs: 200, clockSkewMs: 0 } });
      const t0 = Date.now();
      const err = await rejectionOf(other.storeCredential('stalled', CANARY, { autoVersion: true }));
      expect(Date.now() - t0).toBeGreaterThanOrEqual(750); // waited the whole timeout: 4x the stale age
      expect(err).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
      expect(err.message).toContain(`is locked by process ${a.child.pid}`);
      expectNoLeak(err, CANARY, KEY);
      expect(lockBody(lockPath)?.pid).toBe(a.child.pid); // still its lock
      a.child.kill('SIGCONT');
      await until(() => a.lines.length >= ackedBeforeStop.length + 2, () => a.stderr());
      a.child.kill('SIGKILL');
      await a.exited;
      const mine = await other.storeCredential('stalled', 'after', { autoVersion: true });
      const acked = a.lines.filter((l) => /^\d+$/.test(l)).map(Number);
      const listed = (await other.listCredentials()).map((s) => Number(s.version));
      for (const v of acked) expect(listed, `acknowledged version ${v}`).toContain(v);
      expect(listed).toContain(mine.version);
      expect(listed).toEqual(listed.map((_, i) => i + 1)); // no gap, no version written twice
      expect(String((await other.getCredential('stalled', { version: mine.version, required: true })).value)).toBe('after');
    } finally {
      a.child.kill('SIGCONT');
      a.child.kill('SIGKILL');
    }
  });

  it('a lock of a live process on this host with a timestamp an hour old, or in the future, is not broken', async () => {
    for (const created of [Date.now() - 3_600_000, Date.now() + 3_600_000]) {
      const path = fresh();
      const store = new LocalStore({ path, fernetKeys: [KEY], lock: { timeoutMs: 300, staleMs: 50, clockSkewMs: 0 } });
      writeFileSync(`${path}.lock`, JSON.stringify({ pid: process.ppid, host: hostname(), created, nonce: 'live' }));
      const err = await rejectionOf(store.storeCredential('a', 'v'));
      expect(err.message).toContain(`locked by process ${process.ppid}`);
      expect(lockBody(`${path}.lock`)?.nonce).toBe('live');
      expect(existsSync(path)).toBe(false);
    }
  });

  it("a lock whose pid now names another process (start time differs), or names this process's pid but is not one it holds, is broken", async () => {
    const path = fresh();
    const store = new LocalStore({ path, fernetKeys: [KEY], lock: { timeoutMs: 2000 } });
    writeFileSync(`${path}.lock`, JSON.stringify({ pid: process.ppid, host: hostname(), created: Date.now(), nonce: 'reused', start: '1' }));
    await store.storeCredential('a', '1');
    writeFileSync(`${path}.lock`, JSON.stringify({ pid: process.pid, host: hostname(), created: Date.now(), nonce: 'an-earlier-process' }));
    await store.storeCredential('a', '2', { autoVersion: true });
    expect((await store.listCredentials()).map((s) => s.version)).toEqual(['1', '2']);
    expect(existsSync(`${path}.lock`)).toBe(false);
  });

  for (const [what, extra] of [
    ['from before the last boot (or another machine of the same name)', { boot: 'another-boot' }],
    ['from another pid namespace (another container)', { pidns: 'pid:[1]' }],
  ] as const) {
    it(`a lock of this host name ${what} whose pid looks dead here is judged by age, not broken at once`, async () => {
      const path = fresh();
      writeFileSync(`${path}.lock`, JSON.stringify({ pid: deadPid(), host: hostname(), created: Date.now(), nonce: 'elsewhere', ...extra }));
      const impatient = new LocalStore({ path, fernetKeys: [KEY], lock: { timeoutMs: 200, staleMs: 60_000 } });
      const err = await rejectionOf(impatient.storeCredential('a', 'v'));
      expect(err.message).toContain('on this host before its last boot, or in another container (its pid cannot be checked from this host');
      const patient = new LocalStore({ path, fernetKeys: [KEY], lock: { timeoutMs: 3000, staleMs: 300, clockSkewMs: 0 } });
      await patient.storeCredential('a', 'v');
      expect(existsSync(`${path}.lock`)).toBe(false);
    });
  }
});

describe('breaking an abandoned lock under races', () => {
  let lockModule: string;
  beforeAll(async () => {
    const out = join(root, 'file-lock.mjs');
    await build({ entryPoints: [fileURLToPath(new URL('../../../src/core/file-lock.ts', import.meta.url))], outfile: out, bundle: true, platform: 'node', target: 'node20', format: 'esm', logLevel: 'error' });
    lockModule = pathToFileURL(out).href;
  });

  for (const count of [2, 8]) {
    it(`${count} processes racing over one abandoned lock (dead pid): one holder at a time, every round done, the abandoned lock gone`, async () => {
      for (let round = 0; round < 3; round++) {
        const dir = mkdtempSync(join(root, 'race-'));
        const lockPath = join(dir, 'x.lock');
        writeFileSync(lockPath, JSON.stringify({ pid: deadPid(), host: hostname(), created: Date.now(), nonce: 'dead' }));
        const go = join(dir, 'go');
        const procs = Array.from({ length: count }, () => start(RACER, [lockModule, lockPath, go, '20', join(dir, 'inside'), '100000']));
        await until(() => procs.every((p) => p.lines.includes('ready')), () => procs.map((p) => p.stderr()).join('\n'));
        writeFileSync(go, '');
        const codes = await Promise.all(procs.map((p) => p.exited));
        expect(codes, procs.map((p) => p.stderr()).join('\n')).toEqual(Array(count).fill(0));
        for (const p of procs) {
          expect(p.lines).not.toContain('overlap');
          expect(p.lines).toContain('done');
        }
        expect(readdirSync(dir).sort()).toEqual(['go']); // no lock, break lock, draft or moved-aside file left
      }
    });
  }

  it('8 processes doing put -a at once over an abandoned keystore lock end with versions 1..8 exactly once', async () => {
    const path = fresh();
    const setup = new LocalStore({ path, fernetKeys: [KEY] });
    await setup.setup();
    writeFileSync(`${path}.lock`, JSON.stringify({ pid: deadPid(), host: hostname(), created: Date.now() - 1000, nonce: 'dead' }));
    const go = join(root, `go-${n}`);
    const procs = Array.from({ length: 8 }, (_, i) => start(WRITER, ['local', path, KEY, 'race', 'shared', `value-${i}`, go]));
    await until(() => procs.every((p) => p.lines.includes('ready')), () => procs.map((p) => p.stderr()).join('\n'));
    writeFileSync(go, '');
    const codes = await Promise.all(procs.map((p) => p.exited));
    expect(codes, procs.map((p) => p.stderr()).join('\n')).toEqual(Array(8).fill(0));
    expect(procs.map((p) => Number(p.lines[1])).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect((await setup.listCredentials()).map((s) => s.version)).toEqual(['1', '2', '3', '4', '5', '6', '7', '8']);
  });

  it('in one process: 8 acquirers over an abandoned lock never overlap', async () => {
    const dir = mkdtempSync(join(root, 'inproc-'));
    const lockPath = join(dir, 'y.lock');
    writeFileSync(lockPath, JSON.stringify({ pid: deadPid(), host: hostname(), created: Date.now(), nonce: 'dead' }));
    let inside = 0;
    let maxInside = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let i = 0; i < 10; i++) {
          const lock = await acquireFileLock(lockPath, { timeoutMs: 20_000 });
          inside++;
          maxInside = Math.max(maxInside, inside);
          await sleep(Math.random() * 2);
          await lock.assertHeld();
          inside--;
          await lock.release();
        }
      }),
    );
    expect(maxInside).toBe(1);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('a writer checks its lock before it renames', () => {
  it('when its lock was replaced meanwhile, it writes nothing and says so', async () => {
    const path = fresh();
    const store = new LocalStore({ path, fernetKeys: [KEY] });
    await store.storeCredential('a', 'one');
    const before = readFileSync(path);
    const { LocalKeystoreFile } = await import('../../../src/stores/local/local-keystore-file.js');
    const file = new LocalKeystoreFile(path);
    const err = await rejectionOf(
      file.update(() => {
        // Another process takes the lock away while this one is inside (what a wrongly broken lock looks like).
        unlinkSync(`${path}.lock`);
        writeFileSync(`${path}.lock`, JSON.stringify({ pid: process.ppid, host: hostname(), created: Date.now(), nonce: 'thief' }));
        return { entries: [], result: undefined };
      }),
    );
    expect(err).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
    expect(err.message).toMatch(/was removed or replaced by another process while this one held it; nothing was written$/);
    expect(readFileSync(path)).toEqual(before);
    expect(lockBody(`${path}.lock`)?.nonce).toBe('thief'); // the other lock is left alone
    expect(readdirSync(join(path, '..')).sort()).toEqual(['keystore.json', 'keystore.json.lock']); // no temp file
  });
});

describe('odd things at the lock path', () => {
  it('a dangling symlink is removed, never followed (nothing is created at its target)', async () => {
    const path = fresh();
    const target = join(root, `target-${n}`);
    symlinkSync(target, `${path}.lock`);
    const store = new LocalStore({ path, fernetKeys: [KEY], lock: { timeoutMs: 3000 } });
    await sleep(1100); // a symlink is debris once a second old (by its change time, which utimes cannot set back)
    await store.storeCredential('a', 'v');
    expect(existsSync(target)).toBe(false);
    expect(existsSync(`${path}.lock`)).toBe(false);
    expect((await store.getCredential('a'))?.value).toBe('v');
  });

  it('a symlink to an existing file is removed as a link: the file it points at is untouched', async () => {
    const path = fresh();
    const target = join(root, `precious-${n}`);
    writeFileSync(target, 'precious', { mode: 0o644 });
    symlinkSync(target, `${path}.lock`);
    await sleep(1100);
    const store = new LocalStore({ path, fernetKeys: [KEY], lock: { timeoutMs: 3000 } });
    await store.storeCredential('a', 'v');
    expect(readFileSync(target, 'utf8')).toBe('precious');
    expect(statSync(target).mode & 0o777).toBe(0o644);
    expect(existsSync(`${path}.lock`)).toBe(false);
  });

  it('a directory is refused at once with an error naming it, and nothing is written', async () => {
    const path = fresh();
    mkdirSync(`${path}.lock`);
    const store = new LocalStore({ path, fernetKeys: [KEY], lock: { timeoutMs: 5000 } });
    const t0 = Date.now();
    const err = await rejectionOf(store.storeCredential('a', CANARY));
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(err).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE', path });
    expect(err.message).toBe(`keystore "${path}": its lock "${path}.lock" is a directory, not a lock file (credstash never makes one); remove it`);
    expectNoLeak(err, CANARY);
    expect(existsSync(path)).toBe(false);
    expect(lstatSync(`${path}.lock`).isDirectory()).toBe(true);
  });

  it('a FIFO is refused at once (never opened for a blocking read)', async () => {
    const path = fresh();
    const made = spawnSync('mkfifo', [`${path}.lock`]);
    expect(made.status).toBe(0);
    const store = new LocalStore({ path, fernetKeys: [KEY], lock: { timeoutMs: 5000 } });
    const err = await rejectionOf(store.storeCredential('a', 'v'));
    expect(err.message).toBe(`keystore "${path}": its lock "${path}.lock" is not a regular file (a FIFO); remove it`);
  });

  it("another host's lock with a timestamp in the future: the wait says how it is judged, and it is broken once not refreshed for the stale age plus the clock skew", async () => {
    const path = fresh();
    const lockPath = `${path}.lock`;
    writeFileSync(lockPath, JSON.stringify({ pid: 4242, host: 'build-7', created: Date.now() + 86_400_000, nonce: 'future' }));
    const impatient = new LocalStore({ path, fernetKeys: [KEY], lock: { timeoutMs: 100, staleMs: 600, clockSkewMs: 200 } });
    const err = await rejectionOf(impatient.storeCredential('a', 'v'));
    expect(err.message).toContain('is locked by process 4242 on build-7 (its pid cannot be checked from this host; the lock counts as abandoned once it has not been refreshed for 1 s (600 ms plus 200 ms of allowed clock skew)');
    expect(err.message).toContain('its timestamp is 86400 s ahead of this host');
    expect(err.message).toContain(`remove "${lockPath}"`);
    // touch -d cannot keep it alive: the filesystem's change time is what counts
    const future = new Date(Date.now() + 86_400_000);
    utimesSync(lockPath, future, future);
    const patient = new LocalStore({ path, fernetKeys: [KEY], lock: { timeoutMs: 3000, staleMs: 600, clockSkewMs: 200 } });
    const t0 = Date.now();
    await patient.storeCredential('a', 'v');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(500); // waited for the stale age, did not break it at once
    expect(existsSync(lockPath)).toBe(false);
  });

  it("another host's lock that keeps being refreshed is never broken", async () => {
    const path = fresh();
    const lockPath = `${path}.lock`;
    writeFileSync(lockPath, JSON.stringify({ pid: 4242, host: 'build-7', created: Date.now() - 3_600_000, nonce: 'remote' }));
    const beat = setInterval(() => utimesSync(lockPath, new Date(), new Date()), 50); // its holder's heartbeat
    try {
      const store = new LocalStore({ path, fernetKeys: [KEY], lock: { timeoutMs: 1500, staleMs: 500, clockSkewMs: 0 } });
      const err = await rejectionOf(store.storeCredential('a', 'v'));
      expect(err.message).toContain('locked by process 4242 on build-7');
      expect(lockBody(lockPath)?.nonce).toBe('remote');
    } finally {
      clearInterval(beat);
    }
  });

  it('the holder refreshes its lock while it holds it (so that another host can tell it is alive)', async () => {
    const dir = mkdtempSync(join(root, 'beat-'));
    const lockPath = join(dir, 'z.lock');
    const lock = await acquireFileLock(lockPath, { staleMs: 400 });
    const c0 = lstatSync(lockPath, { bigint: true }).ctimeNs;
    await sleep(800); // a refresh every 250 ms (a quarter of the stale age, at least 250 ms)
    const c1 = lstatSync(lockPath, { bigint: true }).ctimeNs;
    await lock.release();
    expect(c1).toBeGreaterThan(c0);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('leftovers of killed writers', () => {
  it('the next writer removes temp files, lock drafts and moved-aside locks of dead pids, and keeps those of live ones', async () => {
    const path = fresh();
    const dir = join(path, '..');
    const store = new LocalStore({ path, fernetKeys: [KEY] });
    await store.storeCredential('a', 'one');
    const dead = deadPid();
    const live = process.ppid;
    const doomed = [`.keystore.json.${dead}.0123456789ab.tmp`, `keystore.json.lock.${dead}.0123456789abcdef.tmp`, `keystore.json.lock.${dead}.01234567.stale`, `keystore.json.lock.break.${dead}.01234567.stale`];
    const kept = [`.keystore.json.${live}.0123456789ab.tmp`, `keystore.json.lock.${live}.0123456789abcdef.tmp`, '.keystore.json.bak', `.other.json.${dead}.0123456789ab.tmp`, `.keystore.json.${dead}.tmp`];
    for (const f of [...doomed, ...kept]) writeFileSync(join(dir, f), CANARY, { mode: 0o600 });
    await sleep(20);
    await store.storeCredential('a', 'two', { autoVersion: true });
    expect(readdirSync(dir).sort()).toEqual(['keystore.json', ...kept].sort());
  });

  it('a read removes nothing (only a writer holding the lock cleans up)', async () => {
    const path = fresh();
    const store = new LocalStore({ path, fernetKeys: [KEY] });
    await store.storeCredential('a', 'one');
    const leftover = join(path, '..', `.keystore.json.${deadPid()}.0123456789ab.tmp`);
    writeFileSync(leftover, 'x');
    await store.getCredential('a');
    await store.listCredentials();
    expect(existsSync(leftover)).toBe(true);
  });
});

describe('lock_timeout_ms = 0', () => {
  it('still breaks an abandoned lock and takes it, and fails at once on a live one', async () => {
    const path = fresh();
    writeFileSync(`${path}.lock`, JSON.stringify({ pid: deadPid(), host: hostname(), created: Date.now(), nonce: 'dead' }));
    const store = new LocalStore({ path, fernetKeys: [KEY], lock: { timeoutMs: 0 } });
    await store.storeCredential('a', 'v');
    writeFileSync(`${path}.lock`, JSON.stringify({ pid: process.ppid, host: hostname(), created: Date.now(), nonce: 'live' }));
    const err = await rejectionOf(store.storeCredential('a', 'w', { autoVersion: true }));
    expect(err.message).toContain(`locked by process ${process.ppid}; waited 0 ms`);
  });
});

describe('file lock error paths', () => {
  it('a lock in a folder that does not exist: one clear error', async () => {
    const err = await rejectionOf(acquireFileLock(join(root, 'no', 'such', 'x.lock'), { what: 'thing "t"', timeoutMs: 100 }));
    expect(err).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE', message: 'cannot lock thing "t" (ENOENT)' });
  });

  it('a folder planted at the break lock path is refused naming it (when an abandoned lock needs breaking)', async () => {
    const dir = mkdtempSync(join(root, 'brk-'));
    const lockPath = join(dir, 'b.lock');
    writeFileSync(lockPath, JSON.stringify({ pid: deadPid(), host: hostname(), created: Date.now(), nonce: 'dead' }));
    mkdirSync(`${lockPath}.break`);
    const err = await rejectionOf(acquireFileLock(lockPath, { what: 'thing "t"', timeoutMs: 500 }));
    expect(err.message).toBe(`thing "t": its lock "${lockPath}.break" is a directory, not a lock file (credstash never makes one); remove it`);
    expect(readdirSync(dir).sort()).toEqual(['b.lock', 'b.lock.break']); // its draft removed, nothing else touched
  });
});
