import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  CredentialNotFoundError,
  CredstashError,
  isCredstashError,
  ValidationError,
  VersionConflictError,
} from '../../../src/core/errors.js';

/**
 * An error as another copy of credstash-ts in the same process builds it (the CLI bundle loading a custom
 * store module that imports the installed package): not an instance of this copy's classes by prototype,
 * but carrying the shared Symbol.for mark and a code.
 */
function foreign(code: string, message = 'from another copy'): Error {
  const err = new Error(message);
  Object.defineProperty(err, Symbol.for('credstash-ts.CredstashError'), { value: true });
  return Object.assign(err, { code });
}

describe('CredstashError across copies of the package', () => {
  it("recognises another copy's errors by the shared mark and code", () => {
    const notFound = foreign('ERR_CREDENTIAL_NOT_FOUND');
    expect(notFound instanceof CredstashError).toBe(true);
    expect(notFound instanceof CredentialNotFoundError).toBe(true);
    expect(notFound instanceof VersionConflictError).toBe(false);
    expect(isCredstashError(notFound)).toBe(true);
    expect(foreign('ERR_VERSION_CONFLICT') instanceof VersionConflictError).toBe(true);
    expect(foreign('ERR_CONFIG') instanceof ConfigError).toBe(true);
  });

  it('does not take a plain error, or one with only a code, for a CredstashError', () => {
    expect(Object.assign(new Error('x'), { code: 'ERR_CREDENTIAL_NOT_FOUND' }) instanceof CredstashError).toBe(false);
    expect(isCredstashError(new TypeError('x'))).toBe(false);
    expect(isCredstashError('ERR_CONFIG')).toBe(false);
    expect(isCredstashError(null)).toBe(false);
  });

  it('keeps instanceof exact within one copy, and the mark out of JSON and enumerable keys', () => {
    const v = new ValidationError('bad input');
    expect(v instanceof ValidationError).toBe(true);
    expect(v instanceof ConfigError).toBe(false);
    expect(new CredentialNotFoundError({ credentialId: 'a', store: 's' }) instanceof VersionConflictError).toBe(false);
    expect(Object.keys(v)).not.toContain(String(Symbol.for('credstash-ts.CredstashError')));
    expect(JSON.stringify(v)).toBe('{"name":"ValidationError","code":"ERR_INVALID_INPUT","message":"bad input"}');
  });
});
