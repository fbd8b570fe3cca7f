/**
 * Bad input, property-based (fast-check): CLI argument vectors, credstash.toml files, keystore files and
 * DynamoDB items. Whatever comes in, the answer is a typed CredstashError (CLI: exit 1 with one
 * `credstash:` line) or a usage error (exit 2), never an unhandled exception, a foreign error or a stack
 * trace, and never an echo of a secret that was in the input. The bulk runs in-process through the CLI's
 * `main(argv, io)`; a few dozen vectors run as real processes. (Each tier's size limit is in the shared
 * contract, test/contract/credential-store.contract.ts; here the CLI's one-line report of it.)
 */
import { DynamoDBClient, PutItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import fc from 'fast-check';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CredstashError } from '../../src/core/errors.js';
import { generateFernetKey } from '../../src/crypto/fernet.js';
import { DynamoDBStore } from '../../src/stores/dynamodb/index.js';
import { LOCAL_MAX_VALUE_BYTES, LocalStore } from '../../src/stores/local/index.js';
import { runCliInProcess, type InProcessRun } from '../helpers/cli-in-process.js';
import { CANARY, rejectionOf } from '../helpers/no-leak.js';
import { cleanEnv, expectHandled, expectNoStackTrace, runCli } from '../helpers/cli.js';
import { expectNoLeak } from '../helpers/no-leak.js';
import { awsFixtures } from '../helpers/tiers.js';

const root = mkdtempSync(join(tmpdir(), 'credstash-adv-input-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const KEY = generateFernetKey();
let dirs = 0;

/** A project with a local keystore holding one credential; no AWS reachable (endpoints point at a closed port). */
async function project(): Promise<{ dir: string; env: NodeJS.ProcessEnv }> {
  const dir = join(root, `p${++dirs}`);
  const store = new LocalStore({ path: join(dir, '.credstash', 'keystore.json'), fernetKeys: [KEY] });
  await store.storeCredential('app.db', `${CANARY}-stored`, { context: { env: 'prod' } });
  writeFileSync(join(dir, 'credstash.toml'), `[fernet]\nkeys = ["${KEY}"]\n[credential_store]\ntype = "local"\n`, { mode: 0o600 });
  const env = cleanEnv(dir, { AWS_ENDPOINT_URL: 'http://127.0.0.1:9', AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y', AWS_EC2_METADATA_DISABLED: 'true' });
  return { dir, env };
}

/** Run the CLI in-process, capturing its streams. */
function inProcess(argv: string[], p: { dir: string; env: NodeJS.ProcessEnv }, input = ''): Promise<InProcessRun> {
  return runCliInProcess(argv, { cwd: p.dir, env: p.env, stdin: input });
}

function expectCliHandled(r: { code: number; stdout: string; stderr: string }): void {
  expect([0, 1, 2], `exit ${r.code}: ${r.stderr}`).toContain(r.code);
  expectNoStackTrace(r.stderr);
  expect(r.stderr).not.toMatch(/unexpected error/);
  if (r.code === 1) {
    // `put -P` writes its prompt to stderr before it can fail at end of input: that line is not an error line
    const lines = r.stderr.replace(/^[^\n]*: \n(?=credstash: no value entered)/, '').split('\n').filter((l) => l !== '');
    expect(lines.length, r.stderr).toBeGreaterThanOrEqual(1);
    for (const l of lines) expect(l).toMatch(/^credstash: /);
  }
  if (r.code === 2) expect(r.stderr).toMatch(/^credstash: |Usage|Options|Not enough|Unknown|Missing|Invalid/m);
}

// Commands that only read or write the test's own keystore (no exec/env, no file-writing export/render).
const COMMANDS = ['get', 'put', 'getall', 'list', 'keys', 'delete', 'putall', 'setup'];
const FLAGS = ['-a', '-v', '-n', '-f', '-c', '-d', '-k', '-P', '--version', '--format', '--latest', '--json', '-t', '-r', '--noline', '--', '-'];
const token = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...COMMANDS, ...FLAGS, 'app.db', 'env=prod', 'env=', '=x', 'a=b=c', '*', 'app.*', '1', '0', '-1', '99999999999999999999', 'json', 'csv', 'dotenv', 'yaml', 'SHA', 'MD5', '@/nonexistent', '@') },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }).filter((s) => !s.includes('\u0000')) },
  { weight: 1, arbitrary: fc.string({ maxLength: 6 }).map((s) => `${s}=${CANARY}`) },
);
const argvArb = fc.tuple(fc.constantFrom(...COMMANDS), fc.array(token, { maxLength: 6 })).map(([c, rest]) => [c, ...rest]);

describe('CLI argument vectors', () => {
  it('in-process: any argument vector ends in exit 0, 1 (one credstash: line) or 2 (usage), never a crash', async () => {
    const p = await project();
    const codes = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(argvArb, fc.string({ maxLength: 20 }), async (argv, input) => {
        const r = await inProcess(argv, p, input);
        codes.set(r.code, (codes.get(r.code) ?? 0) + 1);
        expectCliHandled(r);
        // the stored secret is printed only by a successful read the user asked for
        if (r.code !== 0) expectNoLeak(r.stderr, [`${CANARY}-stored`, KEY]);
        expectNoLeak(r.stderr, [KEY]);
      }),
      { numRuns: 250 },
    );
    // the generator reaches every outcome, not only usage errors
    expect([...codes.keys()].sort()).toEqual([0, 1, 2]);
    expect(codes.get(1) ?? 0).toBeGreaterThan(10);
  });

  it('as real processes: a sample of vectors behaves the same', async () => {
    const p = await project();
    const sample = fc.sample(argvArb, { numRuns: 20, seed: 4242 });
    for (const argv of sample) {
      const r = await runCli(argv, { cwd: p.dir, env: p.env, timeoutMs: 30_000 });
      expectHandled(r);
      expectNoLeak(r.stderr, [KEY]);
    }
  });

  it('a context value with `=`, unicode keys and a `__proto__` key round-trip through put and get', async () => {
    const p = await project();
    const ctx = ['k=a=b', 'ключ=значение ✓', '__proto__=x'];
    expect((await inProcess(['put', 'ctx.v', '-', ...ctx], p, `${CANARY}-ctx`)).code).toBe(0);
    expect((await inProcess(['get', 'ctx.v', ...[...ctx].reverse()], p)).stdout).toBe(`${CANARY}-ctx\n`);
    const missingProto = await inProcess(['get', 'ctx.v', 'k=a=b', 'ключ=значение ✓'], p);
    expect(missingProto.code).toBe(1);
    expectNoLeak(missingProto.stderr, [`${CANARY}-ctx`]);
    const empty = await inProcess(['put', 'ctx.e', '-', 'env='], p, 'v');
    expect([1, 2]).toContain(empty.code);
    expect(empty.stderr).toMatch(/empty/);
  });
});

describe('credstash.toml under arbitrary content', () => {
  const value = fc.oneof(fc.string({ maxLength: 10 }).map((s) => JSON.stringify(s)), fc.integer().map(String), fc.constant('true'), fc.constant('[]'), fc.constant('{}'), fc.constant(`"${CANARY}"`), fc.constant(`["${CANARY}"]`));
  const line = fc.oneof(
    fc.constantFrom('[fernet]', '[credential_store]', '[credential_store.config]', '[[credentials]]', '[credential_store.config.engine]', 'type = "local"', 'type = "sql"', 'type = "nosuch"', `keys = ["${KEY}"]`),
    fc.tuple(fc.constantFrom('keys', 'type', 'path', 'table', 'audit_log', 'id', 'credential_type', 'name', 'config', 'lock_timeout_ms', 'x'), value).map(([k, v]) => `${k} = ${v}`),
    fc.string({ unit: 'binary', maxLength: 20 }),
  );
  it('any file gives a clean ConfigError line naming the file (never its content) or works', async () => {
    const p = await project();
    await fc.assert(
      fc.asyncProperty(fc.array(line, { maxLength: 8 }), async (lines) => {
        writeFileSync(join(p.dir, 'credstash.toml'), `${lines.join('\n')}\n`, { mode: 0o600 });
        const r = await inProcess(['list'], p);
        expectCliHandled(r);
        expectNoLeak(r.stderr, [CANARY, KEY]);
      }),
      { numRuns: 150 },
    );
  });
});

describe('keystore files under arbitrary content', () => {
  it('a damaged keystore is a typed error on every operation and is never overwritten', async () => {
    const p = await project();
    const path = join(p.dir, '.credstash', 'keystore.json');
    const good = readFileSync(path, 'utf8');
    const mutations = fc.oneof(
      fc.nat({ max: good.length - 1 }).map((i) => good.slice(0, i)),
      fc.tuple(fc.nat({ max: good.length - 1 }), fc.string({ unit: 'binary', minLength: 1, maxLength: 4 })).map(([i, s]) => good.slice(0, i) + s + good.slice(i + 1)),
      fc.jsonValue({ maxDepth: 3 }).map((j) => JSON.stringify(j)),
      fc.jsonValue({ maxDepth: 2 }).map((j) => JSON.stringify({ format: 'credstash-ts-keystore', format_version: 1, credentials: [j] })),
      fc.record({ id: fc.jsonValue({ maxDepth: 1 }), version: fc.jsonValue({ maxDepth: 1 }), token: fc.jsonValue({ maxDepth: 1 }), comment: fc.jsonValue({ maxDepth: 1 }) }).map((e) =>
        JSON.stringify({ format: 'credstash-ts-keystore', format_version: 1, credentials: [e] }),
      ),
    );
    await fc.assert(
      fc.asyncProperty(mutations, async (text) => {
        writeFileSync(path, text, { mode: 0o600 });
        const store = new LocalStore({ path, fernetKeys: [KEY] });
        for (const op of [
          () => store.getCredential('app.db', { context: { env: 'prod' } }),
          () => store.listCredentials(),
          () => store.getAllCredentials({ context: { env: 'prod' } }),
          () => store.credentialExists('app.db'),
          () => store.storeCredential('new.one', CANARY, { autoVersion: true }),
        ]) {
          try {
            await op();
          } catch (err) {
            expect(err, String(err)).toBeInstanceOf(CredstashError);
            expectNoLeak(err, [`${CANARY}-stored`, KEY]);
          }
        }
        const after = readFileSync(path, 'utf8');
        // either the file was a valid keystore (and a put may have added to it) or it is untouched
        if (after !== text) expect(JSON.parse(after)).toMatchObject({ format: 'credstash-ts-keystore' });
      }),
      { numRuns: 200 },
    );
  });
});

describe('DynamoDB items under arbitrary content', () => {
  it('any item under a name reads as a typed error (or a value), never a foreign exception', async () => {
    const { ddb, kms } = await awsFixtures();
    const store = new DynamoDBStore({ table: 'bad-items', region: 'us-east-1', endpointUrl: ddb.endpoint, kmsEndpointUrl: kms.endpoint, maxAttempts: 1 });
    await store.setup();
    const good = await store.storeCredential('good', `${CANARY}-item`);
    void good;
    const raw = new DynamoDBClient({ region: 'us-east-1', endpoint: ddb.endpoint });
    const attr: fc.Arbitrary<AttributeValue> = fc.oneof(
      fc.string({ maxLength: 30 }).filter((s) => s.length > 0).map((S) => ({ S })),
      fc.base64String({ maxLength: 60 }).filter((s) => s.length > 0).map((S) => ({ S })),
      fc.uint8Array({ minLength: 1, maxLength: 40 }).map((B) => ({ B })),
      fc.integer().map((n) => ({ N: String(n) })),
      fc.boolean().map((BOOL) => ({ BOOL })),
      fc.constant({ NULL: true } as AttributeValue),
      fc.constant({ L: [{ S: 'x' }] } as AttributeValue),
    );
    const names = ['key', 'contents', 'iv', 'tag', 'hmac', 'digest', 'algorithm', 'kind', 'comment', 'definition'];
    const item = fc.record(Object.fromEntries(names.map((n) => [n, attr])) as Record<string, fc.Arbitrary<AttributeValue>>, { requiredKeys: [] });
    let i = 0;
    await fc.assert(
      fc.asyncProperty(item, fc.constantFrom('aes-256-gcm', 'aes-ctr-legacy', undefined), async (it0, alg) => {
        const name = `bad.${++i}`;
        const full: Record<string, AttributeValue> = { ...it0, name: { S: name }, version: { S: '0000000000000000001' } };
        if (alg !== undefined && Math.random() < 0.7) full.algorithm = { S: alg };
        await raw.send(new PutItemCommand({ TableName: 'bad-items', Item: full }));
        for (const op of [() => store.getCredential(name), () => store.getCredential(name, { version: 1, context: { env: 'x' } })]) {
          try {
            await op();
          } catch (err) {
            expect(err, String(err)).toBeInstanceOf(CredstashError);
            expectNoLeak(err, [`${CANARY}-item`]);
          }
        }
      }),
      { numRuns: 80 },
    );
    // a getall over the whole damaged table is one typed error, never a partial answer
    const err = await rejectionOf(store.getAllCredentials());
    expect(err).toBeInstanceOf(CredstashError);
    raw.destroy();
    await store.close();
  });
});

describe('a value over the backend limit on the command line', () => {
  it('is one credstash: line naming the sizes, never the value (exit 1)', async () => {
    const p = await project();
    const r = await runCli(['put', 'big3', '-'], { cwd: p.dir, env: p.env, input: `${CANARY}${'z'.repeat(LOCAL_MAX_VALUE_BYTES)}` });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^credstash: value of credential "big3" is \d+ bytes; .* accepts at most \d+\n$/);
    expect(r.stderr).not.toContain(CANARY);
  });
});
