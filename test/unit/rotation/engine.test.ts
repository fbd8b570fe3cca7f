/**
 * The rotation engine's state machine on the memory store, with a fake rotator whose "server" is a map of
 * user -> accepted passwords. A crash is simulated by an error that is not a step's RotationStepError (thrown
 * by the progress hook at a step boundary, or by the rotator inside a step after doing its part): the engine
 * leaves the state, and the next rotateCredential (this process's pid, but not a running run) resumes it.
 */
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { RotationInProgressError, RotationStepError, ValidationError } from '../../../src/core/errors.js';
import type { CredentialValue, JsonObject } from '../../../src/core/types.js';
import { rotateCredential, rotateDue, rotationStatus, ROTATION_STATE_KEY, type RotationProgress } from '../../../src/rotation/engine.js';
import { parseRotationPolicy, type RotationPolicy } from '../../../src/rotation/policy.js';
import type { Rotator, RotatorInput } from '../../../src/rotation/types.js';
import { MemoryStore } from '../../fixtures/memory-store.js';
import { expectNoLeak, rejectionOf } from '../../helpers/no-leak.js';

type Phase = 'before' | 'inside' | 'after';

/** A target: which passwords each user accepts. */
class FakeServer {
  readonly users = new Map<string, Set<string>>();
  calls: string[] = [];
  constructor(user: string, password: string) {
    this.users.set(user, new Set([password]));
  }
  accepts(user: unknown, password: unknown): boolean {
    return typeof password === 'string' && (this.users.get(String(user))?.has(password) ?? false);
  }
}

interface FakeOptions {
  /** Throw a plain error (a crash) inside this step, after doing its part. */
  crashInside?: 'set' | 'test' | 'finish' | 'revert';
  /** Make test fail (a RotationStepError). */
  failTest?: boolean;
  /** Make set fail (a RotationStepError), before changing anything, or after applying the pending password. */
  failSet?: boolean | 'after-apply';
  /** Make revert fail (a RotationStepError). */
  failRevert?: boolean;
  /** Wait this long in set. */
  slowSetMs?: number;
  /** Keep the old password during set (dual-password style) until finish. */
  dual?: boolean;
  /** Capture every generated password. */
  seen?: string[];
}

function fakeRotator(server: FakeServer, o: FakeOptions = {}): Rotator {
  const crash = (step: string): void => {
    if (o.crashInside === step) {
      o.crashInside = undefined;
      throw new Error(`simulated crash inside ${step}`);
    }
  };
  let old: string | undefined;
  return {
    name: 'fake',
    strategies: ['single', 'dual-password'],
    pending(input: RotatorInput, pw: string): JsonObject {
      o.seen?.push(pw);
      return { ...input.current, password: pw };
    },
    async set(input, pending) {
      server.calls.push('set');
      if (o.slowSetMs !== undefined) await new Promise((r) => setTimeout(r, o.slowSetMs));
      if (o.failSet === true) throw new RotationStepError({ step: 'set', target: 'fake target user app', reason: 'permission denied', credentialId: input.credentialId ?? '' });
      const user = String(pending.user);
      old ??= String(input.current.password);
      const set = new Set([String(pending.password)]);
      if (o.dual === true) set.add(String(input.current.password));
      server.users.set(user, set);
      if (o.failSet === 'after-apply') throw new RotationStepError({ step: 'set', target: 'fake target user app', reason: 'connection reset', credentialId: input.credentialId ?? '' });
      crash('set');
    },
    async test(input, pending) {
      server.calls.push('test');
      crash('test');
      if (o.failTest === true || !server.accepts(pending.user, pending.password)) {
        throw new RotationStepError({ step: 'test', target: 'fake target user app', reason: 'password authentication failed', credentialId: input.credentialId ?? '' });
      }
    },
    async finish(input, pending) {
      server.calls.push('finish');
      server.users.set(String(pending.user), new Set([String(pending.password)]));
      crash('finish');
    },
    async revert(input, pending) {
      server.calls.push('revert');
      if (o.failRevert === true) throw new RotationStepError({ step: 'revert', target: 'fake target user app', reason: 'permission denied', credentialId: input.credentialId ?? '' });
      server.users.set(String(input.current.user), new Set([String(input.current.password)]));
      void pending;
      crash('revert');
    },
  };
}

const ID = 'app.db';
const OLD = { user: 'app', password: 'old-password-1', host: 'db.example' };

async function setup(o: FakeOptions = {}, value: CredentialValue = OLD): Promise<{ store: MemoryStore; server: FakeServer; policy: RotationPolicy; o: FakeOptions }> {
  const store = new MemoryStore();
  await store.storeCredential(ID, value, { autoVersion: true });
  const server = new FakeServer('app', 'old-password-1');
  return { store, server, policy: { rotator: fakeRotator(server, o), generate: 'alnum' }, o };
}

async function versions(store: MemoryStore): Promise<string[]> {
  return (await store.credentialHistory(ID)).map((v) => v.version);
}

/** Store and server agree: the newest version's password logs in. */
async function expectAgree(store: MemoryStore, server: FakeServer): Promise<void> {
  const newest = (await store.getCredential(ID, { required: true })).value as JsonObject;
  expect(server.accepts(newest.user, newest.password)).toBe(true);
}

describe('rotation engine: the four steps', () => {
  it('rotates: one new version holds the new password, labels current/previous move, the old password is refused, no state is left', async () => {
    const { store, server, policy } = await setup();
    const steps: string[] = [];
    const r = await rotateCredential(store, ID, policy, { onProgress: (e) => void steps.push(`${e.step}:${e.phase}`) });
    expect(r).toMatchObject({ id: ID, outcome: 'rotated', resumed: false, previous: '1', version: '2', rotator: 'fake', strategy: 'single' });
    expect(steps).toEqual(['create:start', 'create:done', 'set:start', 'set:done', 'test:start', 'test:done', 'finish:start', 'finish:done']);
    expect(await versions(store)).toEqual(['1', '2']);
    const now = (await store.getCredential(ID, { required: true })).value as JsonObject;
    expect(now.password).not.toBe(OLD.password);
    expect(now).toMatchObject({ user: 'app', host: 'db.example' });
    expect(server.accepts('app', now.password)).toBe(true);
    expect(server.accepts('app', OLD.password)).toBe(false);
    const labels = Object.fromEntries((await store.credentialHistory(ID)).map((v) => [v.version, v.labels]));
    expect(labels).toEqual({ '1': ['previous'], '2': ['current'] });
    expect(await store.readState(ID, ROTATION_STATE_KEY)).not.toHaveProperty('value');
  });

  it('a pending value is never the newest version before finish, and the state holds it sealed (not in clear)', async () => {
    const { store, policy, o } = await setup({ seen: [] });
    const checks: string[] = [];
    await rotateCredential(store, ID, policy, {
      onProgress: async (e: RotationProgress) => {
        if (e.step === 'finish' && e.phase === 'done') return;
        const newest = (await store.getCredential(ID, { required: true })).value as JsonObject;
        checks.push(`${e.step}:${e.phase}:${newest.password === OLD.password ? 'old' : 'new'}`);
        const rec = store.companions.get(ID);
        if (rec !== undefined) expect(rec.text).not.toContain(o.seen?.[0] ?? 'x');
      },
    });
    expect(checks.every((c) => c.endsWith(':old'))).toBe(true);
    expect(checks.length).toBe(7);
  });

  it('a structured value stored as JSON text and a text password are rotated in their own form', async () => {
    const text = await setup({}, JSON.stringify(OLD));
    await rotateCredential(text.store, ID, text.policy);
    const v = (await text.store.getCredential(ID, { required: true })).value;
    expect(typeof v).toBe('string');
    expect(JSON.parse(v as string)).toMatchObject({ user: 'app' });

    const plain = await setup({}, 'old-password-1');
    await rotateCredential(plain.store, ID, plain.policy);
    const p = (await plain.store.getCredential(ID, { required: true })).value;
    expect(typeof p).toBe('string');
    expect(p).not.toBe('old-password-1');
    expect((p as string).length).toBe(32);
  });

  it('a failing test step reverts the target, discards the pending value, adds no version; the error names the step and the target, never a password', async () => {
    const { store, server, policy, o } = await setup({ failTest: true, seen: [] });
    const err = await rejectionOf(rotateCredential(store, ID, policy));
    expect(err).toBeInstanceOf(RotationStepError);
    expect(err.message).toMatch(/^rotation of "app\.db" failed at step test on fake target user app: password authentication failed; rolled back/);
    expect(err).toMatchObject({ step: 'test', target: 'fake target user app' });
    expectNoLeak(err, o.seen ?? [], OLD.password);
    expect(await versions(store)).toEqual(['1']);
    expect(server.accepts('app', OLD.password)).toBe(true);
    expect(server.calls).toEqual(['set', 'test', 'revert']);
    expect(await store.readState(ID, ROTATION_STATE_KEY)).not.toHaveProperty('value');
  });

  it('single: a set that fails and whose revert fails too is discarded when the current password still logs in; kept (for --cancel) when it does not', async () => {
    const unchanged = await setup({ failSet: true, failRevert: true });
    const a = await rejectionOf(rotateCredential(unchanged.store, ID, unchanged.policy));
    expect(a.message).toContain('permission denied; nothing changed: the current password still logs in, the pending value was discarded and no version was added');
    expect(await unchanged.store.readState(ID, ROTATION_STATE_KEY)).not.toHaveProperty('value');

    const changed = await setup({ failSet: 'after-apply', failRevert: true });
    const b = await rejectionOf(rotateCredential(changed.store, ID, changed.policy));
    expect(b.message).toContain('connection reset; the rollback failed too (permission denied): the target may hold the pending password; run credstash rotate app.db --cancel once it is reachable');
    expect((await rotationStatus(changed.store, ID, changed.policy)).pending).toMatchObject({ step: 'revert' });
    expect(await versions(changed.store)).toEqual(['1']);
  });

  it('a failing set step is rolled back the same way', async () => {
    const { store, server, policy } = await setup({ failSet: true });
    const err = await rejectionOf(rotateCredential(store, ID, policy));
    expect(err).toMatchObject({ step: 'set' });
    expect(err.message).toContain('no version was added');
    expect(await versions(store)).toEqual(['1']);
    expect(server.calls).toEqual(['set', 'revert']);
  });
});

describe('rotation engine: a crash at every step boundary and inside each step, then rotate again', () => {
  const boundaries: Array<[string, 'start' | 'done']> = [
    ['create', 'done'],
    ['set', 'start'],
    ['set', 'done'],
    ['test', 'start'],
    ['test', 'done'],
    ['finish', 'start'],
  ];
  for (const [step, phase] of boundaries) {
    it(`crash at ${step}:${phase}: the next rotate resumes it; store and target agree, exactly one new version`, async () => {
      const { store, server, policy } = await setup();
      const crash = (e: RotationProgress): void => {
        if (e.step === step && e.phase === phase) throw new Error('simulated crash');
      };
      await expect(rotateCredential(store, ID, policy, { onProgress: crash })).rejects.toThrow('simulated crash');
      expect(await versions(store)).toEqual(['1']);
      const st = await rotationStatus(store, ID, policy);
      expect(st.pending).toMatchObject({ ownerState: 'gone' });
      const r = await rotateCredential(store, ID, policy);
      expect(r).toMatchObject({ outcome: 'rotated', resumed: true, version: '2' });
      expect(await versions(store)).toEqual(['1', '2']);
      await expectAgree(store, server);
      expect(server.accepts('app', OLD.password)).toBe(false);
      expect(await store.readState(ID, ROTATION_STATE_KEY)).not.toHaveProperty('value');
    });
  }

  for (const inside of ['set', 'test', 'finish'] as const) {
    it(`crash inside ${inside}: the next rotate completes it with exactly one new version`, async () => {
      const { store, server, policy } = await setup({ crashInside: inside });
      await expect(rotateCredential(store, ID, policy)).rejects.toThrow(`simulated crash inside ${inside}`);
      const r = await rotateCredential(store, ID, policy);
      expect(r).toMatchObject({ outcome: 'rotated', resumed: true });
      expect(await versions(store)).toEqual(['1', '2']);
      await expectAgree(store, server);
    });
  }

  it('crash between storing the new version and removing the state: the resume finds the stored version, no second one', async () => {
    const { store, server, policy } = await setup();
    const orig = store.storeCredential.bind(store);
    let once = true;
    store.storeCredential = (async (...args: Parameters<MemoryStore['storeCredential']>) => {
      const r = await orig(...args);
      if (once) {
        once = false;
        throw new Error('simulated crash after the write');
      }
      return r;
    }) as MemoryStore['storeCredential'];
    await expect(rotateCredential(store, ID, policy)).rejects.toThrow('simulated crash after the write');
    expect(await versions(store)).toEqual(['1', '2']);
    const r = await rotateCredential(store, ID, policy);
    expect(r).toMatchObject({ outcome: 'rotated', resumed: true, version: '2' });
    expect(await versions(store)).toEqual(['1', '2']);
    await expectAgree(store, server);
    const labels = Object.fromEntries((await store.credentialHistory(ID)).map((v) => [v.version, v.labels]));
    expect(labels).toEqual({ '1': ['previous'], '2': ['current'] });
  });

  it('a version written by someone else while the rotation was at finish: the pending value becomes the next version, still one rotation', async () => {
    const { store, server, policy } = await setup();
    await expect(
      rotateCredential(store, ID, policy, {
        onProgress: async (e) => {
          if (e.step === 'finish' && e.phase === 'start') {
            await store.storeCredential(ID, { ...OLD, password: 'manual' }, { autoVersion: true });
            throw new Error('simulated crash');
          }
        },
      }),
    ).rejects.toThrow('simulated crash');
    const r = await rotateCredential(store, ID, policy);
    expect(r.version).toBe('3');
    expect(await versions(store)).toEqual(['1', '2', '3']);
    await expectAgree(store, server);
  });

  it('crash inside revert (after a failing test): the next rotate completes the rollback, no version', async () => {
    const { store, server, policy } = await setup({ failTest: true, crashInside: 'revert' });
    const first = await rejectionOf(rotateCredential(store, ID, policy));
    expect(first.message).toContain('the rollback failed too');
    const r = await rotateCredential(store, ID, policy);
    expect(r).toMatchObject({ outcome: 'rolled-back', resumed: true });
    expect(await versions(store)).toEqual(['1']);
    expect(server.accepts('app', OLD.password)).toBe(true);
    expect(await store.readState(ID, ROTATION_STATE_KEY)).not.toHaveProperty('value');
  });
});

describe('rotation engine: the claim', () => {
  it('of 8 rotations started at once exactly one rotates; the others say a rotation is in progress with its step and age', async () => {
    const { store, server, policy } = await setup({ slowSetMs: 100 });
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => rotateCredential(store, ID, policy)));
    const ok = results.filter((r) => r.status === 'fulfilled');
    const busy = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(ok.length).toBe(1);
    expect(busy.length).toBe(7);
    for (const b of busy) {
      expect(b.reason).toBeInstanceOf(RotationInProgressError);
      expect((b.reason as Error).message).toMatch(/^rotation of "app\.db" in memory store "memory" is in progress \(step (set|test|finish), started \d+ s ago, updated \d+ s ago by process \d+ on .+\); wait for it/);
    }
    expect(await versions(store)).toEqual(['1', '2']);
    expect(server.calls.filter((c) => c === 'set').length).toBe(1);
  });

  it('a long step refreshes the claim (updatedAt) while it runs; a takeover seen by the refresh stops the run at the end of the step', async () => {
    const { store, policy } = await setup({ slowSetMs: 300 });
    const readUpdated = async (): Promise<{ startedAt: string; updatedAt: string }> =>
      JSON.parse(Buffer.from((await store.readState(ID, ROTATION_STATE_KEY)).value as Uint8Array).toString()) as { startedAt: string; updatedAt: string };
    const running = rotateCredential(store, ID, policy, { heartbeatMs: 20 });
    await new Promise((r) => setTimeout(r, 150));
    const mid = await readUpdated();
    expect(Date.parse(mid.updatedAt)).toBeGreaterThan(Date.parse(mid.startedAt));
    expect(await running).toMatchObject({ outcome: 'rotated' });

    const again = await setup({ slowSetMs: 300 });
    const run2 = rotateCredential(again.store, ID, again.policy, { heartbeatMs: 20 });
    await new Promise((r) => setTimeout(r, 100));
    const rec = await again.store.readState(ID, ROTATION_STATE_KEY);
    const st = JSON.parse(Buffer.from(rec.value as Uint8Array).toString()) as Record<string, unknown>;
    await again.store.writeState(ID, ROTATION_STATE_KEY, Buffer.from(JSON.stringify({ ...st, owner: { host: 'elsewhere', pid: 1, nonce: 'x' } })), { expectRev: rec.rev as string });
    const err = await rejectionOf(run2);
    expect(err).toBeInstanceOf(RotationInProgressError);
    expect(err.message).toContain('taken over by process 1 on elsewhere while this one ran');
    expect(again.server.calls).toEqual(['set']); // it did not go on to test
  });

  const foreign = (store: MemoryStore, owner: Record<string, unknown>, updatedAgoMs: number, step = 'set'): Promise<boolean> => {
    const at = new Date(Date.now() - updatedAgoMs).toISOString();
    const state = { v: 1, rotator: 'fake', strategy: 'single', step, owner: { nonce: 'other', ...owner }, startedAt: at, updatedAt: at, fromVersion: '1', form: 'object', pending: { ...OLD, password: 'pending-pw-foreign' } };
    return store.writeState(ID, ROTATION_STATE_KEY, Buffer.from(JSON.stringify(state)));
  };

  it('another host within its lease: refused (naming the host and how to take over); with resume it is taken over', async () => {
    const { store, server, policy } = await setup();
    expect(await foreign(store, { host: 'other-host.example', pid: 4242 }, 5_000)).toBe(true);
    const err = await rejectionOf(rotateCredential(store, ID, policy));
    expect(err).toBeInstanceOf(RotationInProgressError);
    expect(err.message).toContain('process 4242 on other-host.example');
    expect(err.message).toContain('--resume');
    expect(err).toMatchObject({ step: 'set' });
    const r = await rotateCredential(store, ID, policy, { resume: true });
    expect(r).toMatchObject({ outcome: 'rotated', resumed: true });
    // the resumed rotation sets the pending value the other host had generated
    expect(((await store.getCredential(ID, { required: true })).value as JsonObject).password).toBe('pending-pw-foreign');
    await expectAgree(store, server);
  });

  it('another host past its lease is taken over without resume', async () => {
    const { store, policy } = await setup();
    await foreign(store, { host: 'other-host.example', pid: 4242 }, 11 * 60_000);
    expect(await rotateCredential(store, ID, policy)).toMatchObject({ outcome: 'rotated', resumed: true });
    // a shorter lease in the policy applies
    const again = await setup();
    await foreign(again.store, { host: 'other-host.example', pid: 4242 }, 90_000);
    await expect(rotateCredential(again.store, ID, again.policy)).rejects.toBeInstanceOf(RotationInProgressError);
    expect(await rotateCredential(again.store, ID, { ...again.policy, lease: '1m' })).toMatchObject({ outcome: 'rotated' });
  });

  it('this host, a pid that has exited: taken over at once; a live pid of this host is never taken over, even with resume', async () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const { store, policy } = await setup();
    await foreign(store, { host: hostname(), pid: Number(dead.stdout) }, 1_000);
    expect(await rotateCredential(store, ID, policy)).toMatchObject({ outcome: 'rotated', resumed: true });

    const live = await setup();
    await foreign(live.store, { host: hostname(), pid: process.ppid }, 1_000);
    await expect(rotateCredential(live.store, ID, live.policy, { resume: true })).rejects.toBeInstanceOf(RotationInProgressError);
    await expect(rotateCredential(live.store, ID, live.policy, { cancel: true })).rejects.toBeInstanceOf(RotationInProgressError);
  });

  it('a run whose rotation is taken over stops at its next state write instead of finishing a second time', async () => {
    const { store, server, policy } = await setup();
    let other: Promise<unknown> | undefined;
    const err = await rejectionOf(
      rotateCredential(store, ID, policy, {
        onProgress: async (e) => {
          if (e.step === 'set' && e.phase === 'done') {
            // another host's process takes it over (resume) and completes it meanwhile
            const { value } = await store.readState(ID, ROTATION_STATE_KEY);
            const st = JSON.parse(Buffer.from(value as Uint8Array).toString()) as { owner: Record<string, unknown> };
            const rec = await store.readState(ID, ROTATION_STATE_KEY);
            await store.writeState(ID, ROTATION_STATE_KEY, Buffer.from(JSON.stringify({ ...st, owner: { host: 'elsewhere', pid: 1, nonce: 'x' } })), { expectRev: rec.rev as string });
            other = rotateCredential(store, ID, policy, { resume: true });
            await other;
          }
        },
      }),
    );
    await other;
    expect(err).toBeInstanceOf(RotationInProgressError);
    expect(err.message).toMatch(/its state was removed by another process while this one ran\); this process stopped/);
    expect(await versions(store)).toEqual(['1', '2']);
    await expectAgree(store, server);
  });
});

describe('rotation engine: cancel, discard, resume', () => {
  it('--cancel reverts the target and discards the state; nothing to cancel afterwards', async () => {
    const { store, server, policy } = await setup();
    await expect(rotateCredential(store, ID, policy, { onProgress: (e) => { if (e.step === 'test' && e.phase === 'start') throw new Error('simulated crash'); } })).rejects.toThrow();
    expect(server.accepts('app', OLD.password)).toBe(false);
    expect(await rotateCredential(store, ID, policy, { cancel: true })).toMatchObject({ outcome: 'rolled-back', resumed: true });
    expect(server.accepts('app', OLD.password)).toBe(true);
    expect(await versions(store)).toEqual(['1']);
    const none = await rejectionOf(rotateCredential(store, ID, policy, { cancel: true }));
    expect(none).toBeInstanceOf(ValidationError);
    expect(none.message).toBe('no rotation of "app.db" is in progress in memory store "memory"; nothing to cancel');
    await expect(rotateCredential(store, ID, policy, { resume: true })).rejects.toThrow('nothing to resume');
  });

  it('--cancel and --discard are refused once the rotation reached finish (it can only go forward)', async () => {
    const { store, server, policy } = await setup();
    await expect(rotateCredential(store, ID, policy, { onProgress: (e) => { if (e.step === 'finish' && e.phase === 'start') throw new Error('simulated crash'); } })).rejects.toThrow();
    await expect(rotateCredential(store, ID, policy, { cancel: true })).rejects.toThrow(/passed its test .* can only be finished; run credstash rotate app\.db --resume/);
    await expect(rotateCredential(store, ID, policy, { discard: true })).rejects.toThrow(/can only be finished/);
    expect(await rotateCredential(store, ID, policy, { resume: true })).toMatchObject({ outcome: 'rotated', version: '2' });
    await expectAgree(store, server);
  });

  it('a refused --cancel at finish leaves the claim as it was (it is not taken over first)', async () => {
    const { store, policy } = await setup();
    await expect(rotateCredential(store, ID, policy, { onProgress: (e) => { if (e.step === 'finish' && e.phase === 'start') throw new Error('simulated crash'); } })).rejects.toThrow();
    const before = store.companions.get(ID)?.text;
    await expect(rotateCredential(store, ID, policy, { cancel: true })).rejects.toThrow(/can only be finished/);
    expect(store.companions.get(ID)?.text).toBe(before);
  });

  it('a state this version cannot read: rotate refuses it naming --discard, --discard removes it', async () => {
    const { store, policy } = await setup();
    await store.writeState(ID, ROTATION_STATE_KEY, Buffer.from(JSON.stringify({ v: 2, future: true })));
    const err = await rejectionOf(rotateCredential(store, ID, policy));
    expect(err.message).toBe('the rotation state of "app.db" in memory store "memory" is not one this version of credstash reads; run credstash rotate app.db --discard once the target is known to use the current password');
    expect(await rotateCredential(store, ID, policy, { discard: true })).toMatchObject({ outcome: 'discarded', previous: '' });
    expect(await store.readState(ID, ROTATION_STATE_KEY)).not.toHaveProperty('value');
    expect(await rotateCredential(store, ID, policy)).toMatchObject({ outcome: 'rotated', version: '2' });
  });

  it('--discard drops the state without touching the target', async () => {
    const { store, server, policy } = await setup();
    await expect(rotateCredential(store, ID, policy, { onProgress: (e) => { if (e.step === 'set' && e.phase === 'start') throw new Error('simulated crash'); } })).rejects.toThrow();
    server.calls = [];
    expect(await rotateCredential(store, ID, policy, { discard: true })).toMatchObject({ outcome: 'discarded' });
    expect(server.calls).toEqual([]);
    expect(await store.readState(ID, ROTATION_STATE_KEY)).not.toHaveProperty('value');
  });
});

describe('rotation engine: status, due, policy', () => {
  it('rotationStatus: last rotation, next due, due, and a pending rotation with its step and age', async () => {
    const { store, policy } = await setup();
    const p = { ...policy, every: '30d' };
    const st = await rotationStatus(store, ID, p);
    expect(st).toMatchObject({ id: ID, rotator: 'fake', strategy: 'single', every: '30d', version: '1', due: false });
    expect(Date.parse(st.nextDueAt as string) - Date.parse(st.lastRotatedAt as string)).toBe(30 * 86_400_000);
    expect((await rotationStatus(store, ID, p, { now: new Date(Date.now() + 31 * 86_400_000) })).due).toBe(true);
    await expect(rotateCredential(store, ID, p, { onProgress: (e) => { if (e.step === 'test' && e.phase === 'start') throw new Error('simulated crash'); } })).rejects.toThrow();
    expect((await rotationStatus(store, ID, p)).pending).toMatchObject({ step: 'test', fromVersion: '1', ownerState: 'gone' });
  });

  it('rotateDue rotates only the credentials whose newest version is older than every', async () => {
    const store = new MemoryStore();
    const servers: FakeServer[] = [];
    const entries = [];
    for (const [i, age] of [40, 10, 31].entries()) {
      const id = `svc${i}.db`;
      await store.storeCredential(id, OLD, { autoVersion: true });
      const e = store.items.get(id)?.get('0000000000000000001');
      if (e?.meta === undefined) throw new Error('fixture layout changed');
      e.meta.createdAt = new Date(Date.now() - age * 86_400_000).toISOString();
      const server = new FakeServer('app', OLD.password);
      servers.push(server);
      entries.push({ id, policy: { rotator: fakeRotator(server), every: '30d' } });
    }
    entries.push({ id: 'never.db', policy: { rotator: fakeRotator(new FakeServer('app', 'x')) } });
    const summary = await rotateDue(store, entries);
    expect(summary.rotated).toBe(2);
    expect(summary.failed).toBe(0);
    expect(summary.results.map((r) => `${r.id}:${r.outcome}`)).toEqual(['svc0.db:rotated', 'svc1.db:not-due', 'svc2.db:rotated', 'never.db:not-due']);
    expect(servers.map((s) => s.calls.length)).toEqual([3, 0, 3]);
  });

  it('rotateDue finishes a rollback left by a crash (outcome rolled-back, neither rotated nor failed)', async () => {
    const { store, server, policy } = await setup({ failTest: true, crashInside: 'revert' });
    await expect(rotateCredential(store, ID, policy)).rejects.toThrow('the rollback failed too');
    const e = store.items.get(ID)?.get('0000000000000000001');
    if (e?.meta === undefined) throw new Error('fixture layout changed');
    e.meta.createdAt = new Date(Date.now() - 40 * 86_400_000).toISOString();
    const summary = await rotateDue(store, [{ id: ID, policy: { ...policy, every: '30d' } }]);
    expect(summary).toMatchObject({ rotated: 0, failed: 0, results: [{ id: ID, outcome: 'rolled-back' }] });
    expect(server.accepts('app', OLD.password)).toBe(true);
  });

  it('parseRotationPolicy: keys, durations, strategies, and admin only as a credential reference (never a password)', () => {
    expect(parseRotationPolicy({ rotator: 'postgres', strategy: 'alternating', every: '30d', generate: 'postgres', admin: '${credential:pg_admin}', options: { users: ['a', 'b'] } }, 'credentials[0].rotation')).toMatchObject({
      rotator: 'postgres',
      every: '30d',
    });
    expect(() => parseRotationPolicy({ rotator: 'postgres', admin: 'hunter2' }, 'credentials[0].rotation')).toThrow(/credentials\[0\]\.rotation\.admin: must be one credential reference/);
    expect(() => parseRotationPolicy({ rotator: 'postgres', admin: 'hunter2' }, 'r')).not.toThrow(/hunter2/);
    expect(() => parseRotationPolicy({ rotator: 'postgres', every: 'monthly' }, 'r')).toThrow(/r\.every: must be a duration/);
    expect(() => parseRotationPolicy({ rotator: 'postgres', strategy: 'twice' }, 'r')).toThrow(/r\.strategy: must be one of single, alternating, dual-password/);
    expect(() => parseRotationPolicy({ rotator: 'postgres', evry: '1d' }, 'r')).toThrow(/r: unknown key "evry"/);
    expect(() => parseRotationPolicy({}, 'r')).toThrow(/r\.rotator/);
  });

  it('the admin reference is resolved from the store and given to the rotator', async () => {
    const { store, server } = await setup();
    await store.storeCredential('pg_admin', { user: 'postgres', password: 'admin-pw' }, { autoVersion: true });
    let admin: JsonObject | undefined;
    const base = fakeRotator(server);
    const rot: Rotator = { ...base, set: async (input, pending) => { admin = input.admin; await base.set(input, pending); } };
    await rotateCredential(store, ID, { rotator: rot, admin: '${credential:pg_admin}' });
    expect(admin).toEqual({ user: 'postgres', password: 'admin-pw' });
  });

  it('a strategy the rotator does not support is a config error before anything is claimed', async () => {
    const { store, policy } = await setup();
    await expect(rotateCredential(store, ID, { ...policy, strategy: 'alternating' })).rejects.toThrow(/the fake rotator does not support strategy alternating; it supports single, dual-password/);
    expect(store.companions.get(ID)).toBeUndefined();
  });
});
