/**
 * What the CLI prints and leaves behind, attacked through what a table writer controls (credential names and
 * comments: a copied legacy item needs no key) and through the process around it (a closed pipe, a full
 * disk, a signal or SIGKILL in the middle of a write):
 * - dotenv / env output is `eval`-safe: every name a shell identifier, every value restored byte for byte;
 * - exec / env / dotenv refuse names that make programs load code (LD_PRELOAD, NODE_OPTIONS, PATH, ...),
 *   and the command run by exec does not inherit credstash's own keys;
 * - names, comments and error text never reach the terminal with control characters;
 * - a failed write to stdout/stderr is an exit status, never a stack trace;
 * - an interrupted `export -o` / `render -o` leaves no plaintext temp file.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CANARY, expectNoLeak } from '../helpers/no-leak.js';
import { BIN, cleanEnv, expectNoStackTrace, ROOT, runCli, type CliResult } from '../helpers/cli.js';

const NODE = process.execPath;
const SLOW_FSYNC = join(ROOT, 'test/fixtures/slow-fsync.mjs');

interface Project {
  dir: string;
  env: NodeJS.ProcessEnv;
  cli(args: string[], extraEnv?: Record<string, string>): Promise<CliResult>;
}

const projects: string[] = [];
afterAll(() => {
  for (const d of projects) rmSync(d, { recursive: true, force: true });
});

async function project(creds: Array<[string, string, ...string[]]> = []): Promise<Project> {
  const dir = mkdtempSync(join(tmpdir(), 'credstash-out-'));
  projects.push(dir);
  const env = cleanEnv(dir);
  const cli = (args: string[], extraEnv: Record<string, string> = {}): Promise<CliResult> => runCli(args, { cwd: dir, env: { ...env, ...extraEnv } });
  expect((await cli(['init'])).code).toBe(0);
  for (const [id, value, ...rest] of creds) {
    const r = await cli(['put', id, value, ...rest]);
    expect(r.code, r.stderr).toBe(0);
  }
  return { dir, env, cli };
}

/** Any character a terminal acts on: C0 except the line ends between rows, DEL, C1, bidi controls. */
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

/** Spawn a child and collect its output; `setup` may act on it (close its stdout, signal it). */
function spawnCli(args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; stdout?: 'pipe' | number; nodeArgs?: string[] }, setup?: (child: ReturnType<typeof spawn>) => void): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(NODE, [...(opts.nodeArgs ?? []), BIN, ...args], { cwd: opts.cwd, env: opts.env, stdio: ['ignore', opts.stdout ?? 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stdout?.on('error', () => {});
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    setup?.(child);
  });
}

function bash(script: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv }): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script, 'bash', ...args], { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr }));
  });
}

describe('dotenv and env output under a real bash eval', () => {
  // Every id starts with x (so that `get 'x*'` selects them all). The first is the documented attack: octal
  // escapes survive upper-casing, so before the fix it ran /usr/bin/touch PWNED under eval.
  const IDS = [
    "x;$'\\057\\165\\163\\162\\057\\142\\151\\156\\057\\164\\157\\165\\143\\150' PWNED;y",
    'x$(touch PWNED2)',
    'x`touch PWNED3`',
    'x.db.password',
    'x-db-user',
    "x'quote",
    'x"dq',
    'x\\bs',
    'x!bang',
    'x=eq',
    'x é ünï 😀',
    'x\u202eevil',
  ];
  const VALUES = [
    `it's "q" $(touch PWNED_V) \`touch PWNED_W\` \\ ! !! $HOME ${CANARY}`,
    'line1\nline2\n\n',
    "'",
    "''\\'",
    "$'\\n' ${HOME} %s %n",
    'é 😀 ünï \u202e',
    'tab\there\r\nend',
    '\u0001\u0002\u001b[31m\u007f\u0080\u009b',
    '!$ !-1 ^x^y',
    '\\',
    'a"b\'c`d$e',
    '  leading and trailing  ',
  ];
  /** The rule every name follows: upper-cased, anything but A-Z and 0-9 as `_`. */
  const NAMES = IDS.map((id) => id.toUpperCase().replace(/[^A-Z0-9]/g, '_'));
  let p: Project;

  beforeAll(async () => {
    p = await project(IDS.map((id, i): [string, string] => [id, VALUES[i]!]));
    expect(new Set(NAMES).size).toBe(NAMES.length);
  });

  /** `eval "$(credstash ARGS)"` in bash, then print every expected variable NUL-separated. */
  async function evalAndRead(args: string[]): Promise<{ values: string[]; stderr: string; code: number | null }> {
    const script = 'n=$1; shift; eval "$("$CS_NODE" "$CS_BIN" "${@:1:$n}")"; shift "$n"; for v in "$@"; do printf "%s\\0" "${!v-<unset>}"; done';
    const r = await bash(script, [String(args.length), ...args, ...NAMES], { cwd: p.dir, env: { ...p.env, CS_NODE: NODE, CS_BIN: BIN } });
    const text = r.stdout.toString('utf8');
    return { values: text.split('\0').slice(0, -1), stderr: r.stderr, code: r.code };
  }

  for (const args of [['getall', '-f', 'dotenv'], ['get', 'x*', '-f', 'dotenv'], ['export', '-f', 'dotenv'], ['env']]) {
    it(`eval "$(credstash ${args.join(' ')})" restores every value exactly and runs nothing`, async () => {
      const r = await evalAndRead(args);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.values).toEqual(VALUES);
      expect(readdirSync(p.dir).filter((f) => f.startsWith('PWNED'))).toEqual([]);
    });
  }

  it('writes one NAME=value line per credential whose NAME is a shell identifier', async () => {
    const r = await p.cli(['getall', '-f', 'dotenv']);
    expect(r.code).toBe(0);
    const names = r.stdout.split('\n').filter((l) => /^[A-Z_][A-Z0-9_]*=/.test(l)).map((l) => l.slice(0, l.indexOf('=')));
    expect(names.sort()).toEqual([...NAMES].sort());
  });

  it('refuses two ids that give one name, in every dotenv output, with nothing on stdout', async () => {
    const q = await project([['a.b', CANARY], ['a-b', CANARY]]);
    for (const args of [['getall', '-f', 'dotenv'], ['get', 'a*', '-f', 'dotenv'], ['export', '-f', 'dotenv'], ['env']]) {
      const r = await q.cli(args);
      expect(r).toEqual({ code: 1, stdout: '', stderr: 'credstash: credentials "a-b" and "a.b" both map to the environment variable A_B; rename one or narrow the selection\n' });
    }
  });
});

describe('protected variable names (exec, env, dotenv)', () => {
  it('exec refuses a credential that would set NODE_OPTIONS, and runs nothing; --allow-env lets it through', async () => {
    const q = await project();
    const evil = join(q.dir, 'evil.cjs');
    const marker = join(q.dir, 'ran-evil');
    writeFileSync(evil, `require('fs').writeFileSync(${JSON.stringify(marker)}, 'x')`);
    expect((await q.cli(['put', 'node_options', `--require ${evil}`])).code).toBe(0);
    const r = await q.cli(['exec', '--', NODE, '-e', '0']);
    expect(r).toEqual({
      code: 1,
      stdout: '',
      stderr: 'credstash: credential "node_options" would set NODE_OPTIONS, which changes how programs start, what they load or where they connect; allow it by name (--allow-env NODE_OPTIONS) if that is meant\n',
    });
    expect(existsSync(marker)).toBe(false);
    const allowed = await q.cli(['exec', '--allow-env', 'NODE_OPTIONS', '--', NODE, '-e', '0']);
    expect(allowed.code).toBe(0);
    expect(existsSync(marker)).toBe(true);
  });

  it.each([
    ['ld_preload', 'LD_PRELOAD'],
    ['ld.audit', 'LD_AUDIT'],
    ['dyld_insert_libraries', 'DYLD_INSERT_LIBRARIES'],
    ['path', 'PATH'],
    ['ifs', 'IFS'],
    ['bash_env', 'BASH_ENV'],
    ['env', 'ENV'],
    ['ps4', 'PS4'],
    ['prompt_command', 'PROMPT_COMMAND'],
    ['shellopts', 'SHELLOPTS'],
    ['pythonstartup', 'PYTHONSTARTUP'],
    ['perl5opt', 'PERL5OPT'],
    ['rubyopt', 'RUBYOPT'],
    ['java_tool_options', 'JAVA_TOOL_OPTIONS'],
    ['_java_options', '_JAVA_OPTIONS'],
    ['gconv_path', 'GCONV_PATH'],
    ['malloc_check_', 'MALLOC_CHECK_'],
    ['git_ssh_command', 'GIT_SSH_COMMAND'],
    ['lessopen', 'LESSOPEN'],
    ['home', 'HOME'],
    ['credstash_fernet_key', 'CREDSTASH_FERNET_KEY'],
    ['.', '_'],
  ])('credential %s (-> %s) is refused by exec, env and every dotenv output unless allowed', async (id, name) => {
    const q = await project([[id, CANARY]]);
    const message = `credstash: credential "${id}" would set ${name}, which changes how programs start, what they load or where they connect; allow it by name (--allow-env ${name}) if that is meant\n`;
    for (const args of [['exec', '--', NODE, '-e', '0'], ['env'], ['getall', '-f', 'dotenv'], ['export', '-f', 'dotenv'], ['get', '*', '-f', 'dotenv']]) {
      const r = await q.cli(args);
      expect(r, args.join(' ')).toEqual({ code: 1, stdout: '', stderr: message });
    }
    const ok = await q.cli(['getall', '-f', 'dotenv', '--allow-env', name]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toBe(`${name}='${CANARY}'\n\n`);
  });

  it('refuses an --allow-env that is not a variable name as credstash builds it', async () => {
    const q = await project([['a', 'b']]);
    const r = await q.cli(['env', '--allow-env', 'ld_preload']);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe('credstash: --allow-env takes a variable name as credstash builds it: upper-case letters, digits and _');
  });

  it("exec does not pass credstash's own variables (Fernet key, env-tier credentials, VAULT_TOKEN) to the command unless asked", async () => {
    const q = await project([['app', 'v']]);
    const key = /keys = \["([^"]+)"\]/.exec(readFileSync(join(q.dir, 'credstash.toml'), 'utf8'))?.[1] as string;
    const own = { CREDSTASH_FERNET_KEY: key, CREDSTASH_CREDENTIAL_DB: CANARY, VAULT_TOKEN: `hvs.${CANARY}`, KEEP_ME: 'yes' };
    const names = ['APP', 'CREDSTASH_FERNET_KEY', 'CREDSTASH_CREDENTIAL_DB', 'VAULT_TOKEN', 'KEEP_ME'];
    const printer = ['--', NODE, '-e', `process.stdout.write(${JSON.stringify(names)}.map((n) => n + '=' + (process.env[n] ?? '<unset>')).join('\\n'))`];
    const r = await q.cli(['exec', ...printer], own);
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n')).toEqual(['APP=v', 'CREDSTASH_FERNET_KEY=<unset>', 'CREDSTASH_CREDENTIAL_DB=<unset>', 'VAULT_TOKEN=<unset>', 'KEEP_ME=yes']);
    const passed = await q.cli(['exec', '--pass-credstash-env', ...printer], own);
    expect(passed.stdout.split('\n')).toEqual(['APP=v', `CREDSTASH_FERNET_KEY=${key}`, `CREDSTASH_CREDENTIAL_DB=${CANARY}`, `VAULT_TOKEN=hvs.${CANARY}`, 'KEEP_ME=yes']);
  });
});

describe('names, comments and error text on the terminal', () => {
  const PLANTED = [
    { id: 'x\u001b]0;pwned\u0007', comment: '\u001b[2J\u001b[31mred' },
    { id: 'x\u009b31m', comment: 'c1 \u009b0m' },
    { id: 'x\u202etxt.exe', comment: 'bidi \u2066\u2069' },
    { id: 'x\nfake -- version 0000000000000000009 -- comment ok', comment: 'two\nlines\r' },
  ];
  let p: Project;

  beforeAll(async () => {
    p = await project([['plain', 'v', '-c', 'hello']]);
    // A table writer copies an item under any name and edits the unauthenticated comment.
    const file = join(p.dir, '.credstash/keystore.json');
    const store = JSON.parse(readFileSync(file, 'utf8')) as { credentials: Array<Record<string, string>> };
    const base = store.credentials[0]!;
    for (const x of PLANTED) store.credentials.push({ ...base, id: x.id, comment: x.comment });
    writeFileSync(file, JSON.stringify(store));
  });

  it('list and keys escape control characters in names and comments', async () => {
    for (const args of [['list'], ['keys'], ['list', '--latest']]) {
      const r = await p.cli(args);
      expect(r.code).toBe(0);
      expect(r.stdout).not.toMatch(RAW_CONTROL);
      expect(r.stdout).toContain('x\\x1b]0;pwned\\x07');
      expect(r.stdout).toContain('x\\x9b31m');
      expect(r.stdout).toContain('x\\u202etxt.exe');
      expect(r.stdout.split('\n').filter((l) => l !== '')).toHaveLength(5);
    }
    const list = await p.cli(['list']);
    expect(list.stdout).toContain('-- comment \\x1b[2J\\x1b[31mred\n');
    expect(list.stdout).toContain('-- comment two\\x0alines\\x0d\n');
  });

  it('list --json stays exact JSON', async () => {
    const r = await p.cli(['list', '--json']);
    const rows = JSON.parse(r.stdout) as Array<{ name: string; comment: string }>;
    for (const x of PLANTED) expect(rows).toContainEqual({ name: x.id, version: '1', comment: x.comment });
  });

  it('getall --skip-errors and every error line escape the names they quote', async () => {
    const r = await p.cli(['getall', '--skip-errors']);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toMatch(RAW_CONTROL);
    expect(r.stderr).toContain('credstash: skipped "x\\x1b]0;pwned\\x07": credential "x\\x1b]0;pwned\\x07" version 1 failed its integrity check');
    expect(r.stderr.split('\n').filter((l) => l !== '')).toHaveLength(PLANTED.length);
    const g = await p.cli(['get', 'x\u009b31m']);
    expect(g.code).toBe(1);
    expect(g.stderr).toMatch(/^credstash: credential "x\\x9b31m" version 1 failed its integrity check/);
    expect(g.stderr).not.toMatch(RAW_CONTROL);
    const missing = await p.cli(['get', 'nope\u202e']);
    expect(missing.stderr).toMatch(/^credstash: credential "nope\\u202e" not found/);
  });

  it('put and delete print the name escaped', async () => {
    const q = await project();
    const put = await q.cli(['put', 'y\u009b2J\u202e', 'v']);
    expect(put).toMatchObject({ code: 0, stdout: 'y\\x9b2J\\u202e has been stored\n' });
    const del = await q.cli(['delete', 'y\u009b2J\u202e']);
    expect(del).toMatchObject({ code: 0, stdout: 'Deleting y\\x9b2J\\u202e -- version 0000000000000000001\n' });
    const prompted = await runCli(['put', '-P', 'z\u009b2J'], { cwd: q.dir, env: q.env, input: 'v\n' });
    expect(prompted).toMatchObject({ code: 0, stdout: 'z\\x9b2J has been stored\n' });
    expect(prompted.stderr).toMatch(/^z\\x9b2J: /);
    expect(prompted.stderr).not.toMatch(RAW_CONTROL);
  });
});

describe('writes to stdout and stderr that fail', () => {
  let p: Project;
  beforeAll(async () => {
    p = await project(Array.from({ length: 20 }, (_, i): [string, string] => [`k${i}`, `value ${i} ${CANARY}`]));
  });

  for (const args of [['list'], ['get', 'k1'], ['getall'], ['keys']]) {
    it(`credstash ${args.join(' ')} into a closed pipe exits 141 and prints nothing`, async () => {
      const r = await spawnCli(args, { cwd: p.dir, env: p.env }, (child) => child.stdout?.destroy());
      expect(r).toMatchObject({ code: 141, stderr: '' });
    });

    it(`credstash ${args.join(' ')} > /dev/full prints one line and exits 1`, async () => {
      const fd = openSync('/dev/full', 'w');
      try {
        const r = await spawnCli(args, { cwd: p.dir, env: p.env, stdout: fd });
        expect(r).toMatchObject({ code: 1, stderr: 'credstash: cannot write to standard output (ENOSPC)\n' });
      } finally {
        closeSync(fd);
      }
    });
  }

  // A descriptor in non-blocking mode (a parent may set that on a shared pipe) refuses a write that would
  // wait (EAGAIN): the output is not cut short there, the process's stream takes the rest and waits for the
  // reader. python3 makes such a pipe (4 KiB, O_NONBLOCK) and reads it only after a pause.
  const python = spawnSync('python3', ['-c', 'import fcntl'], { encoding: 'utf8' }).status === 0;
  it.skipIf(!python)(`credstash get of a value larger than a full non-blocking pipe prints all of it and exits 0${python ? '' : ' (skipped: python3 is not installed)'}`, async () => {
    const big = `${'x'.repeat(50_000)} ${CANARY}`;
    expect((await p.cli(['put', 'big', big])).code).toBe(0);
    const script = [
      'import fcntl, os, subprocess, sys, time',
      'r, w = os.pipe()',
      'fcntl.fcntl(w, 1031, 4096)', // F_SETPIPE_SZ
      'fcntl.fcntl(w, fcntl.F_SETFL, fcntl.fcntl(w, fcntl.F_GETFL) | os.O_NONBLOCK)',
      'child = subprocess.Popen(sys.argv[1:], stdout=w, stderr=subprocess.PIPE)',
      'os.close(w)',
      'time.sleep(0.5)',
      'out = b""',
      'while True:',
      '    chunk = os.read(r, 65536)',
      '    if not chunk: break',
      '    out += chunk',
      'err = child.stderr.read()',
      'sys.stdout.write("%d %d %s" % (child.wait(), len(out), err.decode()))',
      'sys.stdout.flush()',
      'open(os.environ["OUT_FILE"], "wb").write(out)',
    ].join('\n');
    const outFile = join(p.dir, 'big.out');
    const r = spawnSync('python3', ['-c', script, NODE, BIN, 'get', 'big'], { cwd: p.dir, env: { ...p.env, OUT_FILE: outFile }, encoding: 'utf8' });
    expect(r.stdout).toBe(`0 ${big.length + 1} `);
    expect(readFileSync(outFile, 'utf8')).toBe(`${big}\n`);
  });

  it('a failing command keeps its own exit status and message when stdout is also gone', async () => {
    const r = await spawnCli(['get', 'nope'], { cwd: p.dir, env: p.env }, (child) => child.stdout?.destroy());
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^credstash: credential "nope" not found/);
    expectNoStackTrace(r.stderr);
  });

  it('CREDSTASH_DEBUG=1 on a full disk shows the error and no value', async () => {
    const fd = openSync('/dev/full', 'w');
    try {
      const r = await spawnCli(['get', 'k1'], { cwd: p.dir, env: { ...p.env, CREDSTASH_DEBUG: '1' }, stdout: fd });
      expect(r.code).toBe(1);
      expect(r.stderr).toBe('credstash: cannot write to standard output (ENOSPC)\n');
      expectNoLeak(r.stderr, CANARY);
    } finally {
      closeSync(fd);
    }
  });
});

describe('interrupted export -o and render -o leave no plaintext temp file', () => {
  let p: Project;
  beforeAll(async () => {
    p = await project([['db', CANARY], ['api', 'k']]);
    writeFileSync(join(p.dir, 'tpl.json'), JSON.stringify({ db: '${credential:db}' }));
  });

  const temps = (dir: string, target: string): string[] => readdirSync(dir).filter((f) => f.startsWith(`.${target}.`) && f.endsWith('.tmp'));

  /** Run a writer with the slow-fsync preload; once its temp file exists, send `sig`. */
  function interrupt(args: string[], sig: NodeJS.Signals, at: { dir: string; env: NodeJS.ProcessEnv } = p): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
    const marker = join(at.dir, `fsync-${sig}-${Math.random().toString(16).slice(2)}`);
    return spawnCli(args, { cwd: at.dir, env: { ...at.env, SLOW_FSYNC_MARKER: marker, SLOW_FSYNC_MS: '2000' }, nodeArgs: ['--import', SLOW_FSYNC] }, (child) => {
      const poll = setInterval(() => {
        if (existsSync(marker)) {
          clearInterval(poll);
          child.kill(sig);
        }
      }, 10);
      child.on('close', () => clearInterval(poll));
    });
  }

  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    it(`${sig} while export -o writes: the process dies of ${sig} and no temp file is left`, async () => {
      const target = `out-${sig}.json`;
      const r = await interrupt(['export', '-o', target], sig);
      expect(r.signal).toBe(sig);
      expect(temps(p.dir, target)).toEqual([]);
      // The write had begun: it completes atomically (0600) rather than leaving half of it.
      expect(JSON.parse(readFileSync(join(p.dir, target), 'utf8'))).toEqual({ api: 'k', db: CANARY });
      expect(statSync(join(p.dir, target)).mode & 0o777).toBe(0o600);
    });
  }

  it('SIGTERM while render -o writes: no temp file is left', async () => {
    const r = await interrupt(['render', 'tpl.json', '-o', 'rendered.json'], 'SIGTERM');
    expect(r.signal).toBe('SIGTERM');
    expect(temps(p.dir, 'rendered.json')).toEqual([]);
  });

  it('SIGTERM while init writes credstash.toml (it holds the Fernet key): no temp file is left', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'credstash-out-init-'));
    projects.push(dir);
    const r = await interrupt(['init'], 'SIGTERM', { dir, env: cleanEnv(dir) });
    expect(r.signal).toBe('SIGTERM');
    expect(temps(dir, 'credstash.toml')).toEqual([]);
  });

  it("after a SIGKILL mid-write, the next export to the same file removes the dead writer's temp file, and only that", async () => {
    const target = 'killed.json';
    const r = await interrupt(['export', '-o', target], 'SIGKILL');
    expect(r.signal).toBe('SIGKILL');
    const left = temps(p.dir, target);
    expect(left).toHaveLength(1);
    expect(readFileSync(join(p.dir, left[0]!), 'utf8')).toContain(CANARY);
    // A temp file of a live process (this test runner) and files of other names are not touched.
    const live = `.${target}.${process.pid}.0123456789ab.tmp`;
    writeFileSync(join(p.dir, live), 'live');
    writeFileSync(join(p.dir, `.${target}.x.tmp`), 'other');
    const again = await p.cli(['export', '-o', target]);
    expect(again.code, again.stderr).toBe(0);
    expect(temps(p.dir, target).sort()).toEqual([`.${target}.x.tmp`, live].sort());
  });

  it('a write that fails removes its temp file and says so in one line', async () => {
    const r = await p.cli(['render', 'tpl.json', '-o', '.credstash']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^credstash: cannot write .*\.credstash \((EISDIR|ENOTEMPTY|EEXIST)\)\n$/);
    expect(temps(p.dir, '.credstash')).toEqual([]);
  });
});
