/**
 * The lifecycle commands on SSM (aws-sdk-client-mock with the in-memory SSM model) and on Vault (the KV v2
 * fixture), through the CLI's main() in this process (a child process could not see the SSM mock): labels,
 * get --label, history, rollback, put --expires, check and get --strict, each answer exact, no value printed
 * unasked.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCliInProcess, type InProcessRun } from '../../helpers/cli-in-process.js';
import { CANARY, expectNoLeak } from '../../helpers/no-leak.js';
import { startVaultServer, type VaultFixture } from '../../fixtures/vault-server.js';
import { FakeSsm } from '../stores/ssm/fake-ssm.js';

interface Tier {
  name: string;
  /** What history says about who wrote a version on this tier. */
  writer: string | RegExp;
  setup(dir: string): Promise<void> | void;
  /** Store a version that is already expired, as a writer left it while its expiry was ahead. */
  expired(id: string, value: string): Promise<void>;
}

const ssm = mockClient(SSMClient);
let fake: FakeSsm;
let vault: VaultFixture;
let scope = 0;

beforeAll(async () => {
  vault = await startVaultServer();
});
afterAll(async () => {
  ssm.restore();
  await vault.close();
});

const tiers: Tier[] = [
  {
    name: 'ssm (aws-sdk-client-mock)',
    writer: 'arn:aws:sts::123456789012:assumed-role/deployer/ci',
    setup: (dir) => {
      ssm.reset();
      fake = new FakeSsm();
      fake.install(ssm);
      writeFileSync(join(dir, 'credstash.toml'), '[credential_store]\ntype = "ssm"\n[credential_store.config]\nregion = "us-east-1"\n', { mode: 0o600 });
    },
    expired: async (id, value) => fake.seed(`/credstash/credentials/${id}`, `credstash:expires:2020-01-01T00:00:00.000Z:${value}`, 'credstash:expires:2020-01-01T00:00:00.000Z'),
  },
  {
    name: 'vault (KV v2 fixture)',
    writer: 'root',
    setup: (dir) => {
      scope++;
      writeFileSync(
        join(dir, 'credstash.toml'),
        `[credential_store]\ntype = "vault"\n[credential_store.config]\naddress = "${vault.address}"\ntoken = "${vault.rootToken}"\nprefix = "cli${scope}/"\n`,
        { mode: 0o600 },
      );
    },
    expired: async (id, value) => {
      const res = await fetch(`${vault.address}/v1/secret/data/cli${scope}/${id}`, {
        method: 'POST',
        headers: { 'X-Vault-Token': vault.rootToken, 'Content-Type': 'application/json' },
        body: JSON.stringify({ data: { value, _credstash_expires_at: '2020-01-01T00:00:00Z' } }),
      });
      expect(res.status).toBe(200);
      // and its listing copy, as credstash writes it beside every expiring version
      const meta = await fetch(`${vault.address}/v1/secret/metadata/cli${scope}/${id}`, {
        method: 'PATCH',
        headers: { 'X-Vault-Token': vault.rootToken, 'Content-Type': 'application/merge-patch+json' },
        body: JSON.stringify({ custom_metadata: { credstash_expires_v1: '2020-01-01T00:00:00.000Z' } }),
      });
      expect(meta.status).toBe(204);
    },
  },
];

/** Exit 1, one `credstash:` line matching `pattern`, nothing on stdout. */
function expectFailure(r: InProcessRun, pattern: RegExp): void {
  expect(r.code, r.stderr).toBe(1);
  expect(r.stdout).toBe('');
  expect(r.stderr.split('\n').filter((l) => l !== '')).toHaveLength(1);
  expect(r.stderr).toMatch(pattern);
}

for (const tier of tiers) {
  describe(`lifecycle commands on ${tier.name}`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'credstash-lc-cli-'));
    chmodSync(dir, 0o700);
    const env = { HOME: dir, AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y', AWS_REGION: 'us-east-1' };
    const cli = (args: string[], stdin?: string): Promise<InProcessRun> => runCliInProcess(args, { cwd: dir, env, ...(stdin === undefined ? {} : { stdin }) });
    beforeEach(async () => {
      await tier.setup(dir);
    });
    afterAll(() => {
      rmSync(dir, { recursive: true, force: true });
    });

    it('label, get --label, list --labels, history, rollback and unlabel', async () => {
      expect((await cli(['put', 'app.db', '-', '-c', 'first'], `${CANARY}-v1`)).code).toBe(0);
      expect((await cli(['put', '-a', 'app.db', '-'], `${CANARY}-v2`)).code).toBe(0);
      const listBefore = await cli(['list']);
      expect(await cli(['label', 'app.db', 'current', '-v', '1'])).toEqual({ code: 0, stdout: 'app.db: label current -> version 1 (new)\n', stderr: '' });
      expect(await cli(['get', 'app.db', '--label', 'current'])).toEqual({ code: 0, stdout: `${CANARY}-v1\n`, stderr: '' });
      expect(await cli(['get', 'app.db'])).toEqual({ code: 0, stdout: `${CANARY}-v2\n`, stderr: '' });
      expectFailure(await cli(['label', 'app.db', 'current', '-v', '2', '--expect', '2']), /^credstash: label "current" of credential "app\.db" in .* was changed by another writer/);
      expectFailure(await cli(['get', 'app.db', '--label', 'stable']), /has no label "stable"/);
      expect(await cli(['list'])).toEqual(listBefore);
      expect((await cli(['list', '--labels'])).stdout).toContain('[current]');

      const history = await cli(['history', 'app.db', '--json']);
      expect(history.code, history.stderr).toBe(0);
      const rows = JSON.parse(history.stdout) as Array<Record<string, unknown>>;
      expect(rows.map((r) => [r.version, r.labels, r.comment ?? null])).toEqual([['1', ['current'], 'first'], ['2', [], null]]);
      for (const r of rows) {
        expect(Number.isNaN(Date.parse(String(r.createdAt)))).toBe(false);
        expect(r.writtenBy).toMatch(tier.writer);
      }
      expectNoLeak(history.stdout, CANARY);

      expect(await cli(['rollback', 'app.db', '--to', '1', '--label', 'current'])).toEqual({
        code: 0,
        stdout: 'app.db: version 3 stored with the value of version 1\napp.db: label current -> version 3\n',
        stderr: '',
      });
      expect(await cli(['get', 'app.db', '--label', 'current'])).toMatchObject({ code: 0, stdout: `${CANARY}-v1\n` });
      expect(await cli(['unlabel', 'app.db', 'current'])).toEqual({ code: 0, stdout: 'app.db: label current removed (was version 3)\n', stderr: '' });
      expectFailure(await cli(['get', 'app.db', '--label', 'current']), /has no label "current"/);
    });

    it('put --expires, check, and get of an expired version (warning; --strict fails)', async () => {
      expect(await cli(['put', 'exp.a', '-', '--expires', '30d'], CANARY)).toEqual({ code: 0, stdout: 'exp.a has been stored\n', stderr: '' });
      expect(await cli(['check', '--expiring', '14d'])).toEqual({ code: 0, stdout: '', stderr: '' });
      const soon = await cli(['check', '--expiring', '31d']);
      expect(soon.code).toBe(1);
      expect(soon.stdout).toMatch(/^exp\.a -- version 1 -- expires \S+ \(in (29|30) days\)\n$/);
      expect(await cli(['get', 'exp.a'])).toEqual({ code: 0, stdout: `${CANARY}\n`, stderr: '' });
      await tier.expired('exp.c', CANARY);
      const warned = await cli(['get', 'exp.c']);
      expect(warned).toMatchObject({ code: 0, stdout: `${CANARY}\n` });
      expect(warned.stderr).toMatch(/^credstash: warning: credential "exp\.c" version 1 in .* expired at 2020-01-01T00:00:00\.000Z; store a new version \(credstash put -a\) or move its label\n$/);
      expectFailure(await cli(['get', 'exp.c', '--strict']), /^credstash: credential "exp\.c" version 1 in .* expired at 2020-01-01T00:00:00\.000Z/);
      const expired = await cli(['check', '--json']);
      expect(expired.code).toBe(1);
      expect(JSON.parse(expired.stdout)).toMatchObject([{ name: 'exp.c', version: '1', expired: true }]);
      expectNoLeak(expired.stdout + expired.stderr + soon.stdout, CANARY);
    });
  });
}
