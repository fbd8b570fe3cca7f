import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
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
  it('leaves one line for each read and two for each write (started, then its outcome), and never the value', async () => {
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
      ['put', 'app.db', undefined, 'started', undefined],
      ['put', 'app.db', '1', 'ok', undefined],
      ['get', 'app.db', '1', 'ok', undefined],
      ['get', 'app.missing', undefined, 'not_found', undefined],
      ['get', 'app.db', undefined, 'error', 'ERR_ENCRYPTION_CONTEXT_MISMATCH'],
      ['put', 'app.other', undefined, 'started', undefined],
      ['put', 'app.other', '1', 'ok', undefined],
      ['getall', undefined, undefined, 'ok', undefined],
      ['delete', 'app.db', undefined, 'started', undefined],
      ['delete', 'app.db', undefined, 'ok', undefined],
    ]);
    const getall = recs[7]!;
    expect(getall).toMatchObject({ count: 1, ids: ['app.other'], failed: ['app.db'] });
    expect(recs[9]!.deleted).toEqual(['1']);
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
      ['2024-01-02T03:04:05.678Z', 'put', '3', 'started', null, null, null],
      ['2024-01-02T03:04:05.678Z', 'put', '3', 'ok', null, null, null],
      ['2024-01-02T03:04:05.678Z', 'put', '3', 'started', null, null, null],
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
      ['put', undefined, undefined, 'started', undefined],
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
    expect(seen.map((r) => [r.action, r.id, r.outcome])).toEqual([['delete', 'ghost', 'started'], ['delete', 'ghost', 'not_found']]);
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

  it('passes through kind, description, capabilities and the tier extras (setup), and nothing else of the tier', async () => {
    const inner = Object.assign(new MemoryStore('x'), { setup: async () => ({ created: true, message: 'made' }) });
    const store = withAudit(inner, () => undefined);
    expect(store.kind).toBe('memory');
    expect(store.description).toBe('memory store "x"');
    expect(store.capabilities.write).toBe(true);
    expect(isSetupCapable(store)).toBe(true);
    expect(isSetupCapable(store) && (await store.setup()).message).toBe('made');
    expect(store.inner).toBe(inner);
    // A tier's own members are not extras: a decorator offers the table's extras only (as the cache does).
    expect((store as unknown as { items?: unknown }).items).toBeUndefined();
  });

  it('fails closed when the callback throws', async () => {
    const store = withAudit(new MemoryStore(), () => { throw new Error('sink down'); });
    const err = await rejectionOf(store.storeCredential('a', CANARY));
    expect(err).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
    expect(err.message).toBe('audit sink could not record put of credential "a" (Error); the put was refused and nothing was written');
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

  it.each(['000', '277'])('creates every missing folder of the log exactly 0700 under umask %s', async (mask) => {
    const old = process.umask(Number.parseInt(mask, 8));
    try {
      const sink = fileAuditSink(join(dir, 'logs', 'deep', 'a.jsonl'));
      await sink({ time: 't', action: 'get', id: 'x', store: 's', outcome: 'ok', pid: 1 });
      await sink.close();
      expect(statSync(join(dir, 'logs')).mode & 0o777).toBe(0o700);
      expect(statSync(join(dir, 'logs', 'deep')).mode & 0o777).toBe(0o700);
      expect(statSync(sink.path).mode & 0o777).toBe(0o600);
    } finally {
      process.umask(old);
    }
  });
});

describe('a write is audited before it happens and after', () => {
  /** A sink that takes the first `ok` records, then fails like a full disk. */
  function fillingSink(ok: number): { sink: (r: AuditRecord) => void; seen: AuditRecord[] } {
    const seen: AuditRecord[] = [];
    return {
      seen,
      sink: (r) => {
        if (seen.length >= ok) throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
        seen.push(r);
      },
    };
  }

  it('when the "started" record cannot be written, the put is refused and nothing is stored (a retry adds nothing either)', async () => {
    const inner = new MemoryStore();
    const { sink } = fillingSink(0);
    const store = withAudit(inner, sink, { sinkDescription: 'audit log "/full/audit.jsonl"' });
    for (let i = 0; i < 3; i++) {
      const err = await rejectionOf(store.storeCredential('app.db', CANARY, { autoVersion: true }));
      expect(err).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE', credentialId: 'app.db' });
      expect(err.message).toBe('audit log "/full/audit.jsonl" could not record put of credential "app.db" (ENOSPC); the put was refused and nothing was written');
      expectNoLeak(err.message, CANARY);
    }
    expect(await inner.listCredentials()).toEqual([]);
    const del = await rejectionOf(store.deleteCredential('app.db'));
    expect(del.message).toMatch(/could not record delete of credential "app.db" \(ENOSPC\); the delete was refused and nothing was written$/);
  });

  it('when only the outcome record fails, the put returns the version it stored and the gap is reported, never as a failure', async () => {
    const inner = new MemoryStore();
    const { sink, seen } = fillingSink(1);
    const gaps: Array<[string, AuditRecord]> = [];
    const store = withAudit(inner, sink, { sinkDescription: 'audit log "/full/audit.jsonl"', onIncomplete: (m, r) => gaps.push([m, r]) });
    const r = await store.storeCredential('app.db', CANARY, { autoVersion: true });
    expect(r.version).toBe(1);
    expect((await inner.getCredential('app.db', { required: true })).value).toBe(CANARY);
    expect(seen.map((x) => [x.action, x.id, x.outcome])).toEqual([['put', 'app.db', 'started']]);
    expect(gaps.map(([m]) => m)).toEqual([
      'audit log "/full/audit.jsonl" could not record the outcome of put of credential "app.db" (ENOSPC); version 1 WAS stored; its "started" record is in the log. Do not retry it',
    ]);
    expect(gaps[0]![1]).toMatchObject({ action: 'put', id: 'app.db', version: '1', outcome: 'ok' });
    expectNoLeak(gaps, CANARY);
  });

  it('a failed put whose outcome record also fails throws the put\'s own error (not an audit error)', async () => {
    const inner = new MemoryStore();
    await inner.storeCredential('app.db', 'v', { version: 1 });
    const { sink } = fillingSink(1);
    const gaps: string[] = [];
    const store = withAudit(inner, sink, { onIncomplete: (m) => gaps.push(m) });
    const err = await rejectionOf(store.storeCredential('app.db', CANARY, { version: 1 }));
    expect(err.code).toBe('ERR_VERSION_CONFLICT');
    expect(gaps).toEqual(['audit sink could not record the outcome of put of credential "app.db" (ENOSPC); the put failed (ERR_VERSION_CONFLICT); its "started" record is in the log']);
  });

  it('a delete whose outcome record fails still deletes and says which versions went', async () => {
    const inner = new MemoryStore();
    await inner.storeCredential('app.db', 'v', { version: 1 });
    await inner.storeCredential('app.db', 'w', { version: 2 });
    const { sink } = fillingSink(1);
    const gaps: string[] = [];
    const store = withAudit(inner, sink, { onIncomplete: (m) => gaps.push(m) });
    expect((await store.deleteCredential('app.db')).deleted).toEqual(['1', '2']);
    expect(gaps[0]).toMatch(/could not record the outcome of delete of credential "app.db" \(ENOSPC\); version\(s\) 1, 2 WERE deleted/);
  });

  it('without onIncomplete the gap is a process warning (type CredstashAuditWarning)', async () => {
    const { sink } = fillingSink(1);
    const store = withAudit(new MemoryStore(), sink);
    const warnings: Error[] = [];
    const listener = (w: Error): void => {
      warnings.push(w);
    };
    process.on('warning', listener);
    try {
      expect((await store.storeCredential('app.db', CANARY)).version).toBe(1);
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', listener);
    }
    expect(warnings.map((w) => [w.name, (w as NodeJS.ErrnoException).code])).toEqual([['CredstashAuditWarning', 'ERR_AUDIT_INCOMPLETE']]);
    expect(warnings[0]!.message).toContain('version 1 WAS stored');
  });

  it('a read is recorded once, after the store answered: when that fails nothing read is returned', async () => {
    const inner = new MemoryStore();
    await inner.storeCredential('app.db', CANARY);
    const { sink } = fillingSink(0);
    const store = withAudit(inner, sink);
    const err = await rejectionOf(store.getCredential('app.db', { required: true }));
    expect(err.message).toBe('audit sink could not record get of credential "app.db" (ENOSPC); the result was withheld');
    expectNoLeak(err, CANARY);
  });
});

describe('fileAuditSink never follows a planted file', () => {
  const record: AuditRecord = { time: 't', action: 'get', id: 'x', store: 's', outcome: 'ok', pid: 1 };

  it('refuses a symlink at the log path (dangling or not) and writes nothing through it', async () => {
    const target = join(dir, 'elsewhere.txt');
    writeFileSync(target, 'precious\n', { mode: 0o644 });
    const log = join(dir, 'audit.jsonl');
    symlinkSync(target, log);
    const sink = fileAuditSink(log);
    const err = await rejectionOf(Promise.resolve().then(() => sink(record)));
    expect(err).toMatchObject({ code: 'ERR_CONFIG', message: `audit log "${log}" is a symbolic link; credstash does not follow one (set audit_log to the file itself)` });
    expect(readFileSync(target, 'utf8')).toBe('precious\n');
    expect(statSync(target).mode & 0o777).toBe(0o644);
    const dangling = join(dir, 'dangling.jsonl');
    symlinkSync(join(dir, 'nowhere.jsonl'), dangling);
    await rejectionOf(Promise.resolve().then(() => fileAuditSink(dangling)(record)));
    expect(existsSync(join(dir, 'nowhere.jsonl'))).toBe(false);
  });

  it('through withAuditLog, a symlinked log refuses the put before anything is stored, saying why', async () => {
    const log = join(dir, 'audit.jsonl');
    symlinkSync(join(dir, 'x.jsonl'), log);
    const inner = new MemoryStore();
    const err = await rejectionOf(withAuditLog(inner, log).storeCredential('a', CANARY));
    expect(err.message).toBe(
      `audit log "${log}" is a symbolic link; credstash does not follow one (set audit_log to the file itself); could not record put of credential "a"; the put was refused and nothing was written`,
    );
    expect(await inner.listCredentials()).toEqual([]);
  });

  it('makes an existing 0644 log 0600 on first use', async () => {
    const log = join(dir, 'audit.jsonl');
    writeFileSync(log, '', { mode: 0o644 });
    chmodSync(log, 0o644);
    const sink = fileAuditSink(log);
    await sink(record);
    await sink.close();
    expect(statSync(log).mode & 0o777).toBe(0o600);
    expect(readFileSync(log, 'utf8')).toContain('"action":"get"');
  });

  it('refuses a log with a second hard link, and a FIFO', async () => {
    const other = join(dir, 'other.txt');
    writeFileSync(other, 'other\n');
    const linked = join(dir, 'linked.jsonl');
    linkSync(other, linked);
    expect(await rejectionOf(Promise.resolve().then(() => fileAuditSink(linked)(record)))).toMatchObject({ message: `audit log "${linked}" has 2 hard links; credstash appends only to a log with one (another name could be any file)` });
    expect(readFileSync(other, 'utf8')).toBe('other\n');
    const fifo = join(dir, 'fifo.jsonl');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const e = await rejectionOf(Promise.resolve().then(() => fileAuditSink(fifo)(record)));
    expect(e.message === `audit log "${fifo}" is not a regular file` || (e as NodeJS.ErrnoException).code === 'ENXIO').toBe(true);
  });

  it.skipIf(process.getuid?.() !== 0)('refuses a log owned by another user (needs root to chown one)', async () => {
    const log = join(dir, 'theirs.jsonl');
    writeFileSync(log, '');
    chownSync(log, 65534, 65534);
    const err = await rejectionOf(Promise.resolve().then(() => fileAuditSink(log)(record)));
    expect(err.message).toBe(`audit log "${log}" belongs to another user (uid 65534); credstash appends only to a log of its own user`);
  });
});
