/**
 * The rotation engine (`credstash rotate NAME`, docs/rotation.md "## The engine"): create -> set -> test ->
 * finish, with the rotation's state kept sealed beside the credential (BaseStore.readState / writeState: the
 * companion record, never a version), claimed and advanced by compare-and-set.
 *
 * - **create**: the new password is generated, the rotator builds the pending value, and the state
 *   `{ step: 'set', owner, startedAt, fromVersion, pending }` is written only if no state exists (the claim:
 *   of several rotators started at once exactly one writes it; the others get RotationInProgressError).
 * - **set**, **test**: the rotator's steps; the state names the step before it runs, so that whoever resumes
 *   runs it again (every rotator step is idempotent). A RotationStepError in set or test reverts the target
 *   (step `revert`) and discards the state: no version is added.
 * - **finish**: the pending value is stored as version `fromVersion + 1` exactly (recorded in the state before
 *   the write). A write that finds the version taken compares what is there with the pending value: equal
 *   means an earlier attempt (a crash between the write and the state update, or a racing owner) stored it,
 *   so exactly one new version exists; otherwise the next free number is recorded and tried. Then labels
 *   `current` -> new and `previous` -> old, the rotator's finish (Redis drops the old password) and the state
 *   is removed. A pending value is never the newest version before finish.
 * - **owner**: host, pid, boot id, pid namespace and start time (as the file lock judges holders), and a
 *   nonce of the run. Every state write re-reads the state and fails if the owner's nonce is no longer this
 *   run's (it was taken over). An owner on this host that is gone is taken over at once by the next rotate;
 *   one on another host once its state went `lease` (default 10 min) without an update, or with `resume`.
 * - An error that is not a step's RotationStepError (the store unreachable, a crash, a rotator bug) leaves the
 *   state where it is; the next rotate resumes it.
 */
import { randomBytes } from 'node:crypto';
import { ConfigError, CredentialNotFoundError, CredstashError, LabelConflictError, RotationInProgressError, RotationStepError, UnsupportedOperationError, ValidationError, VersionConflictError, formatAge } from '../core/errors.js';
import { processIdentity, processLiveness, type ProcessIdentity } from '../core/file-lock.js';
import { GENERATE_PRESETS, generateValue } from '../core/generate.js';
import { isLifecycleCapable, type CredentialStore, type LifecycleCapable } from '../core/store.js';
import type { CredentialValue, EncryptionContext, JsonObject, JsonValue, StoredCredential, WriteOptions } from '../core/types.js';
import { resolveCredentialReferences } from '../references/resolve.js';
import { everyMs, leaseMs, type RotationPolicy } from './policy.js';
import type { RotationStep, RotationStrategy, Rotator, RotatorInput } from './types.js';

/** A store the engine can rotate in: one with sealed state and labels (every BaseStore tier that keeps a companion record). */
export type RotationStore = CredentialStore & LifecycleCapable;

/** The state key in the companion record. */
export const ROTATION_STATE_KEY = 'rotation';

/** Options of {@link rotateCredential}. */
export interface RotateOptions {
  /** The credential's encryption context (default: the policy's). */
  context?: EncryptionContext;
  /** Take over a rotation whose owner cannot be checked from here (another host) before its lease ends. */
  resume?: boolean;
  /** Roll back the rotation in progress (revert the target, discard the pending value); refused once it reached finish. */
  cancel?: boolean;
  /**
   * Forget the rotation in progress WITHOUT reverting the target: only when the target is known to still use
   * the current password (a set that could not reach it). Refused once it reached finish.
   */
  discard?: boolean;
  /** How often a running step refreshes the claim (default: a quarter of the policy's lease, at least 1 s). */
  heartbeatMs?: number;
  /**
   * Called at the start and end of each step. An error it throws stops the rotation where it is, as a crash
   * would: the state stays and the next rotate resumes it.
   */
  onProgress?: (event: RotationProgress) => void | Promise<void>;
}

/** One step starting or done. */
export interface RotationProgress {
  id: string;
  step: RotationStep;
  phase: 'start' | 'done';
}

/** What a call of {@link rotateCredential} did. */
export interface CredentialRotationResult {
  id: string;
  /** `rotated`: a new version holds the new password; `rolled-back`: the target uses the current one again, no version was added; `discarded`: the state was dropped. */
  outcome: 'rotated' | 'rolled-back' | 'discarded';
  /** It continued a rotation an earlier run left (crashed, or another host's past its lease). */
  resumed: boolean;
  /** The version rotated from (`''` when an unreadable state was discarded). */
  previous: string;
  /** The new version (`rotated`). */
  version?: string;
  rotator: string;
  strategy: RotationStrategy;
}

/** A rotation in progress as {@link rotationStatus} reports it (never the pending value). */
export interface PendingRotation {
  step: RotationStep;
  startedAt: string;
  updatedAt: string;
  /** Milliseconds since it started. */
  ageMs: number;
  /** `process 123 on host-a`. */
  owner: string;
  /** Whether that process is running (`unknown`: another host). */
  ownerState: 'alive' | 'gone' | 'unknown';
  fromVersion: string;
}

/** `credstash rotate --status` for one credential. */
export interface RotationStatus {
  id: string;
  rotator: string;
  strategy: RotationStrategy;
  every?: string;
  /** The newest version and when it was written (the last rotation or put). */
  version?: string;
  lastRotatedAt?: string;
  /** When it is next due (lastRotatedAt + every). */
  nextDueAt?: string;
  due: boolean;
  pending?: PendingRotation;
}

type ActiveStep = 'set' | 'test' | 'finish' | 'revert';

/** The sealed state (JSON). */
interface RotationState {
  v: 1;
  rotator: string;
  strategy: RotationStrategy;
  step: ActiveStep;
  owner: ProcessIdentity & { nonce: string };
  startedAt: string;
  updatedAt: string;
  fromVersion: string;
  /** The version finish stores (recorded before it writes). */
  version?: number;
  /** How the credential holds its value: a JSON object, JSON text, or a text password (`{ password }` to the rotator). */
  form: ValueForm;
  pending: JsonObject;
}

type ValueForm = 'object' | 'json-text' | 'plain';

/** Nonces of the rotations running in this process (a state naming this pid with another nonce was left by a dead run). */
const ACTIVE = new Set<string>();

/**
 * Rotate one credential under `policy`: claim, set, test, finish; or resume, cancel or discard a rotation
 * in progress (see the module comment).
 *
 * @example
 * ```ts
 * const r = await rotateCredential(store, 'app.db', { rotator: 'postgres', admin: '${credential:pg_admin}' });
 * console.log(r.outcome, r.version); // rotated 4
 * ```
 * @throws RotationInProgressError (another rotation holds the claim), RotationStepError (a step failed on the
 *   target; after set or test it was rolled back), ConfigError (policy), ValidationError (the value cannot be
 *   rotated, nothing to resume or cancel), UnsupportedOperationError (a store without sealed state), the store's errors
 */
export async function rotateCredential(store: CredentialStore, id: string, policy: RotationPolicy, opts: RotateOptions = {}): Promise<CredentialRotationResult> {
  const s = requireStore(store);
  const rotator = await resolveRotator(policy);
  const context = opts.context ?? policy.context ?? {};
  const run = new Run(s, id, policy, rotator, context, opts);
  ACTIVE.add(run.nonce);
  try {
    return await run.go();
  } finally {
    ACTIVE.delete(run.nonce);
  }
}

class Run {
  readonly nonce = randomBytes(12).toString('base64url');
  readonly owner: ProcessIdentity & { nonce: string };
  #resumed = false;
  #cur: StoredCredential | undefined;
  #input: RotatorInput | undefined;

  constructor(
    readonly store: RotationStore,
    readonly id: string,
    readonly policy: RotationPolicy,
    readonly rotator: Rotator,
    readonly context: EncryptionContext,
    readonly opts: RotateOptions,
  ) {
    this.owner = { ...processIdentity(), nonce: this.nonce };
  }

  async go(): Promise<CredentialRotationResult> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const { state, rev, unreadable } = await this.read();
      if (unreadable === true) {
        const opts: { expectRev?: string; context: EncryptionContext } = { context: this.context };
        if (rev !== undefined) opts.expectRev = rev;
        if (!(await this.store.writeState(this.id, ROTATION_STATE_KEY, undefined, opts))) continue;
        return { id: this.id, outcome: 'discarded', resumed: false, previous: '', rotator: this.rotator.name, strategy: this.policy.strategy ?? this.rotator.strategies[0] ?? 'single' };
      }
      if (state !== undefined) {
        const mine = await this.takeOver(state, rev);
        if (mine === undefined) continue; // lost a race for it: look again
        return this.continueFrom(mine);
      }
      if (this.opts.resume === true || this.opts.cancel === true || this.opts.discard === true) {
        throw new ValidationError(`no rotation of "${this.id}" is in progress in ${this.store.description}; nothing to ${this.opts.cancel === true ? 'cancel' : this.opts.discard === true ? 'discard' : 'resume'}`, {
          credentialId: this.id,
          store: this.store.description,
        });
      }
      const claimed = await this.claim(rev);
      if (claimed !== undefined) return this.continueFrom(claimed);
    }
    throw new RotationInProgressError({ credentialId: this.id, store: this.store.description, step: 'create', ageMs: 0, detail: 'its state kept changing', next: 'run the command again' });
  }

  /** The state and the record's revision. */
  async read(): Promise<{ state?: RotationState; rev?: string; unreadable?: true }> {
    const { value, rev } = await this.store.readState(this.id, ROTATION_STATE_KEY, { context: this.context });
    const out: { state?: RotationState; rev?: string; unreadable?: true } = {};
    if (rev !== undefined) out.rev = rev;
    if (value !== undefined) {
      try {
        out.state = decodeState(value, this.id, this.store.description);
      } catch (err) {
        // A state this version cannot read (a newer credstash wrote it): only --discard may remove it.
        if (this.opts.discard !== true) throw err;
        out.unreadable = true;
      }
    }
    return out;
  }

  /** create: read the current value, generate, build the pending value, write the state if there is none. */
  async claim(rev: string | undefined): Promise<RotationState | undefined> {
    await this.progress('create', 'start');
    const strategy = this.strategy(undefined);
    const cur = await this.store.getCredential(this.id, { context: this.context, required: true });
    const { value: current, form } = asObject(cur, this.id);
    this.#cur = cur;
    const input = await this.input(current, strategy);
    const password = generateValue(this.policy.generate ?? defaultPreset(this.rotator.name));
    const pending = this.rotator.pending(input, password);
    if (form === 'plain') checkPlain(pending, current, this.id);
    const now = new Date().toISOString();
    const state: RotationState = { v: 1, rotator: this.rotator.name, strategy, step: 'set', owner: this.owner, startedAt: now, updatedAt: now, fromVersion: cur.version, form, pending };
    const opts: { expectRev?: string; context: EncryptionContext } = { context: this.context };
    if (rev !== undefined) opts.expectRev = rev;
    if (!(await this.store.writeState(this.id, ROTATION_STATE_KEY, encodeState(state), opts))) return undefined;
    await this.progress('create', 'done');
    return state;
  }

  /**
   * A state left by another run: take it over if its owner is gone (or, for an owner that cannot be checked,
   * past its lease or with resume/cancel/discard), else RotationInProgressError. Undefined: another process
   * took it over first.
   */
  async takeOver(state: RotationState, rev: string | undefined): Promise<RotationState | undefined> {
    const now = Date.now();
    const live = liveness(state.owner);
    const forced = this.opts.resume === true || this.opts.cancel === true || this.opts.discard === true;
    const idle = now - Date.parse(state.updatedAt);
    const lease = leaseMs(this.policy);
    const who = ownerText(state.owner);
    const age = now - Date.parse(state.startedAt);
    if (live === 'alive' || (live === 'unknown' && !forced && idle < lease)) {
      const detail = `updated ${formatAge(idle)} ago by ${who}`;
      const next =
        live === 'alive'
          ? 'wait for it to end; run the command again afterwards'
          : `it is taken over once it has gone ${formatAge(lease)} without an update; if that process is gone, run credstash rotate ${this.id} --resume (or --cancel)`;
      throw new RotationInProgressError({ credentialId: this.id, store: this.store.description, step: state.step, ageMs: age, detail, next });
    }
    if (state.step === 'finish' && (this.opts.cancel === true || this.opts.discard === true)) throw this.onlyForward();
    if (state.rotator !== this.rotator.name) {
      throw new ConfigError(
        `the rotation of "${this.id}" in progress was started with rotator ${state.rotator}, and the policy now names ${this.rotator.name}; restore the policy to finish or cancel it (credstash rotate ${this.id} --cancel)`,
        { path: 'rotator' },
      );
    }
    const next: RotationState = { ...state, owner: this.owner, updatedAt: new Date(now).toISOString() };
    const opts: { expectRev?: string; context: EncryptionContext } = { context: this.context };
    if (rev !== undefined) opts.expectRev = rev;
    if (!(await this.store.writeState(this.id, ROTATION_STATE_KEY, encodeState(next), opts))) return undefined;
    this.#resumed = true;
    return next;
  }

  async continueFrom(start: RotationState): Promise<CredentialRotationResult> {
    let state = start;
    if (this.opts.cancel === true || this.opts.discard === true) {
      if (state.step === 'finish') throw this.onlyForward();
      if (this.opts.discard === true) {
        await this.removeState();
        return this.result(state, 'discarded');
      }
      if (state.step !== 'revert') state = await this.advance(state, { step: 'revert' });
    }
    const input = await this.inputFor(state);
    for (;;) {
      switch (state.step) {
        case 'set':
          await this.progress('set', 'start');
          try {
            await this.during(state, () => this.rotator.set(input, state.pending));
          } catch (err) {
            if (err instanceof RotationStepError) return this.rollBack(state, input, err);
            throw err;
          }
          await this.progress('set', 'done');
          state = await this.advance(state, { step: 'test' });
          break;
        case 'test': {
          await this.progress('test', 'start');
          try {
            await this.during(state, () => this.rotator.test(input, state.pending));
          } catch (err) {
            if (err instanceof RotationStepError) return this.rollBack(state, input, err);
            throw err;
          }
          await this.progress('test', 'done');
          const version = /^\d+$/.test(state.fromVersion) ? Number(state.fromVersion) + 1 : await this.nextFree();
          state = await this.advance(state, { step: 'finish', version });
          break;
        }
        case 'finish':
          return this.finish(state, input);
        case 'revert':
          await this.progress('revert', 'start');
          await this.during(state, () => this.rotator.revert(input, state.pending));
          await this.removeState();
          await this.progress('revert', 'done');
          return this.result(state, 'rolled-back');
      }
    }
  }

  /** finish: store exactly one new version, move the labels, the rotator's finish, remove the state. */
  async finish(start: RotationState, input: RotatorInput): Promise<CredentialRotationResult> {
    let state = start;
    await this.progress('finish', 'start');
    const value = storedForm(state.pending, state.form);
    const cur = this.#cur;
    let version = state.version ?? (await this.nextFree());
    for (let attempt = 0; ; attempt++) {
      const write: WriteOptions = { version, context: this.context, comment: `rotated from version ${state.fromVersion} (credstash rotate)` };
      if (cur?.definition !== undefined) write.definition = cur.definition;
      try {
        await this.store.storeCredential(this.id, value, write);
        break;
      } catch (err) {
        if (!(err instanceof VersionConflictError)) throw err;
      }
      // The version exists: stored by an earlier attempt (same value), or by someone else.
      const there = await this.store.getCredential(this.id, { version, context: this.context });
      if (there !== undefined && sameValue(there.value, value)) break;
      if (attempt >= 4) throw new VersionConflictError({ credentialId: this.id, store: this.store.description, version });
      version = await this.nextFree();
      state = await this.advance(state, { version });
    }
    if (this.store.capabilities.labels === true) {
      await this.label('current', String(version));
      await this.label('previous', state.fromVersion);
    }
    const rotatorFinish = this.rotator.finish;
    if (rotatorFinish !== undefined) await this.during(state, () => rotatorFinish.call(this.rotator, input, state.pending));
    await this.removeState();
    await this.progress('finish', 'done');
    return { ...this.result(state, 'rotated'), version: String(version) };
  }

  async rollBack(state: RotationState, input: RotatorInput, failure: RotationStepError): Promise<never> {
    const reason = stepReason(failure);
    try {
      await this.advance(state, { step: 'revert' });
      await this.progress('revert', 'start');
      await this.rotator.revert(input, state.pending);
    } catch (err) {
      const why = err instanceof RotationStepError ? stepReason(err) : err instanceof CredstashError ? err.message : 'unexpected error';
      // single: a set that failed and cannot be undone (the admin lacks the privilege for both) changed nothing
      // if the current password still logs in; the pending value is then discarded.
      if (err instanceof RotationStepError && failure.step === 'set' && state.strategy === 'single' && (await this.currentStillWorks(input))) {
        await this.removeState();
        throw new RotationStepError({
          step: failure.step,
          target: failure.target,
          credentialId: this.id,
          reason: `${reason}; nothing changed: the current password still logs in, the pending value was discarded and no version was added`,
        });
      }
      throw new RotationStepError({
        step: failure.step,
        target: failure.target,
        credentialId: this.id,
        reason: `${reason}; the rollback failed too (${why}): the target may hold the pending password; run credstash rotate ${this.id} --cancel once it is reachable (or --discard if it never changed)`,
      });
    }
    await this.removeState();
    await this.progress('revert', 'done');
    throw new RotationStepError({
      step: failure.step,
      target: failure.target,
      credentialId: this.id,
      reason: `${reason}; rolled back: the current password is in use again, the pending value was discarded and no version was added`,
    });
  }

  /**
   * Run a rotator step while refreshing the state's `updatedAt` every `heartbeatMs` (default a quarter of the
   * lease), so that a long step of a live owner is not taken for abandoned by another host. A refresh that
   * finds the claim taken over makes the step's end throw (the rotator call itself cannot be stopped).
   */
  async during<T>(state: RotationState, fn: () => Promise<T>): Promise<T> {
    const every = this.opts.heartbeatMs ?? Math.max(1000, Math.floor(leaseMs(this.policy) / 4));
    let chain: Promise<void> = Promise.resolve();
    let lost: unknown;
    const timer = setInterval(() => {
      chain = chain.then(
        () => this.advance(state, {}).then(() => undefined),
        () => undefined,
      ).catch((err: unknown) => {
        lost ??= err;
      });
    }, every);
    timer.unref();
    try {
      return await fn();
    } finally {
      clearInterval(timer);
      await chain;
      // eslint-disable-next-line no-unsafe-finally
      if (lost !== undefined) throw lost;
    }
  }

  /** Whether the rotator's test passes with the current value (a real login with the current password). */
  async currentStillWorks(input: RotatorInput): Promise<boolean> {
    try {
      await this.rotator.test(input, input.current);
      return true;
    } catch {
      return false;
    }
  }

  /** Write the next state, if this run still owns the rotation (re-read: a label move changes the record's revision). */
  async advance(state: RotationState, change: Partial<Pick<RotationState, 'step' | 'version'>>): Promise<RotationState> {
    const next: RotationState = { ...state, ...change, owner: this.owner, updatedAt: new Date().toISOString() };
    for (let attempt = 0; attempt < 5; attempt++) {
      const rev = await this.mineRev(next.step);
      const opts: { expectRev?: string; context: EncryptionContext } = { context: this.context };
      if (rev !== undefined) opts.expectRev = rev;
      if (await this.store.writeState(this.id, ROTATION_STATE_KEY, encodeState(next), opts)) return next;
    }
    throw this.lost(next.step);
  }

  async removeState(): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const rev = await this.mineRev('finish');
      const opts: { expectRev?: string; context: EncryptionContext } = { context: this.context };
      if (rev !== undefined) opts.expectRev = rev;
      if (await this.store.writeState(this.id, ROTATION_STATE_KEY, undefined, opts)) return;
    }
    throw this.lost('finish');
  }

  /** The record's revision while the state is still this run's; else the rotation was taken over. */
  async mineRev(step: RotationStep): Promise<string | undefined> {
    const { state, rev } = await this.read();
    if (state === undefined || state.owner.nonce !== this.nonce) throw this.lost(step, state);
    return rev;
  }

  /** This run's claim was taken over (or the state removed) by another process. */
  lost(step: RotationStep, now?: RotationState): RotationInProgressError {
    return new RotationInProgressError({
      credentialId: this.id,
      store: this.store.description,
      step: now?.step ?? step,
      ageMs: now === undefined ? 0 : Math.max(0, Date.now() - Date.parse(now.startedAt)),
      detail: now === undefined ? 'its state was removed by another process while this one ran' : `taken over by ${ownerText(now.owner)} while this one ran`,
      next: `this process stopped; see credstash rotate --status ${this.id}`,
    });
  }

  onlyForward(): ValidationError {
    return new ValidationError(
      `the rotation of "${this.id}" in ${this.store.description} passed its test and the target uses the new password: it can only be finished; run credstash rotate ${this.id} --resume`,
      { credentialId: this.id, store: this.store.description },
    );
  }

  async label(name: string, version: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.store.labelCredential(this.id, name, { version, context: this.context });
        return;
      } catch (err) {
        if (!(err instanceof LabelConflictError) || attempt >= 4) throw err;
      }
    }
  }

  /** The number after the highest stored version. */
  async nextFree(): Promise<number> {
    const history = await this.store.credentialHistory(this.id);
    let max = 0;
    for (const v of history) if (/^\d+$/.test(v.version)) max = Math.max(max, Number(v.version));
    return max + 1;
  }

  /** The rotator's input for a state: the value of the version rotated from, the admin login, the options. */
  async inputFor(state: RotationState): Promise<RotatorInput> {
    if (this.#input !== undefined) return this.#input;
    const cur = await this.store.getCredential(this.id, { version: state.fromVersion, context: this.context, required: true });
    this.#cur = cur;
    return this.input(asObject(cur, this.id).value, this.strategy(state.strategy));
  }

  async input(current: JsonObject, strategy: RotationStrategy): Promise<RotatorInput> {
    const input: RotatorInput = { current, strategy, options: this.policy.options ?? {}, credentialId: this.id };
    if (this.policy.admin !== undefined) input.admin = await resolveAdmin(this.store, this.policy.admin, this.id);
    this.#input = input;
    return input;
  }

  strategy(fromState: RotationStrategy | undefined): RotationStrategy {
    const strategy = fromState ?? this.policy.strategy ?? this.rotator.strategies[0];
    if (strategy === undefined || !this.rotator.strategies.includes(strategy)) {
      throw new ConfigError(`rotation of "${this.id}": the ${this.rotator.name} rotator does not support strategy ${String(strategy)}; it supports ${this.rotator.strategies.join(', ')}`, { path: 'strategy' });
    }
    return strategy;
  }

  async progress(step: RotationStep, phase: 'start' | 'done'): Promise<void> {
    await this.opts.onProgress?.({ id: this.id, step, phase });
  }

  result(state: RotationState, outcome: CredentialRotationResult['outcome']): CredentialRotationResult {
    return { id: this.id, outcome, resumed: this.#resumed, previous: state.fromVersion, rotator: state.rotator, strategy: state.strategy };
  }
}

/**
 * The rotation status of one credential: its newest version's age, when it is next due, and any rotation
 * in progress (step, age, owner). Reads the history and the state; decrypts no version.
 *
 * @example
 * ```ts
 * const st = await rotationStatus(store, 'app.db', { rotator: 'postgres', every: '30d' });
 * if (st.pending) console.log(`stuck at ${st.pending.step} for ${st.pending.ageMs} ms`);
 * ```
 */
export async function rotationStatus(store: CredentialStore, id: string, policy: RotationPolicy, opts: { context?: EncryptionContext; now?: Date } = {}): Promise<RotationStatus> {
  const s = requireStore(store);
  const rotator = await resolveRotator(policy);
  const now = (opts.now ?? new Date()).getTime();
  const out: RotationStatus = { id, rotator: rotator.name, strategy: policy.strategy ?? rotator.strategies[0] ?? 'single', due: false };
  if (policy.every !== undefined) out.every = policy.every;
  const newest = await newestVersion(s, id);
  if (newest !== undefined) {
    out.version = newest.version;
    if (newest.createdAt !== undefined) {
      out.lastRotatedAt = newest.createdAt;
      const every = everyMs(policy);
      if (every !== undefined) {
        const due = Date.parse(newest.createdAt) + every;
        out.nextDueAt = new Date(due).toISOString();
        out.due = due <= now;
      }
    }
  }
  const { value } = await s.readState(id, ROTATION_STATE_KEY, { context: opts.context ?? policy.context ?? {} });
  if (value !== undefined) {
    const st = decodeState(value, id, s.description);
    out.strategy = st.strategy;
    out.pending = {
      step: st.step,
      startedAt: st.startedAt,
      updatedAt: st.updatedAt,
      ageMs: Math.max(0, now - Date.parse(st.startedAt)),
      owner: ownerText(st.owner),
      ownerState: liveness(st.owner),
      fromVersion: st.fromVersion,
    };
  }
  return out;
}

/** One credential of `rotate --due` and how it went. */
export interface DueOutcome {
  id: string;
  outcome: 'rotated' | 'rolled-back' | 'failed' | 'not-due' | 'unknown-age';
  version?: string;
  /** The failure (a typed error's code and its message; never a value). */
  code?: string;
  message?: string;
}

/** What `rotate --due` did. */
export interface DueSummary {
  rotated: number;
  failed: number;
  results: DueOutcome[];
}

/** Options of {@link rotateDue}. */
export interface RotateDueOptions {
  now?: Date;
  /** Rotations run at once (default 4). */
  concurrency?: number;
  /** Called as each credential is done. */
  onResult?: (outcome: DueOutcome) => void;
}

/**
 * Rotate every credential whose newest version is older than its policy's `every` (a policy without
 * `every` is never due; a tier that keeps no creation time gives `unknown-age`). A failure of one does not
 * stop the others; each is reported.
 *
 * @example
 * ```ts
 * const summary = await rotateDue(store, [{ id: 'app.db', policy: { rotator: 'postgres', every: '30d' } }]);
 * if (summary.failed > 0) process.exitCode = 1;
 * ```
 */
export async function rotateDue(store: CredentialStore, policies: ReadonlyArray<{ id: string; policy: RotationPolicy }>, opts: RotateDueOptions = {}): Promise<DueSummary> {
  const s = requireStore(store);
  const now = (opts.now ?? new Date()).getTime();
  const results: DueOutcome[] = new Array<DueOutcome>(policies.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < policies.length) {
      const i = next++;
      const { id, policy } = policies[i] as { id: string; policy: RotationPolicy };
      let r: DueOutcome;
      try {
        const every = everyMs(policy);
        const newest = every === undefined ? undefined : await newestVersion(s, id);
        if (every === undefined) r = { id, outcome: 'not-due' };
        else if (newest?.createdAt === undefined) r = { id, outcome: 'unknown-age' };
        else if (Date.parse(newest.createdAt) + every > now) r = { id, outcome: 'not-due' };
        else {
          const done = await rotateCredential(s, id, policy);
          r = { id, outcome: done.outcome === 'rotated' ? 'rotated' : 'rolled-back', ...(done.version === undefined ? {} : { version: done.version }) };
        }
      } catch (err) {
        r = { id, outcome: 'failed', code: err instanceof CredstashError ? err.code : 'ERR_UNEXPECTED', message: err instanceof CredstashError ? err.message : `unexpected error (${err instanceof Error ? err.name : typeof err})` };
      }
      results[i] = r;
      opts.onResult?.(r);
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.concurrency ?? 4, policies.length) }, worker));
  return { rotated: results.filter((r) => r.outcome === 'rotated').length, failed: results.filter((r) => r.outcome === 'failed').length, results };
}

async function newestVersion(store: RotationStore, id: string): Promise<{ version: string; createdAt?: string } | undefined> {
  let history;
  try {
    history = await store.credentialHistory(id);
  } catch (err) {
    if (err instanceof CredentialNotFoundError) return undefined;
    throw err;
  }
  const last = history.at(-1);
  if (last === undefined) return undefined;
  const out: { version: string; createdAt?: string } = { version: last.version };
  if (last.createdAt !== undefined) out.createdAt = last.createdAt;
  return out;
}

function requireStore(store: CredentialStore): RotationStore {
  if (!isLifecycleCapable(store)) throw new UnsupportedOperationError(store.description, 'rotation');
  return store;
}

async function resolveRotator(policy: RotationPolicy): Promise<Rotator> {
  if (typeof policy?.rotator === 'object' && policy.rotator !== null) return policy.rotator;
  if (typeof policy?.rotator !== 'string' || policy.rotator === '') throw new ConfigError('a rotation policy needs a rotator', { path: 'rotator' });
  // The built-in rotators are loaded when a rotation runs, not when the library is imported.
  const { getRotator } = await import('./registry.js');
  return getRotator(policy.rotator);
}

/** `postgres`, `mysql`, `redis` have presets of their name; anything else gets alnum. */
function defaultPreset(rotator: string): string {
  return (GENERATE_PRESETS as readonly string[]).includes(rotator) ? rotator : 'alnum';
}

async function resolveAdmin(store: CredentialStore, ref: string, id: string): Promise<JsonObject> {
  const { admin } = await resolveCredentialReferences({ admin: ref }, store);
  const v: unknown = typeof admin === 'string' && admin.trimStart().startsWith('{') ? tryJson(admin) : admin;
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array) {
    throw new ValidationError(`rotation of "${id}": the admin credential must be a structured value such as {"user": ..., "password": ...}`, { credentialId: id });
  }
  return v as JsonObject;
}

function tryJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The credential's value as the rotator's `current`, and the form to store the pending value back in. */
function asObject(cred: StoredCredential, id: string): { value: JsonObject; form: ValueForm } {
  const v = cred.value;
  if (v instanceof Uint8Array) {
    throw new ValidationError(`credential "${id}" version ${cred.version} is binary; rotation needs a structured value ({"user", "password", ...}) or a text password`, { credentialId: id, version: cred.version });
  }
  if (typeof v === 'string') {
    const parsed = v.trimStart().startsWith('{') ? tryJson(v) : undefined;
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return { value: parsed as JsonObject, form: 'json-text' };
    return { value: { password: v }, form: 'plain' };
  }
  return { value: v, form: 'object' };
}

/** A text password can hold only a new password: no other field may change. */
function checkPlain(pending: JsonObject, current: JsonObject, id: string): void {
  const keys = new Set([...Object.keys(pending), ...Object.keys(current)]);
  for (const k of keys) {
    if (k !== 'password' && canonical(pending[k]) !== canonical(current[k])) {
      throw new ValidationError(`credential "${id}" is a text password: the rotation would change its "${k}" too, which needs a structured value ({"user", "password", ...})`, { credentialId: id });
    }
  }
  if (typeof pending.password !== 'string') throw new ValidationError(`rotation of "${id}": the pending value has no text password`, { credentialId: id });
}

function storedForm(pending: JsonObject, form: ValueForm): CredentialValue {
  if (form === 'object') return pending;
  if (form === 'json-text') return JSON.stringify(pending);
  return pending.password as string;
}

function sameValue(a: CredentialValue, b: CredentialValue): boolean {
  if (a instanceof Uint8Array || b instanceof Uint8Array) return false;
  return canonical(a) === canonical(b);
}

/** JSON with sorted keys, for comparing values. */
function canonical(v: JsonValue | undefined): string {
  if (v === undefined) return 'undefined';
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

function liveness(owner: RotationState['owner']): 'alive' | 'gone' | 'unknown' {
  const l = processLiveness(owner);
  // This process's pid: alive only if the run is still going (an earlier run here crashed or was abandoned).
  if (l === 'alive' && owner.pid === process.pid) return ACTIVE.has(owner.nonce) ? 'alive' : 'gone';
  return l;
}

function ownerText(owner: ProcessIdentity): string {
  return `process ${owner.pid} on ${owner.host === '' ? 'an unnamed host' : owner.host.replace(/[^\x20-\x7e]/g, '?')}`;
}

/** The reason part of a RotationStepError's message (after "on TARGET: "). */
function stepReason(err: RotationStepError): string {
  const marker = ` on ${err.target}: `;
  const at = err.message.indexOf(marker);
  return at < 0 ? err.message : err.message.slice(at + marker.length);
}

function encodeState(state: RotationState): Uint8Array {
  return Buffer.from(JSON.stringify(state), 'utf8');
}

const STEPS: readonly ActiveStep[] = ['set', 'test', 'finish', 'revert'];

function decodeState(bytes: Uint8Array, id: string, store: string): RotationState {
  const raw = tryJson(Buffer.from(bytes).toString('utf8')) as Partial<RotationState> | undefined;
  const ok =
    typeof raw === 'object' &&
    raw !== null &&
    raw.v === 1 &&
    typeof raw.rotator === 'string' &&
    typeof raw.strategy === 'string' &&
    STEPS.includes(raw.step as ActiveStep) &&
    typeof raw.owner === 'object' &&
    raw.owner !== null &&
    typeof raw.owner.pid === 'number' &&
    typeof raw.owner.host === 'string' &&
    typeof raw.owner.nonce === 'string' &&
    typeof raw.startedAt === 'string' &&
    typeof raw.updatedAt === 'string' &&
    typeof raw.fromVersion === 'string' &&
    (raw.form === 'object' || raw.form === 'json-text' || raw.form === 'plain') &&
    typeof raw.pending === 'object' &&
    raw.pending !== null;
  if (!ok) {
    throw new ValidationError(`the rotation state of "${id}" in ${store} is not one this version of credstash reads; run credstash rotate ${id} --discard once the target is known to use the current password`, {
      credentialId: id,
      store,
    });
  }
  return raw as RotationState;
}
