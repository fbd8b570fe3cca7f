/**
 * A driver error becomes a RotationStepError whose reason comes from the error's code only: mysql2 errors
 * carry the statement (`sql`, and `sqlMessage` may quote it), and a Redis or PostgreSQL message may too.
 */
import { describe, expect, it } from 'vitest';
import { RotationStepError } from '../../../src/core/errors.js';
import { asStep, describeFailure } from '../../../src/rotation/common.js';
import { MYSQL_FAILURES } from '../../../src/rotation/mysql.js';
import { PG_FAILURES } from '../../../src/rotation/postgres.js';
import { CANARY, expectNoLeak, rejectionOf } from '../../helpers/no-leak.js';

const input = { current: {}, strategy: 'single' as const, options: {}, credentialId: 'app.db' };

describe('driver errors in rotation steps', () => {
  it('a mysql2 error quoting the statement becomes a fixed description of its code, without cause', async () => {
    const driver = Object.assign(new Error(`You have an error in your SQL syntax near '${CANARY}'`), {
      code: 'ER_PARSE_ERROR',
      sql: `ALTER USER 'app'@'%' IDENTIFIED BY '${CANARY}'`,
      sqlMessage: `near '${CANARY}'`,
    });
    const err = await rejectionOf(asStep(input, 'set', 'mysql h:3306 user app', MYSQL_FAILURES, () => Promise.reject(driver)));
    expect(err).toBeInstanceOf(RotationStepError);
    expect(err.message).toBe('rotation of "app.db" failed at step set on mysql h:3306 user app: server error ER_PARSE_ERROR');
    expect(err.cause).toBeUndefined();
    expect(JSON.parse(JSON.stringify(err))).toEqual({ name: 'RotationStepError', code: 'ERR_ROTATION_STEP', message: err.message, credentialId: 'app.db', step: 'set', target: 'mysql h:3306 user app' });
    expectNoLeak(err, CANARY);
  });

  it('known codes are described, network codes named, anything else only by its class name', () => {
    expect(describeFailure({ code: '28P01', message: CANARY }, PG_FAILURES)).toBe('password authentication failed (28P01)');
    expect(describeFailure({ code: 'ECONNREFUSED' }, PG_FAILURES)).toBe('connection refused');
    expect(describeFailure(new TypeError(CANARY), PG_FAILURES)).toBe('unexpected error (TypeError)');
    // a "code" that is not a code (it could be anything a driver put there) is not shown
    expect(describeFailure({ code: `x ${CANARY}` }, PG_FAILURES)).toBe('unexpected error (Error)');
  });
});

describe('the alternating strategy without an owner role', () => {
  it('postgres and mysql refuse before any connection, naming the credential, the rotator and the option', async () => {
    const { getRotator } = await import('../../../src/rotation/index.js');
    for (const [name, what] of [['postgres', "the role that owns the application's objects"], ['mysql', "the role holding the application's privileges"]] as const) {
      const rot = getRotator(name);
      const alt = { current: { host: '127.0.0.1', port: 1, user: 'app_a', password: CANARY }, strategy: 'alternating' as const, options: { users: ['app_a', 'app_b'] }, credentialId: 'app.db' };
      const err = await rejectionOf(rot.set(alt, rot.pending(alt, 'n3w')));
      expect(err).toMatchObject({ code: 'ERR_CONFIG', path: 'options.owner' });
      expect(err.message).toBe(`rotation of "app.db": the ${name} rotator's alternating strategy needs option "owner" (${what})`);
      expectNoLeak(err, CANARY);
    }
  });
});
