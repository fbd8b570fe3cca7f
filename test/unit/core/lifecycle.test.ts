import { describe, expect, it } from 'vitest';
import { decodeCompanion, emptyCompanion, encodeCompanion, parseDuration, parseExpiry, validateLabel, withLifecycle } from '../../../src/core/lifecycle.js';
import type { StoredCredential } from '../../../src/core/types.js';
import { EnvStore } from '../../../src/stores/env/env-store.js';
import { runLifecycleContract, runNoLabelsContract, type LifecycleStore } from '../../contract/lifecycle.contract.js';
import { MemoryStore } from '../../fixtures/memory-store.js';
import { rejectionOf } from '../../helpers/no-leak.js';

runLifecycleContract('memory (BaseStore)', async () => new MemoryStore(), {
  context: true,
  expiry: true,
  history: true,
  state: true,
  // The attacker's edit: the stored label record now points elsewhere, its proof left as it was.
  forgeLabel: async (store: LifecycleStore, id, label, padded) => {
    const mem = store as unknown as MemoryStore;
    const rec = mem.companions.get(id);
    if (rec === undefined) throw new Error('no record to forge');
    const doc = decodeCompanion(rec.text, id);
    (doc.labels[label] as { v: string }).v = padded;
    mem.companions.set(id, { text: encodeCompanion(doc), rev: rec.rev + 1 });
  },
});

runNoLabelsContract('env', async () => new EnvStore({ env: {} }));

describe('label names', () => {
  it('takes lower-case words and refuses the rest with a one-line reason', () => {
    for (const ok of ['current', 'previous', 'a', 'blue-green', 'v2', 'x_y', 'a'.repeat(63)]) expect(validateLabel(ok)).toBe(ok);
    for (const bad of ['', 'A', '2', '-x', '_x', 'a'.repeat(64), 'a b', 'a\nb', 'ä', 'latest']) expect(() => validateLabel(bad)).toThrow(/label|latest/);
    expect(() => validateLabel(3 as unknown as string)).toThrow('a label must be a string');
    expect(() => validateLabel('bad\u0000name')).toThrow('"bad?name"');
  });
});

describe('expiry', () => {
  const now = new Date('2026-12-02T00:00:00Z');
  it('takes durations and dates, as ISO 8601 UTC', () => {
    expect(parseExpiry('90d', now)).toBe('2027-03-02T00:00:00.000Z');
    expect(parseExpiry('12h', now)).toBe('2026-12-02T12:00:00.000Z');
    expect(parseExpiry('2w', now)).toBe('2026-12-16T00:00:00.000Z');
    expect(parseExpiry('30m', now)).toBe('2026-12-02T00:30:00.000Z');
    expect(parseExpiry('1y', now)).toBe('2027-12-02T00:00:00.000Z');
    expect(parseExpiry('2027-03-01', now)).toBe('2027-03-01T00:00:00.000Z');
    expect(parseExpiry('2027-03-01T12:00:00+02:00', now)).toBe('2027-03-01T10:00:00.000Z');
    expect(parseExpiry(new Date('2027-01-01T00:00:00Z'), now)).toBe('2027-01-01T00:00:00.000Z');
    expect(parseDuration('14d', 'the window')).toBe(14 * 86_400_000);
  });
  it('refuses the past, nonsense and impossible dates', () => {
    expect(() => parseExpiry('2026-12-01', now)).toThrow('in the past');
    expect(() => parseExpiry('0d', now)).toThrow('in the past');
    expect(() => parseExpiry('soon', now)).toThrow('a duration (90d, 12h, 2w) or a date');
    expect(() => parseExpiry('2027-02-30T00:00:00Z', now)).not.toThrow(); // JS rolls it to March 2: a valid instant
    expect(() => parseExpiry('2027-13-01', now)).toThrow('not a valid date');
    expect(() => parseExpiry(new Date(Number.NaN), now)).toThrow('not a valid date');
    expect(() => parseDuration('5 days', 'the window')).toThrow('the window must be a duration');
  });
});

describe('the companion record', () => {
  it('round-trips, with sorted keys', () => {
    const doc = emptyCompanion();
    doc.labels.previous = { v: '0000000000000000001' };
    doc.labels.current = { v: '0000000000000000002', at: '2026-12-02T00:00:00.000Z', by: 'ops@host', proof: 'p' };
    doc.state.rotation = 'sealed';
    const text = encodeCompanion(doc);
    expect(text.indexOf('current')).toBeLessThan(text.indexOf('previous'));
    expect(decodeCompanion(text, 'x')).toEqual(doc);
  });
  it('refuses a malformed record as a whole, naming where and never quoting it', () => {
    for (const [text, msg] of [
      ['{', 'not valid JSON'],
      ['[]', 'not an object'],
      ['{"labels":[]}', 'labels are not an object'],
      ['{"labels":{"Bad":{"v":"1"}}}', 'invalid label name'],
      ['{"labels":{"current":{}}}', 'has no version'],
      ['{"state":{"rotation":1}}', 'is not a string'],
      ['{"state":[]}', 'state is not an object'],
    ] as const) {
      expect(() => decodeCompanion(text, 'store "s" credential "c"')).toThrow(msg);
      try {
        decodeCompanion(text, 'w');
      } catch (err) {
        expect((err as Error).message.startsWith('w: ')).toBe(true);
      }
    }
    // __proto__ as a label name is refused by the name rule, not turned into a prototype.
    expect(() => decodeCompanion('{"labels":{"__proto__":{"v":"1"}}}', 'w')).toThrow('invalid label name');
  });
});

describe('lifecycle facts on a credential', () => {
  it('are not enumerable, so JSON output and equality are what they were', () => {
    const c: StoredCredential = withLifecycle({ id: 'a', version: '1', value: 'x' } as StoredCredential, { createdAt: 't', writtenBy: 'w', expiresAt: 'e', label: 'current' });
    expect(JSON.stringify(c)).toBe('{"id":"a","version":"1","value":"x"}');
    expect([c.createdAt, c.writtenBy, c.expiresAt, c.label]).toEqual(['t', 'w', 'e', 'current']);
  });
});

describe('kernel policy', () => {
  it('a forged record without a proof is refused by a tier that makes proofs', async () => {
    const store = new MemoryStore();
    await store.storeCredential('k', 'one');
    store.companions.set('k', { text: encodeCompanion({ labels: { current: { v: '0000000000000000001' } }, state: {} }), rev: 1 });
    expect(await rejectionOf(store.getCredential('k', { label: 'current' }))).toMatchObject({ code: 'ERR_INTEGRITY' });
  });
  it('strict refuses an expired version; without strict it is returned with expiresAt', async () => {
    const store = new MemoryStore();
    await store.storeCredential('k', 'one', { expiresAt: '1m' });
    const versions = store.items.get('k') as Map<string, { meta?: { expiresAt?: string } }>;
    for (const e of versions.values()) e.meta = { ...e.meta, expiresAt: '2020-01-01T00:00:00.000Z' };
    expect((await store.getCredential('k', { required: true })).expiresAt).toBe('2020-01-01T00:00:00.000Z');
    const err = await rejectionOf(store.getCredential('k', { strict: true }));
    expect(err).toMatchObject({ code: 'ERR_CREDENTIAL_EXPIRED', expiresAt: '2020-01-01T00:00:00.000Z' });
    expect(err.message).toBe('credential "k" version 1 in memory store "memory" expired at 2020-01-01T00:00:00.000Z; store a new version (credstash put -a) or read without --strict');
  });
  it('records who wrote each version and when', async () => {
    const store = new MemoryStore();
    const before = Date.now();
    await store.storeCredential('k', 'one');
    const [v] = await store.credentialHistory('k');
    expect(Date.parse(v?.createdAt ?? '')).toBeGreaterThanOrEqual(before - 1);
    expect(v?.writtenBy).toMatch(/^.+@.+$/);
  });
  it('state needs a tier that seals it', async () => {
    const env = new EnvStore({ env: {} });
    expect(await rejectionOf(env.readState('k', 'rotation'))).toMatchObject({ code: 'ERR_UNSUPPORTED_OPERATION' });
    expect(await rejectionOf(new MemoryStore().readState('k', 'Bad Key'))).toMatchObject({ code: 'ERR_INVALID_INPUT' });
  });
});
