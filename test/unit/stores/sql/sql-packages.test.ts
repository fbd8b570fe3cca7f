/**
 * The SQL tier's packages are optional peer dependencies, loaded on a store's first use: a load that fails
 * becomes one ConfigError naming the package and the command that fixes it, whichever way Node reports it.
 * The failures are injected at the import seam (sql-packages.ts `packageLoader`) with the errors Node and
 * better-sqlite3 really throw; test/integration/package/package.int.test.ts produces the "not installed"
 * and "another Node.js" cases for real from the packed package.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../../src/core/errors.js';
import { generateFernetKey } from '../../../../src/crypto/fernet.js';
import { parseEngineConfig } from '../../../../src/stores/sql/sql-dialects.js';
import { packageError, packageLoader } from '../../../../src/stores/sql/sql-packages.js';
import { SqlStore } from '../../../../src/stores/sql/sql-store.js';
import { rejectionOf } from '../../../helpers/no-leak.js';

const saved = { ...packageLoader };
afterEach(() => Object.assign(packageLoader, saved));

/** Node's errors, as they read (messages copied from Node 20/22). */
function notFound(pkg: string, esm = true): Error {
  const err = esm
    ? new Error(`Cannot find package '${pkg}' imported from /srv/app/node_modules/credstash-ts/dist/lib/stores/sql/index.js`)
    : new Error(`Cannot find module '${pkg}'\nRequire stack:\n- /srv/app/index.js`);
  return Object.assign(err, { code: esm ? 'ERR_MODULE_NOT_FOUND' : 'MODULE_NOT_FOUND' });
}
const ABI = Object.assign(
  new Error(
    "The module '/srv/app/node_modules/better-sqlite3/build/Release/better_sqlite3.node'\nwas compiled against a different Node.js version using\nNODE_MODULE_VERSION 115. This version of Node.js requires\nNODE_MODULE_VERSION 127. Please try re-compiling or re-installing\nthe module (for instance, using `npm rebuild` or `npm install`).",
  ),
  { code: 'ERR_DLOPEN_FAILED' },
);
const NO_ADDON = new Error('Could not locate the bindings file. Tried:\n → /srv/app/node_modules/better-sqlite3/build/better_sqlite3.node');

/** A better-sqlite3 whose addon fails to load as `err` does (the addon loads on the first `new Database`). */
function sqliteThrowing(err: Error): () => Promise<{ default: never }> {
  const Database = function () {
    throw err;
  };
  return () => Promise.resolve({ default: Database as never });
}

const store = (engine: unknown): SqlStore => new SqlStore({ engine: parseEngineConfig(engine, '/tmp'), fernetKeys: [generateFernetKey()] });
const sqlite = { name: 'sqlite', config: { path: ':memory:' } };

describe('a SQL package that cannot be loaded', () => {
  it.each([true, false])('kysely not installed (import: %s): names it and the install command', async (esm) => {
    packageLoader.kysely = () => Promise.reject(notFound('kysely', esm));
    const err = await rejectionOf(store(sqlite).getCredential('app.db'));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toBe('the sql store needs the kysely package, which is not installed; install it: npm install kysely');
  });

  it.each([
    ['pg', { name: 'postgres', config: { database: 'x' } }, 'postgres'],
    ['mysql2', { name: 'mysql', config: { database: 'x' } }, 'mysql'],
    ['better-sqlite3', sqlite, 'sqlite'],
  ] as const)('%s not installed: names it, before any connection', async (pkg, engine, name) => {
    (packageLoader as Record<string, () => Promise<unknown>>)[pkg] = () => Promise.reject(notFound(pkg));
    const err = await rejectionOf(store(engine).setup());
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toBe(`the sql store with engine ${name} needs the ${pkg} package, which is not installed; install it: npm install ${pkg}`);
  });

  it('better-sqlite3 built for another Node.js (NODE_MODULE_VERSION differs): says to rebuild it', async () => {
    packageLoader['better-sqlite3'] = sqliteThrowing(ABI);
    const err = await rejectionOf(store(sqlite).getCredential('app.db'));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toBe(
      `better-sqlite3 was built for another Node.js version (NODE_MODULE_VERSION 115; Node.js ${process.version} needs 127); rebuild it for this Node.js: npm rebuild better-sqlite3`,
    );
    expect(err.message).not.toContain('\n');
  });

  it('better-sqlite3 without its addon (install script skipped): says to build it', async () => {
    packageLoader['better-sqlite3'] = sqliteThrowing(NO_ADDON);
    const err = await rejectionOf(store(sqlite).getCredential('app.db'));
    expect(err.message).toBe('better-sqlite3 is installed without its native addon (its install script did not run); build it: npm rebuild better-sqlite3');
  });

  it('an addon Node.js cannot open for another reason (another platform): says to rebuild it, in one line', async () => {
    const elf = Object.assign(new Error('/srv/app/node_modules/better-sqlite3/build/Release/better_sqlite3.node: invalid ELF header'), { code: 'ERR_DLOPEN_FAILED' });
    packageLoader['better-sqlite3'] = sqliteThrowing(elf);
    const err = await rejectionOf(store(sqlite).getCredential('app.db'));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toBe(
      `better-sqlite3's native addon cannot be loaded by Node.js ${process.version} (/srv/app/node_modules/better-sqlite3/build/Release/better_sqlite3.node: invalid ELF header); rebuild it: npm rebuild better-sqlite3`,
    );
  });

  it('a package the driver needs is missing: names the driver to reinstall, in one line', async () => {
    packageLoader.pg = () => Promise.reject(notFound('pg-pool'));
    const err = await rejectionOf(store({ name: 'postgres', config: { database: 'x' } }).setup());
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toMatch(/^the sql store with engine postgres cannot load the pg package \(Cannot find package 'pg-pool' .*\); reinstall it: npm install pg$/);
  });

  it('kysely installed meanwhile: the next call loads it (a failed load is not remembered)', async () => {
    packageLoader.kysely = () => Promise.reject(notFound('kysely'));
    const s = store(sqlite);
    expect(await rejectionOf(s.getCredential('app.db'))).toBeInstanceOf(ConfigError);
    packageLoader.kysely = saved.kysely;
    expect(await s.getCredential('app.db')).toBeUndefined();
    await s.close();
  });

  it('any other error is left as it is (the store maps it)', () => {
    const other = Object.assign(new Error('SQLITE_CANTOPEN'), { code: 'SQLITE_CANTOPEN' });
    expect(packageError('better-sqlite3', other)).toBe(other);
    const mapped = new ConfigError('x');
    expect(packageError('pg', mapped)).toBe(mapped);
  });
});
