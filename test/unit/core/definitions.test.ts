import { describe, expect, it } from 'vitest';
import { checkCredentialValue, REQUIRED_FIELDS, validateDefinition } from '../../../src/core/definitions.js';
import { CREDENTIAL_TYPES, type JsonObject } from '../../../src/core/types.js';
import { CANARY, caught, expectNoLeak } from '../../helpers/no-leak.js';

describe('definitions', () => {
  it('lists required fields for every credential type', () => {
    expect(Object.keys(REQUIRED_FIELDS).sort()).toEqual([...CREDENTIAL_TYPES].sort());
    expect(REQUIRED_FIELDS.aws).toEqual(['aws_access_key_id', 'aws_secret_access_key']);
    expect(REQUIRED_FIELDS.custom).toEqual([]);
  });

  for (const type of CREDENTIAL_TYPES) {
    const fields = REQUIRED_FIELDS[type];
    it(`${type}: accepts a value with ${fields.join(', ') || 'any fields'} and names each missing one`, () => {
      const full = Object.fromEntries(fields.map((f) => [f, CANARY]));
      const def = { id: 'x', credential_type: type };
      expect(checkCredentialValue('x', { ...full, extra: 1 }, def)).toEqual(def);
      for (const f of fields) {
        for (const missing of [undefined, null, '']) {
          const value = { ...full, [f]: missing };
          if (missing === undefined) delete value[f];
          const err = caught(() => checkCredentialValue('x', value as JsonObject, def));
          expect(err).toMatchObject({ code: 'ERR_INVALID_INPUT', message: `credential "x" of type ${type} is missing field "${f}"` });
          expectNoLeak(err, CANARY);
        }
      }
    });
  }

  it('refuses a plain string for a typed credential, and accepts one for custom or untyped definitions', () => {
    const err = caught(() => checkCredentialValue('k', CANARY, { id: 'k', credential_type: 'api_key' }));
    expect(err.message).toBe('credential "k" of type api_key must be a JSON object with the fields api_key; store it with --json');
    expectNoLeak(err, CANARY);
    expect(checkCredentialValue('k', CANARY, { id: 'k', credential_type: 'custom' })).toBeDefined();
    expect(checkCredentialValue('k', CANARY, { id: 'k' })).toEqual({ id: 'k' });
    expect(checkCredentialValue('k', CANARY, undefined)).toBeUndefined();
  });

  it('validates the definition itself, naming the bad field and refusing one for another id', () => {
    expect(caught(() => validateDefinition({ id: 'a', credential_type: 'ftp' }, 'credentials[2]')).message).toBe(
      'credentials[2].credential_type must be one of aws, database, api_key, oauth, basic_auth, certificate, custom',
    );
    expect(caught(() => validateDefinition({ name: 'x' })).message).toBe('definition.id must be a non-empty string');
    expect(caught(() => validateDefinition({ id: 'a', metadata: [1] })).message).toBe('definition.metadata must be a table of key/value pairs');
    expect(caught(() => validateDefinition({ id: 'a', description: 3 })).message).toBe('definition.description must be a string');
    expect(validateDefinition({ id: 'a', name: 'A', description: 'd', metadata: { k: 'v' }, junk: 1 })).toEqual({ id: 'a', name: 'A', description: 'd', metadata: { k: 'v' } });
    expect(caught(() => checkCredentialValue('b', 'v', { id: 'a' })).message).toBe('definition for "a" cannot be stored with credential "b"');
  });
});
