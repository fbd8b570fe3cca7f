/**
 * A private PostgreSQL 15 for one test file, whose TCP logins (127.0.0.1 only) are checked with
 * SCRAM-SHA-256: a wrong password is refused with SQLSTATE 28P01, which the machine's own server (trust for
 * 127.0.0.1) can never show.
 *
 * initdb into a temp folder (0700; as the `postgres` OS user when the tests run as root, since PostgreSQL
 * refuses to run as root), the superuser password from a 0600 file removed right after initdb, the unix
 * socket inside the folder, an ephemeral port, fsync off. `stop()` kills it (immediate shutdown) and removes
 * the folder; so does process exit, if a test file never reached its afterAll.
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const PG15_BIN = '/usr/lib/postgresql/15/bin';

export interface PgScramServer {
  host: '127.0.0.1';
  port: number;
  /** The superuser (`postgres`), whose password is `password`. */
  user: 'postgres';
  password: string;
  /** Immediate shutdown, then the folder is removed. Safe to call twice. */
  stop(): Promise<void>;
}

interface RunAs {
  /** The command prefix: `runuser -u postgres --` as root, nothing otherwise. */
  prefix: string[];
  /** uid/gid the folder must belong to (undefined: the current user's, as created). */
  owner?: { uid: number; gid: number };
}

function osUser(name: string): { uid: number; gid: number } | undefined {
  try {
    const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : undefined;
  } catch {
    return undefined;
  }
}

function runner(): RunAs | string {
  for (const b of ['initdb', 'postgres', 'pg_ctl', 'pg_isready']) {
    if (!existsSync(join(PG15_BIN, b))) return `no PostgreSQL 15 ${b} in ${PG15_BIN}`;
  }
  if (process.getuid?.() !== 0) return { prefix: [] };
  const owner = osUser('postgres');
  if (owner === undefined) return 'running as root and no postgres OS user to run PostgreSQL as';
  if (!existsSync('/usr/sbin/runuser') && !existsSync('/sbin/runuser') && !existsSync('/usr/bin/runuser')) return 'running as root and no runuser to run PostgreSQL as postgres';
  return { prefix: ['runuser', '-u', 'postgres', '--'], owner };
}

/** Why a private PostgreSQL 15 cannot be started here, or undefined when it can. */
export function pgScramUnavailable(): string | undefined {
  const r = runner();
  return typeof r === 'string' ? r : undefined;
}

function run(as: RunAs, bin: string, args: string[], timeoutMs = 60_000): Promise<{ code: number; out: string }> {
  const [cmd, ...rest] = [...as.prefix, join(PG15_BIN, bin), ...args] as [string, ...string[]];
  return new Promise((resolve) => {
    execFile(cmd, rest, { timeout: timeoutMs, encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' } }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1;
      resolve({ code, out: `${stdout}${stderr}`.trim() });
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

const live = new Set<() => void>();
process.once('exit', () => {
  for (const kill of live) kill();
});

/** The postmaster's pid from postmaster.pid, if it is there. */
function postmasterPid(data: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Start a private PostgreSQL 15 (scram-sha-256 for host logins) and wait until it accepts connections. */
export async function startPgScramServer(): Promise<PgScramServer> {
  const as = runner();
  if (typeof as === 'string') throw new Error(`cannot start a private PostgreSQL 15: ${as}`);
  const root = mkdtempSync(join(tmpdir(), 'credstash-pgscram-'));
  chmodSync(root, 0o700);
  const data = join(root, 'data');
  const sock = join(root, 'sock');
  const log = join(root, 'server.log');
  let stopped = false;
  const killNow = (): void => {
    const pid = postmasterPid(data);
    if (pid !== undefined) {
      try {
        process.kill(pid, 'SIGQUIT'); // immediate shutdown
      } catch {
        // gone already
      }
    }
    rmSync(root, { recursive: true, force: true });
  };
  live.add(killNow);
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    try {
      if (postmasterPid(data) !== undefined) {
        const r = await run(as, 'pg_ctl', ['stop', '-D', data, '-m', 'immediate', '-w', '-t', '20']);
        if (r.code !== 0) killNow();
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
      live.delete(killNow);
    }
  };
  try {
    mkdirSync(sock, { mode: 0o700 });
    const password = randomBytes(18).toString('hex');
    const pwfile = join(root, 'pwfile');
    writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
    chmodSync(pwfile, 0o600);
    if (as.owner !== undefined) for (const p of [root, sock, pwfile]) chownSync(p, as.owner.uid, as.owner.gid);
    let init: { code: number; out: string };
    try {
      init = await run(as, 'initdb', ['-D', data, '-U', 'postgres', `--pwfile=${pwfile}`, '--auth-host=scram-sha-256', '--auth-local=trust', '-N', '-E', 'UTF8', '--locale=C']);
    } finally {
      rmSync(pwfile, { force: true });
    }
    if (init.code !== 0) throw new Error(`initdb failed (exit ${init.code}): ${init.out.split('\n').slice(-5).join(' | ')}`);
    const conf = [
      "listen_addresses = '127.0.0.1'",
      `unix_socket_directories = '${sock}'`,
      "password_encryption = 'scram-sha-256'",
      'fsync = off',
      'synchronous_commit = off',
      'full_page_writes = off',
      'shared_buffers = 16MB',
      'max_connections = 40',
      'max_wal_senders = 0',
      "wal_level = 'minimal'",
      'logging_collector = off',
    ];
    appendFileSync(join(data, 'postgresql.conf'), `\n# private test server\n${conf.join('\n')}\n`);
    // a port another process took between freePort and the bind: try another
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const r = await run(as, 'pg_ctl', ['start', '-D', data, '-l', log, '-w', '-t', '30', '-s', '-o', `-p ${port}`]);
      if (r.code === 0) {
        const ready = await run(as, 'pg_isready', ['-h', '127.0.0.1', '-p', String(port), '-t', '20']);
        if (ready.code !== 0) throw new Error(`the private PostgreSQL 15 on port ${port} is not ready: ${ready.out}`);
        return { host: '127.0.0.1', port, user: 'postgres', password, stop };
      }
      const tail = existsSync(log) ? readFileSync(log, 'utf8').split('\n').slice(-5).join(' | ') : r.out;
      if (attempt >= 3 || !/could not bind|address already in use/i.test(tail)) throw new Error(`the private PostgreSQL 15 did not start: ${tail}`);
    }
  } catch (err) {
    await stop();
    throw err;
  }
}
