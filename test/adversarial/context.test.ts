/**
 * Encryption context, KMS semantics, on every store that binds one (library) and through the CLI: exact
 * pairs in any order decrypt; a wrong, missing or extra pair, a changed case or another Unicode
 * normalisation fails with EncryptionContextMismatchError; `=` in keys and values and `__proto__` keys are
 * ordinary pairs; an empty value is refused up front, as AWS KMS refuses it (ValidationException).
 */
import { GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { CredentialStore } from '../../src/core/store.js';
import { generateFernetKey } from '../../src/crypto/fernet.js';
import { DynamoDBStore } from '../../src/stores/dynamodb/index.js';
import { LocalStore } from '../../src/stores/local/index.js';
import { SqlStore } from '../../src/stores/sql/index.js';
import { MemoryStore } from '../fixtures/memory-store.js';
import { CANARY, rejectionOf } from '../helpers/no-leak.js';
import { expectCleanFailure, runCli } from '../helpers/cli.js';
import { expectNoLeak } from '../helpers/no-leak.js';
import { awsFixtures, cliTiers } from '../helpers/tiers.js';

const root = mkdtempSync(join(tmpdir(), 'credstash-adv-ctx-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const KEY = generateFernetKey();
let n = 0;

const STORES: Array<[string, () => Promise<CredentialStore>]> = [
  ['memory (reference)', async () => new MemoryStore()],
  ['local keystore', async () => new LocalStore({ path: join(root, `l${++n}`, 'keystore.json'), fernetKeys: [KEY] })],
  ['sql/sqlite', async () => new SqlStore({ engine: { name: 'sqlite', path: join(root, `s${++n}.db`), timeoutMs: 5000 }, fernetKeys: [KEY] })],
  ...(['aes-gcm', 'legacy'] as const).map((format): [string, () => Promise<CredentialStore>] => [
    `dynamodb ${format} (dynalite + KMS fixture)`,
    async () => {
      const { ddb, kms } = await awsFixtures();
      const s = new DynamoDBStore({ table: `ctx-${++n}`, region: 'us-east-1', endpointUrl: ddb.endpoint, kmsEndpointUrl: kms.endpoint, format });
      await s.setup();
      return s;
    },
  ]),
];

// an object literal with __proto__ would set the prototype; build the own property explicitly
const stored = (): Record<string, string> => Object.fromEntries([['env', 'prod'], ['k=1', 'a=b'], ['ключ', 'café'], ['__proto__', 'p']]);

const MISMATCHES: Array<[string, (c: Record<string, string>) => Record<string, string>]> = [
  ['wrong value', (c) => ({ ...c, env: 'dev' })],
  ['missing pair', (c) => Object.fromEntries(Object.entries(c).filter(([k]) => k !== 'env'))],
  ['missing __proto__ pair', (c) => Object.fromEntries(Object.entries(c).filter(([k]) => k !== '__proto__'))],
  ['extra pair', (c) => ({ ...c, extra: 'x' })],
  ['no context at all', () => ({})],
  ['key case changed', (c) => Object.fromEntries(Object.entries(c).map(([k, v]) => [k === 'env' ? 'ENV' : k, v]))],
  ['value case changed', (c) => ({ ...c, env: 'Prod' })],
  ['value in another Unicode normalisation (NFD)', (c) => ({ ...c, 'ключ': 'café'.normalize('NFD') })],
  ['`=` moved between key and value', (c) => Object.fromEntries(Object.entries(c).map(([k, v]) => (k === 'k=1' ? ['k', '1=a=b'] : [k, v])))],
];

for (const [name, make] of STORES) {
  describe(`encryption context on ${name}`, () => {
    it('the exact pairs in any order decrypt; `=`, unicode and __proto__ are ordinary pairs', async () => {
      const store = await make();
      await store.storeCredential('c', `${CANARY}-c`, { context: stored() });
      const reversed = Object.fromEntries(Object.entries(stored()).reverse());
      expect((await store.getCredential('c', { context: reversed, required: true })).value).toBe(`${CANARY}-c`);
      await store.close();
    });

    it.each(MISMATCHES)('%s → EncryptionContextMismatchError, nothing leaks', async (_l, change) => {
      const store = await make();
      await store.storeCredential('c', `${CANARY}-c`, { context: stored() });
      const err = await rejectionOf(store.getCredential('c', { context: change(stored()) }));
      expect(err.code, err.message).toBe('ERR_ENCRYPTION_CONTEXT_MISMATCH');
      expect(err.credentialId).toBe('c');
      expectNoLeak(err, [`${CANARY}-c`, KEY]);
      await store.close();
    });

    it('a credential stored without context does not open with one', async () => {
      const store = await make();
      await store.storeCredential('plain', `${CANARY}-p`);
      expect((await rejectionOf(store.getCredential('plain', { context: { env: 'prod' } }))).code).toBe('ERR_ENCRYPTION_CONTEXT_MISMATCH');
      expect((await store.getCredential('plain', { context: {}, required: true })).value).toBe(`${CANARY}-p`);
      await store.close();
    });

    it('an empty value is refused before anything is stored or decrypted (KMS: ValidationException)', async () => {
      const store = await make();
      expect((await rejectionOf(store.storeCredential('e', 'v', { context: { env: '' } }))).code).toBe('ERR_INVALID_INPUT');
      expect(await store.credentialExists('e')).toBe(false);
      await store.storeCredential('e', 'v', { context: { env: 'x' } });
      expect((await rejectionOf(store.getCredential('e', { context: { env: '' } }))).code).toBe('ERR_INVALID_INPUT');
      await store.close();
    });
  });
}

describe('the KMS fixture enforces the same rules as AWS KMS', () => {
  it('refuses an empty context value with ValidationException', async () => {
    const { kms } = await awsFixtures();
    const client = new KMSClient({ region: 'us-east-1', endpoint: kms.endpoint });
    const err = await rejectionOf(client.send(new GenerateDataKeyCommand({ KeyId: 'alias/credstash', NumberOfBytes: 32, EncryptionContext: { env: '' } })));
    expect(err.name).toBe('ValidationException');
    client.destroy();
  });
});

for (const tier of cliTiers({}).filter((t) => t.name === 'local keystore' || t.name.startsWith('dynamodb'))) {
  describe(`encryption context through the CLI on ${tier.name}`, () => {
    it('key=value pairs in any order; wrong, missing or extra pairs fail in one line; `=` in values; empty values refused', async () => {
      const p = await tier.project();
      const cli = (args: string[], input?: string) => runCli([...p.flags, ...args], { cwd: p.dir, env: p.env, input });
      expect((await cli(['put', 'svc.pw', '-', 'env=prod', 'url=a=b', 'ключ=café'], `${CANARY}-cli`)).code).toBe(0);
      expect((await cli(['get', 'svc.pw', 'ключ=café', 'url=a=b', 'env=prod'])).stdout).toBe(`${CANARY}-cli\n`);
      for (const ctx of [['env=dev', 'url=a=b', 'ключ=café'], ['env=prod', 'url=a=b'], ['env=prod', 'url=a=b', 'ключ=café', 'x=y'], []]) {
        const r = await cli(['get', 'svc.pw', ...ctx]);
        expectCleanFailure(r, /encryption context/);
        expect(r.stderr).not.toContain(CANARY);
      }
      const empty = await cli(['put', 'svc.e', 'v', 'env=']);
      expect([1, 2]).toContain(empty.code);
      expect(empty.stderr).toMatch(/must not be empty/);
      expect((await cli(['put', 'svc.e', 'v', 'env=prod', 'env=dev'])).stderr).toMatch(/given twice/);
    });
  });
}
