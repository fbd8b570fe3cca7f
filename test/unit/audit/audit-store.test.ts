import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { withAudit, withAuditLog, fileAuditSink, type AuditRecord } from '../../../src/audit/index.js';
import { isSetupCapable } from '../../../src/core/store.js';
import { MemoryStore } from '../../fixtures/memory-store.js';
import { CANARY, expectNoLeak, rejectionOf } from '../../helpers/no-leak.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'credstash-audit-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function lines(path: string): AuditRecord[] {
  const text = readFileSync(path, 'utf8');
  expect(text.endsWith('\n')).toBe(true);
  return text.trimEnd().split('\n').map((l) => JSON.parse(l) as AuditRecord);
}

describe('withAuditLog (file sink)', () => {
  it('leaves one line each for put, get, failed get, delete and getall, and never the value', async () => {
    // Arrange
    const log = join(dir, 'logs', 'audit.jsonl');
    const store = withAuditLog(new MemoryStore('audit'), log, { user: 'alice' });
    // Act
    await store.storeCredential('app.db', CANARY, { context: { env: 'prod' } });
    await store.getCredential('app.db', { context: { env: 'prod' }, required: true });
    await rejectionOf(store.getCredential('app.missing', { required: true }));
    await rejectionOf(store.getCredential('app.db', { context: { env: 'dev' } }));
    await store.storeCredential('app.other', `${CANARY}-2`);
    await store.getAllCredentials({ skipErrors: true, context: {} });
    await store.deleteCredential('app.db');
    await store.close();
    // Assess
    const recs = lines(log);
    expect(recs.map((r) => [r.action, r.id, r.version, r.outcome, r.code])).toEqual([
      ['put', 'app.db', '1', 'ok', undefined],
      ['get', 'app.db', '1', 'ok', undefined],
      ['get', 'app.missing', undefined, 'not_found', undefined],
      ['get', 'app.db', undefined, 'error', 'ERR_ENCRYPTION_CONTEXT_MISMATCH'],
      ['put', 'app.other', '1', 'ok', undefined],
      ['getall', undefined, undefined, 'ok', undefined],
      ['delete', 'app.db', undefined, 'ok', undefined],
    ]);
    const getall = recs[5]!;
    expect(getall).toMatchObject({ count: 1, ids: ['app.other'], failed: ['app.db'] });
    expect(recs[6]!.deleted).toEqual(['1']);
    for (const r of recs) {
      expect(r.store).toBe('memory store "audit"');
      expect(r.user).toBe('alice');
      expect(r.pid).toBe(process.pid);
      expect(new Date(r.time).toISOString()).toBe(r.time);
    }
    expectNoLeak(readFileSync(log, 'utf8'), CANARY);
  });

  it('creates the file 0600 in a folder 0700, and appends across reopenings', async () => {
    const log = join(dir, 'nested', 'audit.jsonl');
    const a = withAuditLog(new MemoryStore(), log);
    await a.listCredentials();
    await a.close();
    const b = withAuditLog(new MemoryStore(), log);
    await b.credentialExists('nope');
    await b.close();
    expect(statSync(log).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'nested')).mode & 0o777).toBe(0o700);
    expect(lines(log).map((r) => [r.action, r.outcome, r.count])).toEqual([
      ['list', 'ok', 0],
      ['exists', 'not_found', undefined],
    ]);
  });

  it('withholds the result and says so when the log cannot be written, without leaking the value', async () => {
    // The log path is a folder: open() fails with EISDIR even for root (permission bits would not stop root).
    const blocked = join(dir, 'audit.jsonl');
    mkdirSync(blocked);
    const inner = new MemoryStore();
    await inner.storeCredential('app.db', CANARY);
    const store = withAuditLog(inner, blocked);
    const err = await rejectionOf(store.getCredential('app.db', { required: true }));
    expect(err).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE', credentialId: 'app.db' });
    expect(err.message).toBe(`audit log "${blocked}" could not record get of credential "app.db" (EISDIR); the result was withheld`);
    expectNoLeak(err, CANARY);
  });
});

describe('withAudit (callback sink)', () => {
  it('hands every record to the callback, including the original error code, and rethrows the original error', async () => {
    const seen: AuditRecord[] = [];
    const store = withAudit(new MemoryStore('cb'), (r) => { seen.push(r); }, { now: () => new Date('2024-01-02T03:04:05.678Z') });
    await store.storeCredential('a', CANARY, { version: 3 });
    const err = await rejectionOf(store.storeCredential('a', CANARY, { version: 3 }));
    expect(err.code).toBe('ERR_VERSION_CONFLICT');
    expect(await store.credentialExists('a', { version: 3 })).toBe(true);
    await store.listCredentials({ pattern: 'a*' });
    expect(seen.map((r) => [r.time, r.action, r.version, r.outcome, r.code ?? null, r.pattern ?? null, r.count ?? null])).toEqual([
      ['2024-01-02T03:04:05.678Z', 'put', '3', 'ok', null, null, null],
      ['2024-01-02T03:04:05.678Z', 'put', '3', 'error', 'ERR_VERSION_CONFLICT', null, null],
      ['2024-01-02T03:04:05.678Z', 'exists', '3', 'ok', null, null, null],
      ['2024-01-02T03:04:05.678Z', 'list', undefined, 'ok', null, 'a*', 1],
    ]);
    expectNoLeak(seen, CANARY);
  });

  it('leaves out an id or version refused as invalid (it may be a value pasted in the wrong place), keeping the error code', async () => {
    const seen: AuditRecord[] = [];
    const store = withAudit(new MemoryStore(), (r) => { seen.push(r); });
    await rejectionOf(store.storeCredential(`${CANARY}\n`, 'v'));
    await rejectionOf(store.getCredential('ok.id', { version: `${CANARY}\u0000` }));
    await rejectionOf(store.getCredential('', { required: true }));
    expect(seen.map((r) => [r.action, r.id, r.version, r.outcome, r.code])).toEqual([
      ['put', undefined, undefined, 'error', 'ERR_INVALID_INPUT'],
      ['get', 'ok.id', undefined, 'error', 'ERR_INVALID_INPUT'],
      ['get', undefined, undefined, 'error', 'ERR_INVALID_INPUT'],
    ]);
    expectNoLeak(JSON.stringify(seen), CANARY);
  });

  it('records a failed delete as not_found', async () => {
    const seen: AuditRecord[] = [];
    const store = withAudit(new MemoryStore(), (r) => { seen.push(r); });
    await rejectionOf(store.deleteCredential('ghost'));
    expect(seen.map((r) => [r.action, r.id, r.outcome])).toEqual([['delete', 'ghost', 'not_found']]);
  });

  it('adds the caller identity only when the store already knows it, and makes no call to learn it', async () => {
    const seen: AuditRecord[] = [];
    const inner = Object.assign(new MemoryStore(), { callerIdentity: undefined as string | undefined });
    const store = withAudit(inner, (r) => { seen.push(r); });
    await store.listCredentials();
    inner.callerIdentity = 'arn:aws:sts::123456789012:assumed-role/reader/AssumeRoleCredstashSession1';
    await store.listCredentials();
    expect(seen.map((r) => r.caller)).toEqual([undefined, 'arn:aws:sts::123456789012:assumed-role/reader/AssumeRoleCredstashSession1']);
  });

  it('passes everything else through to the store (kind, description, capabilities, setup)', async () => {
    const inner = Object.assign(new MemoryStore('x'), { setup: async () => ({ created: true, message: 'made' }) });
    const store = withAudit(inner, () => undefined);
    expect(store.kind).toBe('memory');
    expect(store.description).toBe('memory store "x"');
    expect(store.capabilities.write).toBe(true);
    expect(isSetupCapable(store)).toBe(true);
    expect(store.items).toBe(inner.items);
  });

  it('fails closed when the callback throws', async () => {
    const store = withAudit(new MemoryStore(), () => { throw new Error('sink down'); });
    const err = await rejectionOf(store.storeCredential('a', CANARY));
    expect(err).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
    expect(err.message).toBe('audit sink could not record put of credential "a" (Error); the result was withheld');
    expectNoLeak(err, CANARY);
  });
});

describe('fileAuditSink', () => {
  it('writes one JSON object per line and resolves the path', async () => {
    const sink = fileAuditSink(join(dir, 'a.jsonl'));
    await sink({ time: 't', action: 'get', id: 'x\ny', store: 's', outcome: 'ok', pid: 1 });
    await sink.close();
    expect(readFileSync(sink.path, 'utf8')).toBe('{"time":"t","action":"get","id":"x\\ny","store":"s","outcome":"ok","pid":1}\n');
  });
});
