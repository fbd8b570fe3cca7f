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

describe('error codes: each defined once, as a static on its class', () => {
  it('every CredstashError subclass the module exports has its own static code, and no two share one', async () => {
    const mod = (await import('../../../src/core/errors.js')) as Record<string, unknown>;
    const classes = Object.entries(mod).filter(
      (e): e is [string, { code?: unknown; prototype: object }] => typeof e[1] === 'function' && (e[1] as { prototype?: unknown }).prototype instanceof CredstashError,
    );
    expect(classes.length).toBeGreaterThanOrEqual(16);
    const codes = classes.map(([name, cls]) => {
      expect(Object.hasOwn(cls, 'code'), `${name} defines its own static code`).toBe(true);
      expect(cls.code, name).toMatch(/^ERR_[A-Z_]+$/);
      return cls.code;
    });
    expect(new Set(codes).size).toBe(codes.length);
  });

  it('an instance carries its class`s code and name, and another copy`s error with that code is recognised by that class only', () => {
    const samples: Array<[CredstashError, { code: string; name: string }]> = [
      [new ConfigError('bad'), ConfigError],
      [new ValidationError('bad'), ValidationError],
      [new CredentialNotFoundError({ credentialId: 'a', store: 's' }), CredentialNotFoundError],
    ];
    for (const [err, cls] of samples) {
      expect(err.code).toBe(cls.code);
      expect(err.name).toBe(cls.name);
    }
    expect(foreign(ConfigError.code)).toBeInstanceOf(ConfigError);
    expect(foreign(ConfigError.code)).not.toBeInstanceOf(ValidationError);
  });

  it('no code literal is written twice in src/core/errors.ts (only in its class`s static)', async () => {
    const { readFileSync } = await import('node:fs');
    const text = readFileSync(new URL('../../../src/core/errors.ts', import.meta.url), 'utf8');
    const literals = [...text.matchAll(/'(ERR_[A-Z_]+)'/g)].map((m) => m[1] as string).filter((c) => c !== 'ERR_UNKNOWN');
    expect(literals.length).toBeGreaterThanOrEqual(16);
    expect(literals.filter((c, i) => literals.indexOf(c) !== i)).toEqual([]);
    // Nor anywhere else in src/: other files name a code by its class (`KmsError.code`).
    const { readdirSync } = await import('node:fs');
    const srcDir = new URL('../../../src/', import.meta.url);
    const ours = new Set(literals);
    const elsewhere = readdirSync(srcDir, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts') && f !== 'core/errors.ts')
      .flatMap((f) => [...readFileSync(new URL(f, srcDir), 'utf8').matchAll(/'(ERR_[A-Z_]+)'/g)].filter((m) => ours.has(m[1] as string)).map((m) => `${f}: ${m[1] as string}`));
    expect(elsewhere).toEqual([]);
  });
});
