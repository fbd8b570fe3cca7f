import { describe, expect, it } from 'vitest';
import { credentialsToEnv, envName } from '../../../src/ops/env-names.js';
import { CANARY, expectNoLeak } from '../../helpers/no-leak.js';

describe('envName', () => {
  it('upper-cases and turns every non-alphanumeric into _', () => {
    expect(envName('myapp.db-password')).toBe('MYAPP_DB_PASSWORD');
    expect(envName('a b/c:d')).toBe('A_B_C_D');
    expect(envName('héllo')).toBe('H_LLO');
    expect(envName('1st')).toBe('_1ST');
  });
});

describe('credentialsToEnv', () => {
  const c = (id: string, value: string | Uint8Array | Record<string, string>) => ({ id, version: '1', value });

  it('maps values as text: JSON compactly, bytes as base64', () => {
    const env = credentialsToEnv([c('a.b', 'x'), c('j', { k: 'v' }), c('bin', new Uint8Array([1, 2]))]);
    expect([...env]).toEqual([['A_B', 'x'], ['J', '{"k":"v"}'], ['BIN', 'AQI=']]);
  });

  it('refuses two ids that map to one name, naming both and no value', () => {
    let err: unknown;
    try {
      credentialsToEnv([c('app.db', CANARY), c('app-db', CANARY)]);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'ERR_INVALID_INPUT', message: 'credentials "app.db" and "app-db" both map to the environment variable APP_DB; rename one or narrow the selection' });
    expectNoLeak(err, CANARY);
  });

  it('keeps only ids under the prefix and strips it', () => {
    const env = credentialsToEnv([c('prod.db', '1'), c('prod.api.key', '2'), c('dev.db', '3')], { prefix: 'prod.' });
    expect([...env]).toEqual([['DB', '1'], ['API_KEY', '2']]);
  });

  it('refuses an id equal to the prefix and a value holding NUL', () => {
    expect(() => credentialsToEnv([c('prod.', 'x')], { prefix: 'prod.' })).toThrow('credential "prod." is the prefix itself');
    expect(() => credentialsToEnv([c('a', `${CANARY}\u0000`)])).toThrow('value of credential "a" contains a NUL character and cannot be an environment variable');
  });
});
