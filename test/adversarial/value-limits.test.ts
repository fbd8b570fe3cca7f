/**
 * Bad input: values up to the backend's limit work and one byte over is a clear error, for the
 * backends bad-input.test.ts does not cover (it has the local keystore, DynamoDB and the CLI): SQLite,
 * PostgreSQL, MariaDB, Vault (KV v2 fixture) and SSM (aws-sdk-client-mock with the SSM model). The error is
 * a ValueTooLargeError naming the sizes and the credential only, and nothing is written. Env is read-only.
 */
import { SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CredentialStore } from '../../src/core/store.js';
import { generateFernetKey } from '../../src/crypto/fernet.js';
import { SQL_MAX_VALUE_BYTES } from '../../src/stores/sql/index.js';
import { SSMStore } from '../../src/stores/ssm/index.js';
import { VaultStore } from '../../src/stores/vault/index.js';
import { startVaultServer, type VaultFixture } from '../fixtures/vault-server.js';
import { CANARY, rejectionOf } from '../helpers/no-leak.js';
import { FakeSsm } from '../unit/stores/ssm/fake-ssm.js';
import { sqlBackends } from './helpers/fernet-backends.js';
import { expectNoLeak } from '../helpers/no-leak.js';

const KEY = generateFernetKey();

/** `limit` bytes (multi-byte characters included) work and read back; `limit + 1` is refused and not stored. */
async function expectLimit(store: CredentialStore, limit: number): Promise<void> {
  const atLimit = `é${'x'.repeat(limit - 2)}`; // 2 + (limit - 2) bytes
  expect(Buffer.byteLength(atLimit)).toBe(limit);
  await store.storeCredential('limit.ok', atLimit);
  expect((await store.getCredential('limit.ok', { required: true })).value).toBe(atLimit);
  const over = CANARY + 'y'.repeat(limit + 1 - CANARY.length);
  expect(Buffer.byteLength(over)).toBe(limit + 1);
  const err = await rejectionOf(store.storeCredential('limit.over', over));
  expect(err).toMatchObject({ code: 'ERR_VALUE_TOO_LARGE', credentialId: 'limit.over' });
  expect(err.message).toContain(String(limit + 1));
  expect(err.message).toContain(String(limit));
  expectNoLeak(err, [CANARY]);
  expect(await store.credentialExists('limit.over')).toBe(false);
}

describe('values at and one byte over the limit: SQL tiers', () => {
  for (const backend of sqlBackends()) {
    it.skipIf(backend.skip !== undefined)(`${backend.name}: ${SQL_MAX_VALUE_BYTES} bytes work, one more is ValueTooLargeError${backend.skip ?? ''}`, async () => {
      const h = await backend.open([KEY]);
      try {
        await expectLimit(h.store, SQL_MAX_VALUE_BYTES);
      } finally {
        await h.close();
      }
    }, 60_000);
  }
});

describe('values at and one byte over the limit: Vault (KV v2 fixture)', () => {
  let vault: VaultFixture;
  beforeAll(async () => {
    vault = await startVaultServer();
  });
  afterAll(async () => {
    await vault.close();
  });

  it('512 KiB (the default max_value_bytes) works, one more is ValueTooLargeError; a configured limit too', async () => {
    await expectLimit(new VaultStore({ address: vault.address, token: vault.rootToken, prefix: 'limits/', env: {} }), 512 * 1024);
    await expectLimit(new VaultStore({ address: vault.address, token: vault.rootToken, prefix: 'limits2/', env: {}, maxValueBytes: 1000 }), 1000);
  });
});

describe('values at and one byte over the limit: SSM (client mock)', () => {
  const ssm = mockClient(SSMClient);
  afterAll(() => ssm.restore());

  it.each([
    ['Standard', 4096],
    ['Advanced', 8192],
  ] as const)('%s tier: %i bytes work, one more is ValueTooLargeError before any PutParameter', async (tier, limit) => {
    ssm.reset();
    new FakeSsm().install(ssm);
    await expectLimit(new SSMStore({ client: new SSMClient({ region: 'us-east-1' }), region: 'us-east-1', tier }), limit);
    // one PutParameter: the value at the limit; the refused one never reached SSM
    expect(ssm.commandCalls((await import('@aws-sdk/client-ssm')).PutParameterCommand)).toHaveLength(1);
  });
});
