/**
 * The rotator registry, the pending values of the built-in rotators (pure: no server), the alternating
 * pair, and the error for a driver that is not installed (the SQL tier's loader, with the rotator named).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, RotationStepError, ValidationError } from '../../../src/core/errors.js';
import { getRotator, mysqlRotator, postgresRotator, redisRotator, registerRotator, rotatorNames, type Rotator, type RotatorInput } from '../../../src/rotation/index.js';
import { settingClause } from '../../../src/rotation/postgres.js';
import { packageLoader } from '../../../src/stores/sql/sql-packages.js';
import { CANARY, expectNoLeak, rejectionOf } from '../../helpers/no-leak.js';

const saved = { ...packageLoader };
afterEach(() => Object.assign(packageLoader, saved));

const current = { host: '127.0.0.1', port: 5432, user: 'app', password: `${CANARY}-old`, database: 'app' };
const NEW = `${CANARY}-new`;
const input = (extra: Partial<RotatorInput> = {}): RotatorInput => ({ current, strategy: 'single', options: {}, credentialId: 'app.db', ...extra });

describe('rotator registry', () => {
  it('has the built-ins by name, and refuses an unknown name naming the known ones', () => {
    expect(rotatorNames().slice(0, 4)).toEqual(['postgres', 'mysql', 'redis', 'command']);
    expect(getRotator('postgres')).toBe(postgresRotator);
    expect(() => getRotator('ldap')).toThrow(/unknown rotator "ldap"; rotators are postgres, mysql, redis, command/);
  });

  it('registers a custom rotator once; a taken name (a built-in) or a malformed rotator is a ConfigError', () => {
    const custom: Rotator = { name: 'ldap-test', strategies: ['single'], pending: (i, pw) => ({ ...i.current, password: pw }), set: async () => {}, test: async () => {}, revert: async () => {} };
    registerRotator(custom);
    registerRotator(custom); // the same one again: fine
    expect(getRotator('ldap-test')).toBe(custom);
    expect(() => registerRotator({ ...custom })).toThrow(/already registered/);
    expect(() => registerRotator({ ...custom, name: 'postgres' })).toThrow(ConfigError);
    expect(() => registerRotator({ ...custom, name: 'Bad Name' })).toThrow(/rotator name/);
    expect(() => registerRotator({ ...custom, name: 'x1', strategies: ['weekly' as 'single'] })).toThrow(/strategies/);
    expect(() => registerRotator({ ...custom, name: 'x2', revert: undefined as unknown as Rotator['revert'] })).toThrow(/no revert function/);
  });
});

describe('pending values (pure)', () => {
  it('single: current with the new password', () => {
    expect(postgresRotator.pending(input(), NEW)).toEqual({ ...current, password: NEW });
    expect(mysqlRotator.pending(input(), NEW)).toEqual({ ...current, password: NEW });
  });

  it('alternating: the user not in current.user, from options.users or <user>_clone (either way round)', () => {
    const alt = (user: string, users?: string[]): RotatorInput => input({ strategy: 'alternating', current: { ...current, user }, options: users === undefined ? {} : { users } });
    expect(postgresRotator.pending(alt('app'), NEW)).toMatchObject({ user: 'app_clone', password: NEW });
    expect(postgresRotator.pending(alt('app_clone'), NEW)).toMatchObject({ user: 'app' });
    expect(mysqlRotator.pending(alt('app_b', ['app_a', 'app_b']), NEW)).toMatchObject({ user: 'app_a' });
    expect(() => postgresRotator.pending(alt('other', ['app_a', 'app_b']), NEW)).toThrow(/not one of the rotator option "users"/);
    expect(() => postgresRotator.pending(alt('app_a', ['app_a', 'app_a']), NEW)).toThrow(/two different user names/);
  });

  it('a strategy the rotator does not support, an empty password or one with a control character is refused without echoing it', () => {
    expect(() => redisRotator.pending(input({ strategy: 'single' }), NEW)).toThrow(/does not support strategy single; it supports dual-password/);
    expect(() => postgresRotator.pending(input({ strategy: 'dual-password' }), NEW)).toThrow(ConfigError);
    expect(() => postgresRotator.pending(input(), '')).toThrow(ValidationError);
    let err: unknown;
    try {
      postgresRotator.pending(input(), `${NEW}\n`);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ValidationError);
    expectNoLeak(err, NEW);
  });

  it('a value without a user or host is described, not echoed', async () => {
    const err = await rejectionOf(postgresRotator.test(input(), { password: NEW }));
    expect(err.message).toBe('rotation of "app.db": no "user" (a non-empty string) in the pending value');
    expectNoLeak(err, NEW, current.password);
  });
});

describe('postgres role settings copied to a new alternating role', () => {
  it('writes each setting as a quoted literal, list settings element by element, and skips role and odd names', () => {
    expect(settingClause('statement_timeout=5s')).toBe("SET statement_timeout TO '5s'");
    expect(settingClause('search_path="$user", public')).toBe("SET search_path TO '$user', 'public'");
    expect(settingClause("work_mem=1'; DROP ROLE x; --")).toBe("SET work_mem TO '1''; DROP ROLE x; --'");
    expect(settingClause('role=owner')).toBeUndefined();
    expect(settingClause('bad name=1')).toBeUndefined();
  });
});

describe('a missing driver', () => {
  const notFound = (pkg: string): Error =>
    Object.assign(new Error(`Cannot find package '${pkg}' imported from /app/dist/lib/stores/sql/sql-packages.js`), { code: 'ERR_MODULE_NOT_FOUND' });

  it('pg: a ConfigError naming the postgres rotator and the package to install', async () => {
    packageLoader.pg = () => Promise.reject(notFound('pg'));
    const err = await rejectionOf(postgresRotator.set(input(), postgresRotator.pending(input(), NEW)));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toBe('the postgres rotator needs the pg package, which is not installed; install it: npm install pg');
    expectNoLeak(err, NEW, current.password);
  });

  it('mysql2: a ConfigError naming the mysql rotator and the package to install, also when the loader had mapped it for the sql store', async () => {
    const { packageError } = await import('../../../src/stores/sql/sql-packages.js');
    packageLoader.mysql2 = () => Promise.reject(packageError('mysql2', notFound('mysql2')));
    const err = await rejectionOf(mysqlRotator.test(input(), mysqlRotator.pending(input(), NEW)));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err).not.toBeInstanceOf(RotationStepError);
    expect(err.message).toBe('the mysql rotator needs the mysql2 package, which is not installed; install it: npm install mysql2');
  });
});
