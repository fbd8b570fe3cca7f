import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CANARY, expectNoLeak } from '../../helpers/no-leak.js';
import { BIN, cleanEnv, expectCleanStderr, runCli, type CliResult } from '../../helpers/cli.js';

// The operator commands (docs/operations.md) as a real process against the local keystore tier.
let dir: string;
let env: NodeJS.ProcessEnv;
const cli = (args: string[], input?: string, extraEnv: Record<string, string> = {}): Promise<CliResult> =>
  runCli(args, { cwd: dir, env: { ...env, ...extraEnv }, ...(input === undefined ? {} : { input }) });
const TRICKY = `it's "q" $HOME \`x\` \\ ${CANARY}\nline2\n`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'credstash-ops-'));
  env = cleanEnv(dir);
  expect((await cli(['init'])).code).toBe(0);
  for (const [id, value, ...ctx] of [
    ['app.db-password', TRICKY],
    ['app.api', 'k1'],
    ['prod.db', 'p1', 'env=prod'],
  ] as string[][]) {
    expect((await cli(['put', id!, value!, ...ctx])).code).toBe(0);
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const NODE = process.execPath;
/** A child that prints NAMES' values (NUL-separated) to stdout. */
const printer = (...names: string[]): string[] => [NODE, '-e', `process.stdout.write([${names.map((n) => JSON.stringify(n)).join(',')}].map(n => n + '=' + (process.env[n] ?? '<unset>')).join('\\0'))`];

describe('credstash exec', () => {
  it('runs the command with the credentials as upper-cased, _-separated variables and the rest of the environment', async () => {
    const r = await cli(['exec', '--', ...printer('APP_DB_PASSWORD', 'APP_API', 'FROM_PARENT', 'PROD_DB')], undefined, { FROM_PARENT: 'yes' });
    expect(r.stderr).toBe('credstash: warning: skipped 1 credential(s) that could not be read: prod.db (ERR_ENCRYPTION_CONTEXT_MISMATCH)\n');
    expect(r.code).toBe(0);
    expect(r.stdout.split('\0')).toEqual([`APP_DB_PASSWORD=${TRICKY}`, 'APP_API=k1', 'FROM_PARENT=yes', 'PROD_DB=<unset>']);
  });

  it('uses the context, strips the prefix, and with --pristine passes nothing else but PATH/HOME', async () => {
    const r = await cli(['exec', '--pristine', '-p', 'prod.', 'env=prod', '--', ...printer('DB', 'FROM_PARENT', 'HOME')], undefined, { FROM_PARENT: 'yes' });
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout.split('\0')).toEqual(['DB=p1', 'FROM_PARENT=<unset>', `HOME=${dir}`]);
  });

  it('passes the exit code through', async () => {
    const r = await cli(['exec', '-p', 'app.', '--', NODE, '-e', 'process.exit(42)']);
    expect(r).toEqual({ code: 42, stdout: '', stderr: '' });
  });

  it('refuses two ids that map to one variable, and runs nothing', async () => {
    const d = mkdtempSync(join(tmpdir(), 'credstash-clash-'));
    const e = cleanEnv(d);
    expect((await runCli(['init'], { cwd: d, env: e })).code).toBe(0);
    await runCli(['put', 'a.b', CANARY], { cwd: d, env: e });
    await runCli(['put', 'a-b', CANARY], { cwd: d, env: e });
    const marker = join(d, 'ran');
    const r = await runCli(['exec', '--', NODE, '-e', `require('fs').writeFileSync(${JSON.stringify(marker)}, 'x')`], { cwd: d, env: e });
    expect(r).toEqual({ code: 1, stdout: '', stderr: 'credstash: credentials "a-b" and "a.b" both map to the environment variable A_B; rename one or narrow the selection\n' });
    expect(existsSync(marker)).toBe(false);
    rmSync(d, { recursive: true, force: true });
  });

  it('--strict fails on an unreadable credential and on a variable it would replace', async () => {
    const r1 = await cli(['exec', '--strict', '--', NODE, '-e', '0']);
    expect(r1.code).toBe(1);
    expect(r1.stderr).toMatch(/^credstash: 1 credential\(s\) in local keystore .* could not be read; first: credential "prod.db"/);
    const r2 = await cli(['exec', '--strict', '-p', 'app.', '--', NODE, '-e', '0'], undefined, { API: 'already' });
    expect(r2).toEqual({ code: 1, stdout: '', stderr: 'credstash: --strict: API already set in the environment; the credential would replace it\n' });
    expectNoLeak(r1.stderr + r2.stderr, CANARY);
  });

  it('exits 2 without a command and 1 for a command that does not exist', async () => {
    const r1 = await cli(['exec']);
    expect(r1.code).toBe(2);
    expect(r1.stderr).toBe("credstash: no command given; put it after --, e.g. credstash exec -- ./server\nrun 'credstash exec --help' for usage\n");
    const r2 = await cli(['exec', '--', 'no-such-command-xyz']);
    expect(r2).toEqual({ code: 1, stdout: '', stderr: 'credstash: command "no-such-command-xyz" not found in PATH\n' });
  });

  /** Start `credstash exec -- node -e SCRIPT`, wait for "ready" on stdout, send SIG to credstash. */
  function execAndSignal(script: string, sig: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(NODE, [BIN, 'exec', '-p', 'app.', '--', NODE, '-e', script], { cwd: dir, env, stdio: ['pipe', 'pipe', 'inherit'] });
      let stdout = '';
      let sent = false;
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        stdout += d;
        if (!sent && stdout.includes('ready')) {
          sent = true;
          child.kill(sig);
        }
      });
      child.on('error', reject);
      child.on('close', (code, signal) => resolve({ code, signal, stdout }));
    });
  }

  it('forwards SIGTERM and SIGINT to the command and passes its exit code back', async () => {
    const trap = (s: string, code: number): string => `process.on('${s}', () => { process.stdout.write(' got ${s}'); process.exit(${code}); }); process.stdout.write('ready'); setInterval(() => {}, 1000);`;
    expect(await execAndSignal(trap('SIGTERM', 7), 'SIGTERM')).toEqual({ code: 7, signal: null, stdout: 'ready got SIGTERM' });
    expect(await execAndSignal(trap('SIGINT', 9), 'SIGINT')).toEqual({ code: 9, signal: null, stdout: 'ready got SIGINT' });
  });

  it('dies of the same signal as the command', async () => {
    const r = await execAndSignal("process.stdout.write('ready'); setInterval(() => {}, 1000);", 'SIGTERM');
    expect(r).toEqual({ code: null, signal: 'SIGTERM', stdout: 'ready' });
    const k = await execAndSignal("process.stdout.write('ready'); setTimeout(() => process.kill(process.pid, 'SIGKILL'), 10); setInterval(() => {}, 1000);", 'SIGUSR2');
    // SIGUSR2 is relayed (node's default action for it is to exit by that signal)
    expect(k.signal).toBe('SIGUSR2');
  });
});

describe('credstash env', () => {
  it('prints export lines whose values survive eval in bash exactly', async () => {
    const r = await cli(['env', '-p', 'app.']);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe("export API='k1'");
    const out = await new Promise<string>((resolve, reject) => {
      execFile('bash', ['-c', `eval "$(${JSON.stringify(NODE)} ${JSON.stringify(BIN)} env -p app.)"; printf %s "$DB_PASSWORD"`], { cwd: dir, env }, (err, stdout) => (err === null ? resolve(stdout) : reject(err)));
    });
    expect(out).toBe(TRICKY);
  });

  it('--strict fails when a credential cannot be read with the context, without leaking', async () => {
    const r = await cli(['env', '--strict']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expectCleanStderr(r.stderr);
    expectNoLeak(r.stderr, CANARY);
  });
});

describe('credstash export / import', () => {
  it.each(['json', 'yaml', 'csv', 'dotenv'] as const)('exports -f %s to a 0600 file that imports back unchanged', async (format) => {
    const file = join(dir, `out-${format}.${format === 'dotenv' ? 'env' : format}`);
    const r = await cli(['export', '-f', format, '-o', file, '--pattern', 'app.*']);
    expect(r).toEqual({ code: 0, stdout: `exported 2 credential(s) to ${file}\n`, stderr: '' });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    const back = await cli(['import', file]);
    if (format === 'dotenv') {
      // dotenv names are shell variable names, built as exec builds them: they import as new ids
      expect(back.stdout).toBe(`stored APP_API version 1\nstored APP_DB_PASSWORD version 1\nimported 2 of 2 credential(s) from ${file}; skipped 0\n`);
      expect((await cli(['get', 'APP_DB_PASSWORD', '-n'])).stdout).toBe(TRICKY);
    } else {
      expect(back).toEqual({
        code: 0,
        stderr: '',
        stdout: `skipped app.api (line 1): unchanged (version 1 holds the same value)\nskipped app.db-password (line 2): unchanged (version 1 holds the same value)\nimported 0 of 2 credential(s) from ${file}; skipped 2\n`.replace(/ \(line \d\)/g, format === 'csv' ? '$&' : ''),
      });
    }
  });

  it('writes to stdout by default and refuses to replace a file without --force', async () => {
    const r = await cli(['export', '-f', 'json', '--pattern', 'app.api']);
    expect(r).toEqual({ code: 0, stdout: '{\n    "app.api": "k1"\n}\n', stderr: '' });
    const file = join(dir, 'exists.json');
    writeFileSync(file, 'old');
    const r2 = await cli(['export', '-o', file]);
    expect(r2).toEqual({ code: 1, stdout: '', stderr: `credstash: ${file} already exists; use --force to replace it\n` });
    expect(readFileSync(file, 'utf8')).toBe('old');
    expect((await cli(['export', '-o', file, '--force', '--skip-errors'])).code).toBe(0);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ 'app.api': 'k1' });
  });

  it('imports a new version per changed credential with the context, from stdin with -f', async () => {
    const r = await cli(['import', '-', '-f', 'json', 'env=prod', '-c', 'bulk'], JSON.stringify({ 'prod.db': 'p2', 'prod.new': { user: 'u' } }));
    expect(r).toEqual({ code: 0, stderr: '', stdout: 'stored prod.db version 2\nstored prod.new version 1\nimported 2 of 2 credential(s) from stdin; skipped 0\n' });
    expect((await cli(['get', 'prod.new', 'env=prod', '--field', 'user'])).stdout).toBe('u\n');
  });

  it('reports per-credential failures and exits 1; a bad file is described by line, never quoted', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ 'ok.one': 'x', 'bad*id': CANARY }));
    const r = await cli(['import', bad]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(`stored ok.one version 1\nskipped bad*id: credential id must not contain * (it is the wildcard)\nimported 1 of 2 credential(s) from ${bad}; skipped 1\n`);
    expect(r.stderr).toBe(`credstash: 1 credential(s) from ${bad} could not be imported (listed above)\n`);
    const broken = join(dir, 'broken.env');
    writeFileSync(broken, `A=1\nB='${CANARY}\n`);
    const r2 = await cli(['import', broken]);
    expect(r2).toEqual({ code: 1, stdout: '', stderr: `credstash: ${broken} line 2: a single-quoted value is not closed\n` });
    expectNoLeak(r.stdout + r.stderr + r2.stderr, CANARY);
  });

  it('exits 2 for an unknown format or an unreadable file', async () => {
    expect(await cli(['import', 'x.txt'])).toMatchObject({ code: 2, stderr: "credstash: cannot tell the format of x.txt; use -f json|yaml|csv|dotenv\nrun 'credstash import --help' for usage\n" });
    expect((await cli(['import', 'missing.json'])).stderr.split('\n')[0]).toBe('credstash: cannot read missing.json (ENOENT)');
  });
});

describe('credstash migrate', () => {
  it('copies every version to another store, and a second run copies nothing', async () => {
    await cli(['put', 'app.api', 'k2', '-a']);
    const r = await cli(['migrate', '--to', 'local:path=copy.json', '--all-versions', '--pattern', 'app.*']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^copied 3 version\(s\) from local keystore ".*keystore.json" to local keystore ".*copy.json"; 0 already done; 0 failed \(of 3\)\n$/);
    const again = await cli(['migrate', '--to', 'local:path=copy.json', '--all-versions', '--pattern', 'app.*']);
    expect(again.stdout).toMatch(/^copied 0 version\(s\) .*; 3 already done; 0 failed \(of 3\)\n$/);
    const back = await cli(['--store-type', 'local', 'get', 'app.api', '-v', '1'], undefined, {});
    expect(back.stdout).toBe('k1\n');
    const fromCopy = await cli(['migrate', '--from', 'local:path=copy.json', '--to', 'local:path=copy2.json']);
    expect(fromCopy.stdout).toMatch(/^copied 2 version\(s\)/);
  });

  it('reports what it could not copy (another context) on stderr, exits 1, and leaks nothing', async () => {
    const r = await cli(['migrate', '--to', 'local:path=ctx.json', '--pattern', 'prod.*']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^copied 0 version\(s\) .*; 0 already done; 2 failed \(of 2\)\n$/);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^credstash: prod.db version 2: credential "prod.db" (version 2 )?could not be decrypted/);
    expect(lines.at(-1)).toBe('credstash: 2 version(s) could not be migrated (listed above); fix them and run the same command again');
    expectCleanStderr(r.stderr);
    const ok = await cli(['migrate', '--to', 'local:path=ctx.json', '--pattern', 'prod.*', 'env=prod']);
    expect(ok.stdout).toMatch(/^copied 2 version\(s\)/);
  });

  it('re-encrypts in place, once, what is not under the first key, whatever its comment says', async () => {
    const d = mkdtempSync(join(tmpdir(), 'credstash-reenc-'));
    const e = cleanEnv(d);
    await runCli(['init'], { cwd: d, env: e });
    await runCli(['put', 'x', CANARY], { cwd: d, env: e });
    // The note a re-encrypted version carries decides nothing: y is under the old key like x.
    await runCli(['put', 'y', 'yv', '-c', 'set by hand [re-encrypted from version 1]'], { cwd: d, env: e });
    // A new first key (what rotate-key does before re-encrypting): x and y are now under an older key.
    const toml = join(d, 'credstash.toml');
    writeFileSync(toml, readFileSync(toml, 'utf8').replace(/keys = \["/, `keys = ["${randomBytes(32).toString('base64url')}=", "`));
    await runCli(['put', 'z', 'zv'], { cwd: d, env: e });
    const r1 = await runCli(['migrate', '--reencrypt'], { cwd: d, env: e });
    expect(r1.stdout).toMatch(/^re-encrypted 2 credential\(s\) in local keystore .*; 1 already done; 0 failed \(of 3\)\n$/);
    const r2 = await runCli(['migrate', '--reencrypt'], { cwd: d, env: e });
    expect(r2.stdout).toMatch(/^re-encrypted 0 credential\(s\) .*; 3 already done/);
    const list = await runCli(['list'], { cwd: d, env: e });
    expect(list.stdout).toMatch(/x +-- version 0+2 -- comment \[re-encrypted from version 1\]/);
    expect(list.stdout).toMatch(/y +-- version 0+2 -- comment set by hand \[re-encrypted from version 1\] \[re-encrypted from version 1\]/);
    expect((await runCli(['get', 'x'], { cwd: d, env: e })).stdout).toBe(`${CANARY}\n`);
    expectNoLeak(r1.stdout + r1.stderr + r2.stdout + list.stdout, CANARY);
    rmSync(d, { recursive: true, force: true });
  });

  it('exits 2 for a missing or malformed store and for the same store twice', async () => {
    expect((await cli(['migrate'])).stderr.split('\n')[0]).toBe('credstash: give --from STORE, --to STORE or both (the other side is the configured store)');
    expect((await cli(['migrate', '--to', 'Local!'])).stderr.split('\n')[0]).toBe('credstash: a store is a config file path or TYPE:key=value,... (e.g. local:path=./ks.json)');
    expect((await cli(['migrate', '--to', 'local:path'])).stderr.split('\n')[0]).toBe('credstash: store local: "path" is not key=value');
    const same = await cli(['migrate', '--from', 'local:path=a.json', '--to', 'local:path=a.json']);
    expect(same.code).toBe(2);
    expect((await cli(['migrate', '--to', 'nosuchtype:x=1'])).stderr.split('\n')[0]).toMatch(/^credstash: unknown store type "nosuchtype"; known types: /);
  });
});

describe('credstash prune', () => {
  it('deletes all but the newest N versions', async () => {
    for (let i = 0; i < 3; i++) await cli(['put', 'pr.x', `v${i}`, '-a']);
    const r = await cli(['prune', 'pr.x', '--keep', '1']);
    expect(r).toEqual({ code: 0, stderr: '', stdout: 'Deleting pr.x -- version 1\nDeleting pr.x -- version 2\nkept 1 version(s) of pr.x: 3\n' });
    expect((await cli(['get', 'pr.x'])).stdout).toBe('v2\n');
  });

  it('refuses --keep 0 (usage) and an unknown id (not found)', async () => {
    expect((await cli(['prune', 'pr.x', '--keep', '0'])).code).toBe(2);
    const r = await cli(['prune', 'nope', '--keep', '1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^credstash: credential "nope" not found in local keystore/);
  });
});

describe('audit log through the CLI (CREDSTASH_AUDIT_LOG)', () => {
  it('leaves one value-free line per access', async () => {
    const log = join(dir, 'audit', 'audit.jsonl');
    const a = { CREDSTASH_AUDIT_LOG: log };
    await cli(['put', 'au.x', CANARY], undefined, a);
    await cli(['get', 'au.x'], undefined, a);
    await cli(['get', 'au.missing'], undefined, a);
    const lines = readFileSync(log, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => [l.action, l.id, l.outcome])).toEqual([['put', 'au.x', 'started'], ['put', 'au.x', 'ok'], ['get', 'au.x', 'ok'], ['get', 'au.missing', 'not_found']]);
    expect(statSync(log).mode & 0o777).toBe(0o600);
    expectNoLeak(readFileSync(log, 'utf8'), CANARY);
  });
});
