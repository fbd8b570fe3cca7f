import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ChainStore } from '../../../src/stores/chain/index.js';
import { registerCredentialStore, unregisterCredentialStore } from '../../../src/stores/registry.js';
import { MemoryStore } from '../../fixtures/memory-store.js';
import { CANARY, expectNoLeak } from '../../helpers/no-leak.js';
import { runCliInProcess, type InProcessRun } from '../../helpers/cli-in-process.js';

let dir: string;
let store: MemoryStore;
let second: MemoryStore;

async function run(args: string[]): Promise<InProcessRun> {
  return runCliInProcess(args, { cwd: dir });
}

beforeAll(() => {
  registerCredentialStore('rendertest', () => store);
  registerCredentialStore('rendertest-chain', () => new ChainStore([{ name: 'one', store }, { name: 'two', store: second }]));
});
afterAll(() => {
  unregisterCredentialStore('rendertest');
  unregisterCredentialStore('rendertest-chain');
  process.exitCode = 0;
});
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'credstash-render-'));
  store = new MemoryStore('r');
  second = new MemoryStore('r2');
  await store.storeCredential('db', { user: 'app', password: CANARY, port: 5432 });
  await store.storeCredential('ctx', 'ctx-value', { context: { env: 'prod' } });
  writeFileSync(join(dir, 'credstash.toml'), '[credential_store]\ntype = "rendertest"\n');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('credstash render', () => {
  it('renders JSON to stdout, with a default context from key=value arguments', async () => {
    writeFileSync(join(dir, 'cfg.json'), JSON.stringify({ a: '${credential:db?}.password', b: ['${credential:ctx}'], n: 1 }));
    const r = await run(['render', 'cfg.json', 'env=prod']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(r.stdout)).toEqual({ a: CANARY, b: ['ctx-value'], n: 1 });
  });

  it('converts between formats and writes -o with mode 0600', async () => {
    writeFileSync(join(dir, 'cfg.yml'), 'db: "${credential:db}"\nport: "${credential:db}.port"\n');
    const r = await run(['render', 'cfg.yml', '-f', 'toml', '-o', 'out.toml']);
    expect(r).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect(statSync(join(dir, 'out.toml')).mode & 0o777).toBe(0o600);
    const { parse } = await import('smol-toml');
    expect(parse(readFileSync(join(dir, 'out.toml'), 'utf8'))).toEqual({ db: { user: 'app', password: CANARY, port: 5432 }, port: 5432 });
  });

  it('is a usage error (exit 2) for an unknown extension, and --from overrides it', async () => {
    writeFileSync(join(dir, 'cfg.conf'), '{"a":"${credential:db}.user"}');
    const r = await run(['render', 'cfg.conf']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('cannot tell the format of cfg.conf');
    const ok = await run(['render', 'cfg.conf', '--from', 'json']);
    expect(JSON.parse(ok.stdout)).toEqual({ a: 'app' });
  });

  it('reads the template from stdin with `-` (like put -, putall -, import -); --from is required there', async () => {
    const r = await runCliInProcess(['render', '-', '--from', 'toml', 'env=prod'], { cwd: dir, stdin: 'a = "${credential:ctx}"\n' });
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toBe('a = "ctx-value"\n');
    const json = await runCliInProcess(['render', '-', '--from', 'json', '-f', 'yaml'], { cwd: dir, stdin: '{"p": "${credential:db}.user"}' });
    expect(json).toMatchObject({ code: 0, stdout: 'p: app\n', stderr: '' });
    const noFormat = await runCliInProcess(['render', '-'], { cwd: dir, stdin: 'a = 1\n' });
    expect(noFormat).toMatchObject({ code: 2, stdout: '' });
    expect(noFormat.stderr).toMatch(/^credstash: cannot tell the format of stdin; use --from toml\|json\|yaml\n/);
    const bad = await runCliInProcess(['render', '-', '--from', 'toml'], { cwd: dir, stdin: `a = "${CANARY}\n` });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^credstash: stdin line 1: not valid TOML\n$/);
    expectNoLeak(bad.stderr, CANARY);
  });

  it('reports a malformed file by line, never quoting it', async () => {
    writeFileSync(join(dir, 'bad.toml'), `a = 1\nb = "${CANARY}\n`);
    const r = await run(['render', 'bad.toml']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^credstash: .*bad\.toml line 2: not valid TOML\n$/);
    expectNoLeak(r.stderr, CANARY);
    writeFileSync(join(dir, 'bad.json'), `{"a": ${CANARY}}`);
    const j = await run(['render', 'bad.json']);
    expect(j.stderr).toMatch(/bad\.json: not valid JSON\n$/);
    expectNoLeak(j.stderr, CANARY);
    const missing = await run(['render', 'nope.json']);
    expect(missing.stderr).toMatch(/cannot read .*nope\.json \(ENOENT\)/);
  });

  it('refuses TOML output of a non-table and fails on a reference error without writing -o', async () => {
    writeFileSync(join(dir, 'list.json'), '["${credential:db}.user"]');
    const r = await run(['render', 'list.json', '-f', 'toml']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('TOML output needs a table');
    writeFileSync(join(dir, 'ref.json'), '{"x": {"y": "${credential:zzz}"}}');
    const e = await run(['render', 'ref.json', '-o', 'out.json']);
    expect(e.code).toBe(1);
    expect(e.stderr).toBe('credstash: credential reference "${credential:zzz}" at x.y: credential "zzz" not found in memory store "r"\n');
    expect(() => statSync(join(dir, 'out.json'))).toThrow();
  });
});

describe('put/delete --store NAME', () => {
  it('writes to and deletes from the named chain member', async () => {
    writeFileSync(join(dir, 'credstash.toml'), '[credential_store]\ntype = "rendertest-chain"\n');
    expect((await run(['put', 'k', 'v1'])).code).toBe(0);
    expect(store.items.has('k')).toBe(true);
    expect((await run(['put', 'k', 'v2', '--store', 'two'])).code).toBe(0);
    expect(second.items.has('k')).toBe(true);
    const d = await run(['delete', 'k', '--store', 'two']);
    expect(d.code).toBe(0);
    expect(second.items.has('k')).toBe(false);
    expect(store.items.has('k')).toBe(true);
    const bad = await run(['put', 'k', 'v', '--store', 'three']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe('credstash: no store named "three" in chain (one, two)\n');
  });

  it('is a usage error on a store that is not a chain', async () => {
    const r = await run(['put', 'k', 'v', '--store', 'x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--store applies only to a chain store; the configured store is memory');
    expect(store.items.has('k')).toBe(false);
  });
});
