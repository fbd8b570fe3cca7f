/**
 * A labelled read through a chain: the label reaches the members (dropping it would answer with the newest
 * version), only members that keep labels are asked, and `strict` reaches the member that answers.
 */
import { describe, expect, it } from 'vitest';
import { CredentialExpiredError, CredentialNotFoundError, UnsupportedOperationError } from '../../../../src/core/errors.js';
import { ChainStore } from '../../../../src/stores/chain/index.js';
import { EnvStore } from '../../../../src/stores/env/index.js';
import { MemoryStore } from '../../../fixtures/memory-store.js';
import { rejectionOf } from '../../../helpers/no-leak.js';

async function members(): Promise<{ first: MemoryStore; second: MemoryStore }> {
  const first = new MemoryStore('first');
  const second = new MemoryStore('second');
  await first.storeCredential('db', 'first-v1');
  await first.storeCredential('db', 'first-v2', { autoVersion: true });
  await first.labelCredential('db', 'current', { version: 1 });
  await second.storeCredential('api', 'second-v1');
  await second.storeCredential('api', 'second-v2', { autoVersion: true });
  await second.labelCredential('api', 'current', { version: 1 });
  return { first, second };
}

describe('chain getCredential with a label', () => {
  it('reads the labelled version, not the newest, from the first member where the label exists', async () => {
    const { first, second } = await members();
    const chain = new ChainStore([new EnvStore({ env: { CREDSTASH_CREDENTIAL_DB: 'from-env' } }), { name: 'first', store: first }, { name: 'second', store: second }]);
    expect(await chain.getCredential('db', { label: 'current', required: true })).toMatchObject({ value: 'first-v1', version: '1' });
    expect(await chain.getCredential('api', { label: 'current', required: true })).toMatchObject({ value: 'second-v1', version: '1' });
    expect((await chain.getCredential('db'))?.value).toBe('from-env');
  });

  it('a label that no member holds is not found, naming the label', async () => {
    const { first, second } = await members();
    const chain = new ChainStore([first, second]);
    expect(await chain.getCredential('db', { label: 'next' })).toBeUndefined();
    const err = await rejectionOf(chain.getCredential('db', { label: 'next', required: true }));
    expect(err).toBeInstanceOf(CredentialNotFoundError);
    expect(err.message).toMatch(/has no label "next"/);
  });

  it('a chain with no member that keeps labels refuses a labelled read instead of answering with the newest', async () => {
    const chain = new ChainStore([new EnvStore({ env: { CREDSTASH_CREDENTIAL_DB: 'from-env' } })]);
    expect(await rejectionOf(chain.getCredential('db', { label: 'current' }))).toBeInstanceOf(UnsupportedOperationError);
  });

  it('passes strict to the member: an expired version is CredentialExpiredError', async () => {
    const m = new MemoryStore('m');
    await m.storeCredential('old', 'v', { expiresAt: new Date(Date.now() + 50) });
    await new Promise((r) => setTimeout(r, 80));
    const chain = new ChainStore([m]);
    expect((await chain.getCredential('old'))?.value).toBe('v');
    expect(await rejectionOf(chain.getCredential('old', { strict: true }))).toBeInstanceOf(CredentialExpiredError);
  });
});
