/**
 * The SQL tier's packages, kysely and one driver per engine (better-sqlite3, pg, mysql2), are optional peer
 * dependencies of credstash-ts: a user of the DynamoDB, SSM or local tier installs none of them. They are
 * imported here, only when a SQL store first connects, and a package that cannot be loaded becomes one
 * ConfigError that names it and the command that fixes it:
 *
 * - not installed: `... needs the pg package, which is not installed; install it: npm install pg`
 * - a native addon built for another Node.js (`NODE_MODULE_VERSION` differs): `... rebuild it: npm rebuild better-sqlite3`
 * - a native addon that was never built (install scripts skipped): `... build it: npm rebuild better-sqlite3`
 *
 * Bundlers: each import has a `.catch`, so that esbuild leaves a package that is not installed as a
 * run-time import instead of failing the user's build (an installed pg, mysql2 or kysely is bundled). better-sqlite3 is imported through a variable and so
 * never bundled: its native addon is found relative to its own package folder, which a bundle would lose.
 */
import { ConfigError } from '../../core/errors.js';

export type SqlPackage = 'kysely' | 'better-sqlite3' | 'pg' | 'mysql2';
type KyselyModule = typeof import('kysely');
type BetterSqlite3 = typeof import('better-sqlite3');
type PgModule = typeof import('pg');
type Mysql2Module = typeof import('mysql2');

/** What each package is needed for, in messages. */
const NEEDED_FOR: Record<SqlPackage, string> = {
  kysely: 'the sql store',
  'better-sqlite3': 'the sql store with engine sqlite',
  pg: 'the sql store with engine postgres',
  mysql2: 'the sql store with engine mysql',
};

/** Node's "not found" codes: ERR_MODULE_NOT_FOUND from import(), MODULE_NOT_FOUND from require(). */
function isNotFound(err: unknown, pkg: string): boolean {
  const e = err as { code?: unknown; message?: unknown };
  if (e?.code !== 'ERR_MODULE_NOT_FOUND' && e?.code !== 'MODULE_NOT_FOUND') return false;
  const message = typeof e.message === 'string' ? e.message : '';
  return message.includes(`'${pkg}'`) || message.includes(`"${pkg}"`);
}

/**
 * The one error for a package that failed to load or to open its native addon; any other error is returned
 * unchanged. Exported for the sql store's driver calls and for tests. `neededFor` names what needs the
 * package in the message (default: the sql store; the rotators of src/rotation pass their own).
 */
export function packageError(pkg: SqlPackage, err: unknown, neededFor: string = NEEDED_FOR[pkg]): unknown {
  if (err instanceof ConfigError) {
    // mapped already (by the import's own .catch), for the sql store: mapped again from its cause for another user
    return neededFor === NEEDED_FOR[pkg] || err.cause === undefined ? err : packageError(pkg, err.cause, neededFor);
  }
  const message = err instanceof Error ? err.message : '';
  if (isNotFound(err, pkg)) {
    return new ConfigError(`${neededFor} needs the ${pkg} package, which is not installed; install it: npm install ${pkg}`, { cause: err });
  }
  const abi = [...message.matchAll(/NODE_MODULE_VERSION (\d+)/g)].map((m) => m[1]);
  if (abi.length > 0) {
    const built = abi[0] as string;
    const needs = abi[1] ?? process.versions.modules;
    return new ConfigError(
      `${pkg} was built for another Node.js version (NODE_MODULE_VERSION ${built}; Node.js ${process.version} needs ${needs}); rebuild it for this Node.js: npm rebuild ${pkg}`,
      { cause: err },
    );
  }
  if (/Could not locate the bindings file/.test(message)) {
    return new ConfigError(`${pkg} is installed without its native addon (its install script did not run); build it: npm rebuild ${pkg}`, { cause: err });
  }
  if ((err as { code?: unknown })?.code === 'ERR_DLOPEN_FAILED') {
    return new ConfigError(`${pkg}'s native addon cannot be loaded by Node.js ${process.version} (${message.split('\n')[0] ?? ''}); rebuild it: npm rebuild ${pkg}`, { cause: err });
  }
  const code = (err as { code?: unknown })?.code;
  if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
    // installed, but a package it depends on is not
    return new ConfigError(`${neededFor} cannot load the ${pkg} package (${message.split('\n')[0] ?? ''}); reinstall it: npm install ${pkg}`, { cause: err });
  }
  return err;
}

/**
 * The import seam: replaced by tests to make a load fail the way Node reports it. Each import() carries its
 * own `.catch`: that is what makes esbuild leave a package it cannot find to run time (a try block around
 * the call site does not count).
 */
export const packageLoader = {
  kysely: (): Promise<KyselyModule> => import('kysely').catch((err: unknown) => Promise.reject(packageError('kysely', err))),
  // Through a parameter, so that no bundler follows it (see the module comment).
  'better-sqlite3': (): Promise<{ default: BetterSqlite3 }> => importAtRunTime('better-sqlite3') as Promise<{ default: BetterSqlite3 }>,
  pg: (): Promise<unknown> => import('pg').catch((err: unknown) => Promise.reject(packageError('pg', err))),
  mysql2: (): Promise<unknown> => import('mysql2').catch((err: unknown) => Promise.reject(packageError('mysql2', err))),
};

function importAtRunTime(specifier: string): Promise<unknown> {
  return import(specifier);
}

async function load<T>(pkg: SqlPackage, importer: () => Promise<T>, neededFor?: string): Promise<T> {
  try {
    return await importer();
  } catch (err) {
    throw packageError(pkg, err, neededFor);
  }
}

/** kysely (the module cache makes every call after the first cheap). @throws ConfigError when it is not installed */
export function loadKysely(): Promise<KyselyModule> {
  return load('kysely', () => packageLoader.kysely());
}

/** better-sqlite3's Database class (its addon loads on the first `new`, see {@link openSqlite}). */
export async function loadBetterSqlite3(): Promise<BetterSqlite3> {
  const mod = await load('better-sqlite3', () => packageLoader['better-sqlite3']());
  return mod.default;
}

/** `new Database(...)`, with the native addon's load errors (another ABI, never built) mapped to one ConfigError. */
export function openSqlite(Database: BetterSqlite3, path: string, options: import('better-sqlite3').Options): import('better-sqlite3').Database {
  try {
    return new Database(path, options);
  } catch (err) {
    throw packageError('better-sqlite3', err);
  }
}

/**
 * The pg module (its CommonJS exports, whichever way the runtime or a bundler presents them).
 * @param neededFor what needs it, for the not-installed message (default: the sql store with engine postgres)
 */
export async function loadPg(neededFor?: string): Promise<PgModule> {
  const mod = (await load('pg', () => packageLoader.pg(), neededFor)) as PgModule & { default?: PgModule };
  return mod.default ?? mod;
}

/** The mysql2 module. @param neededFor as for {@link loadPg} */
export async function loadMysql2(neededFor?: string): Promise<Mysql2Module> {
  const mod = (await load('mysql2', () => packageLoader.mysql2(), neededFor)) as Mysql2Module & { default?: Mysql2Module };
  return mod.default ?? mod;
}
