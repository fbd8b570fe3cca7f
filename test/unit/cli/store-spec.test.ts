/**
 * Store specs on the command line (`migrate --from/--to`): `TYPE:key=value,...` whenever the spec starts with
 * a known store type and `:` (a `/` in a value does not make it a file), a config file otherwise; every form
 * the docs show, verbatim; and every store opened from a spec gets the audit log, like the configured store.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseStoreSpec } from '../../../src/cli/store-spec.js';
import { registeredStoreTypes, registerCredentialStore, unregisterCredentialStore } from '../../../src/stores/registry.js';
import { MemoryStore } from '../../fixtures/memory-store.js';
import { CANARY, expectNoLeak } from '../../helpers/no-leak.js';
import { runCliInProcess, type InProcessRun } from '../../helpers/cli-in-process.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BUILTIN = ['chain', 'dynamodb', 'env', 'local', 'sql', 'ssm', 'vault'];

/** Every `TYPE:key=value,...` spec written in the docs, the README and the migrate command's own examples. */
function documentedTypeSpecs(): string[] {
  const files = [
    ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => join(ROOT, 'docs', f)),
    join(ROOT, 'README.md'),
    join(ROOT, 'src/cli/commands/migrate.ts'),
  ];
  const re = new RegExp(`(?<![\\w-])(?:${BUILTIN.join('|')}):[a-z_]+=[^\\s\`'",]*(?:,[a-z_]+=[^\\s\`'",]*)*`, 'g');
  const found = new Set<string>();
  for (const f of files) for (const m of readFileSync(f, 'utf8').matchAll(re)) found.add(m[0]);
  return [...found].sort();
}

describe('parseStoreSpec', () => {
  const cwd = '/work/project';

  it('reads a known type followed by ":" as TYPE:key=value even when a value holds a "/"', () => {
    expect(parseStoreSpec('local:path=./ks.json', cwd)).toEqual({ kind: 'type', type: 'local', config: { path: './ks.json' } });
    expect(parseStoreSpec('local:path=/abs/dir/ks.json', cwd)).toEqual({ kind: 'type', type: 'local', config: { path: '/abs/dir/ks.json' } });
    expect(parseStoreSpec('sql:engine=sqlite,path=data/x.toml', cwd)).toEqual({ kind: 'type', type: 'sql', config: { engine: 'sqlite', path: 'data/x.toml' } });
    expect(parseStoreSpec('dynamodb', cwd)).toEqual({ kind: 'type', type: 'dynamodb', config: {} });
  });

  it('reads every TYPE spec the docs show, verbatim, as that type with those keys', () => {
    const specs = documentedTypeSpecs();
    expect(specs).toEqual(expect.arrayContaining(['local:path=./ks.json', 'dynamodb:table=credential-store,region=eu-west-1', 'dynamodb:table=credential-store']));
    for (const spec of specs) {
      const [type, rest] = [spec.slice(0, spec.indexOf(':')), spec.slice(spec.indexOf(':') + 1)];
      expect(parseStoreSpec(spec, cwd), spec).toEqual({ kind: 'type', type, config: Object.fromEntries(rest.split(',').map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)])) });
    }
  });

  it('reads anything else with a "/" or ending in .toml as a config file, relative to the working directory', () => {
    expect(parseStoreSpec('./other/credstash.toml', cwd)).toEqual({ kind: 'file', file: resolve(cwd, 'other/credstash.toml') });
    expect(parseStoreSpec('prod.toml', cwd)).toEqual({ kind: 'file', file: resolve(cwd, 'prod.toml') });
    expect(parseStoreSpec('/etc/credstash.toml', cwd)).toEqual({ kind: 'file', file: '/etc/credstash.toml' });
    // Not a known type: `team:` is a folder name here, unless the current config registers `team`.
    expect(parseStoreSpec('team:x/credstash.toml', cwd)).toEqual({ kind: 'file', file: resolve(cwd, 'team:x/credstash.toml') });
    expect(parseStoreSpec('team:path=./x', cwd, [...registeredStoreTypes(), 'team'])).toEqual({ kind: 'type', type: 'team', config: { path: './x' } });
  });

  it('refuses a malformed spec with a usage error that never quotes what may be a value', () => {
    expect(() => parseStoreSpec('Local!', cwd)).toThrow('a store is a config file path or TYPE:key=value,... (e.g. local:path=./ks.json)');
    expect(() => parseStoreSpec('local:path', cwd)).toThrow('store local: "path" is not key=value');
    expect(() => parseStoreSpec(`local:${CANARY}`, cwd)).toThrow('store local: "..." is not key=value');
    expect(() => parseStoreSpec('local:path=a,path=b', cwd)).toThrow('store local: key "path" is given twice');
  });
});

describe('migrate with store specs (in-process CLI, local keystores)', () => {
  let dir: string;
  const run = (args: string[], env: Record<string, string> = {}): Promise<InProcessRun> => runCliInProcess(args, { cwd: dir, env: { HOME: dir, ...env } });

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'credstash-spec-'));
    expect((await run(['init'])).code).toBe(0);
    expect((await run(['put', 'a.one', CANARY])).code).toBe(0);
    expect((await run(['put', 'a.two', 'two'])).code).toBe(0);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  afterAll(() => {
    process.exitCode = 0;
  });

  it.each(['local:path=./ks.json', 'local:path=.credstash/copy.json', 'local:path=sub/dir/ks.json'])('copies to the documented form %s', async (spec) => {
    const r = await run(['migrate', '--to', spec]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^copied 2 version\(s\) from local keystore ".*" to local keystore ".*"; 0 already done; 0 failed \(of 2\)\n$/);
    expect(existsSync(join(dir, spec.slice('local:path='.length)))).toBe(true);
    const back = await run(['migrate', '--from', spec, '--to', 'local:path=./back.json']);
    expect(back.code).toBe(0);
    expectNoLeak(r.stdout + back.stdout, CANARY);
  });

  it('names a mistyped type instead of looking for a file that nobody meant', async () => {
    const r = await run(['migrate', '--to', 'locl:path=./ks.json']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^credstash: --to: unknown store type "locl"; known types: chain, dynamodb, env, local, sql, ssm, vault\n$/);
    const missing = await run(['migrate', '--to', './nope/credstash.toml']);
    expect(missing).toMatchObject({ code: 1, stderr: `credstash: config file ${join(dir, 'nope/credstash.toml')} (from --to) does not exist or is not a file\n` });
  });

  it('audits every access of a store opened from a TYPE spec, like the configured store (audit_log in the config)', async () => {
    const log = join(dir, 'audit.jsonl');
    expect((await run(['migrate', '--to', 'local:path=keystore.json'])).code).toBe(0);
    writeFileSync(join(dir, 'credstash.toml'), `audit_log = "audit.jsonl"\n${readFileSync(join(dir, 'credstash.toml'), 'utf8')}`);
    expect((await run(['migrate', '--from', 'local:path=keystore.json', '--to', 'local:path=copy.json'])).code).toBe(0);
    const lines = readFileSync(log, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as { action: string; id?: string; store: string });
    const gets = lines.filter((l) => l.action === 'get');
    // Each decryption of the source is one line; so is each write to the destination.
    expect(gets.filter((l) => l.store.endsWith('/keystore.json"')).map((l) => l.id).sort()).toEqual(['a.one', 'a.two']);
    expect(lines.filter((l) => l.action === 'put').map((l) => [l.id, l.store.includes('copy.json')])).toEqual(expect.arrayContaining([['a.one', true], ['a.two', true]]));
    expect(lines.filter((l) => l.action === 'list')).toHaveLength(1);
    expectNoLeak(readFileSync(log, 'utf8'), CANARY);
  });

  it('audits a store opened from a TYPE spec with CREDSTASH_AUDIT_LOG, and one from a config-file spec with that file’s audit_log', async () => {
    const envLog = join(dir, 'env-audit.jsonl');
    expect((await run(['migrate', '--to', 'local:path=keystore.json'])).code).toBe(0);
    expect((await run(['migrate', '--from', 'local:path=keystore.json', '--to', 'local:path=copy.json'], { CREDSTASH_AUDIT_LOG: envLog })).code).toBe(0);
    expect(readFileSync(envLog, 'utf8').trimEnd().split('\n').filter((l) => (JSON.parse(l) as { action: string }).action === 'get')).toHaveLength(2);

    // A second project whose config has its own audit log: a spec naming that file uses it.
    const proj = mkdtempSync(join(dir, 'proj-'));
    const keys = readFileSync(join(dir, 'credstash.toml'), 'utf8');
    writeFileSync(join(proj, 'credstash.toml'), `audit_log = "proj-audit.jsonl"\n${keys.replace(/path = "[^"]*"/, `path = "${join(dir, '.credstash/keystore.json')}"`)}`);
    expect((await run(['migrate', '--from', `${proj}/credstash.toml`, '--to', 'local:path=./copy2.json'])).code).toBe(0);
    const projLines = readFileSync(join(proj, 'proj-audit.jsonl'), 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as { action: string });
    expect(projLines.filter((l) => l.action === 'get')).toHaveLength(2);
  });
});

describe('a custom type of the current config in a TYPE spec', () => {
  let dir: string;
  let mem: MemoryStore;
  beforeAll(() => registerCredentialStore('specmem', () => mem));
  afterAll(() => {
    unregisterCredentialStore('specmem');
    process.exitCode = 0;
  });
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'credstash-spec-custom-'));
    mem = new MemoryStore('m');
    await mem.storeCredential('x', 'value-x');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('the references_from store that a store config reads its ${credential:...} values from is audited too', async () => {
    const env = { HOME: dir };
    expect((await runCliInProcess(['init'], { cwd: dir, env })).code).toBe(0);
    expect((await runCliInProcess(['put', 'pw', CANARY], { cwd: dir, env })).code).toBe(0);
    const keys = /keys = \[[^\]]*\]/.exec(readFileSync(join(dir, 'credstash.toml'), 'utf8'))?.[0] ?? '';
    writeFileSync(
      join(dir, 'credstash.toml'),
      `audit_log = "audit.jsonl"\n[fernet]\n${keys}\n[credential_store]\ntype = "specmem"\n[credential_store.config]\nlabel = "\${credential:pw}"\n[credential_store.references_from]\ntype = "local"\nconfig = { path = ".credstash/keystore.json" }\n`,
      { mode: 0o600 },
    );
    expect((await runCliInProcess(['keys'], { cwd: dir, env })).stdout).toBe('x\n');
    const lines = readFileSync(join(dir, 'audit.jsonl'), 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as { action: string; id?: string; store: string });
    expect(lines.map((l) => [l.action, l.id, l.store.startsWith('local keystore')])).toEqual([['get', 'pw', true], ['list', undefined, false]]);
    expectNoLeak(readFileSync(join(dir, 'audit.jsonl'), 'utf8'), CANARY);
  });

  it('is read as TYPE:key=value even with a "/" in a value', async () => {
    writeFileSync(join(dir, 'credstash.toml'), '[credential_store]\ntype = "specmem"\n');
    const r = await runCliInProcess(['migrate', '--from', 'specmem:label=a/b', '--to', 'local:path=./ks.json'], { cwd: dir, env: { HOME: dir, CREDSTASH_FERNET_KEY: `${'A'.repeat(43)}=` } });
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^copied 1 version\(s\) from memory store "m"/);
  });
});
