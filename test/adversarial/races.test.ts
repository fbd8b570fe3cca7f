/**
 * Races between real processes: 8 `credstash put -a` on one name at the same time, on every writable tier
 * (DynamoDB via dynalite, local keystore, SQLite, PostgreSQL, MariaDB). Afterwards versions 1..8 exist exactly
 * once each and hold the 8 values, none lost, none overwritten. And `rotate-key` running while `put`s land
 * loses nothing: every value that a put reported stored is readable with the keys in credstash.toml.
 */
import { describe, expect, it } from 'vitest';
import { CANARY } from '../helpers/no-leak.js';
import { expectNoStackTrace, runCli } from '../helpers/cli.js';
import { cliTiers } from '../helpers/tiers.js';

const RACERS = 8;

for (const tier of cliTiers()) {
  describe.skipIf(tier.skip !== undefined)(`races on ${tier.name}${tier.skip ?? ''}`, () => {
    it(`${RACERS} processes running put -a on one name at once get versions 1..${RACERS}, each exactly once`, async () => {
      const p = await tier.project();
      const values = Array.from({ length: RACERS }, (_, i) => `${CANARY}-racer-${i}`);
      const results = await Promise.all(
        values.map((v) => runCli([...p.flags, 'put', '-a', 'race.db.password', v], { cwd: p.dir, env: p.env, timeoutMs: 60_000 })),
      );
      for (const r of results) {
        expect(r.code, r.stderr).toBe(0);
        expectNoStackTrace(r.stderr);
        expect(r.stdout + r.stderr).not.toContain(CANARY);
      }
      const store = p.open();
      try {
        const versions = (await store.listCredentials({ pattern: 'race.db.password' })).map((s) => Number(s.version));
        expect(versions).toEqual(Array.from({ length: RACERS }, (_, i) => i + 1));
        const read = await Promise.all(versions.map(async (v) => (await store.getCredential('race.db.password', { version: v, required: true })).value));
        expect([...read].sort()).toEqual([...values].sort());
      } finally {
        await store.close();
      }
    });

    if (tier.fernet) {
      it('rotate-key running while 6 put -a land loses nothing: every value reads with the rotated keys', async () => {
        const p = await tier.project();
        const before = p.keys();
        await runCli([...p.flags, 'put', 'seed', `${CANARY}-seed`], { cwd: p.dir, env: p.env });
        const values = Array.from({ length: 6 }, (_, i) => `${CANARY}-during-rotation-${i}`);
        const puts = values.map((v) => runCli([...p.flags, 'put', '-a', 'rot.name', v], { cwd: p.dir, env: p.env, timeoutMs: 60_000 }));
        const rotate = runCli([...p.flags, 'rotate-key'], { cwd: p.dir, env: p.env, timeoutMs: 60_000 });
        const results = await Promise.all([...puts, rotate]);
        for (const r of results) {
          expect(r.code, r.stderr).toBe(0);
          expectNoStackTrace(r.stderr);
        }
        const after = p.keys();
        expect(after).toHaveLength(before.length + 1);
        expect(after.slice(1)).toEqual(before);
        const rotated = (await rotate).stdout;
        for (const k of after) expect(rotated).not.toContain(k);
        const store = p.open();
        try {
          const versions = (await store.listCredentials({ pattern: 'rot.name' })).map((s) => Number(s.version));
          expect(versions).toEqual([1, 2, 3, 4, 5, 6]);
          const read = await Promise.all(versions.map(async (v) => (await store.getCredential('rot.name', { version: v, required: true })).value));
          expect([...read].sort()).toEqual([...values].sort());
          expect((await store.getCredential('seed', { required: true })).value).toBe(`${CANARY}-seed`);
        } finally {
          await store.close();
        }
        // a second rotation (re-encrypt only) leaves every version under the first key, still readable
        const again = await runCli([...p.flags, 'rotate-key', '--reencrypt-only'], { cwd: p.dir, env: p.env });
        expect(again.code, again.stderr).toBe(0);
        const onlyNew = p.open();
        try {
          for (let v = 1; v <= 6; v++) expect((await onlyNew.getCredential('rot.name', { version: v, required: true })).value).toContain('during-rotation');
        } finally {
          await onlyNew.close();
        }
      });
    }
  });
}
