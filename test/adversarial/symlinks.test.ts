/**
 * Planted symlinks: at every path credstash writes (keystore, its lock, the SQLite database, the audit log,
 * credstash.toml, `export -o`, `render -o`) a symlink to a file elsewhere, or a dangling one, is never written
 * through: either the write is refused with one clear line, or the symlink itself is replaced by a regular 0600
 * file. The file it pointed at keeps its content and mode, and a dangling target is never created.
 */
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanEnv, runCli } from '../helpers/cli.js';
import { CANARY } from '../helpers/no-leak.js';

const root = mkdtempSync(join(tmpdir(), 'credstash-adv-symlink-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

/** A project with a local keystore; `outside` is a file that must stay as it is. */
async function project(): Promise<{ dir: string; env: NodeJS.ProcessEnv; outside: string; nowhere: string }> {
  const dir = join(root, `p${++n}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const env = cleanEnv(dir);
  expect((await runCli(['init'], { cwd: dir, env })).code).toBe(0);
  const outside = join(root, `outside-${n}.txt`);
  writeFileSync(outside, 'precious\n', { mode: 0o644 });
  return { dir, env, outside, nowhere: join(root, `nowhere-${n}`) };
}

function untouched(outside: string, nowhere: string): void {
  expect(readFileSync(outside, 'utf8')).toBe('precious\n');
  expect(statSync(outside).mode & 0o777).toBe(0o644);
  expect(existsSync(nowhere)).toBe(false);
}

describe('planted symlinks are never written through', () => {
  it('keystore.json as a dangling symlink: the put replaces the link with a regular 0600 keystore', async () => {
    const p = await project();
    const ks = join(p.dir, '.credstash', 'keystore.json');
    rmSync(ks, { force: true });
    symlinkSync(p.nowhere, ks);
    const r = await runCli(['put', 'a.b', '-'], { cwd: p.dir, env: p.env, input: CANARY });
    expect(r.code, r.stderr).toBe(0);
    expect(lstatSync(ks).isFile()).toBe(true);
    expect(statSync(ks).mode & 0o777).toBe(0o600);
    untouched(p.outside, p.nowhere);
  });

  it('keystore.json as a symlink to another file: refused (not a keystore), the file untouched', async () => {
    const p = await project();
    const ks = join(p.dir, '.credstash', 'keystore.json');
    rmSync(ks, { force: true });
    symlinkSync(p.outside, ks);
    const r = await runCli(['put', 'a.b', '-'], { cwd: p.dir, env: p.env, input: CANARY });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^credstash: keystore ".*" is not valid JSON.*; it was left untouched\n$/);
    untouched(p.outside, p.nowhere);
  });

  it('the audit log as a symlink: the put is refused before anything is stored', async () => {
    const p = await project();
    const log = join(p.dir, 'audit.jsonl');
    symlinkSync(p.outside, log);
    const r = await runCli(['put', 'a.b', '-'], { cwd: p.dir, env: { ...p.env, CREDSTASH_AUDIT_LOG: log }, input: CANARY });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `credstash: audit log "${log}" is a symbolic link; credstash does not follow one (set audit_log to the file itself); could not record put of credential "a.b"; the put was refused and nothing was written\n`,
    );
    expect((await runCli(['list'], { cwd: p.dir, env: p.env })).stdout).not.toContain('a.b');
    untouched(p.outside, p.nowhere);
  });

  it('the SQLite database as a dangling symlink: refused, the target never created', async () => {
    const p = await project();
    const db = join(p.dir, 'creds.db');
    symlinkSync(p.nowhere, db);
    const r = await runCli(['--config', writeSqlConfig(p.dir), 'list'], { cwd: p.dir, env: p.env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`sqlite database "${db}" is a symbolic link; credstash does not follow one`);
    untouched(p.outside, p.nowhere);
  });

  for (const [what, args] of [
    ['export -o', ['export', '-o', 'OUT']],
    ['render -o', ['render', 'tpl.json', '-o', 'OUT']],
  ] as const) {
    it(`${what} onto a symlink: the link is replaced (or refused), never written through`, async () => {
      const p = await project();
      writeFileSync(join(p.dir, 'tpl.json'), '{"a": 1}\n');
      expect((await runCli(['put', 'a.b', '-'], { cwd: p.dir, env: p.env, input: CANARY })).code).toBe(0);
      for (const target of [p.outside, p.nowhere]) {
        const out = join(p.dir, `out-${Math.random().toString(36).slice(2)}`);
        symlinkSync(target, out);
        const r = await runCli(args.map((a) => (a === 'OUT' ? out : a)), { cwd: p.dir, env: p.env });
        if (r.code === 0) {
          expect(lstatSync(out).isFile()).toBe(true);
          expect(statSync(out).mode & 0o777).toBe(0o600);
        } else {
          expect(r.stderr).toMatch(/already exists/);
          expect(lstatSync(out).isSymbolicLink()).toBe(true);
        }
        untouched(p.outside, p.nowhere);
      }
    });
  }

  it('init --path onto a dangling symlink is refused; its target is never created', async () => {
    const p = await project();
    const cfg = join(p.dir, 'other.toml');
    symlinkSync(p.nowhere, cfg);
    const refused = await runCli(['init', '--path', cfg], { cwd: p.dir, env: p.env });
    expect(refused.code).toBe(1);
    untouched(p.outside, p.nowhere);
  });
});

function writeSqlConfig(dir: string): string {
  const file = join(dir, 'sql.toml');
  const key = readFileSync(join(dir, 'credstash.toml'), 'utf8').match(/"([A-Za-z0-9_-]{43}=)"/)?.[1] ?? '';
  writeFileSync(file, `[fernet]\nkeys = ["${key}"]\n[credential_store]\ntype = "sql"\n[credential_store.config.engine]\nname = "sqlite"\n[credential_store.config.engine.config]\npath = "creds.db"\n`, { mode: 0o600 });
  return file;
}
