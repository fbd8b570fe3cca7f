/**
 * Leaks, library side: the library test matrix run with a sentinel secret (CANARY). leaks.test.ts
 * drives the CLI; here every tier is used as a library, wrapped in the file audit log, and each failure path is
 * taken with the CANARY in hand (wrong/missing context, version conflict, one byte over the limit, a refused
 * id or context holding the secret, a wrong Fernet key, a partial getall). The CANARY and the Fernet keys
 * must never appear in an error (message, stack, cause chain, JSON), in anything written to stdout/stderr or
 * the console, in an audit line, or in any file (the store files hold ciphertext only); every file created is
 * 0600 and every folder 0700. Found: the audit log wrote an id refused as invalid verbatim (an id holding a
 * pasted secret); it now leaves such an id (and an invalid version) out, as error messages do.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withAuditLog } from '../../src/audit/index.js';
import type { CredentialStore } from '../../src/core/store.js';
import { generateFernetKey } from '../../src/crypto/fernet.js';
import { withCache } from '../../src/stores/cache/index.js';
import { ChainStore } from '../../src/stores/chain/index.js';
import { DynamoDBStore } from '../../src/stores/dynamodb/index.js';
import { EnvStore } from '../../src/stores/env/index.js';
import { LocalStore } from '../../src/stores/local/index.js';
import { SqlStore } from '../../src/stores/sql/index.js';
import { VaultStore } from '../../src/stores/vault/index.js';
import { startVaultServer, type VaultFixture } from '../fixtures/vault-server.js';
import { CANARY, rejectionOf } from '../helpers/no-leak.js';
import { captureOutput, expectNoSecretInFiles, expectNoLeak, expectPrivateModes } from '../helpers/no-leak.js';
import { awsFixtures } from '../helpers/tiers.js';

const SECRET = `${CANARY}-lib`;
const root = mkdtempSync(join(tmpdir(), 'credstash-adv-leaklib-'));
let vault: VaultFixture;
let n = 0;
beforeAll(async () => {
  vault = await startVaultServer();
});
afterAll(async () => {
  await vault.close();
  rmSync(root, { recursive: true, force: true });
});

interface Tier {
  name: string;
  context: boolean;
  /** Fernet keys in use (secrets too); empty for KMS and Vault. */
  keys: string[];
  open(dir: string): Promise<CredentialStore>;
  /** The same storage opened with another Fernet key (Fernet tiers only). */
  wrongKey?(dir: string): CredentialStore;
}

const KEY = generateFernetKey();
const TIERS: Tier[] = [
  {
    name: 'local keystore',
    context: true,
    keys: [KEY],
    open: async (dir) => new LocalStore({ path: join(dir, 'store', 'keystore.json'), fernetKeys: [KEY] }),
    wrongKey: (dir) => new LocalStore({ path: join(dir, 'store', 'keystore.json'), fernetKeys: [generateFernetKey()] }),
  },
  {
    name: 'sql/sqlite',
    context: true,
    keys: [KEY],
    open: async (dir) => {
      const s = new SqlStore({ engine: { name: 'sqlite', path: join(dir, 'store', 'creds.db'), timeoutMs: 5000 }, fernetKeys: [KEY] });
      await s.setup();
      return s;
    },
    wrongKey: (dir) => new SqlStore({ engine: { name: 'sqlite', path: join(dir, 'store', 'creds.db'), timeoutMs: 5000 }, fernetKeys: [generateFernetKey()] }),
  },
  ...(['aes-gcm', 'legacy'] as const).map(
    (format): Tier => ({
      name: `dynamodb ${format} (dynalite + KMS fixture)`,
      context: true,
      keys: [],
      open: async () => {
        const { ddb, kms } = await awsFixtures();
        const s = new DynamoDBStore({ table: `leaklib-${++n}`, region: 'us-east-1', endpointUrl: ddb.endpoint, kmsEndpointUrl: kms.endpoint, format, maxAttempts: 1 });
        await s.setup();
        return s;
      },
    }),
  ),
  {
    name: 'vault (KV v2 fixture)',
    context: false,
    keys: [],
    open: async () => new VaultStore({ address: vault.address, token: vault.rootToken, prefix: `leak${++n}/`, env: {} }),
  },
  {
    name: 'chain (local, env) under withCache',
    context: true,
    keys: [KEY],
    open: async (dir) =>
      withCache(new ChainStore([{ name: 'project', store: new LocalStore({ path: join(dir, 'store', 'keystore.json'), fernetKeys: [KEY] }) }, new EnvStore({ env: {} })]), { maxAge: 5 }),
    wrongKey: (dir) => new LocalStore({ path: join(dir, 'store', 'keystore.json'), fernetKeys: [generateFernetKey()] }),
  },
];

describe.each(TIERS.map((t) => [t.name, t] as const))('no leak through the library on %s', (_name, tier) => {
  it('every failure path with the secret in hand: errors, output, audit lines and files stay clean; modes are private', async () => {
    const dir = join(root, `t${++n}`);
    mkdirSync(join(dir, 'store'), { recursive: true, mode: 0o700 });
    const audit = join(dir, 'audit', 'audit.jsonl');
    const store = withAuditLog(await tier.open(dir), audit);
    const ctx = tier.context ? { context: { env: 'prod' } } : {};
    const errors: unknown[] = [];
    const fail = async (p: Promise<unknown>, code: string | RegExp): Promise<void> => {
      const err = await rejectionOf(p);
      expect(err.code).toMatch(code);
      errors.push(err);
    };

    const { out, error } = await captureOutput(async () => {
      await store.storeCredential('leak.a', SECRET, ctx);
      // the legacy (Python credstash) format holds text only
      await store.storeCredential('leak.j', tier.name.includes('legacy') ? `json-${SECRET}` : { user: 'u', password: SECRET }, ctx);
      expect((await store.getCredential('leak.a', { ...ctx, required: true })).value).toBe(SECRET);
      // the same version again
      await fail(store.storeCredential('leak.a', SECRET, { ...ctx, version: 1 }), 'ERR_VERSION_CONFLICT');
      // one byte over the limit (the largest limit of these tiers is 1 MiB)
      await fail(store.storeCredential('leak.big', SECRET + 'x'.repeat(1024 * 1024)), 'ERR_VALUE_TOO_LARGE');
      // an id holding the secret is refused without being echoed (context keys are not secret: KMS logs them)
      await fail(store.storeCredential(`${SECRET}\n`, 'v'), 'ERR_INVALID_INPUT');
      await fail(store.getCredential(`${SECRET}*\u0000`), 'ERR_INVALID_INPUT');
      await fail(store.storeCredential('leak.b', SECRET, { context: { env: '' } }), /ERR_INVALID_INPUT|ERR_UNSUPPORTED_OPERATION/);
      await fail(store.getCredential('leak.none', { ...ctx, required: true }), 'ERR_CREDENTIAL_NOT_FOUND');
      if (tier.context) {
        for (const context of [{ env: 'dev' }, {}, { env: 'prod', extra: SECRET }] as Array<Record<string, string>>) {
          await fail(store.getCredential('leak.a', { context }), 'ERR_ENCRYPTION_CONTEXT_MISMATCH');
          await fail(store.getCredential('leak.j', { context }), 'ERR_ENCRYPTION_CONTEXT_MISMATCH');
        }
        await fail(store.getAllCredentials({ context: { env: 'dev' } }), /ERR_PARTIAL_RESULT|ERR_ENCRYPTION_CONTEXT_MISMATCH/);
        const skipped = await store.getAllCredentials({ context: { env: 'dev' }, skipErrors: true });
        expect(skipped.credentials).toEqual([]);
        errors.push(skipped);
      } else {
        await fail(store.getCredential('leak.a', { context: { env: SECRET } }), 'ERR_UNSUPPORTED_OPERATION');
      }
      if (tier.wrongKey !== undefined) {
        const wrong = tier.wrongKey(dir);
        await fail(wrong.getCredential('leak.a', { ...ctx, required: true }), 'ERR_INTEGRITY');
        await fail(wrong.storeCredential('leak.a', SECRET, { ...ctx, autoVersion: true }).then(() => wrong.getCredential('leak.a', { version: 1, ...ctx })), 'ERR_INTEGRITY');
        await wrong.close();
      }
      await store.deleteCredential('leak.j');
      await store.close();
    });

    expect(error).toBeUndefined();
    const secrets = [SECRET, ...tier.keys];
    for (const e of errors) expectNoLeak(e, secrets);
    expectNoLeak(out, secrets);
    const lines = readFileSync(audit, 'utf8').trimEnd().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(10);
    expectNoLeak(lines.join('\n'), secrets);
    // no plaintext anywhere on disk, the store files included (they hold Fernet tokens only)
    expectNoSecretInFiles(dir, [SECRET]);
    expectNoSecretInFiles(dir, tier.keys);
    expectPrivateModes(dir);
  }, 60_000);
});
