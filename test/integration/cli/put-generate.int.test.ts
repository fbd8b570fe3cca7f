/**
 * `credstash put NAME --generate [POLICY]`, `--print` and `--if-absent` as real processes, on every writable
 * tier (DynamoDB on dynalite + the KMS fixture, the local keystore, SQLite, PostgreSQL, MariaDB).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startVaultServer, type VaultFixture } from '../../fixtures/vault-server.js';
import { cleanEnv } from '../../helpers/cli.js';
import { cliTiers, type CliProject } from '../../helpers/tiers.js';
import { expectCleanStderr, runCli, type CliResult } from '../../helpers/cli.js';

const run = (p: CliProject, args: string[], input?: string): Promise<CliResult> => runCli([...p.flags, ...args], { cwd: p.dir, env: p.env, ...(input === undefined ? {} : { input }) });

async function values(p: CliProject, id: string, context: Record<string, string> = {}): Promise<Array<{ version: string; value: unknown; comment?: string }>> {
  const store = p.open();
  try {
    const versions = (await store.listCredentials()).filter((s) => s.id === id);
    const out = [];
    for (const v of versions) {
      const c = await store.getCredential(id, { version: v.version, context, required: true });
      out.push({ version: String(Number(v.version)), value: c.value, ...(v.comment === undefined ? {} : { comment: v.comment }) });
    }
    return out;
  } finally {
    await store.close();
  }
}

for (const tier of cliTiers()) {
  describe.skipIf(tier.skip !== undefined)(`put --generate on ${tier.name}${tier.skip ?? ''}`, () => {
    it('stores a generated value with context and comment; --print writes it to stdout alone, otherwise it is never printed', async () => {
      const p = await tier.project();
      const r1 = await run(p, ['put', 'gen.db', '--generate', 'postgres', '--print', 'env=prod', '-c', 'first']);
      expect(r1.code).toBe(0);
      expect(r1.stdout).toMatch(/^[A-Za-z0-9._-]{32}\n$/);
      expect(r1.stderr).toBe('credstash: gen.db has been stored\n');
      const printed = r1.stdout.slice(0, -1);
      expect(await values(p, 'gen.db', { env: 'prod' })).toEqual([{ version: '1', value: printed, comment: 'first' }]);

      // -a: the next version; without --print no value anywhere in the output
      const r2 = await run(p, ['put', 'gen.db', 'env=prod', '--generate', '-a']);
      expect(r2).toMatchObject({ code: 0, stdout: 'gen.db has been stored\n', stderr: '' });
      const after = await values(p, 'gen.db', { env: 'prod' });
      expect(after.map((v) => v.version)).toEqual(['1', '2']);
      expect(after[1]?.value).toMatch(/^[A-Za-z0-9]{32}$/); // the default preset, alnum
      expect(after[1]?.value).not.toBe(printed);

      // -v N and a policy with settings
      const r3 = await run(p, ['put', 'gen.key', '--generate=hex:40', '-v', '3']);
      expect(r3).toMatchObject({ code: 0, stdout: 'gen.key has been stored\n', stderr: '' });
      const key = await values(p, 'gen.key');
      expect(key.map((v) => v.version)).toEqual(['3']);
      expect(key[0]?.value).toMatch(/^[0-9a-f]{40}$/);
    });

    it('--if-absent writes nothing when the name exists (exit 0, a message on stderr, nothing on stdout)', async () => {
      const p = await tier.project();
      expect((await run(p, ['put', 'gen.once', 'original'])).code).toBe(0);
      const r = await run(p, ['put', 'gen.once', '--generate', '--if-absent', '--print']);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^credstash: gen\.once already exists in .+; nothing stored \(--if-absent\)\n$/);
      expect(await values(p, 'gen.once')).toEqual([{ version: '1', value: 'original' }]);
      // -a does not turn --if-absent into "the next version"
      expect((await run(p, ['put', 'gen.once', '--generate', '--if-absent', '-a'])).code).toBe(0);
      expect((await values(p, 'gen.once')).map((v) => v.version)).toEqual(['1']);
      // absent: version 1, and --if-absent works without --generate too
      expect(await run(p, ['put', 'gen.new', '-', '--if-absent'], 'given')).toMatchObject({ code: 0, stdout: 'gen.new has been stored\n' });
      expect(await values(p, 'gen.new')).toEqual([{ version: '1', value: 'given' }]);
    });

    it('8 concurrent --if-absent puts of one name: exactly one stores version 1 (the value it printed), the others report it exists', async () => {
      const p = await tier.project();
      const results = await Promise.all(Array.from({ length: 8 }, () => run(p, ['put', 'gen.race', '--generate', 'redis', '--if-absent', '--print'])));
      for (const r of results) {
        expect(r.code).toBe(0);
        expectCleanStderr(r.stderr);
      }
      const winners = results.filter((r) => r.stdout !== '');
      expect(winners).toHaveLength(1);
      expect(results.filter((r) => /already exists/.test(r.stderr))).toHaveLength(7);
      expect(await values(p, 'gen.race')).toEqual([{ version: '1', value: winners[0]?.stdout.slice(0, -1) }]);
    });
  });
}

describe('put --generate on vault (the KV v2 fixture)', () => {
  let vault: VaultFixture;
  let dir: string;
  const vrun = (args: string[]): Promise<CliResult> => runCli(args, { cwd: dir, env: cleanEnv(dir) });
  const versions = (id: string): Array<[number, unknown]> => [...(vault.secret('', 'secret', `gen/${id}`)?.versions.entries() ?? [])].map(([n, v]) => [n, (v as { data?: unknown }).data]);
  beforeAll(async () => {
    vault = await startVaultServer();
    dir = mkdtempSync(join(tmpdir(), 'credstash-gen-vault-'));
    writeFileSync(join(dir, 'credstash.toml'), `[credential_store]\ntype = "vault"\n[credential_store.config]\naddress = "${vault.address}"\ntoken = "${vault.rootToken}"\nprefix = "gen/"\n`, { mode: 0o600 });
  });
  afterAll(async () => {
    await vault.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('--print, -a, and 8 concurrent --if-absent puts leaving exactly one version 1', async () => {
    const r1 = await vrun(['put', 'svc', '--generate', 'mysql', '--print']);
    expect(r1.code).toBe(0);
    expect(r1.stdout).toMatch(/^[A-Za-z0-9._-]{32}\n$/);
    expect(versions('svc')).toEqual([[1, { value: r1.stdout.slice(0, -1) }]]);
    expect(await vrun(['put', 'svc', '--generate', '-a'])).toMatchObject({ code: 0, stdout: 'svc has been stored\n', stderr: '' });
    expect(versions('svc').map(([n]) => n)).toEqual([1, 2]);
    const results = await Promise.all(Array.from({ length: 8 }, () => vrun(['put', 'race', '--generate', '--if-absent', '--print'])));
    for (const r of results) expect(r.code).toBe(0);
    const winners = results.filter((r) => r.stdout !== '');
    expect(winners).toHaveLength(1);
    expect(results.filter((r) => /already exists/.test(r.stderr))).toHaveLength(7);
    expect(versions('race')).toEqual([[1, { value: winners[0]?.stdout.slice(0, -1) }]]);
  });
});

const [local] = cliTiers({ dynamodb: false });

describe('put --generate: usage errors (exit 2, nothing stored)', () => {
  const cases: Array<[string, string[], string]> = [
    ['a VALUE', ['put', 'u.x', 'literal', '--generate'], 'credstash: give either a value or --generate, not both'],
    ['@file', ['put', 'u.x', '@val.txt', '--generate'], 'credstash: give either a value or --generate, not both'],
    ['- (stdin)', ['put', 'u.x', '-', '--generate', 'alnum'], 'credstash: give either a value or --generate, not both'],
    ['-P', ['put', 'u.x', '-P', '--generate'], 'credstash: give either -P or --generate, not both'],
    ['--json', ['put', 'u.x', '--json', '{"a":"b"}', '--generate'], 'credstash: give either --json or --generate, not both'],
    ['--type', ['put', 'u.x', '--generate', '--type', 'database'], 'credstash: --type needs a structured value given with --json, not --generate'],
    ['--print without --generate', ['put', 'u.x', 'v', '--print'], 'credstash: --print applies only to --generate'],
    ['--if-absent with -v', ['put', 'u.x', '--generate', '--if-absent', '-v', '2'], 'credstash: --if-absent stores version 1: drop -v'],
    ['a bad policy', ['put', 'u.x', '--generate', 'len=0'], 'credstash: generate policy: len must be an integer from 1 to 1024'],
    ['an unknown preset', ['put', 'u.x', '--generate', 'postgress'], 'credstash: generate policy: unknown preset or setting "postgress" (item 1); presets are postgres, mysql, redis, alnum, hex, base64url'],
  ];
  it.each(cases)('--generate with %s', async (_what, args, message) => {
    const p = await (local as NonNullable<typeof local>).project();
    writeFileSync(join(p.dir, 'val.txt'), 'from-file');
    const r = await run(p, args, 'from-stdin\n');
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n')[0]).toBe(message);
    expectCleanStderr(r.stderr);
    expect(await values(p, 'u.x')).toEqual([]);
  });

  it('a bad policy is named without quoting its values', async () => {
    const p = await (local as NonNullable<typeof local>).project();
    const r = await run(p, ['put', 'u.x', '--generate', 'exclude="Hunter2-S3CRET']);
    expect(r.code).toBe(2);
    expect(r.stderr).not.toMatch(/Hunter2|S3CRET/);
  });

  it('a key=value before --generate is context, not a value; POLICY may be followed by context', async () => {
    const p = await (local as NonNullable<typeof local>).project();
    expect((await run(p, ['put', 'c.one', 'env=prod', '--generate'])).code).toBe(0);
    expect((await values(p, 'c.one', { env: 'prod' }))[0]?.value).toMatch(/^[A-Za-z0-9]{32}$/);
    expect((await run(p, ['put', 'c.two', '--generate', 'base64url', 'env=prod', 'app=web'])).code).toBe(0);
    expect((await values(p, 'c.two', { env: 'prod', app: 'web' }))[0]?.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('--if-absent sees a name whose version 1 was deleted as existing', async () => {
    const p = await (local as NonNullable<typeof local>).project();
    expect((await run(p, ['put', 'd.x', 'one'])).code).toBe(0);
    expect((await run(p, ['put', 'd.x', 'two', '-a'])).code).toBe(0);
    expect((await run(p, ['delete', 'd.x', '-v', '1'])).code).toBe(0);
    const r = await run(p, ['put', 'd.x', '--generate', '--if-absent']);
    expect(r).toMatchObject({ code: 0, stdout: '' });
    expect(r.stderr).toMatch(/already exists/);
    expect(await values(p, 'd.x')).toEqual([{ version: '2', value: 'two' }]);
  });
});
