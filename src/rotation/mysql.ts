/**
 * The mysql rotator, for MySQL and MariaDB (driver: mysql2, an optional peer dependency loaded on first use).
 *
 * - single: `ALTER USER 'user'@'host' IDENTIFIED BY '<new>'` as the admin, or as the user itself when no
 *   admin is given (`SET PASSWORD = PASSWORD('<new>')` on MariaDB, `ALTER USER USER() IDENTIFIED BY '<new>'`
 *   on MySQL: changing one's own password needs no privilege). The account's host is the value's `user_host`, else option `user_host`, else `%`.
 * - alternating: two users, both granted the owner role (`options.owner`, which must exist and hold the
 *   application's privileges) as their default role (`GRANT owner TO u; SET DEFAULT ROLE owner FOR u` on
 *   MariaDB, `SET DEFAULT ROLE owner TO u` on MySQL). Privileges are database-level, so both users use
 *   the tables either creates. The user NOT in `current.user` is created when missing and gets the password.
 *
 * ALTER USER takes no bind parameter, so the password is written into the statement as a literal, quoted for
 * the session's sql_mode (src/rotation/quote.ts). mysql2's errors carry the statement (`sql`) and the
 * server's message may quote it: only the error's code is ever used.
 */
import { ConfigError } from '../core/errors.js';
import type { JsonObject } from '../core/types.js';
import { loadMysql2 } from '../stores/sql/sql-packages.js';
import {
  asStep,
  checkPassword,
  checkStrategy,
  describeTarget,
  field,
  optionalField,
  pendingValue,
  portField,
  secondsOption,
  stepError,
  ownerOption,
  stringOption,
  unusablePassword,
  wantsTls,
  type ValueRole,
} from './common.js';
import { mysqlAccount, mysqlLiteral } from './quote.js';
import type { Rotator, RotatorInput, RotationStep, RotationStrategy } from './types.js';

/** mysql2's promise connection, typed through the loader (this layer never names a driver package itself). */
type Conn = ReturnType<ReturnType<Awaited<ReturnType<typeof loadMysql2>>['createConnection']>['promise']>;

/** mysql2 error code -> what it means here. */
export const MYSQL_FAILURES: Readonly<Record<string, string>> = {
  ER_ACCESS_DENIED_ERROR: 'access denied (wrong user or password)',
  ER_DBACCESS_DENIED_ERROR: 'access to the database denied',
  ER_SPECIFIC_ACCESS_DENIED_ERROR: 'permission denied (the admin needs CREATE USER, or UPDATE on the mysql database)',
  ER_TABLEACCESS_DENIED_ERROR: 'permission denied (the admin needs CREATE USER, or UPDATE on the mysql database)',
  ER_CANNOT_USER: 'the user operation failed (no such user, or the admin may not change it)',
  ER_PASSWORD_NO_MATCH: 'no such user',
  ER_NONEXISTING_GRANT: 'no such user or grant',
  ER_BAD_DB_ERROR: 'database does not exist',
  ER_INVALID_ROLE: 'the owner role does not exist; create it and grant it the application privileges',
  ER_NOT_VALID_PASSWORD: "the server's password policy refused the new password",
  ER_OPTION_PREVENTS_STATEMENT: 'the server is read-only',
  ER_CON_COUNT_ERROR: 'too many connections',
  ER_HOST_NOT_PRIVILEGED: 'this host may not connect',
  ER_ACCOUNT_HAS_BEEN_LOCKED: 'the account is locked',
  ER_MUST_CHANGE_PASSWORD_LOGIN: 'the password has expired',
  ER_USER_LOCK_WRONG_NAME: 'invalid user name',
};

const DEFAULT_PORT = 3306;

interface Endpoint {
  host: string;
  port: number;
  user: string;
  password: string;
  database?: string;
  ssl: boolean;
}

function endpoint(input: RotatorInput, value: JsonObject, role: ValueRole): Endpoint {
  const base = input.current;
  const host = optionalField(input, value, role, 'host') ?? field(input, base, 'current', 'host');
  const database = optionalField(input, value, role, 'database') ?? (role === 'admin' ? undefined : optionalField(input, base, 'current', 'database'));
  return {
    host,
    port: value.port === undefined ? portField(input, base, 'current', DEFAULT_PORT) : portField(input, value, role, DEFAULT_PORT),
    user: field(input, value, role, 'user'),
    password: role === 'admin' && (value.password === undefined || value.password === '') ? '' : checkPassword(input, value.password, role),
    ...(database === undefined ? {} : { database }),
    ssl: wantsTls(value) || (value.host === undefined && wantsTls(base)),
  };
}

/** The account host of a user: the value's `user_host`, the option `user_host`, else `%`. */
function userHost(input: RotatorInput, value: JsonObject, role: ValueRole): string {
  return optionalField(input, value, role, 'user_host') ?? stringOption(input, 'user_host') ?? '%';
}

function target(e: Endpoint, user: string): string {
  return describeTarget('mysql', e.host, e.port, user);
}

async function connect(input: RotatorInput, e: Endpoint): Promise<Conn> {
  const mysql = await loadMysql2('the mysql rotator');
  const core = mysql.createConnection({
    host: e.host,
    port: e.port,
    user: e.user,
    password: e.password,
    ...(e.database === undefined ? {} : { database: e.database }),
    ...(e.ssl ? { ssl: {} } : {}),
    connectTimeout: secondsOption(input, 'connect_timeout_seconds', 10) * 1000,
    charset: 'utf8mb4',
  });
  await new Promise<void>((resolve, reject) => {
    core.once('connect', () => resolve());
    core.once('error', reject);
  });
  core.on('error', () => undefined); // a dropped connection surfaces on the next query
  return core.promise();
}

async function withConn<T>(input: RotatorInput, e: Endpoint, fn: (c: Conn, s: Session) => Promise<T>): Promise<T> {
  const c = await connect(input, e);
  try {
    return await fn(c, await session(c));
  } finally {
    await c.end().catch(() => undefined);
  }
}

interface Session {
  mariadb: boolean;
  noBackslashEscapes: boolean;
}

async function session(c: Conn): Promise<Session> {
  const [rows] = await c.query('SELECT VERSION() AS v, @@SESSION.sql_mode AS m');
  const row = (rows as Array<{ v?: unknown; m?: unknown }>)[0] ?? {};
  return { mariadb: /mariadb/i.test(String(row.v ?? '')), noBackslashEscapes: /NO_BACKSLASH_ESCAPES/i.test(String(row.m ?? '')) };
}

function run<T>(input: RotatorInput, step: RotationStep, where: string, fn: () => Promise<T>): Promise<T> {
  return asStep(input, step, where, MYSQL_FAILURES, fn);
}

function isAuthFailure(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'ER_ACCESS_DENIED_ERROR';
}

/** As postgres.ts's setPassword: as the admin, or as the user itself (then a refused login with `from` is retried with `password`). */
async function setPassword(input: RotatorInput, step: RotationStep, from: Endpoint, host: string, password: string): Promise<void> {
  const where = target(from, from.user);
  if (input.admin !== undefined) {
    const admin = endpoint(input, input.admin, 'admin');
    await run(input, step, where, () =>
      withConn(input, admin, (c, s) => c.query(`ALTER USER ${mysqlAccount(from.user, host, s.noBackslashEscapes)} IDENTIFIED BY ${mysqlLiteral(password, s.noBackslashEscapes)}`)),
    );
    return;
  }
  await run(input, step, where, async () => {
    let c: Conn;
    try {
      c = await connect(input, from);
    } catch (err) {
      if (!isAuthFailure(err)) throw err;
      await withConn(input, { ...from, password }, async () => undefined); // already set?
      return;
    }
    try {
      const s = await session(c);
      // one's own password, no privilege needed: MariaDB's SET PASSWORD (its ALTER USER wants CREATE USER), MySQL's ALTER USER USER()
      const literal = mysqlLiteral(password, s.noBackslashEscapes);
      await c.query(s.mariadb ? `SET PASSWORD = PASSWORD(${literal})` : `ALTER USER USER() IDENTIFIED BY ${literal}`);
    } finally {
      await c.end().catch(() => undefined);
    }
  });
}


function pairOf(input: RotatorInput, pending: JsonObject): { cur: Endpoint; next: Endpoint; admin: Endpoint } {
  const cur = endpoint(input, input.current, 'current');
  const next = endpoint(input, pending, 'pending');
  if (next.user === cur.user) throw new ConfigError('rotation: the alternating strategy needs a pending user other than the current one', { path: 'options.users' });
  return { cur, next, admin: input.admin === undefined ? cur : endpoint(input, input.admin, 'admin') };
}

const STRATEGIES: readonly RotationStrategy[] = ['single', 'alternating'];

export const mysqlRotator: Rotator = {
  name: 'mysql',
  strategies: STRATEGIES,

  pending(input, newPassword) {
    checkStrategy(input, 'mysql', STRATEGIES);
    return pendingValue(input, newPassword);
  },

  async set(input, pending) {
    checkStrategy(input, 'mysql', STRATEGIES);
    if (input.strategy === 'single') {
      const cur = endpoint(input, input.current, 'current');
      await setPassword(input, 'set', cur, userHost(input, input.current, 'current'), checkPassword(input, pending.password));
      return;
    }
    const owner = ownerOption(input, 'mysql', "the role holding the application's privileges");
    const { cur, next, admin } = pairOf(input, pending);
    const curHost = userHost(input, input.current, 'current');
    const nextHost = userHost(input, pending, 'pending');
    await run(input, 'set', target(next, next.user), () =>
      withConn(input, admin, async (c, s) => {
        const nb = s.noBackslashEscapes;
        const account = mysqlAccount(next.user, nextHost, nb);
        const password = mysqlLiteral(next.password, nb);
        // created with its password (never a moment without one), or given it when it exists
        await c.query(`CREATE USER IF NOT EXISTS ${account} IDENTIFIED BY ${password}`);
        await c.query(`ALTER USER ${account} IDENTIFIED BY ${password}`);
        const role = s.mariadb ? mysqlLiteral(owner, nb) : mysqlAccount(owner, '%', nb);
        for (const acct of [mysqlAccount(cur.user, curHost, nb), account]) {
          await c.query(`GRANT ${role} TO ${acct}`);
          await c.query(s.mariadb ? `SET DEFAULT ROLE ${role} FOR ${acct}` : `SET DEFAULT ROLE ${role} TO ${acct}`);
        }
      }),
    );
  },

  async test(input, pending) {
    const next = endpoint(input, pending, 'pending');
    await run(input, 'test', target(next, next.user), () =>
      withConn(input, next, async (c) => {
        const [rows] = await c.query('SELECT USER() AS u');
        const u = String((rows as Array<{ u?: unknown }>)[0]?.u ?? '');
        if (u.slice(0, u.lastIndexOf('@')) !== next.user) throw stepError(input, 'test', target(next, next.user), 'logged in, but as another user');
      }),
    );
  },

  async revert(input, pending) {
    checkStrategy(input, 'mysql', STRATEGIES);
    if (input.strategy === 'single') {
      const cur = endpoint(input, input.current, 'current');
      const next = endpoint(input, pending, 'pending');
      await setPassword(input, 'revert', { ...cur, password: next.password }, userHost(input, input.current, 'current'), cur.password);
      return;
    }
    // alternating: the current user was never changed; the pending one gets a random password nobody
    // knows (MySQL has no "no password" that refuses logins), keeping its grants for the next rotation
    const { next, admin } = pairOf(input, pending);
    const nextHost = userHost(input, pending, 'pending');
    await run(input, 'revert', target(next, next.user), () =>
      withConn(input, admin, async (c, s) => {
        // IF EXISTS: a user that set never got to create needs nothing undone
        const account = mysqlAccount(next.user, nextHost, s.noBackslashEscapes);
        await c.query(`ALTER USER IF EXISTS ${account} IDENTIFIED BY ${mysqlLiteral(unusablePassword(), s.noBackslashEscapes)}`);
      }),
    );
  },
};
