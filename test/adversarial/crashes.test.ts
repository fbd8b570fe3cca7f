/**
 * Crashes: a writer putting versions in a loop is killed with SIGKILL at random moments (mid-encrypt,
 * mid-write, mid-rename, holding the lock), several times in a row, on the local keystore and on SQLite.
 * After every kill the store still opens, lists and reads, the next writer gets past the dead writer's lock,
 * and every put that had returned success (the writer prints a line only then) is readable with its value.
 * On the local keystore the next writer also removes what the killed ones left (temp files, lock drafts).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { CredentialStore } from '../../src/core/store.js';
import { generateFernetKey } from '../../src/crypto/fernet.js';
import { LocalStore } from '../../src/stores/local/index.js';
import { SqlStore } from '../../src/stores/sql/index.js';
import { CANARY } from '../helpers/no-leak.js';

const WRITER = fileURLToPath(new URL('./fixtures/crash-writer.mjs', import.meta.url));
const ROUNDS = 6;
const root = mkdtempSync(join(tmpdir(), 'credstash-adv-crash-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/**
 * Run the writer and SIGKILL it `afterMs` after it is ready (or, with `afterFirstAck`, after its first
 * acknowledged put, so that a loaded machine cannot make every round kill before anything was stored);
 * returns the puts it reported as done.
 */
function runAndKill(args: string[], afterMs: number, afterFirstAck = false): Promise<{ acked: Array<{ version: number; i: number }>; signal: string | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRITER, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      const before = out;
      out += d;
      const armed = afterFirstAck ? !before.includes('\nok ') && out.includes('\nok ') : before === '' && out.startsWith('ready');
      if (armed) setTimeout(() => child.kill('SIGKILL'), afterMs);
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', reject);
    child.on('close', (_code, signal) => {
      if (signal !== 'SIGKILL') return reject(new Error(`writer ended without being killed: ${err}`));
      const acked = out
        .split('\n')
        .filter((l) => l.startsWith('ok '))
        .map((l) => {
          const [, v, i] = l.split(' ');
          return { version: Number(v), i: Number(i) };
        });
      resolve({ acked, signal });
    });
  });
}

const tiers: Array<{ name: string; tier: string; path: () => string; open: (path: string, key: string) => CredentialStore }> = [
  { name: 'local keystore', tier: 'local', path: () => join(mkdtempSync(join(root, 'k-')), '.credstash', 'keystore.json'), open: (path, key) => new LocalStore({ path, fernetKeys: [key] }) },
  { name: 'sql/sqlite', tier: 'sqlite', path: () => join(mkdtempSync(join(root, 's-')), 'credentials.db'), open: (path, key) => new SqlStore({ engine: { name: 'sqlite', path, timeoutMs: 20000 }, fernetKeys: [key] }) },
];

for (const t of tiers) {
  describe(`kill -9 during puts to the ${t.name}`, () => {
    it(`survives ${ROUNDS} SIGKILLs at random moments: the store opens and every acknowledged put reads back`, async () => {
      const key = generateFernetKey();
      const path = t.path();
      const prefix = `${CANARY}-crash`;
      const acked = new Map<number, number>();
      for (let round = 0; round < ROUNDS; round++) {
        // 20..260 ms after start: early kills land in the first put, later ones among many
        // odd rounds count from the first acknowledged put: some puts are always acknowledged, whatever the load
        const r = await runAndKill([t.tier, path, key, 'crash.secret', `${prefix}-${round}`], 20 + Math.floor(Math.random() * 240), round % 2 === 1);
        for (const a of r.acked) {
          expect(acked.has(a.version), `version ${a.version} acknowledged twice`).toBe(false);
          acked.set(a.version, round * 1_000_000 + a.i);
        }
        const store = t.open(path, key);
        try {
          const listed = await store.listCredentials({ pattern: 'crash.secret' });
          const versions = new Set(listed.map((s) => Number(s.version)));
          for (const [version, tag] of acked) {
            expect(versions.has(version), `acknowledged version ${version} lost after round ${round}`).toBe(true);
            const got = await store.getCredential('crash.secret', { version, required: true });
            const round0 = Math.floor(tag / 1_000_000);
            expect(String(got.value).startsWith(`${prefix}-${round0}-${tag % 1_000_000}-`)).toBe(true);
          }
          // every listed version reads (a version may exist that the writer had no time to acknowledge)
          for (const v of versions) await store.getCredential('crash.secret', { version: v, required: true });
        } finally {
          await store.close();
        }
      }
      expect(acked.size, 'the writers acknowledged some puts').toBeGreaterThan(0);
      if (t.tier === 'local') {
        // The next writer removes what the killed ones left: temp files, lock drafts, moved-aside locks.
        const store = t.open(path, key);
        await store.storeCredential('crash.secret', 'after', { autoVersion: true });
        await store.close();
        expect(readdirSync(join(path, '..')).filter((f) => f !== 'keystore.json')).toEqual([]);
      }
      // what is left beside the store: no file readable by others
      for (const f of readdirSync(join(path, '..'))) expect(statSync(join(path, '..', f)).mode & 0o077, f).toBe(0);
    });
  });
}
