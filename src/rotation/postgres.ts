/**
 * The postgres rotator (driver: pg, an optional peer dependency loaded on first use).
 *
 * - single: `ALTER ROLE "user" PASSWORD '<verifier>'` as the admin, or as the user itself when no admin is
 *   given (a role may always change its own password: `ALTER ROLE CURRENT_USER`). The password is sent as
 *   its SCRAM-SHA-256 verifier (src/rotation/scram.ts), so it never appears in a statement.
 * - alternating: two login roles, both members of an owner role (`options.owner`, which must exist) and both
 *   with `ALTER ROLE x SET role = owner`, so that what either creates is owned by the owner role and usable
 *   by the other. The role NOT in `current.user` gets the new password; it is created when missing, with the
 *   memberships, INHERIT, CONNECTION LIMIT and settings of the current one.
 *
 * Every step is idempotent: ALTER ROLE ... PASSWORD twice sets the same password, GRANT of an existing
 * membership is a notice, and a role is created only when pg_roles has no such name. The alternating set is
 * one transaction, so a user is never left created without the memberships of the current one.
 */
import { ConfigError } from '../core/errors.js';
import type { JsonObject } from '../core/types.js';
import { loadPg } from '../stores/sql/sql-packages.js';
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
  wantsTls,
  type ValueRole,
} from './common.js';
import { pgIdent, pgLiteral } from './quote.js';
import { canHashLocally, scramVerifier } from './scram.js';
import type { Rotator, RotatorInput, RotationStep, RotationStrategy } from './types.js';

/** pg's Client, typed through the loader (this layer never names a driver package itself). */
type PgClient = InstanceType<Awaited<ReturnType<typeof loadPg>>['Client']>;

/** SQLSTATE -> what it means here. */
export const PG_FAILURES: Readonly<Record<string, string>> = {
  '28P01': 'password authentication failed',
  '28000': 'login refused by the server (pg_hba.conf, or the role cannot log in)',
  '42501': 'permission denied (changing another role needs CREATEROLE; a role may change only its own password)',
  '42704': 'role does not exist',
  '3D000': 'database does not exist',
  '53300': 'too many connections',
  '57P03': 'the server is starting up or shutting down',
  '42710': 'role already exists',
  '0LP01': 'invalid role membership',
};

const DEFAULT_PORT = 5432;

interface Endpoint {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  ssl: boolean;
}

function endpoint(input: RotatorInput, value: JsonObject, role: ValueRole): Endpoint {
  const base = input.current;
  const host = optionalField(input, value, role, 'host') ?? field(input, base, 'current', 'host');
  return {
    host,
    port: value.port === undefined ? portField(input, base, 'current', DEFAULT_PORT) : portField(input, value, role, DEFAULT_PORT),
    user: field(input, value, role, 'user'),
    password: role === 'admin' && (value.password === undefined || value.password === '') ? '' : checkPassword(input, value.password, role),
    database: optionalField(input, value, role, 'database') ?? optionalField(input, base, 'current', 'database') ?? 'postgres',
    ssl: wantsTls(value) || (value.host === undefined && wantsTls(base)),
  };
}

function target(e: Pick<Endpoint, 'host' | 'port'>, user: string): string {
  return describeTarget('postgres', e.host, e.port, user);
}

/** pg's own connect timeout has no code; everything else is described by its SQLSTATE or network code. */
function failures(err: unknown): unknown {
  const e = err as { code?: unknown; message?: unknown } | null;
  if (e !== null && e.code === undefined && typeof e.message === 'string' && /timeout/i.test(e.message)) return { code: 'ETIMEDOUT' };
  return err;
}

async function run<T>(input: RotatorInput, step: RotationStep, where: string, fn: () => Promise<T>): Promise<T> {
  return asStep(input, step, where, PG_FAILURES, async () => {
    try {
      return await fn();
    } catch (err) {
      throw failures(err);
    }
  });
}

async function connect(input: RotatorInput, e: Endpoint): Promise<PgClient> {
  const pg = await loadPg('the postgres rotator');
  const client = new pg.Client({
    host: e.host,
    port: e.port,
    user: e.user,
    password: e.password,
    database: e.database,
    ssl: e.ssl,
    connectionTimeoutMillis: secondsOption(input, 'connect_timeout_seconds', 10) * 1000,
    application_name: 'credstash-rotate',
  });
  client.on('error', () => undefined); // a dropped connection surfaces on the next query
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => undefined);
    throw err;
  }
  return client;
}

async function withClient<T>(input: RotatorInput, e: Endpoint, fn: (c: PgClient) => Promise<T>): Promise<T> {
  const c = await connect(input, e);
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** The password clause: the SCRAM verifier of a printable-ASCII password, else the password for the server to hash. */
function passwordClause(password: string): string {
  return `PASSWORD ${pgLiteral(canHashLocally(password) ? scramVerifier(password) : password)}`;
}

function isAuthFailure(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '28P01';
}

/**
 * Set `user`'s password to `password`. With an admin: ALTER ROLE as the admin. Without one: as the user
 * itself, logging in with `from` (the password it has now) or, when that is refused, with `password` (a
 * previous run of this step got as far as the change: nothing left to do).
 */
async function setPassword(input: RotatorInput, step: RotationStep, from: Endpoint, password: string): Promise<void> {
  const where = target(from, from.user);
  if (input.admin !== undefined) {
    const admin = endpoint(input, input.admin, 'admin');
    await run(input, step, where, () => withClient(input, admin, (c) => c.query(`ALTER ROLE ${pgIdent(from.user)} ${passwordClause(password)}`)));
    return;
  }
  await run(input, step, where, async () => {
    let c: PgClient;
    try {
      c = await connect(input, from);
    } catch (err) {
      if (!isAuthFailure(err)) throw err;
      await withClient(input, { ...from, password }, async () => undefined); // already set?
      return;
    }
    try {
      await c.query(`ALTER ROLE CURRENT_USER ${passwordClause(password)}`);
    } finally {
      await c.end().catch(() => undefined);
    }
  });
}


/** The GUCs whose value is a list: each element is written as its own literal (`SET search_path TO '$user', 'public'`). */
const LIST_SETTINGS = new Set(['search_path', 'temp_tablespaces', 'session_preload_libraries', 'local_preload_libraries']);

/** `name=value` of pg_db_role_setting -> the `SET ...` clause, or undefined for a name we do not copy. */
export function settingClause(entry: string): string | undefined {
  const eq = entry.indexOf('=');
  if (eq <= 0) return undefined;
  const name = entry.slice(0, eq);
  const value = entry.slice(eq + 1);
  if (!/^[A-Za-z_][A-Za-z0-9_.]*$/.test(name) || name.toLowerCase() === 'role') return undefined;
  if (!LIST_SETTINGS.has(name.toLowerCase())) return `SET ${name} TO ${pgLiteral(value)}`;
  const items = value.split(',').map((s) => s.trim()).filter((s) => s !== '').map((s) => (/^".*"$/.test(s) ? s.slice(1, -1).replace(/""/g, '"') : s));
  return items.length === 0 ? undefined : `SET ${name} TO ${items.map(pgLiteral).join(', ')}`;
}

/** Create `other` like `like` (LOGIN, INHERIT, CONNECTION LIMIT, memberships, settings) with the password. */
async function createLike(c: PgClient, other: string, like: string, password: string): Promise<void> {
  const r = await c.query<{ rolinherit: boolean; rolconnlimit: number }>('SELECT rolinherit, rolconnlimit FROM pg_roles WHERE rolname = $1', [like]);
  const attrs = r.rows[0];
  const inherit = attrs === undefined || attrs.rolinherit ? 'INHERIT' : 'NOINHERIT';
  const limit = attrs === undefined ? -1 : Number(attrs.rolconnlimit);
  await c.query(`CREATE ROLE ${pgIdent(other)} LOGIN ${inherit} CONNECTION LIMIT ${Number.isInteger(limit) ? limit : -1} ${passwordClause(password)}`);
  const member = await c.query<{ rolname: string }>(
    'SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid WHERE m.member = (SELECT oid FROM pg_roles WHERE rolname = $1)',
    [like],
  );
  for (const { rolname } of member.rows) await c.query(`GRANT ${pgIdent(rolname)} TO ${pgIdent(other)}`);
  const settings = await c.query<{ datname: string | null; setconfig: string[] | null }>(
    'SELECT d.datname, s.setconfig FROM pg_db_role_setting s LEFT JOIN pg_database d ON d.oid = s.setdatabase WHERE s.setrole = (SELECT oid FROM pg_roles WHERE rolname = $1)',
    [like],
  );
  for (const { datname, setconfig } of settings.rows) {
    for (const entry of setconfig ?? []) {
      const clause = settingClause(entry);
      if (clause !== undefined) await c.query(`ALTER ROLE ${pgIdent(other)}${datname === null ? '' : ` IN DATABASE ${pgIdent(datname)}`} ${clause}`);
    }
  }
}

async function roleExists(c: PgClient, name: string): Promise<boolean> {
  return (await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [name])).rowCount === 1;
}

async function setAlternating(input: RotatorInput, pending: JsonObject): Promise<void> {
  const owner = ownerOption(input, 'postgres', "the role that owns the application's objects");
  const cur = endpoint(input, input.current, 'current');
  const next = endpoint(input, pending, 'pending');
  if (next.user === cur.user) throw new ConfigError('rotation: the alternating strategy needs a pending user other than the current one', { path: 'options.users' });
  const admin = input.admin === undefined ? cur : endpoint(input, input.admin, 'admin');
  await run(input, 'set', target(next, next.user), () =>
    withClient(input, admin, async (c) => {
      if (!(await roleExists(c, owner))) {
        throw stepError(input, 'set', target(next, next.user), `the owner role ${JSON.stringify(owner)} does not exist; create it, give it the application's objects and privileges, and run again (docs/rotation.md)`);
      }
      // One transaction (role DDL is transactional in PostgreSQL): a crash or a refused GRANT leaves no
      // half-made user (created, but without the memberships of the current one) for a rerun to trust.
      await c.query('BEGIN');
      try {
        if (await roleExists(c, next.user)) await c.query(`ALTER ROLE ${pgIdent(next.user)} LOGIN ${passwordClause(next.password)}`);
        else await createLike(c, next.user, cur.user, next.password);
        for (const u of [cur.user, next.user]) {
          await c.query(`GRANT ${pgIdent(owner)} TO ${pgIdent(u)}`);
          await c.query(`ALTER ROLE ${pgIdent(u)} SET role TO ${pgLiteral(owner)}`);
        }
        await c.query('COMMIT');
      } catch (err) {
        await c.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    }),
  );
}

const STRATEGIES: readonly RotationStrategy[] = ['single', 'alternating'];

export const postgresRotator: Rotator = {
  name: 'postgres',
  strategies: STRATEGIES,

  pending(input, newPassword) {
    checkStrategy(input, 'postgres', STRATEGIES);
    return pendingValue(input, newPassword);
  },

  async set(input, pending) {
    checkStrategy(input, 'postgres', STRATEGIES);
    if (input.strategy === 'alternating') return setAlternating(input, pending);
    const cur = endpoint(input, input.current, 'current');
    await setPassword(input, 'set', cur, checkPassword(input, pending.password));
  },

  async test(input, pending) {
    const next = endpoint(input, pending, 'pending');
    await run(input, 'test', target(next, next.user), () =>
      withClient(input, next, async (c) => {
        const r = await c.query<{ u: string }>('SELECT session_user AS u');
        if (r.rows[0]?.u !== next.user) throw stepError(input, 'test', target(next, next.user), 'logged in, but as another user');
      }),
    );
  },

  async revert(input, pending) {
    checkStrategy(input, 'postgres', STRATEGIES);
    const cur = endpoint(input, input.current, 'current');
    if (input.strategy === 'single') {
      // back to the current password: as the admin, or as the user logging in with the pending password
      // (or with the current one, when a previous revert already got that far)
      const next = endpoint(input, pending, 'pending');
      await setPassword(input, 'revert', { ...cur, password: next.password }, cur.password);
      return;
    }
    // alternating: the current user was never changed; the pending one loses its password (password
    // logins refused) and keeps its memberships, ready for the next rotation
    const next = endpoint(input, pending, 'pending');
    if (next.user === cur.user) throw new ConfigError('rotation: the alternating strategy needs a pending user other than the current one', { path: 'options.users' });
    const admin = input.admin === undefined ? cur : endpoint(input, input.admin, 'admin');
    await run(input, 'revert', target(next, next.user), () =>
      withClient(input, admin, async (c) => {
        if (await roleExists(c, next.user)) await c.query(`ALTER ROLE ${pgIdent(next.user)} PASSWORD NULL`);
      }),
    );
  },
};
