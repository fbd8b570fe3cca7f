/**
 * The version-lifecycle contract: labels, history, rollback, expiry and sealed state, with the same semantics on
 * every tier that claims them (`capabilities.labels`, `.history`, `.expiry`). A tier calls
 * `runLifecycleContract('local', () => makeStore(), { ... })` from its own test file; each test gets a fresh,
 * empty store. A tier without a capability passes the part of the contract that says it refuses it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CredentialStore, LifecycleCapable } from '../../src/core/store.js';
import type { EncryptionContext } from '../../src/core/types.js';
import { moveChain } from '../helpers/label-race.js';
import { CANARY, expectNoLeak, rejectionOf } from '../helpers/no-leak.js';

export type LifecycleStore = CredentialStore & LifecycleCapable;

export interface LifecycleContractOptions {
  /** The store binds an encryption context; the tests then read and label with one. */
  context: boolean;
  /** Versions may carry an expiry (`capabilities.expiry`). */
  expiry: boolean;
  /** Versions carry created time and writer (`capabilities.history`). */
  history: boolean;
  /** Sealed state (`readState` / `writeState`) is supported. */
  state: boolean;
  /**
   * Point `label` of `id` at `paddedVersion` directly in the backend, as someone who can write the table but
   * cannot use the key would (no proof, or the proof of another version). Tiers that authenticate label
   * targets pass it; a forged target must then be refused (IntegrityError) and never return the other value.
   * Leave it out on a tier whose labels are protected only by the backend's access control (docs/SECURITY.md).
   */
  forgeLabel?: (store: LifecycleStore, id: string, label: string, paddedVersion: string) => Promise<void>;
  /** Parallel label movers to race in-process (default 8). */
  racers?: number;
  /**
   * Label moves are compare-and-set (default true): the moves that were done form one chain, each starting
   * from where the one before it left the label. A tier whose backend moves labels natively without a
   * condition (SSM) sets false and says so in docs/SECURITY.md; its moves must still each end done or in
   * LabelConflictError, on a version that exists.
   */
  compareAndSet?: boolean;
  /**
   * The store assigns versions itself and cannot skip numbers (Vault). The tests use consecutive versions
   * either way; this only documents the tier's nature.
   */
  serverVersions?: boolean;
}

const pad = (n: number): string => String(n).padStart(19, '0');

export function runLifecycleContract(name: string, makeStore: () => Promise<LifecycleStore>, options: LifecycleContractOptions): void {
  const ctx: EncryptionContext | undefined = options.context ? { env: 'contract' } : undefined;
  const withCtx = <T extends object>(o: T): T & { context?: EncryptionContext } => (ctx === undefined ? o : { ...o, context: ctx });

  describe(`lifecycle contract: ${name}`, () => {
    let store: LifecycleStore;
    beforeEach(async () => {
      store = await makeStore();
    });
    afterEach(async () => {
      await store.close();
    });

    async function three(id: string): Promise<void> {
      for (const v of ['one', 'two', 'three']) await store.storeCredential(id, v, withCtx({ autoVersion: true, comment: `c-${v}` }));
    }

    it('claims labels in its capabilities', () => {
      expect(store.capabilities.labels).toBe(true);
      expect(store.capabilities.history === true).toBe(options.history);
      expect(store.capabilities.expiry === true).toBe(options.expiry);
    });

    it('a label reads the version it points at, and the newest read is unchanged', async () => {
      await three('lc.a');
      const r = await store.labelCredential('lc.a', 'current', withCtx({ version: 2 }));
      expect(r).toMatchObject({ id: 'lc.a', label: 'current', version: '2' });
      expect(r.previous).toBeUndefined();
      const got = await store.getCredential('lc.a', withCtx({ label: 'current', required: true as const }));
      expect(got).toMatchObject({ id: 'lc.a', version: '2', value: 'two' });
      expect(got.label).toBe('current');
      expect((await store.getCredential('lc.a', withCtx({ required: true as const }))).value).toBe('three');
    });

    it('moving a label reports where it was; unlabel removes it and leaves the versions', async () => {
      await three('lc.m');
      await store.labelCredential('lc.m', 'current', withCtx({ version: 1 }));
      const moved = await store.labelCredential('lc.m', 'current', withCtx({ version: 3 }));
      expect(moved).toMatchObject({ version: '3', previous: '1' });
      expect((await store.getCredential('lc.m', withCtx({ label: 'current', required: true as const }))).value).toBe('three');
      const un = await store.unlabelCredential('lc.m', 'current');
      expect(un).toMatchObject({ label: 'current', previous: '3' });
      expect(await store.getCredential('lc.m', withCtx({ label: 'current' }))).toBeUndefined();
      const err = await rejectionOf(store.getCredential('lc.m', withCtx({ label: 'current', required: true as const })));
      expect(err).toMatchObject({ code: 'ERR_CREDENTIAL_NOT_FOUND' });
      expect(err.message).toContain('label "current"');
      expect((await store.listCredentials()).filter((s) => s.id === 'lc.m')).toHaveLength(3);
    });

    it('refuses a label on a version that does not exist, an invalid label name, and a version together with a label', async () => {
      await store.storeCredential('lc.x', 'v1', withCtx({}));
      expect(await rejectionOf(store.labelCredential('lc.x', 'current', withCtx({ version: 7 })))).toMatchObject({ code: 'ERR_CREDENTIAL_NOT_FOUND' });
      expect(await rejectionOf(store.labelCredential('lc.missing', 'current', withCtx({ version: 1 })))).toMatchObject({ code: 'ERR_CREDENTIAL_NOT_FOUND' });
      for (const bad of ['', 'Current', '1', '9lives', 'latest', 'a b', 'x'.repeat(64), 'é']) {
        expect(await rejectionOf(store.labelCredential('lc.x', bad, withCtx({ version: 1 })))).toMatchObject({ code: 'ERR_INVALID_INPUT' });
      }
      expect(await rejectionOf(store.getCredential('lc.x', withCtx({ label: 'current', version: 1 })))).toMatchObject({ code: 'ERR_INVALID_INPUT' });
      expect(await rejectionOf(store.unlabelCredential('lc.x', 'nothere'))).toMatchObject({ code: 'ERR_CREDENTIAL_NOT_FOUND' });
    });

    it('compare-and-set: `expect` moves only from the named version, `null` only creates', async () => {
      await three('lc.cas');
      await store.labelCredential('lc.cas', 'current', withCtx({ version: 1, expect: null }));
      expect(await rejectionOf(store.labelCredential('lc.cas', 'current', withCtx({ version: 2, expect: null })))).toMatchObject({ code: 'ERR_LABEL_CONFLICT', label: 'current' });
      expect(await rejectionOf(store.labelCredential('lc.cas', 'current', withCtx({ version: 2, expect: 3 })))).toMatchObject({ code: 'ERR_LABEL_CONFLICT' });
      await store.labelCredential('lc.cas', 'current', withCtx({ version: 2, expect: 1 }));
      expect((await store.getCredential('lc.cas', withCtx({ label: 'current', required: true as const }))).version).toBe('2');
    });

    it('racing label movers: each move is done or a LabelConflictError, and the label ends on a version that exists', async () => {
      const n = options.racers ?? 8;
      for (let i = 1; i <= n; i++) await store.storeCredential('lc.race', `v${i}`, withCtx({ autoVersion: true }));
      const results = await Promise.allSettled(Array.from({ length: n }, (_, i) => store.labelCredential('lc.race', 'current', withCtx({ version: i + 1 }))));
      const done = results.filter((r) => r.status === 'fulfilled');
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'ERR_LABEL_CONFLICT' });
      expect(done.length).toBeGreaterThanOrEqual(1);
      const got = await store.getCredential('lc.race', withCtx({ label: 'current', required: true as const }));
      const winners = done.map((r) => (r as PromiseFulfilledResult<{ version: string }>).value.version);
      expect(winners).toContain(got.version);
      expect(got.value).toBe(`v${got.version}`);
      if (options.compareAndSet !== false) {
        // No lost update: two moves from the same state cannot both be done, and the last of the chain is
        // where the label is.
        const chain = moveChain(
          done.map((r) => {
            const v = (r as PromiseFulfilledResult<{ version: string; previous?: string }>).value;
            return v.previous === undefined ? { outcome: 'done', version: v.version } : { outcome: 'done', version: v.version, previous: v.previous };
          }),
          '-',
        );
        expect(chain).toBeDefined();
        expect(chain?.at(-1)).toBe(got.version);
      }
    });

    it('history lists every version oldest first with its labels and comment, and never a value', async () => {
      await three('lc.h');
      await store.labelCredential('lc.h', 'current', withCtx({ version: 3 }));
      await store.labelCredential('lc.h', 'previous', withCtx({ version: 2 }));
      const h = await store.credentialHistory('lc.h');
      expect(h.map((v) => v.version)).toEqual(['1', '2', '3']);
      expect(h.map((v) => v.labels)).toEqual([[], ['previous'], ['current']]);
      expect(h.map((v) => v.comment)).toEqual(['c-one', 'c-two', 'c-three']);
      const text = JSON.stringify(h);
      for (const v of ['"one"', '"two"', '"three"']) expect(text).not.toContain(v);
      if (options.history) {
        for (const v of h) {
          expect(Number.isNaN(Date.parse(v.createdAt ?? ''))).toBe(false);
          expect(Math.abs(Date.parse(v.createdAt as string) - Date.now())).toBeLessThan(10 * 60_000);
        }
      }
      expect(await rejectionOf(store.credentialHistory('lc.none'))).toMatchObject({ code: 'ERR_CREDENTIAL_NOT_FOUND' });
    });

    it('listLabels gives the labels of every labelled credential, sorted by id', async () => {
      await three('lc.l2');
      await three('lc.l1');
      await store.storeCredential('lc.l3', 'x', withCtx({}));
      await store.labelCredential('lc.l2', 'current', withCtx({ version: 2 }));
      await store.labelCredential('lc.l1', 'stable', withCtx({ version: 1 }));
      const all = await store.listLabels();
      expect(all.map((r) => r.id)).toEqual(['lc.l1', 'lc.l2']);
      expect(all[1]?.labels.current?.version).toBe('2');
      expect((await store.listLabels({ pattern: 'lc.l2' })).map((r) => r.id)).toEqual(['lc.l2']);
    });

    it('deleting the version a label points at removes the label', async () => {
      await three('lc.d');
      await store.labelCredential('lc.d', 'current', withCtx({ version: 3 }));
      await store.deleteCredential('lc.d');
      expect(await store.listLabels({ pattern: 'lc.d' })).toEqual([]);
      await store.storeCredential('lc.d', 'again', withCtx({}));
      expect(await store.getCredential('lc.d', withCtx({ label: 'current' }))).toBeUndefined();
    });

    it('rollback writes a new version with the old value and moves the labels asked for; the old versions stay', async () => {
      await three('lc.r');
      await store.labelCredential('lc.r', 'current', withCtx({ version: 3 }));
      const r = await store.rollbackCredential('lc.r', withCtx({ to: 1, labels: ['current'] }));
      expect(r).toMatchObject({ id: 'lc.r', version: 4, from: '1', labels: ['current'] });
      expect(await store.getCredential('lc.r', withCtx({ required: true as const }))).toMatchObject({ version: '4', value: 'one' });
      expect((await store.getCredential('lc.r', withCtx({ label: 'current', required: true as const }))).version).toBe('4');
      expect((await store.getCredential('lc.r', withCtx({ version: 3, required: true as const }))).value).toBe('three');
      expect(await rejectionOf(store.rollbackCredential('lc.r', withCtx({ to: 9 })))).toMatchObject({ code: 'ERR_CREDENTIAL_NOT_FOUND' });
      expect((await store.listCredentials()).filter((s) => s.id === 'lc.r')).toHaveLength(4);
    });

    if (options.context) {
      it('a label read with the wrong context fails as any read does, and leaks nothing', async () => {
        await store.storeCredential('lc.c', CANARY, withCtx({}));
        await store.labelCredential('lc.c', 'current', withCtx({ version: 1 }));
        const err = await rejectionOf(store.getCredential('lc.c', { label: 'current', context: { env: 'other' } }));
        expect(err).toMatchObject({ code: expect.stringMatching(/^ERR_(ENCRYPTION_CONTEXT_MISMATCH|INTEGRITY|KMS)$/) });
        expectNoLeak(err, CANARY);
      });
    }

    if (options.forgeLabel !== undefined) {
      const forge = options.forgeLabel;
      it('a label target written into the backend without the key is refused, never read', async () => {
        await store.storeCredential('lc.f', 'genuine', withCtx({ version: 1 }));
        await store.storeCredential('lc.f', CANARY, withCtx({ version: 2 }));
        await store.labelCredential('lc.f', 'current', withCtx({ version: 1 }));
        await forge(store, 'lc.f', 'current', pad(2));
        const err = await rejectionOf(store.getCredential('lc.f', withCtx({ label: 'current', required: true as const })));
        expect(err).toMatchObject({ code: 'ERR_INTEGRITY' });
        expectNoLeak(err, CANARY);
      });
    }

    if (options.expiry) {
      it('a version stored with expiresAt reads back with it; check lists it; strict refuses it once expired', async () => {
        const at = new Date(Date.now() + 3_600_000);
        await store.storeCredential('lc.e', 'v1', withCtx({ expiresAt: at }));
        await store.storeCredential('lc.e2', 'w1', withCtx({ expiresAt: '30d' }));
        await store.storeCredential('lc.e3', 'never', withCtx({}));
        const got = await store.getCredential('lc.e', withCtx({ required: true as const }));
        expect(got.expiresAt).toBe(at.toISOString());
        expect(Object.keys(got)).not.toContain('expiresAt');
        expect(await store.expiringCredentials({ withinMs: 2 * 3_600_000 })).toEqual([{ id: 'lc.e', version: '1', expiresAt: at.toISOString(), expired: false }]);
        const later = new Date(Date.now() + 2 * 3_600_000);
        expect((await store.expiringCredentials({ now: later })).map((e) => [e.id, e.expired])).toEqual([['lc.e', true]]);
        expect((await store.expiringCredentials({ withinMs: 31 * 86_400_000 })).map((e) => e.id)).toEqual(['lc.e', 'lc.e2']);
        const h = await store.credentialHistory('lc.e');
        expect(h[0]?.expiresAt).toBe(at.toISOString());
        // Only the newest version counts by default: a new version without expiry clears the listing.
        await store.storeCredential('lc.e', 'v2', withCtx({ autoVersion: true }));
        expect((await store.expiringCredentials({ withinMs: 2 * 3_600_000 })).map((e) => e.id)).toEqual([]);
        expect((await store.expiringCredentials({ withinMs: 2 * 3_600_000, allVersions: true })).map((e) => `${e.id}@${e.version}`)).toEqual(['lc.e@1']);
      });

      it('refuses an expiry in the past or malformed, writing nothing', async () => {
        for (const bad of ['2001-01-01', 'soon', '-5d', new Date(Date.now() - 1000)]) {
          expect(await rejectionOf(store.storeCredential('lc.bad', 'x', withCtx({ expiresAt: bad })))).toMatchObject({ code: 'ERR_INVALID_INPUT' });
        }
        expect(await store.credentialExists('lc.bad')).toBe(false);
      });
    } else {
      it('refuses expiresAt on a write (UnsupportedOperationError), writing nothing', async () => {
        expect(await rejectionOf(store.storeCredential('lc.bad', 'x', withCtx({ expiresAt: '30d' })))).toMatchObject({ code: 'ERR_UNSUPPORTED_OPERATION' });
        expect(await store.credentialExists('lc.bad')).toBe(false);
      });
    }

    if (options.state) {
      it('sealed state: compare-and-set, kept beside the credential, never a version, not readable as a value', async () => {
        await store.storeCredential('lc.s', 'v1', withCtx({}));
        const empty = await store.readState('lc.s', 'rotation', withCtx({}));
        expect(empty.value).toBeUndefined();
        const secret = Buffer.from(`pending ${CANARY}`);
        expect(await store.writeState('lc.s', 'rotation', secret, withCtx({ expectRev: empty.rev }))).toBe(true);
        // A second writer with the old revision loses.
        expect(await store.writeState('lc.s', 'rotation', Buffer.from('other'), withCtx({ expectRev: empty.rev }))).toBe(false);
        const got = await store.readState('lc.s', 'rotation', withCtx({}));
        expect(Buffer.from(got.value ?? []).toString()).toBe(`pending ${CANARY}`);
        expect(got.rev).not.toBe(empty.rev);
        // Labels and state share the record: a label move keeps the state.
        await store.labelCredential('lc.s', 'current', withCtx({ version: 1 }));
        expect(Buffer.from((await store.readState('lc.s', 'rotation', withCtx({}))).value ?? []).toString()).toBe(`pending ${CANARY}`);
        expect((await store.listCredentials()).filter((s) => s.id === 'lc.s')).toHaveLength(1);
        expect((await store.getCredential('lc.s', withCtx({ required: true as const }))).value).toBe('v1');
        const { credentials } = await store.getAllCredentials(withCtx({}));
        expect(JSON.stringify(credentials)).not.toContain(CANARY);
        const cur = await store.readState('lc.s', 'rotation', withCtx({}));
        expect(await store.writeState('lc.s', 'rotation', undefined, withCtx({ expectRev: cur.rev }))).toBe(true);
        expect((await store.readState('lc.s', 'rotation', withCtx({}))).value).toBeUndefined();
      });
    }
  });
}

/** The part every store without labels passes: each lifecycle write is refused, nothing changes. */
export function runNoLabelsContract(name: string, makeStore: () => Promise<CredentialStore & Partial<LifecycleCapable>>): void {
  describe(`lifecycle contract (no labels): ${name}`, () => {
    it('refuses labels and labelled reads with UnsupportedOperationError', async () => {
      const store = await makeStore();
      try {
        expect(store.capabilities.labels === true).toBe(false);
        expect(await rejectionOf(store.getCredential('x', { label: 'current' }))).toMatchObject({ code: 'ERR_UNSUPPORTED_OPERATION' });
        if (store.labelCredential !== undefined) {
          expect(await rejectionOf(store.labelCredential('x', 'current', { version: 1 }))).toMatchObject({ code: 'ERR_UNSUPPORTED_OPERATION' });
        }
        if (store.listLabels !== undefined) expect(await store.listLabels()).toEqual([]);
      } finally {
        await store.close();
      }
    });
  });
}
