/**
 * The lifecycle commands (label, unlabel, get --label/--strict, put --expires, list --labels, history,
 * rollback, check, diff) through the CLI's main() in this process, over the memory store fixture, which
 * implements every lifecycle hook (test/fixtures/memory-store.ts): every output line, every exit code, and
 * every error path as one `credstash:` line that leaks no value. The same commands on the real tiers, as a
 * spawned bin/credstash, are in lifecycle-tiers.int.test.ts.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { registerCredentialStore, unregisterCredentialStore } from '../../../src/stores/registry.js';
import { MemoryStore } from '../../fixtures/memory-store.js';
import { runCliInProcess, type InProcessRun } from '../../helpers/cli-in-process.js';
import { CANARY, expectNoLeak } from '../../helpers/no-leak.js';

const TYPE = 'lc-memory';
let stores = new Map<string, MemoryStore>();
const storeFor = (label: string): MemoryStore => {
  let s = stores.get(label);
  if (s === undefined) stores.set(label, (s = new MemoryStore(label)));
  return s;
};

let dir: string;
/** The memory fixture on a tier that keeps no expiry dates. */
class NoExpiryStore extends MemoryStore {
  override readonly capabilities = { ...new MemoryStore().capabilities, expiry: false };
}

beforeAll(() => {
  registerCredentialStore(TYPE, (config) => storeFor(String(config.label ?? 'main')));
  registerCredentialStore('lc-noexpiry', () => new NoExpiryStore('no-expiry'));
  dir = mkdtempSync(join(tmpdir(), 'credstash-lifecycle-cli-'));
  writeFileSync(join(dir, 'credstash.toml'), `[credential_store]\ntype = "${TYPE}"\n`, { mode: 0o600 });
  writeFileSync(
    join(dir, 'chain.toml'),
    `[credential_store]\ntype = "chain"\n[[credential_store.config.stores]]\ntype = "${TYPE}"\nname = "one"\n[credential_store.config.stores.config]\nlabel = "main"\n`,
    { mode: 0o600 },
  );
});
afterAll(() => {
  unregisterCredentialStore(TYPE);
  unregisterCredentialStore('lc-noexpiry');
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  stores = new Map();
});

const cli = (args: string[]): Promise<InProcessRun> => runCliInProcess(args, { cwd: dir, env: { HOME: dir } });
const main = (): MemoryStore => storeFor('main');

/** Exit `code`, exactly one `credstash:` line on stderr matching `pattern`, nothing on stdout, no value anywhere. */
function expectOneLine(r: InProcessRun, code: number, pattern: RegExp): void {
  expect(r.code, r.stderr).toBe(code);
  expect(r.stdout).toBe('');
  const lines = r.stderr.split('\n').filter((l) => l !== '' && !l.startsWith("run 'credstash"));
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^credstash: [a-z"-]/);
  expect(lines[0]).toMatch(pattern);
  expectNoLeak(r.stdout + r.stderr, CANARY);
}

async function threeVersions(id = 'app.db'): Promise<void> {
  for (const v of [1, 2, 3]) await main().storeCredential(id, `${CANARY}-v${v}`, { autoVersion: true, comment: `c${v}` });
}

/** Set a version's expiry in the fixture directly (a past one cannot be written through the kernel). */
function setExpiry(id: string, version: number, expiresAt: string): void {
  const entry = main().items.get(id)?.get(String(version).padStart(19, '0'));
  if (entry === undefined) throw new Error('no such version in the fixture');
  entry.meta = { ...(entry.meta ?? { createdAt: new Date().toISOString() }), expiresAt };
}

describe('label and unlabel', () => {
  it('creates, moves and removes a label; get --label reads its version', async () => {
    await threeVersions();
    expect(await cli(['label', 'app.db', 'current', '-v', '2'])).toEqual({ code: 0, stdout: 'app.db: label current -> version 2 (new)\n', stderr: '' });
    expect(await cli(['get', 'app.db', '--label', 'current'])).toEqual({ code: 0, stdout: `${CANARY}-v2\n`, stderr: '' });
    expect(await cli(['label', 'app.db', 'current', '-v', '3', '--expect', '2'])).toEqual({ code: 0, stdout: 'app.db: label current -> version 3 (was 2)\n', stderr: '' });
    expect(await cli(['get', 'app.db', '-l', 'current'])).toEqual({ code: 0, stdout: `${CANARY}-v3\n`, stderr: '' });
    expect(await cli(['label', 'app.db', 'current', '-v', '3'])).toEqual({ code: 0, stdout: 'app.db: label current -> version 3 (unchanged)\n', stderr: '' });
    expect(await cli(['unlabel', 'app.db', 'current'])).toEqual({ code: 0, stdout: 'app.db: label current removed (was version 3)\n', stderr: '' });
    expectOneLine(await cli(['get', 'app.db', '--label', 'current']), 1, /^credstash: credential "app\.db" has no label "current" in memory store "main"; see its labels with credstash history$/);
    expectOneLine(await cli(['unlabel', 'app.db', 'current']), 1, /has no label "current"/);
  });

  it('--expect and --new are compare-and-set: a label elsewhere is a LabelConflictError, nothing changes', async () => {
    await threeVersions();
    await cli(['label', 'app.db', 'current', '-v', '3']);
    expectOneLine(await cli(['label', 'app.db', 'current', '-v', '1', '--expect', '2']), 1, /^credstash: label "current" of credential "app\.db" in memory store "main" was changed by another writer/);
    expectOneLine(await cli(['label', 'app.db', 'current', '-v', '1', '--new']), 1, /label "current" of credential "app\.db"/);
    expect(await cli(['label', 'app.db', 'next', '-v', '1', '--new'])).toMatchObject({ code: 0, stdout: 'app.db: label next -> version 1 (new)\n' });
    expectOneLine(await cli(['unlabel', 'app.db', 'current', '--expect', '1']), 1, /was changed by another writer/);
    expect((await main().listLabels())[0]?.labels).toMatchObject({ current: { version: '3' }, next: { version: '1' } });
  });

  it('refuses a missing version, a bad label name and bad arguments, each in one line', async () => {
    await threeVersions();
    expectOneLine(await cli(['label', 'app.db', 'current', '-v', '9']), 1, /^credstash: credential "app\.db" version 9 not found in memory store "main"$/);
    expectOneLine(await cli(['label', 'nope', 'current', '-v', '1']), 1, /"nope".* not found/);
    expectOneLine(await cli(['label', 'app.db', 'Current', '-v', '1']), 1, /^credstash: label "Current" is not valid: use a lower-case letter/);
    expectOneLine(await cli(['label', 'app.db', 'latest', '-v', '1']), 1, /"latest" is not a label/);
    expectOneLine(await cli(['label', 'app.db', 'current']), 2, /^credstash: label: give the version the label points at with -v N$/);
    expectOneLine(await cli(['label', 'app.db', 'current', '-v', '1', '--expect', '2', '--new']), 2, /give --expect or --new, not both/);
    expectOneLine(await cli(['get', 'app.db', '--label', 'current', '-v', '1']), 2, /give -v or --label, not both/);
    expectOneLine(await cli(['get', 'app.*', '--label', 'current']), 2, /cannot be used with a wildcard/);
  });

  it('a label target forged in the backend (version changed, proof kept) is an integrity error, no value printed', async () => {
    await threeVersions();
    await cli(['label', 'app.db', 'current', '-v', '1']);
    const rec = main().companions.get('app.db');
    if (rec === undefined) throw new Error('no companion record');
    rec.text = rec.text.replace('"v":"0000000000000000001"', '"v":"0000000000000000003"');
    const r = await cli(['get', 'app.db', '--label', 'current']);
    expectOneLine(r, 1, /integrity/i);
  });

  it('a store without the lifecycle operations (a chain) refuses label, history and rollback in one line', async () => {
    await threeVersions();
    for (const args of [['label', 'app.db', 'current', '-v', '1'], ['unlabel', 'app.db', 'x'], ['history', 'app.db'], ['rollback', 'app.db', '--to', '1'], ['list', '--labels']]) {
      expectOneLine(await cli(['--config', join(dir, 'chain.toml'), ...args]), 1, /^credstash: chain \(one\) does not support (labels|history|rollback) \(run it on one member store: --config FILE or --store-type TYPE\)$/);
    }
  });
});

describe('list --labels', () => {
  it('leaves the default output byte-identical and shows labels only with --labels', async () => {
    await threeVersions();
    const before = await cli(['list']);
    const beforeJson = await cli(['list', '--json']);
    await cli(['label', 'app.db', 'current', '-v', '3']);
    await cli(['label', 'app.db', 'previous', '-v', '2']);
    await cli(['label', 'app.db', 'canary', '-v', '3']);
    expect(await cli(['list'])).toEqual(before);
    expect(await cli(['list', '--json'])).toEqual(beforeJson);
    expect((await cli(['list', '--labels'])).stdout).toBe(
      'app.db -- version 0000000000000000001 -- comment c1\n' +
        'app.db -- version 0000000000000000002 -- comment c2 [previous]\n' +
        'app.db -- version 0000000000000000003 -- comment c3 [canary, current]\n',
    );
    expect(JSON.parse((await cli(['list', '--labels', '--json', '--latest'])).stdout)).toEqual([{ name: 'app.db', version: '3', comment: 'c3', labels: ['canary', 'current'] }]);
  });
});

describe('history', () => {
  it('prints every version with created time, writer, size, expiry, labels and comment, never a value', async () => {
    await threeVersions();
    await main().storeCredential('app.db', `${CANARY}-v4`, { autoVersion: true, expiresAt: '2999-01-01', comment: 'with expiry' });
    await cli(['label', 'app.db', 'current', '-v', '4']);
    const r = await cli(['history', 'app.db']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^VERSION +CREATED +WRITER +SIZE +EXPIRES +LABELS +COMMENT$/);
    expect(lines).toHaveLength(5);
    expect(lines[1]).toMatch(/^1 +\d{4}-\d\d-\d\dT\S+Z +\S+ +- +- +- +c1$/);
    expect(lines[4]).toMatch(/^4 +\S+ +\S+ +- +2999-01-01T00:00:00\.000Z +current +with expiry$/);
    expectNoLeak(r.stdout, CANARY);
    const json = await cli(['history', 'app.db', '--json']);
    const rows = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
    expect(rows.map((x) => x.version)).toEqual(['1', '2', '3', '4']);
    expect(rows[3]).toMatchObject({ version: '4', expiresAt: '2999-01-01T00:00:00.000Z', labels: ['current'], comment: 'with expiry' });
    expect(typeof rows[0]?.createdAt).toBe('string');
    expectNoLeak(json.stdout, CANARY);
    expect(main().reads).toBe(0);
  });

  it('a name with no version is not found (exit 1)', async () => {
    expectOneLine(await cli(['history', 'nope']), 1, /^credstash: credential "nope" not found in memory store "main"$/);
  });
});

describe('rollback', () => {
  it('stores version N again as a new version and moves each --label to it', async () => {
    await threeVersions();
    await cli(['label', 'app.db', 'current', '-v', '3']);
    const r = await cli(['rollback', 'app.db', '--to', '1', '--label', 'current', '--label', 'stable']);
    expect(r).toEqual({ code: 0, stdout: 'app.db: version 4 stored with the value of version 1\napp.db: label current -> version 4\napp.db: label stable -> version 4\n', stderr: '' });
    expect(await cli(['get', 'app.db'])).toMatchObject({ stdout: `${CANARY}-v1\n` });
    expect(await cli(['get', 'app.db', '--label', 'stable'])).toMatchObject({ stdout: `${CANARY}-v1\n` });
    expect((await main().credentialHistory('app.db')).map((v) => [v.version, v.comment])).toEqual([['1', 'c1'], ['2', 'c2'], ['3', 'c3'], ['4', 'rollback to version 1']]);
  });

  it('keeps the context of the version it copies, and refuses a missing version or no --to', async () => {
    await main().storeCredential('ctx.db', `${CANARY}-a`, { context: { env: 'prod' } });
    expect((await cli(['rollback', 'ctx.db', '--to', '1', 'env=prod', '-c', 'back'])).code).toBe(0);
    expect(await cli(['get', 'ctx.db', 'env=prod'])).toMatchObject({ code: 0, stdout: `${CANARY}-a\n` });
    expectOneLine(await cli(['rollback', 'ctx.db', '--to', '1']), 1, /context/);
    expectOneLine(await cli(['rollback', 'ctx.db', '--to', '7', 'env=prod']), 1, /version 7 not found/);
    expectOneLine(await cli(['rollback', 'ctx.db']), 2, /give the version to go back to with --to N/);
  });
});

describe('expiry: put --expires, get, check', () => {
  it('put --expires stores the expiry; a bad one is a usage error before anything is written', async () => {
    const r = await cli(['put', 'exp.a', 'v', '--expires', '90d']);
    expect(r).toEqual({ code: 0, stdout: 'exp.a has been stored\n', stderr: '' });
    const at = Date.parse((await main().credentialHistory('exp.a'))[0]?.expiresAt ?? '');
    expect(Math.abs(at - (Date.now() + 90 * 86_400_000))).toBeLessThan(60_000);
    expect((await cli(['put', 'exp.b', 'v', '--expires', '2999-03-01'])).code).toBe(0);
    expect((await main().credentialHistory('exp.b'))[0]?.expiresAt).toBe('2999-03-01T00:00:00.000Z');
    expectOneLine(await cli(['put', 'exp.c', CANARY, '--expires', 'soon']), 2, /^credstash: --expires: the expiry must be a duration \(90d, 12h, 2w\) or a date/);
    expectOneLine(await cli(['put', 'exp.c', CANARY, '--expires', '2001-01-01']), 2, /the expiry is in the past/);
    expect(main().items.has('exp.c')).toBe(false);
  });

  it('get of an expired version prints it with one warning line; --strict fails with exit 1 and no value', async () => {
    await main().storeCredential('exp.db', CANARY, { expiresAt: '30d' });
    expect(await cli(['get', 'exp.db'])).toEqual({ code: 0, stdout: `${CANARY}\n`, stderr: '' });
    setExpiry('exp.db', 1, '2020-01-01T00:00:00.000Z');
    expect(await cli(['get', 'exp.db'])).toEqual({
      code: 0,
      stdout: `${CANARY}\n`,
      stderr: 'credstash: warning: credential "exp.db" version 1 in memory store "main" expired at 2020-01-01T00:00:00.000Z; store a new version (credstash put -a) or move its label\n',
    });
    expectOneLine(await cli(['get', 'exp.db', '--strict']), 1, /^credstash: credential "exp\.db" version 1 in memory store "main" expired at 2020-01-01T00:00:00\.000Z; store a new version/);
  });

  it('check lists what has expired or expires within the window and exits 1; 0 when nothing does', async () => {
    await main().storeCredential('c.none', 'x');
    await main().storeCredential('c.late', 'x', { expiresAt: '300d' });
    expect(await cli(['check'])).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(await cli(['check', '--expiring', '14d'])).toEqual({ code: 0, stdout: '', stderr: '' });
    await main().storeCredential('c.soon', 'x', { expiresAt: '10d' });
    await main().storeCredential('c.gone', 'x', { expiresAt: '1d' });
    setExpiry('c.gone', 1, '2020-01-01T00:00:00.000Z');
    const r = await cli(['check', '--expiring', '14d']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^c\.gone -- version 1 -- expired 2020-01-01T00:00:00\.000Z\nc\.soon -- version 1 -- expires \S+ \(in (9|10) days\)\n$/);
    expect(await cli(['check'])).toEqual({ code: 1, stdout: 'c.gone -- version 1 -- expired 2020-01-01T00:00:00.000Z\n', stderr: '' });
    expect(await cli(['check', 'c.late', '--expiring', '14d'])).toEqual({ code: 0, stdout: '', stderr: '' });
    const json = await cli(['check', '--expiring', '400d', '--json', 'c.*']);
    expect(json.code).toBe(1);
    expect((JSON.parse(json.stdout) as Array<{ name: string; expired: boolean }>).map((x) => [x.name, x.expired])).toEqual([['c.gone', true], ['c.late', false], ['c.soon', false]]);
  });

  it('check: only the newest version counts unless --all-versions', async () => {
    await main().storeCredential('c.rot', 'x', { expiresAt: '1d' });
    setExpiry('c.rot', 1, '2020-01-01T00:00:00.000Z');
    await main().storeCredential('c.rot', 'y', { autoVersion: true });
    expect((await cli(['check'])).code).toBe(0);
    expect(await cli(['check', '--all-versions'])).toMatchObject({ code: 1, stdout: 'c.rot -- version 1 -- expired 2020-01-01T00:00:00.000Z\n' });
  });

  it('check: a bad duration, and a store that keeps no expiry, are trouble (exit 2), not "all clear"', async () => {
    expectOneLine(await cli(['check', '--expiring', 'fortnight']), 2, /^credstash: --expiring must be a duration such as 90d/);
    expectOneLine(await cli(['--config', join(dir, 'chain.toml'), 'check']), 2, /does not support expiry/);
    expectOneLine(await cli(['--store-type', 'lc-noexpiry', 'check']), 2, /^credstash: memory store "no-expiry" does not support expiry \(it keeps no expiry dates, so there is nothing to check\)$/);
  });

  it('put --expires on a tier that keeps no expiry is refused in one line, nothing stored', async () => {
    expectOneLine(await cli(['--store-type', 'lc-noexpiry', 'put', 'x', CANARY, '--expires', '90d']), 1, /^credstash: memory store "no-expiry" does not support expiry$/);
  });
});

describe('diff of two versions', () => {
  it('structured values: fields added, removed and changed, values masked; --show-values shows them', async () => {
    await main().storeCredential('s.db', { user: 'app', password: `${CANARY}-1`, port: 5432, opts: { ssl: true, ca: 'x' } });
    await main().storeCredential('s.db', { user: 'app', password: `${CANARY}-2`, host: 'db2', opts: { ssl: false, ca: 'x' } }, { autoVersion: true });
    const r = await cli(['diff', 's.db', '-v', '1', '-v', '2']);
    expect(r).toEqual({
      code: 1,
      stdout: 's.db: versions 1 and 2 differ: 1 field added, 1 field removed, 2 fields changed\n+ host\n~ opts.ssl\n~ password\n- port\n',
      stderr: '',
    });
    expectNoLeak(r.stdout, CANARY);
    const shown = await cli(['diff', 's.db', '-v', '1', '-v', '2', '--show-values']);
    expect(shown.code).toBe(1);
    expect(shown.stdout).toContain(`~ password: "${CANARY}-1" -> "${CANARY}-2"\n`);
    expect(shown.stdout).toContain('+ host: "db2"\n~ opts.ssl: true -> false\n');
    expect(shown.stdout).toContain('- port: 5432\n');
    const json = JSON.parse((await cli(['diff', 's.db', '-v', '1', '-v', '2', '--json'])).stdout) as Record<string, unknown>;
    expect(json).toEqual({
      name: 's.db',
      versions: ['1', '2'],
      same: false,
      kinds: ['structured', 'structured'],
      fields: [
        { path: 'host', change: 'added' },
        { path: 'opts.ssl', change: 'changed' },
        { path: 'password', change: 'changed' },
        { path: 'port', change: 'removed' },
      ],
    });
  });

  it('text values: same (exit 0) or different (exit 1), never shown unless asked', async () => {
    await threeVersions();
    await main().storeCredential('app.db', `${CANARY}-v1`, { autoVersion: true });
    expect(await cli(['diff', 'app.db', '-v', '1', '-v', '4'])).toEqual({ code: 0, stdout: 'app.db: versions 1 and 4 are the same\n', stderr: '' });
    const r = await cli(['diff', 'app.db', '-v', '1', '-v', '2']);
    expect(r).toEqual({ code: 1, stdout: 'app.db: versions 1 and 2 differ (text)\n', stderr: '' });
    expect((await cli(['diff', 'app.db', '-v', '1', '-v', '2', '--show-values'])).stdout).toBe(`app.db: versions 1 and 2 differ (text)\n< "${CANARY}-v1"\n> "${CANARY}-v2"\n`);
  });

  it('a missing version, a wrong context and bad arguments are trouble: exit 2, one line, no value', async () => {
    await threeVersions();
    await main().storeCredential('ctx.x', CANARY, { context: { env: 'prod' } });
    await main().storeCredential('ctx.x', `${CANARY}-2`, { autoVersion: true, context: { env: 'prod' } });
    expectOneLine(await cli(['diff', 'app.db', '-v', '1', '-v', '9']), 2, /^credstash: credential "app\.db" version 9 not found in memory store "main"$/);
    expectOneLine(await cli(['diff', 'ctx.x', '-v', '1', '-v', '2']), 2, /context/);
    expect((await cli(['diff', 'ctx.x', '-v', '1', '-v', '2', 'env=prod'])).code).toBe(1);
    expectOneLine(await cli(['diff', 'app.db', '-v', '1']), 2, /give a credential and two versions/);
    expectOneLine(await cli(['diff', 'app.db']), 2, /give a credential and two versions/);
    expectOneLine(await cli(['diff', 'app.db', '-v', '1', '-v', '2', '--against', `${TYPE}:label=other`]), 2, /-v compares two versions of one credential/);
  });
});

describe('diff of two stores', () => {
  async function twoStores(): Promise<void> {
    const a = storeFor('a');
    const b = storeFor('b');
    await a.storeCredential('both.same', `${CANARY}-same`);
    await b.storeCredential('both.same', 'older');
    await b.storeCredential('both.same', `${CANARY}-same`, { autoVersion: true });
    await a.storeCredential('both.diff', { password: `${CANARY}-a`, user: 'u' });
    await b.storeCredential('both.diff', { password: `${CANARY}-b`, user: 'u' });
    await a.storeCredential('only.a', `${CANARY}-a-only`);
    await b.storeCredential('only.b', `${CANARY}-b-only`);
  }

  it('names on one side only, names whose newest values differ; only names on both sides are read', async () => {
    await twoStores();
    const r = await cli(['diff', '--store', `${TYPE}:label=a`, '--against', `${TYPE}:label=b`]);
    expect(r).toEqual({
      code: 1,
      stdout:
        '~ both.diff: 1 field changed\n    ~ password\n< only.a\n> only.b\n' +
        'memory store "a" vs memory store "b": 1 only in the first, 1 only in the second, 1 differ, 1 same\n',
      stderr: '',
    });
    expectNoLeak(r.stdout, CANARY);
    // two names on both sides, one read each per side: the names on one side only were never decrypted
    expect([storeFor('a').reads, storeFor('b').reads]).toEqual([2, 2]);
    expect(await cli(['diff', '--store', `${TYPE}:label=a`, '--against', `${TYPE}:label=b`, 'both.same'])).toEqual({
      code: 0,
      stdout: 'memory store "a" vs memory store "b": 0 only in the first, 0 only in the second, 0 differ, 1 same\n',
      stderr: '',
    });
  });

  it('--store defaults to the configured store; --json has the same facts', async () => {
    await twoStores();
    await main().storeCredential('only.a', 'x');
    const json = await cli(['diff', '--against', `${TYPE}:label=a`, '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toEqual({ onlyInFirst: [], onlyInSecond: ['both.diff', 'both.same'], different: [{ name: 'only.a', same: false, kinds: ['text', 'text'] }], same: [], failed: [] });
    expectNoLeak(json.stdout, CANARY);
  });

  it('a name that cannot be read on one side is trouble: reported on stderr, exit 2, the rest still compared', async () => {
    await twoStores();
    await storeFor('a').storeCredential('ctx.y', CANARY, { context: { env: 'prod' } });
    await storeFor('b').storeCredential('ctx.y', CANARY);
    const r = await cli(['diff', '--store', `${TYPE}:label=a`, '--against', `${TYPE}:label=b`]);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('1 could not be compared');
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^credstash: ctx\.y \(--store\): .*context/);
    expect(lines[1]).toBe('credstash: 1 name(s) could not be compared (listed above); the others are compared above');
    expectNoLeak(r.stdout + r.stderr, CANARY);
  });

  it('--show-values shows the differing newest values, and only those', async () => {
    await twoStores();
    const r = await cli(['diff', '--store', `${TYPE}:label=a`, '--against', `${TYPE}:label=b`, '--show-values']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`~ both.diff: 1 field changed\n    ~ password: "${CANARY}-a" -> "${CANARY}-b"\n`);
    expect(r.stdout).not.toContain('-same');
    expect(r.stdout).not.toContain('-only');
  });

  it('an unknown store type is trouble (exit 2) in one line', async () => {
    expectOneLine(await cli(['diff', '--against', 'nosuchtype:x=y']), 2, /unknown store type "nosuchtype"/);
  });
});
