/**
 * Concurrent and killed `rotate-key`, as real processes, on every Fernet tier (local keystore, SQLite,
 * PostgreSQL, MariaDB). Two rotators that both read credstash.toml before either wrote it used to extend the
 * same old list; the later rename won, and the loser re-encrypted the store under a key that existed nowhere
 * (every credential unreadable for good). The key-list lock now serialises them, and the store refuses to
 * re-encrypt under a key that is not first in the file on disk.
 *
 * The claim checked after every scenario: every version reads with the keys credstash.toml lists, and
 * after a final `rotate-key` the first key alone opens everything.
 */
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { CredentialStore } from '../../src/core/store.js';
import { generateFernetKey } from '../../src/crypto/fernet.js';
import { LocalStore } from '../../src/stores/local/index.js';
import { CANARY } from '../helpers/no-leak.js';
import { expectCleanFailure, expectNoStackTrace, runCli, type CliResult } from '../helpers/cli.js';
import { sqlBackends } from '../helpers/fernet-backends.js';
import { cliTiers, type CliProject } from '../helpers/tiers.js';

const STEPS = fileURLToPath(new URL('../fixtures/rotation-steps.mjs', import.meta.url));
const logs = mkdtempSync(join(tmpdir(), 'credstash-rot-steps-'));
afterAll(() => rmSync(logs, { recursive: true, force: true }));
let logSeq = 0;

/** `credstash <args>` with the step hooks preloaded. */
function runHooked(p: CliProject, args: string[], hooks: Record<string, string>): Promise<CliResult> {
  return runCli([...p.flags, ...args], { cwd: p.dir, env: { ...p.env, ...hooks }, nodeArgs: ['--import', STEPS], timeoutMs: 120_000 });
}

/** Every listed version of every id reads with `store`; returns the values. */
async function readAll(store: CredentialStore): Promise<string[]> {
  const out: string[] = [];
  for (const s of await store.listCredentials()) {
    out.push(String((await store.getCredential(s.id, { version: Number(s.version), required: true })).value));
  }
  return out.sort();
}

/** Every value reads with the configured keys; after one more rotation, with the first key alone. */
async function expectAllReadable(p: CliProject, expected: string[]): Promise<void> {
  const store = p.open();
  try {
    expect(await readAll(store)).toEqual([...expected].sort());
  } finally {
    await store.close();
  }
  const finish = await runCli([...p.flags, 'rotate-key'], { cwd: p.dir, env: p.env, timeoutMs: 60_000 });
  expect(finish.code, finish.stderr).toBe(0);
  const onlyFirst = p.openWith([p.keys()[0] as string]);
  try {
    expect(await readAll(onlyFirst)).toEqual([...expected].sort());
  } finally {
    await onlyFirst.close();
  }
}

for (const tier of cliTiers({ dynamodb: false })) {
  describe.skipIf(tier.skip !== undefined)(`concurrent and killed rotate-key on ${tier.name}${tier.skip ?? ''}`, () => {
    it('2 rotate-key at once (config rename slowed 300 ms, so both read the old list together) with 4 put -a running: both succeed, the config gains 2 keys, every value reads', async () => {
      const p = await tier.project();
      const before = p.keys();
      expect((await runCli([...p.flags, 'put', 'seed', `${CANARY}-seed`], { cwd: p.dir, env: p.env })).code).toBe(0);
      const values = Array.from({ length: 4 }, (_, i) => `${CANARY}-two-${i}`);
      const puts = values.map((v) => runCli([...p.flags, 'put', '-a', 'rot.two', v], { cwd: p.dir, env: p.env, timeoutMs: 90_000 }));
      const rotations = [0, 1].map(() => runHooked(p, ['rotate-key'], { ROTATION_TEST_RENAME_DELAY_MS: '300' }));
      const results = await Promise.all([...puts, ...rotations]);
      for (const r of results) {
        expect(r.code, r.stderr).toBe(0);
        expectNoStackTrace(r.stderr);
      }
      const after = p.keys();
      expect(after).toHaveLength(before.length + 2);
      expect(after.slice(2)).toEqual(before);
      for (const r of await Promise.all(rotations)) for (const k of after) expect(r.stdout + r.stderr).not.toContain(k);
      await expectAllReadable(p, [`${CANARY}-seed`, ...values]);
    });

    it('8 rotate-key at once with 6 put -a running: all 8 succeed (each waits its turn), the config gains 8 keys, every value reads', async () => {
      const p = await tier.project();
      const before = p.keys();
      expect((await runCli([...p.flags, 'put', 'seed', `${CANARY}-seed`], { cwd: p.dir, env: p.env })).code).toBe(0);
      const values = Array.from({ length: 6 }, (_, i) => `${CANARY}-eight-${i}`);
      const puts = values.map((v) => runCli([...p.flags, 'put', '-a', 'rot.eight', v], { cwd: p.dir, env: p.env, timeoutMs: 120_000 }));
      const rotations = Array.from({ length: 8 }, () => runCli([...p.flags, 'rotate-key'], { cwd: p.dir, env: p.env, timeoutMs: 120_000 }));
      const results = await Promise.all([...puts, ...rotations]);
      for (const r of results) {
        expect(r.code, r.stderr).toBe(0);
        expectNoStackTrace(r.stderr);
      }
      const after = p.keys();
      expect(after).toHaveLength(before.length + 8);
      expect(after.slice(8)).toEqual(before);
      expect(new Set(after).size).toBe(after.length);
      expect(existsSync(join(p.dir, 'credstash.toml.lock'))).toBe(false);
      await expectAllReadable(p, [`${CANARY}-seed`, ...values]);
    });

    for (const at of ['locked', 'config-written', 'reencrypting', 'before-unlock'] as const) {
      it(`rotate-key killed with SIGKILL at step "${at}" loses nothing; the next rotate-key breaks the dead holder's lock and completes`, async () => {
        const p = await tier.project();
        const before = p.keys();
        const values = Array.from({ length: 5 }, (_, i) => `${CANARY}-kill-${at}-${i}`);
        for (const [i, v] of values.entries()) expect((await runCli([...p.flags, 'put', `k.${i}`, v], { cwd: p.dir, env: p.env })).code).toBe(0);
        const log = join(logs, `steps-${++logSeq}.log`);
        const killed = await runHooked(p, ['rotate-key'], { ROTATION_TEST_KILL_AT: at, ROTATION_TEST_STEPS_LOG: log });
        expect(killed.signal).toBe('SIGKILL'); // the step was reached
        expect(readFileSync(log, 'utf8')).toContain(` ${at}\n`);
        const keys = p.keys();
        expect(keys.slice(-before.length)).toEqual(before);
        expect(keys.length).toBe(at === 'locked' ? before.length : before.length + 1);
        // the dead holder's lock is still there, and is no obstacle to the next rotation
        expect(existsSync(join(p.dir, 'credstash.toml.lock'))).toBe(true);
        const store = p.open();
        try {
          expect(await readAll(store)).toEqual([...values].sort());
        } finally {
          await store.close();
        }
        const started = Date.now();
        const next = await runCli([...p.flags, 'rotate-key'], { cwd: p.dir, env: p.env, timeoutMs: 60_000 });
        expect(next.code, next.stderr).toBe(0);
        expect(Date.now() - started).toBeLessThan(15_000);
        expect(existsSync(join(p.dir, 'credstash.toml.lock'))).toBe(false);
        // nothing the killed process left stays behind: no lock draft, no temp config (it would hold keys)
        expect(readdirSync(p.dir).filter((f) => f.startsWith('credstash.toml.lock') || f.startsWith('.credstash.toml.'))).toEqual([]);
        const now = p.keys();
        expect(now).toHaveLength(keys.length + 1);
        expect(now.slice(1)).toEqual(keys);
        const onlyFirst = p.openWith([now[0] as string]);
        try {
          expect(await readAll(onlyFirst)).toEqual([...values].sort());
        } finally {
          await onlyFirst.close();
        }
      });
    }

    it('a second rotate-key waits for a live holder of the lock and then extends the list that holder wrote', async () => {
      const p = await tier.project();
      expect((await runCli([...p.flags, 'put', 'w', `${CANARY}-wait`], { cwd: p.dir, env: p.env })).code).toBe(0);
      const lock = join(p.dir, 'credstash.toml.lock');
      // this test process is alive: its lock must never be broken
      writeFileSync(lock, JSON.stringify({ pid: process.pid, host: hostname(), started: null, created: Date.now() - 600_000, nonce: 'held-by-test', purpose: 'rotate-key' }), { mode: 0o600 });
      const waiting = runCli([...p.flags, 'rotate-key'], { cwd: p.dir, env: p.env, timeoutMs: 60_000 });
      await new Promise((r) => setTimeout(r, 1500));
      expect(existsSync(lock)).toBe(true);
      const held = p.keys();
      expect(held).toHaveLength(1); // still waiting: nothing written
      const added = generateFernetKey();
      writeFileSync(join(p.dir, 'credstash.toml'), readFileSync(join(p.dir, 'credstash.toml'), 'utf8').replace('keys = [', `keys = ["${added}", `), { mode: 0o600 });
      rmSync(lock);
      const r = await waiting;
      expect(r.code, r.stderr).toBe(0);
      const now = p.keys();
      expect(now.slice(1)).toEqual([added, ...held]);
      const onlyFirst = p.openWith([now[0] as string]);
      try {
        expect(await readAll(onlyFirst)).toEqual([`${CANARY}-wait`]);
      } finally {
        await onlyFirst.close();
      }
    });

    it('2 rotate-key at once through two paths to one config file (a symlink): one lock, both keys kept, the symlink stays a symlink', async () => {
      const p = await tier.project();
      const before = p.keys();
      expect((await runCli([...p.flags, 'put', 'via', `${CANARY}-via`], { cwd: p.dir, env: p.env })).code).toBe(0);
      symlinkSync(join(p.dir, 'credstash.toml'), join(p.dir, 'alt.toml'));
      const rotations = [[], ['--config', 'alt.toml']].map((extra) => runHooked(p, [...extra, 'rotate-key'], { ROTATION_TEST_RENAME_DELAY_MS: '300' }));
      for (const r of await Promise.all(rotations)) expect(r.code, r.stderr).toBe(0);
      expect(lstatSync(join(p.dir, 'alt.toml')).isSymbolicLink()).toBe(true);
      const after = p.keys();
      expect(after).toHaveLength(before.length + 2);
      expect(after.slice(2)).toEqual(before);
      await expectAllReadable(p, [`${CANARY}-via`]);
    });

    it('a lock path that is a folder fails at once with one clean line, changing nothing', async () => {
      const p = await tier.project();
      const before = readFileSync(join(p.dir, 'credstash.toml'), 'utf8');
      mkdirSync(join(p.dir, 'credstash.toml.lock'));
      const r = await runCli([...p.flags, 'rotate-key'], { cwd: p.dir, env: p.env });
      expectCleanFailure(r, /credstash\.toml \(rotate-key\): its lock ".*credstash\.toml\.lock" is a directory, not a lock file \(credstash never makes one\); remove it$/);
      expect(readFileSync(join(p.dir, 'credstash.toml'), 'utf8')).toBe(before);
    });
  });
}

describe('reencryptAll refuses to encrypt under a key that is not first where the key list is kept', () => {
  const backends = [
    {
      name: 'local keystore',
      open: async (keys: string[]) => {
        const dir = mkdtempSync(join(logs, 'lib-'));
        const path = join(dir, 'keystore.json');
        return { store: new LocalStore({ path, fernetKeys: keys }), reopen: (k: string[]) => new LocalStore({ path, fernetKeys: k }), raw: () => readFileSync(path, 'utf8') };
      },
    },
    ...sqlBackends().map((b) => ({
      name: b.name,
      skip: b.skip,
      open: async (keys: string[]) => {
        const h = await b.open(keys);
        return { store: h.store, reopen: (k: string[]) => h.reopen(k), raw: async () => JSON.stringify(await h.rows()), close: () => h.close() };
      },
    })),
  ];
  for (const b of backends) {
    it.skipIf('skip' in b && b.skip !== undefined)(`${b.name}${'skip' in b ? (b.skip ?? '') : ''}: a changed list stops it before anything is rewritten; the list it names is accepted`, async () => {
      const old = generateFernetKey();
      const h = await b.open([old]);
      await h.store.storeCredential('x', `${CANARY}-x`);
      const before = await h.raw();
      const mine = generateFernetKey();
      const theirs = generateFernetKey();
      const rotating = h.reopen([mine, old]);
      const err = await (rotating as unknown as { reencryptAll(o: object): Promise<unknown> }).reencryptAll({ keys: [mine, old], currentKeys: () => [theirs, old] }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'ERR_CONFIG', message: expect.stringContaining('the Fernet key list changed while rotating') });
      expect(String((err as Error).message)).not.toContain(mine);
      expect(await h.raw()).toBe(before);
      const ok = (await (rotating as unknown as { reencryptAll(o: object): Promise<{ reencrypted: number }> }).reencryptAll({ keys: [mine, old], currentKeys: () => [mine, old] }));
      expect(ok.reencrypted).toBe(1);
      const onlyMine = h.reopen([mine]);
      expect((await onlyMine.getCredential('x', { required: true })).value).toBe(`${CANARY}-x`);
      await rotating.close();
      await onlyMine.close();
      if ('close' in h && typeof h.close === 'function') await h.close();
    });
  }
});
