import { describe, expect, it } from 'vitest';
import { classifyDriverError, createdMeanwhile } from '../../../../src/stores/sql/sql-dialects.js';

const driverError = (code: string, message = 'x', errno?: number): Error => Object.assign(new Error(message), { code, errno });

describe('sql driver errors: CREATE … IF NOT EXISTS that lost a race to another process', () => {
  it.each([
    ['PostgreSQL duplicate_table', driverError('42P07', 'relation "t_lifecycle" already exists')],
    ['PostgreSQL duplicate_object (the row type of a table created meanwhile)', driverError('42710', 'type "t_lifecycle" already exists')],
    ['PostgreSQL unique violation in the catalog', driverError('23505', 'duplicate key value violates unique constraint "pg_type_typname_nsp_index"')],
    ['MySQL/MariaDB table exists', driverError('ER_TABLE_EXISTS_ERROR', "Table 't' already exists", 1050)],
    ['SQLite table exists', driverError('SQLITE_ERROR', 'table t already exists')],
  ])('%s counts as created meanwhile', (_what, err) => {
    expect(createdMeanwhile(err)).toBe(true);
  });

  it.each([
    ['a refused login', driverError('28P01', 'password authentication failed')],
    ['a refused connection', driverError('ECONNREFUSED')],
    ['no permission to create', driverError('42501', 'permission denied for schema public')],
    ['another SQLite error', driverError('SQLITE_ERROR', 'near "x": syntax error')],
    ['not an error at all', undefined],
  ])('%s does not', (_what, err) => {
    expect(createdMeanwhile(err)).toBe(false);
  });

  it('a duplicate object is its own kind, not a duplicate row (which is a version conflict on insert)', () => {
    expect(classifyDriverError(driverError('42710'))).toBe('already-exists');
    expect(classifyDriverError(driverError('23505'))).toBe('duplicate');
  });
});
