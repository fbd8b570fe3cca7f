/**
 * Leaks: run the CLI over its commands with the CANARY secret, on the Fernet tiers (local keystore, SQLite)
 * and the envelope tier (dynalite + KMS fixture), with an audit log and a debug log file, and fail if the
 * CANARY or a Fernet key ever appears in stderr, in stdout other than where the user asked for the value,
 * in a log or audit line, or in any file other than the store (which must itself hold no plaintext).
 * Also: every file and folder created is 0600 / 0700. The library side (errors with their whole `cause`
 * chain, console output, audit lines and files, per tier) is leaks-library.test.ts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CANARY } from '../helpers/no-leak.js';
import { expectNoStackTrace, runCli, type CliResult } from '../helpers/cli.js';
import { expectNoSecretInFiles, expectNoLeak, expectPrivateModes, walk } from '../helpers/no-leak.js';
import { cliTiers, type CliProject } from '../helpers/tiers.js';

const SECRET = `${CANARY}-leak`;
const JSON_SECRET = JSON.stringify({ user: 'app', password: `${CANARY}-json` });

/** Files that may hold ciphertext of the secret (never its plaintext). */
const STORE_FILES = /^(\.credstash\/keystore\.json|.*\.db(-wal|-shm|-journal)?)$/;

async function session(p: CliProject): Promise<Array<{ args: string[]; r: CliResult; printsValue: boolean }>> {
  const cli = async (args: string[], input?: string): Promise<CliResult> =>
    runCli([...p.flags, '--log-file', join(p.dir, 'credstash.log'), '--log-level', 'debug', ...args], { cwd: p.dir, env: { ...p.env, CREDSTASH_AUDIT_LOG: join(p.dir, 'audit', 'audit.log') }, input, timeoutMs: 60_000 });
  const runs: Array<{ args: string[]; r: CliResult; printsValue: boolean }> = [];
  const step = async (args: string[], opts: { input?: string; printsValue?: boolean } = {}): Promise<CliResult> => {
    const r = await cli(args, opts.input);
    runs.push({ args, r, printsValue: opts.printsValue === true });
    return r;
  };
  expect((await step(['put', 'leak.a', '-', 'env=prod'], { input: SECRET })).code).toBe(0);
  expect((await step(['put', '-a', 'leak.a', '-', 'env=prod'], { input: SECRET })).code).toBe(0);
  expect((await step(['put', 'leak.json', '-', 'env=prod'], { input: JSON_SECRET })).code).toBe(0);
  // the value printed on request: allowed on stdout only
  expect((await step(['get', 'leak.a', 'env=prod'], { printsValue: true })).stdout).toContain(SECRET);
  await step(['getall', 'env=prod'], { printsValue: true });
  await step(['list']);
  await step(['keys']);
  // failure paths, each with the secret in hand somewhere
  expect((await step(['get', 'leak.a', 'env=dev'])).code).toBe(1);
  expect((await step(['get', 'leak.a'])).code).toBe(1);
  expect((await step(['put', 'leak.a', '-', 'env=prod'], { input: SECRET })).code).toBe(1);
  expect((await step(['get', 'leak.none', 'env=prod'])).code).toBe(1);
  expect((await step(['getall', 'env=dev'])).code).toBe(1);
  expect((await step(['put', 'leak.bad', '-', 'env='], { input: SECRET })).code).not.toBe(0);
  expect((await step(['get', 'leak.json', 'env=prod', '-v', 'nope'])).code).not.toBe(0);
  expect((await step(['delete', 'leak.json'])).code).toBe(0);
  return runs;
}

for (const tier of cliTiers().filter((t) => t.name === 'local keystore' || t.name === 'sql/sqlite' || t.name.startsWith('dynamodb'))) {
  describe.skipIf(tier.skip !== undefined)(`no leak through the CLI on ${tier.name}${tier.skip ?? ''}`, () => {
    it('the secret and the Fernet key never reach stderr, logs, the audit log or any file but the store; modes are private', async () => {
      const p = await tier.project();
      const keys = p.keys();
      const runs = await session(p);
      const secrets = [SECRET, `${CANARY}-json`, ...keys];
      for (const { args, r, printsValue } of runs) {
        expectNoStackTrace(r.stderr);
        expectNoLeak(r.stderr, secrets);
        // stdout holds the value only when the user asked for it, and never a key
        expectNoLeak(r.stdout, printsValue ? keys : secrets);
        void args;
      }
      // audit log: written, one JSON line per access, no value
      const audit = join(p.dir, 'audit', 'audit.log');
      expect(existsSync(audit), 'the audit log was written').toBe(true);
      const lines = readFileSync(audit, 'utf8').trim().split('\n');
      expect(lines.length).toBeGreaterThanOrEqual(runs.length - 3);
      for (const l of lines) expect(() => JSON.parse(l)).not.toThrow();
      // every file: no plaintext outside the store, and none inside it either
      const allowed = walk(p.dir)
        .filter((f) => f.kind === 'file')
        .map((f) => f.path.slice(p.dir.length + 1))
        .filter((rel) => STORE_FILES.test(rel));
      expectNoSecretInFiles(p.dir, [SECRET, `${CANARY}-json`], []);
      expectNoSecretInFiles(p.dir, keys, ['credstash.toml']);
      void allowed;
      // everything credstash created (the folder itself is the test's): files 0600, folders 0700
      expectPrivateModes(p.dir);
    });
  });
}

describe('the Fernet key is never printed', () => {
  it('init writes it to credstash.toml (0600) only; a wrong key fails with a message that names no key', async () => {
    const [local] = cliTiers({ dynamodb: false });
    const p = await (local as NonNullable<typeof local>).project();
    const r = await runCli(['init', '--force'], { cwd: p.dir, env: p.env });
    expect(r.code, r.stderr).toBe(0);
    const keys = p.keys();
    expect(keys).toHaveLength(2); // --force keeps the replaced file's key after the new one (and backs the file up 0600)
    expectNoLeak(r.stdout + r.stderr, keys);
    expect((await runCli(['put', 'k', '-'], { cwd: p.dir, env: p.env, input: SECRET })).code).toBe(0);
    const wrong = 'A'.repeat(43) + '=';
    const bad = await runCli(['get', 'k'], { cwd: p.dir, env: { ...p.env, CREDSTASH_FERNET_KEY: wrong } });
    expect(bad.code).toBe(1);
    expectNoLeak(bad.stderr + bad.stdout, [...keys, wrong, SECRET]);
    expectPrivateModes(p.dir);
  });
});
