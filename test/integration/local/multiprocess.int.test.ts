import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { generateFernetKey } from '../../../src/crypto/fernet.js';
import { LocalStore } from '../../../src/stores/local/index.js';
import { SqlStore } from '../../../src/stores/sql/index.js';
import type { CredentialStore } from '../../../src/core/store.js';
import { startLineChild, until as untilHolds, type LineChild } from '../../helpers/child-lines.js';

// Real processes against one keystore file / one SQLite database, through dist/lib (built by the global setup).
const WRITER = fileURLToPath(new URL('../../fixtures/fernet-writer.mjs', import.meta.url));
const KEY = generateFernetKey();
const root = mkdtempSync(join(tmpdir(), 'credstash-mp-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const start = (args: string[]): LineChild => startLineChild(WRITER, args);
const until = (cond: () => boolean, explain: () => string): Promise<void> => untilHolds(cond, explain, 30_000, 5);

const tiers: Array<{ kind: 'local' | 'sqlite'; path: () => string; open: (path: string) => CredentialStore }> = [
  { kind: 'local', path: () => join(root, `k${Math.random().toString(36).slice(2)}`, 'keystore.json'), open: (path) => new LocalStore({ path, fernetKeys: [KEY] }) },
  { kind: 'sqlite', path: () => join(root, `q${Math.random().toString(36).slice(2)}`, 'data.db'), open: (path) => new SqlStore({ engine: { name: 'sqlite', path, timeoutMs: 30_000 }, fernetKeys: [KEY] }) },
];

for (const tier of tiers) {
  describe(`${tier.kind}: several processes`, () => {
    it('8 processes doing put -a on one name at once end with versions 1..8, each present once', async () => {
      const path = tier.path();
      const setup = tier.open(path);
      await setup.listCredentials();
      if (setup instanceof LocalStore) await setup.setup();
      else await (setup as SqlStore).setup();
      await setup.close();
      const go = join(root, `go-${Math.random()}`);
      const procs = Array.from({ length: 8 }, (_, i) => start([tier.kind, path, KEY, 'race', 'shared.name', `value-${i}`, go]));
      await until(() => procs.every((p) => p.lines.includes('ready')), () => procs.map((p) => `[${p.lines.join(',')}] ${p.stderr()}`).join('\n'));
      writeFileSync(go, '');
      const codes = await Promise.all(procs.map((p) => p.exited));
      expect(codes, procs.map((p) => p.stderr()).join('\n')).toEqual(Array(8).fill(0));
      const reported = procs.map((p) => Number(p.lines[1])).sort((a, b) => a - b);
      expect(reported).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      const store = tier.open(path);
      try {
        expect((await store.listCredentials()).map((s) => s.version)).toEqual(['1', '2', '3', '4', '5', '6', '7', '8']);
        const values = await Promise.all(reported.map(async (v) => (await store.getCredential('shared.name', { version: v, required: true })).value));
        expect(new Set(values).size).toBe(8);
      } finally {
        await store.close();
      }
    });

    it('a writer killed with SIGKILL mid-write leaves a readable store that the next writer can use', async () => {
      const path = tier.path();
      for (let round = 0; round < 3; round++) {
        const p = start([tier.kind, path, KEY, 'loop', 'killed', String(64 * 1024)]);
        const seen = p.lines.length;
        await until(() => p.lines.length >= seen + 3 + round * 2, () => `[${p.lines.join(',')}] ${p.stderr()}`);
        p.child.kill('SIGKILL');
        await p.exited;
        const store = tier.open(path);
        try {
          const versions = (await store.listCredentials()).map((s) => Number(s.version));
          expect(versions.length).toBeGreaterThanOrEqual(Number(p.lines.at(-1)));
          expect(versions).toEqual(versions.map((_, i) => i + 1)); // no gap, no duplicate
          const latest = await store.getCredential('killed', { required: true });
          expect(String(latest.value)).toMatch(/^\d+:x+$/);
          // the lock a killed writer may have left is broken (dead pid) and the next put -a works
          const next = await store.storeCredential('killed', 'after', { autoVersion: true });
          expect(next.version).toBe(versions.length + 1);
        } finally {
          await store.close();
        }
      }
      if (tier.kind === 'local') {
        // no stray lock left behind, and the next writer removed what the killed one left (temp file, lock draft)
        expect(existsSync(`${path}.lock`)).toBe(false);
        expect(readdirSync(join(path, '..'))).toEqual(['keystore.json']);
      }
    });
  });
}
