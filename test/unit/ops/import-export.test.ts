import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { formatCredentials } from '../../../src/cli/output/index.js';
import type { StoredCredential } from '../../../src/core/types.js';
import { exportCredentials, formatFromFileName, importCredentials, parseImportFile } from '../../../src/ops/import-export.js';
import { MemoryStore } from '../../fixtures/memory-store.js';
import { CANARY, expectNoLeak, rejectionOf } from '../../helpers/no-leak.js';

const TRICKY = [`it's "quoted"`, 'line1\nline2\n', 'dollar $HOME `cmd` \\ back', 'tab\there', ' lead and trail ', '', 'ünïcødé ✓ 🎉', '#hash', 'a,b', 'yes', '123', 'key: value', '- dash'];

describe('parseImportFile', () => {
  it('reads a JSON object of id -> string or object', async () => {
    const recs = await parseImportFile('{"a": "1", "b": {"user": "u", "n": 2}}', 'json');
    expect(recs).toEqual([{ id: 'a', value: '1' }, { id: 'b', value: { user: 'u', n: 2 } }]);
  });

  it('reads a YAML mapping, including block scalars', async () => {
    const recs = await parseImportFile("a: '1'\nb: |\n  two\n  lines\nc:\n  user: u\n", 'yaml');
    expect(recs).toEqual([{ id: 'a', value: '1' }, { id: 'b', value: 'two\nlines\n' }, { id: 'c', value: { user: 'u' } }]);
  });

  it('reads Python csv rows, quoted fields spanning lines included', async () => {
    const recs = await parseImportFile('a,1\r\nb,"x,""y""\nz"\n\nc,\n', 'csv');
    expect(recs).toEqual([{ id: 'a', value: '1', line: 1 }, { id: 'b', value: 'x,"y"\nz', line: 2 }, { id: 'c', value: '', line: 5 }]);
  });

  it('reads dotenv as a POSIX shell would', async () => {
    const text = `# comment\nexport A='it'\\''s'\nB="say \\"hi\\" \\$x"\nC=plain\\ word # trailing comment\nD='multi\nline'\nE=\n`;
    const recs = await parseImportFile(text, 'dotenv');
    expect(recs.map((r) => [r.id, r.value, r.line])).toEqual([
      ['A', "it's", 2], ['B', 'say "hi" $x', 3], ['C', 'plain word', 4], ['D', 'multi\nline', 5], ['E', '', 7],
    ]);
  });

  it.each(['json', 'yaml', 'csv'] as const)('round-trips every tricky value through the %s output formatter', async (format) => {
    const creds: StoredCredential[] = TRICKY.map((value, i) => ({ id: `k${String(i).padStart(2, '0')}`, version: '1', value }));
    creds.push({ id: 'structured', version: '1', value: { user: 'u', password: CANARY } });
    const text = formatCredentials(creds, format);
    const back = await parseImportFile(text, format);
    const expected = creds.map((c) => (format === 'csv' && typeof c.value !== 'string' ? { id: c.id, value: JSON.stringify(c.value) } : { id: c.id, value: c.value }));
    expect(back.map(({ id, value }) => ({ id, value }))).toEqual(expected);
  });

  it('round-trips every tricky value through dotenv output, and bash agrees', async () => {
    const creds: StoredCredential[] = TRICKY.map((value, i) => ({ id: `k${String(i).padStart(2, '0')}`, version: '1', value }));
    const text = formatCredentials(creds, 'dotenv');
    const back = await parseImportFile(text, 'dotenv');
    expect(back.map((r) => r.value)).toEqual(TRICKY);
    // bash reads the same values: print each with a NUL separator after eval
    const names = back.map((r) => r.id);
    const out = execFileSync('bash', ['-c', `eval "$1"; for n in ${names.join(' ')}; do printf '%s\\0' "\${!n}"; done`, 'bash', text], { encoding: 'utf8' });
    expect(out.split('\0').slice(0, -1)).toEqual(TRICKY);
  });

  it.each([
    ['json', `{"a": "${CANARY}",}`, 'import file is not valid JSON'],
    ['json', `["${CANARY}"]`, 'import file must hold a JSON object of id -> value'],
    ['json', `{"a": 5}`, 'import file: the value of "a" must be a string or an object (quote it if it is a number or a boolean)'],
    ['yaml', `a: "${CANARY}\nb: [`, 'import file is not valid YAML (line 2)'],
    ['yaml', `a: 1\na: "${CANARY}"\n`, 'import file is not valid YAML (line 2)'],
    ['csv', `a,"${CANARY}`, 'import file row at line 1: a quoted field is not closed'],
    ['csv', `a,b,${CANARY}\n`, 'import file row at line 1: expected 2 fields (id,value), found 3'],
    ['csv', `a,x"${CANARY}\n`, 'import file row at line 1: a quote inside an unquoted field'],
    ['dotenv', `A='${CANARY}`, "import file line 1: a single-quoted value is not closed"],
    ['dotenv', `OK=1\nA=${CANARY}$HOME`, 'import file line 2: an unquoted $ or ` would be expanded by a shell; use single quotes'],
    ['dotenv', `A="${CANARY}$(id)"`, 'import file line 1: a $ or ` inside double quotes would be expanded by a shell; use single quotes'],
    ['dotenv', `${CANARY} = x`, 'import file line 1: expected NAME=value'],
    ['dotenv', `A=1 B=${CANARY}`, 'import file line 1: only one NAME=value per line'],
  ] as const)('%s: reports a bad file by position, never by content (%#)', async (format, text, message) => {
    const err = await rejectionOf(parseImportFile(text, format));
    expect(err).toMatchObject({ code: 'ERR_INVALID_INPUT', message });
    expectNoLeak(err, CANARY);
  });
});

describe('formatFromFileName', () => {
  it('knows the usual extensions', () => {
    expect(['a.json', 'b.YAML', 'c.yml', 'd.csv', '.env', 'prod.env', '.env.local', 'x.txt'].map(formatFromFileName)).toEqual([
      'json', 'yaml', 'yaml', 'csv', 'dotenv', 'dotenv', 'dotenv', undefined,
    ]);
  });
});

describe('exportCredentials', () => {
  it('returns the newest version of each matching credential', async () => {
    const store = new MemoryStore();
    await store.storeCredential('a', 'old');
    await store.storeCredential('a', 'new', { version: 2 });
    await store.storeCredential('b', 'b1');
    const { credentials } = await exportCredentials(store, { pattern: 'a' });
    expect(credentials.map((c) => [c.id, c.version, c.value])).toEqual([['a', '2', 'new']]);
  });

  it('fails on an unreadable credential unless skipErrors, and never leaks', async () => {
    const store = new MemoryStore();
    await store.storeCredential('a', CANARY, { context: { env: 'prod' } });
    await store.storeCredential('b', 'b1');
    const err = await rejectionOf(exportCredentials(store));
    expect(err.code).toBe('ERR_PARTIAL_RESULT');
    expectNoLeak(err, CANARY);
    const part = await exportCredentials(store, { skipErrors: true });
    expect(part.credentials.map((c) => c.id)).toEqual(['b']);
    expect(part.skipped.map((s) => [s.id, s.code])).toEqual([['a', 'ERR_ENCRYPTION_CONTEXT_MISMATCH']]);
  });
});

describe('importCredentials', () => {
  it('writes a new version per credential, skips unchanged values and duplicate ids, and reports why', async () => {
    const store = new MemoryStore();
    await store.storeCredential('same', 'v');
    await store.storeCredential('changed', 'old');
    const report = await importCredentials(store, [
      { id: 'same', value: 'v', line: 1 },
      { id: 'changed', value: 'new', line: 2 },
      { id: 'fresh', value: { user: 'u' }, line: 3 },
      { id: 'fresh', value: 'again', line: 4 },
    ], { comment: 'imported' });
    expect(report.written).toEqual([{ id: 'changed', version: 2 }, { id: 'fresh', version: 1 }]);
    expect(report.skipped).toEqual([
      { id: 'same', reason: 'unchanged (version 1 holds the same value)', line: 1 },
      { id: 'fresh', reason: 'duplicate id in the file (the first one was used)', line: 4 },
    ]);
    expect(await store.getCredential('fresh', { required: true })).toMatchObject({ value: { user: 'u' }, comment: 'imported' });
  });

  it('running the same import twice writes nothing the second time; force writes again', async () => {
    const store = new MemoryStore();
    const recs = [{ id: 'a', value: '1' }, { id: 'b', value: '2' }];
    await importCredentials(store, recs);
    expect((await importCredentials(store, recs)).written).toEqual([]);
    expect((await importCredentials(store, recs, { force: true })).written).toEqual([{ id: 'a', version: 2 }, { id: 'b', version: 2 }]);
  });

  it('reports a bad id and a too-large value per record, value-free, and goes on', async () => {
    const store = new MemoryStore();
    const big = CANARY.repeat(3000);
    const report = await importCredentials(store, [{ id: 'bad*id', value: CANARY }, { id: 'big', value: big }, { id: 'ok', value: CANARY }]);
    expect(report.written).toEqual([{ id: 'ok', version: 1 }]);
    expect(report.skipped.map((s) => [s.id, s.code])).toEqual([['bad*id', 'ERR_INVALID_INPUT'], ['big', 'ERR_VALUE_TOO_LARGE']]);
    expectNoLeak(report, CANARY);
  });

  it('writes with the given context', async () => {
    const store = new MemoryStore();
    await importCredentials(store, [{ id: 'a', value: 'x' }], { context: { env: 'prod' } });
    expect((await rejectionOf(store.getCredential('a'))).code).toBe('ERR_ENCRYPTION_CONTEXT_MISMATCH');
    expect((await store.getCredential('a', { context: { env: 'prod' } }))?.value).toBe('x');
  });
});
