/**
 * The lifecycle commands as a real bin/credstash process on each writable tier (test/helpers/tiers.ts:
 * DynamoDB on dynalite, the local keystore, SQLite, and PostgreSQL / MariaDB when their servers run; and Vault
 * KV v2 on its fixture): labels,
 * get --label / --strict, put --expires, list --labels, history, rollback, diff, check, every failure one
 * line with its exit code and no value in any output. A tier whose store does not keep labels yet is checked
 * to refuse the commands in one line instead (the test takes the full path once its tier does).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isLifecycleCapable } from '../../../src/core/store.js';
import { VaultStore } from '../../../src/stores/vault/index.js';
import { startVaultServer, type VaultFixture } from '../../fixtures/vault-server.js';
import { cleanEnv, expectCleanFailure, expectCleanStderr, runCli, type CliResult } from '../../helpers/cli.js';
import { CANARY, expectNoLeak } from '../../helpers/no-leak.js';
import { cliTiers, type CliProject, type CliTier } from '../../helpers/tiers.js';

let vault: Promise<VaultFixture> | undefined;
const vaultDirs: string[] = [];
let vaultSeq = 0;
afterAll(async () => {
  await (await vault)?.close();
  for (const d of vaultDirs) rmSync(d, { recursive: true, force: true });
});

/** Vault KV v2 (test/fixtures/vault-server.ts) as a CLI project: one scope prefix per project. */
const vaultTier: CliTier = {
  name: 'vault (KV v2 fixture)',
  fernet: false,
  async project() {
    const v = await (vault ??= startVaultServer());
    const dir = mkdtempSync(join(tmpdir(), 'credstash-lc-vault-'));
    vaultDirs.push(dir);
    const prefix = `lc${process.pid}-${++vaultSeq}/`;
    writeFileSync(join(dir, 'credstash.toml'), `[credential_store]\ntype = "vault"\n[credential_store.config]\naddress = "${v.address}"\ntoken = "${v.rootToken}"\nprefix = "${prefix}"\n`, { mode: 0o600 });
    const open = (): VaultStore => new VaultStore({ address: v.address, token: v.rootToken, prefix, env: {} });
    return { dir, env: cleanEnv(dir), flags: [], open, openWith: open, keys: () => [] };
  },
};

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function runner(p: CliProject): (args: string[], input?: string) => Promise<CliResult> {
  return (args, input) => runCli([...p.flags, ...args], { cwd: p.dir, env: p.env, ...(input === undefined ? {} : { input }) });
}

/** Exit 2 with one `credstash:` line (and the usage hint for a usage error), nothing on stdout, no value. */
function expectTrouble(r: CliResult, pattern: RegExp): void {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stdout).toBe('');
  expectCleanStderr(r.stderr);
  expect(r.stderr.split('\n').filter((l) => l.startsWith('credstash: '))).toHaveLength(1);
  expect(r.stderr).toMatch(pattern);
  expectNoLeak(r.stdout + r.stderr, CANARY);
}

for (const tier of [...cliTiers(), vaultTier]) {
  describe.skipIf(tier.skip !== undefined)(`lifecycle commands on ${tier.name}${tier.skip === undefined ? '' : ` (skipped: ${tier.skip})`}`, () => {
    it('labels, history, rollback, diff and check, each answer exact and no value printed unasked', { timeout: 120_000 }, async () => {
      const p = await tier.project();
      const cli = runner(p);
      const lib = p.open();
      const labels = lib.capabilities.labels === true;
      try {
        expect((await cli(['put', 'app.db', '-', '-c', 'first'], `${CANARY}-v1`)).code).toBe(0);
        expect((await cli(['put', '-a', 'app.db', '-'], `${CANARY}-v2`)).code).toBe(0);
        if (!labels) {
          for (const args of [['label', 'app.db', 'current', '-v', '1'], ['history', 'app.db'], ['get', 'app.db', '--label', 'current']]) {
            expectCleanFailure(await cli(args), /does not support (labels|history)/);
          }
          return;
        }
        const listBefore = await cli(['list']);
        expect(await cli(['label', 'app.db', 'current', '-v', '1'])).toEqual({ code: 0, stdout: 'app.db: label current -> version 1 (new)\n', stderr: '' });
        expect(await cli(['get', 'app.db', '--label', 'current'])).toEqual({ code: 0, stdout: `${CANARY}-v1\n`, stderr: '' });
        expect(await cli(['get', 'app.db'])).toEqual({ code: 0, stdout: `${CANARY}-v2\n`, stderr: '' });
        expectCleanFailure(await cli(['label', 'app.db', 'current', '-v', '2', '--expect', '2']), /^credstash: label "current" of credential "app\.db" in .* was changed by another writer/);
        expectCleanFailure(await cli(['get', 'app.db', '--label', 'stable']), /has no label "stable"/);
        expect(await cli(['list'])).toEqual(listBefore);
        expect((await cli(['list', '--labels'])).stdout).toMatch(/^app\.db -- version 0000000000000000001 -- comment first \[current\]\napp\.db -- version 0000000000000000002 -- comment \n$/);

        const history = await cli(['history', 'app.db', '--json']);
        expect(history.code, history.stderr).toBe(0);
        const rows = JSON.parse(history.stdout) as Array<Record<string, unknown>>;
        expect(rows.map((r) => [r.version, r.labels])).toEqual([['1', ['current']], ['2', []]]);
        expect(rows[0]).toMatchObject({ comment: 'first' });
        for (const r of rows) {
          expect(typeof r.createdAt).toBe('string');
          if ('size' in r) expect(typeof r.size).toBe('number');
        }
        expectNoLeak(history.stdout, CANARY);
        expect((await cli(['history', 'app.db'])).stdout.split('\n')[0]).toMatch(/^VERSION +CREATED +WRITER +SIZE +EXPIRES +LABELS +COMMENT$/);

        const back = await cli(['rollback', 'app.db', '--to', '1', '--label', 'current']);
        expect(back).toEqual({ code: 0, stdout: 'app.db: version 3 stored with the value of version 1\napp.db: label current -> version 3\n', stderr: '' });
        expect(await cli(['get', 'app.db'])).toMatchObject({ code: 0, stdout: `${CANARY}-v1\n` });

        expect(await cli(['diff', 'app.db', '-v', '1', '-v', '3'])).toEqual({ code: 0, stdout: 'app.db: versions 1 and 3 are the same\n', stderr: '' });
        const differ = await cli(['diff', 'app.db', '-v', '2', '-v', '3']);
        expect(differ).toEqual({ code: 1, stdout: 'app.db: versions 2 and 3 differ (text)\n', stderr: '' });
        expectTrouble(await cli(['diff', 'app.db', '-v', '2', '-v', '9']), /version 9 not found/);

        expect(await cli(['unlabel', 'app.db', 'current'])).toEqual({ code: 0, stdout: 'app.db: label current removed (was version 3)\n', stderr: '' });
      } finally {
        await lib.close();
      }
    });

    it('put --expires, check, and get of an expired version (warning; --strict fails)', { timeout: 120_000 }, async () => {
      const p = await tier.project();
      const cli = runner(p);
      const lib = p.open();
      try {
        if (lib.capabilities.expiry !== true) {
          expectCleanFailure(await cli(['put', 'exp.a', '-', '--expires', '90d'], CANARY), /does not support expiry/);
          expectTrouble(await cli(['check']), /does not support expiry/);
          return;
        }
        expect(await cli(['put', 'exp.a', '-', '--expires', '30d'], CANARY)).toEqual({ code: 0, stdout: 'exp.a has been stored\n', stderr: '' });
        expect(await cli(['check', '--expiring', '14d'])).toEqual({ code: 0, stdout: '', stderr: '' });
        const soon = await cli(['check', '--expiring', '31d']);
        expect(soon.code).toBe(1);
        expect(soon.stdout).toMatch(/^exp\.a -- version 1 -- expires \S+ \(in (29|30) days\)\n$/);
        expectTrouble(await cli(['put', 'exp.b', '-', '--expires', '2001-01-01'], CANARY), /the expiry is in the past/);

        // a version that expires in a moment, written through the library (the CLI refuses a past expiry)
        await lib.storeCredential('exp.c', CANARY, { expiresAt: new Date(Date.now() + 1500) });
        await sleep(2000);
        const warned = await cli(['get', 'exp.c']);
        expect(warned.code).toBe(0);
        expect(warned.stdout).toBe(`${CANARY}\n`);
        expect(warned.stderr).toMatch(/^credstash: warning: credential "exp\.c" version 1 in .* expired at \S+; store a new version \(credstash put -a\) or move its label\n$/);
        expectCleanFailure(await cli(['get', 'exp.c', '--strict']), /^credstash: credential "exp\.c" version 1 in .* expired at /);
        const expired = await cli(['check', '--json']);
        expect(expired.code).toBe(1);
        expect(JSON.parse(expired.stdout)).toMatchObject([{ name: 'exp.c', version: '1', expired: true }]);
      } finally {
        await lib.close();
      }
    });

    it('8 processes moving one label at once: each is done or a conflict, and the label ends on a version that exists', { timeout: 120_000 }, async () => {
      const p = await tier.project();
      const cli = runner(p);
      const lib = p.open();
      try {
        if (lib.capabilities.labels !== true) {
          expectCleanFailure(await cli(['label', 'race', 'current', '-v', '1']), /does not support labels|not found/);
          return;
        }
        for (let v = 1; v <= 4; v++) expect((await cli(['put', '-a', 'race', '-'], `${CANARY}-${v}`)).code).toBe(0);
        const runs = await Promise.all(Array.from({ length: 8 }, (_, i) => cli(['label', 'race', 'current', '-v', String((i % 4) + 1)])));
        const done: string[] = [];
        for (const r of runs) {
          expect(r.signal).toBeUndefined();
          if (r.code === 0) {
            const m = /^race: label current -> version (\d) \((new|was \d|unchanged)\)\n$/.exec(r.stdout);
            expect(m, r.stdout).not.toBeNull();
            done.push(m?.[1] as string);
            expect(r.stderr).toBe('');
          } else {
            expectCleanFailure(r, /^credstash: label "current" of credential "race" in .* was changed by another writer at the same time; nothing was changed, run the command again$/);
          }
        }
        expect(done.length).toBeGreaterThan(0);
        if (!isLifecycleCapable(lib)) throw new Error('a store with labels offers the lifecycle operations');
        const final = (await lib.listLabels()).find((x) => x.id === 'race')?.labels.current?.version;
        expect(done).toContain(final);
        expect(await cli(['get', 'race', '--label', 'current'])).toMatchObject({ code: 0, stdout: `${CANARY}-${final ?? ''}\n` });
      } finally {
        await lib.close();
      }
    });

    if (tier.fernet) {
      it('diff --against a local keystore: names on one side, newest values that differ, values masked', { timeout: 120_000 }, async () => {
        const p = await tier.project();
        const cli = runner(p);
        for (const [name, value] of [['both.same', 'same'], ['both.diff', `${CANARY}-old`], ['only.here', CANARY]] as const) expect((await cli(['put', name, '-'], value)).code).toBe(0);
        const other = 'local:path=./other-keystore.json';
        const seed = await cli(['migrate', '--to', other, '--pattern', 'both.*']);
        expect(seed.code, seed.stderr).toBe(0);
        expect((await cli(['put', '-a', 'both.diff', '-'], `${CANARY}-new`)).code).toBe(0);
        const r = await cli(['diff', '--against', other]);
        expect(r.code, r.stderr).toBe(1);
        expect(r.stdout).toMatch(/^~ both\.diff \(text\)\n< only\.here\n.* vs local keystore .*: 1 only in the first, 0 only in the second, 1 differ, 1 same\n$/);
        expect(r.stderr).toBe('');
        expectNoLeak(r.stdout, CANARY);
        expect(await cli(['diff', '--against', other, 'both.same'])).toMatchObject({ code: 0 });
        expectTrouble(await cli(['diff', '--against', 'local:nosuchkey=1']), /nosuchkey/);
      });
    }
  });
}
