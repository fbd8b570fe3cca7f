import { describe, expect, it } from 'vitest';
import { credentialsToEnv, envName, isProtectedEnvName, SHELL_IDENTIFIER } from '../../../src/ops/env-names.js';
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

describe('protected variable names', () => {
  const c = (id: string, value = 'v') => ({ id, version: '1', value });

  it.each(['LD_PRELOAD', 'LD_LIBRARY_PATH', 'LD_AUDIT', 'DYLD_INSERT_LIBRARIES', 'NODE_OPTIONS', 'NODE_PATH', 'PYTHONPATH', 'PYTHONSTARTUP', 'PERL5OPT', 'PERL5LIB', 'RUBYOPT', 'BASH_ENV', 'ENV', 'PATH', 'IFS', 'PS1', 'PS4', 'SHELLOPTS', 'BASHOPTS', 'GLOBIGNORE', 'PROMPT_COMMAND', 'CDPATH', 'HOME', 'JAVA_TOOL_OPTIONS', '_JAVA_OPTIONS', 'GCONV_PATH', 'MALLOC_CHECK_', 'GIT_SSH_COMMAND', 'GIT_CONFIG_COUNT', 'LESSOPEN', 'HTTPS_PROXY', 'AWS_ENDPOINT_URL_KMS', 'CREDSTASH_FERNET_KEY', 'VAULT_ADDR', 'LC_ALL', 'TMPDIR', 'UID', '_'])('%s is protected', (name) => {
    expect(isProtectedEnvName(name)).toBe(true);
  });

  it.each(['DB_PASSWORD', 'API_KEY', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'DATABASE_URL', 'SSL_KEY_PASSWORD', 'HISTORY_TOKEN', 'PS5', 'X_PATH'])('%s is not protected', (name) => {
    expect(isProtectedEnvName(name)).toBe(false);
  });

  it('refuses a credential that maps to a protected name, naming the credential and the flag, never the value', () => {
    let err: unknown;
    try {
      credentialsToEnv([c('ok', 'x'), c('ld.preload', CANARY)]);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({
      code: 'ERR_INVALID_INPUT',
      message: 'credential "ld.preload" would set LD_PRELOAD, which changes how programs start, what they load or where they connect; allow it by name (--allow-env LD_PRELOAD) if that is meant',
    });
    expectNoLeak(err, CANARY);
  });

  it('lets a protected name through when it is allowed by that exact name, after the prefix is removed', () => {
    expect([...credentialsToEnv([c('app.path', '/x')], { prefix: 'app.', allow: ['PATH'] })]).toEqual([['PATH', '/x']]);
    expect(() => credentialsToEnv([c('app.path', '/x')], { prefix: 'app.', allow: ['LD_PRELOAD'] })).toThrow('would set PATH');
  });

  it('makes every name a shell identifier, whatever the id', () => {
    for (const id of ["x;$'\\057bin\\057sh' y", 'a.b-c', '1st', 'é', '$(id)', '`id`', "'", 'a b']) {
      expect(SHELL_IDENTIFIER.test(envName(id))).toBe(true);
    }
  });
});
