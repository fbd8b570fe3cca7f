/**
 * An interrupted rotation loses nothing. `credstash rotate-key` (a real process) is killed with
 * SIGKILL at moments spread over its run — before the config is touched, between writing the new first key
 * into credstash.toml and re-encrypting, during the re-encryption, after it — on the local keystore and on
 * SQLite. After every kill, the keys the config lists open every stored version with its value, and
 * `credstash rotate-key --reencrypt-only` then finishes the job: the first key alone opens everything.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../src/config/schema.js';
import type { CredentialStore } from '../../../src/core/store.js';
import { generateFernetKey } from '../../../src/crypto/fernet.js';
import { LocalStore } from '../../../src/stores/local/index.js';
import { SqlStore } from '../../../src/stores/sql/index.js';
import { CANARY } from '../../helpers/no-leak.js';
import { BIN, cleanEnv, runCli } from '../../helpers/cli.js';

const root = mkdtempSync(join(tmpdir(), 'credstash-rotate-kill-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const COUNT = 300;
const KILL_AFTER_MS = [40, 120, 180, 240, 300, 400, 600];

/** Spawn `credstash rotate-key`, SIGKILL it after `ms`; resolves when it has gone (killed or finished). */
function rotateAndKill(cwd: string, ms: number): Promise<{ killed: boolean; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'rotate-key'], { cwd, env: cleanEnv(cwd), stdio: 'ignore' });
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ killed: signal === 'SIGKILL', code });
    });
  });
}

const tiers: Array<{ name: string; config: string; open: (dir: string, keys: string[]) => CredentialStore }> = [
  {
    name: 'local keystore',
    config: '[credential_store]\ntype = "local"\n',
    open: (dir, keys) => new LocalStore({ path: join(dir, '.credstash', 'keystore.json'), fernetKeys: keys }),
  },
  {
    name: 'sql/sqlite',
    config: '[credential_store]\ntype = "sql"\n[credential_store.config]\nengine = { name = "sqlite", config = { path = "credentials.db" } }\n',
    open: (dir, keys) => new SqlStore({ engine: { name: 'sqlite', path: join(dir, 'credentials.db'), timeoutMs: 20_000 }, fernetKeys: keys }),
  },
];

for (const t of tiers) {
  describe(`rotate-key killed at random moments: ${t.name}`, () => {
    it(`after each of ${KILL_AFTER_MS.length} SIGKILLs the configured keys open all ${COUNT} versions; --reencrypt-only completes the rotation`, async () => {
      const dir = join(root, t.name.replace(/\W/g, '-'));
      mkdirSync(dir);
      const file = join(dir, 'credstash.toml');
      writeFileSync(file, `[fernet]\nkeys = ["${generateFernetKey()}"]\n${t.config}`, { mode: 0o600 });
      const keysNow = (): string[] => parseConfigText(readFileSync(file, 'utf8'), file).fernet?.keys ?? [];
      const seed = t.open(dir, keysNow());
      for (let i = 0; i < COUNT; i++) await seed.storeCredential(`app.${i}`, `${CANARY}-${i}`, { context: { n: String(i % 3) } });
      await seed.close();

      const outcomes: boolean[] = [];
      for (const ms of KILL_AFTER_MS) {
        const before = keysNow().length;
        const { killed } = await rotateAndKill(dir, ms);
        outcomes.push(killed);
        const keys = keysNow();
        expect(keys.length === before || keys.length === before + 1).toBe(true);
        const store = t.open(dir, keys);
        try {
          const { credentials, skipped } = await store.getAllCredentials({ pattern: 'app.*', context: { n: '0' }, skipErrors: true });
          // every credential is readable: those with context n=0 here, the others fail only on their context
          expect(credentials.map((c) => c.value).sort()).toEqual(
            Array.from({ length: COUNT }, (_, i) => i)
              .filter((i) => i % 3 === 0)
              .map((i) => `${CANARY}-${i}`)
              .sort(),
          );
          expect(new Set(skipped.map((s) => s.code))).toEqual(new Set(['ERR_ENCRYPTION_CONTEXT_MISMATCH']));
          for (const i of [1, 2, COUNT - 1]) {
            expect((await store.getCredential(`app.${i}`, { context: { n: String(i % 3) }, required: true })).value).toBe(`${CANARY}-${i}`);
          }
        } finally {
          await store.close();
        }
      }
      // the early kills must have interrupted something; otherwise this test proves nothing
      expect(outcomes.filter(Boolean).length).toBeGreaterThan(0);

      const finish = await runCli(['rotate-key', '--reencrypt-only'], { cwd: dir, env: cleanEnv(dir) });
      expect(finish.code).toBe(0);
      expect(finish.stdout).toContain(`re-encrypted ${COUNT} version(s)`);
      const first = t.open(dir, keysNow().slice(0, 1));
      try {
        const all = await Promise.all(
          Array.from({ length: COUNT }, (_, i) => first.getCredential(`app.${i}`, { context: { n: String(i % 3) }, required: true })),
        );
        expect(all.map((c) => c.value)).toEqual(Array.from({ length: COUNT }, (_, i) => `${CANARY}-${i}`));
      } finally {
        await first.close();
      }
    });
  });
}
