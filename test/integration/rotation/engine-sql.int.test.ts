/**
 * The rotation engine on the SQL tier (SQLite, and this machine's PostgreSQL and MariaDB), with a fake
 * rotator whose target is a map: a crash at each step boundary, resumed from another store instance, ends
 * with exactly one new version the target accepts; 8 rotations started at once from 8 store instances: one
 * rotates; the newest row is the old value until finish.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { RotationInProgressError, RotationStepError } from '../../../src/core/errors.js';
import type { CredentialStore } from '../../../src/core/store.js';
import type { JsonObject } from '../../../src/core/types.js';
import { rotateCredential } from '../../../src/rotation/engine.js';
import type { Rotator } from '../../../src/rotation/types.js';
import { generateFernetKey } from '../../../src/crypto/fernet.js';
import { sqlBackends, type FernetHandle } from '../../helpers/fernet-backends.js';
import { heldUntilOthersAnswer } from '../../helpers/held-race.js';

const ID = 'app.db';
const OLD = { user: 'app', password: 'old-password-1' };
const handles: FernetHandle[] = [];
afterAll(async () => {
  for (const h of handles) await h.close();
});

/** `hold`: what the set step waits for before it changes the target. */
function rotator(server: Map<string, string>, hold?: Promise<unknown>): Rotator {
  return {
    name: 'fake',
    strategies: ['single'],
    pending: (input, pw) => ({ ...input.current, password: pw }),
    async set(_input, pending) {
      await hold;
      server.set(String(pending.user), String(pending.password));
    },
    async test(input, pending) {
      if (server.get(String(pending.user)) !== pending.password) throw new RotationStepError({ step: 'test', target: 'fake', reason: 'refused', credentialId: input.credentialId ?? '' });
    },
    async revert(input) {
      server.set(String(input.current.user), String(input.current.password));
    },
  };
}

async function newestPassword(store: CredentialStore): Promise<unknown> {
  return ((await store.getCredential(ID, { required: true })).value as JsonObject).password;
}

for (const backend of sqlBackends()) {
  describe.skipIf(backend.skip !== undefined)(`rotation on ${backend.name}${backend.skip ?? ''}`, () => {
    for (const [step, phase] of [['create', 'done'], ['set', 'done'], ['test', 'done'], ['finish', 'start']] as const) {
      it(`a crash at ${step}:${phase}, resumed from another store instance: one new version, store and target agree, the old value newest until finish`, async () => {
        const keys = [generateFernetKey()];
        const h = await backend.open(keys);
        handles.push(h);
        await h.store.storeCredential(ID, OLD, {});
        const server = new Map([['app', OLD.password]]);
        const policy = { rotator: rotator(server) };
        const seen: unknown[] = [];
        await expect(
          rotateCredential(h.store, ID, policy, {
            onProgress: async (e) => {
              seen.push(await newestPassword(h.store));
              if (e.step === step && e.phase === phase) throw new Error('simulated crash');
            },
          }),
        ).rejects.toThrow('simulated crash');
        expect(seen.every((p) => p === OLD.password)).toBe(true);
        const other = h.reopen(keys);
        expect(await rotateCredential(other, ID, policy)).toMatchObject({ outcome: 'rotated', resumed: true, version: '2' });
        expect((await h.rows()).filter((r) => r.id === ID)).toHaveLength(2);
        expect(await newestPassword(other)).toBe(server.get('app'));
      });
    }

    it('8 rotations at once from 8 store instances: one rotates, 7 are told one is in progress; one new version', async () => {
      const keys = [generateFernetKey()];
      const h = await backend.open(keys);
      handles.push(h);
      await h.store.storeCredential(ID, OLD, {});
      const server = new Map([['app', OLD.password]]);
      // The rotation that claims holds its set step until the other 7 have answered, so a store that connects
      // late on a loaded machine still meets it in progress, never already finished.
      const results = await Promise.allSettled(heldUntilOthersAnswer(8, (hold) => rotateCredential(h.reopen(keys), ID, { rotator: rotator(server, hold) })));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(RotationInProgressError);
      expect((await h.rows()).filter((r) => r.id === ID)).toHaveLength(2);
      expect(await newestPassword(h.store)).toBe(server.get('app'));
    });
  });
}
