import fc from 'fast-check';
import { parse as parseToml, stringify as stringifyToml } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/core/errors.js';
import { CREDENTIAL_TYPES } from '../../../src/core/types.js';
import { checkStoreConfigKeys } from '../../../src/core/factory.js';
import { parseConfigText } from '../../../src/config/schema.js';

// The one validator of credstash.toml: what it returns for a valid file, and the one-line message (file,
// line, key path; never a value) for each kind of problem.
const F = '/c.toml';
const KEY = 'p9fmtNshoJmctbd6oLHeyLY9goUXSZUIyuB6I8UXlac=';

function messageOf(text: string): string {
  try {
    parseConfigText(text, F);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).message;
  }
  throw new Error('expected a ConfigError');
}

/** Equal, and with the same key order at every level (JSON text compares the order). */
function expectSame(actual: unknown, expected: unknown): void {
  expect(actual).toEqual(expected);
  expect(JSON.stringify(actual)).toBe(JSON.stringify(expected));
}

describe('parseConfigText: valid files', () => {
  const VALID: [string, unknown][] = [
    [
      `[fernet]\nkeys = ["${KEY}"]\n\n[credential_store]\ntype = "local"\n\n[credential_store.config]\npath = ".credstash/keystore.json"\n`,
      { fernet: { keys: [KEY] }, credential_store: { type: 'local', config: { path: '.credstash/keystore.json' } } },
    ],
    [
      `[credential_store]\nname = "prod"\ntype = "dynamodb"\n[credential_store.config]\ntable = "t"\nregion = "eu-west-1"\nkms_key = "alias/x"\n[fernet]\nkeys = ["${KEY}", "b", "c"]\n`,
      { fernet: { keys: [KEY, 'b', 'c'] }, credential_store: { type: 'dynamodb', name: 'prod', config: { table: 't', region: 'eu-west-1', kms_key: 'alias/x' } } },
    ],
    [
      `[credential_store]\nmodule = "./store.mjs"\ntype = "custom"\nconfig = { a = 1, b = [1, 2], c = { d = "e" } }\n`,
      { credential_store: { type: 'custom', module: './store.mjs', config: { a: 1, b: [1, 2], c: { d: 'e' } } } },
    ],
    [
      '[credential_store]\ntype = "sql"\n[credential_store.references_from]\ntype = "local"\n[credential_store.references_from.config]\npath = "k.json"\n',
      { credential_store: { type: 'sql', references_from: { type: 'local', config: { path: 'k.json' } } } },
    ],
    [
      'audit_log = "a.log"\n[[credentials]]\nid = "a"\n[[credentials]]\ndescription = ""\nid = "b"\ncredential_type = "api_key"\nname = "B"\n[credentials.metadata]\nowner = "ops"\nlist = [1, "x", { y = true }]\n',
      { audit_log: 'a.log', credentials: [{ id: 'a' }, { id: 'b', name: 'B', credential_type: 'api_key', description: '', metadata: { owner: 'ops', list: [1, 'x', { y: true }] } }] },
    ],
    ['', {}],
  ];

  it.each(VALID.map(([t, want], i) => [i, t, want] as const))('file %i: the data in the order of the shape', (_i, text, want) => {
    expectSame(parseConfigText(text, F), want);
  });

  it('passes a date in the store config through (the tier judges it), but not in definition metadata (not JSON)', () => {
    const cfg = parseConfigText('[credential_store]\ntype = "custom"\n[credential_store.config]\nat = 1979-05-27T07:32:00Z\n', F);
    expect(cfg.credential_store?.config?.at).toBeInstanceOf(Date);
    expect(messageOf('[[credentials]]\nid = "a"\n[credentials.metadata]\nat = 1979-05-27T07:32:00Z\nn = nan\nok = 1\n')).toBe(
      '/c.toml line 4: credentials[0].metadata.at: is not valid; /c.toml line 5: credentials[0].metadata.n: is not valid',
    );
  });

  it('copies the store config one level deep (loadConfig adds keys to its copy, never to the parsed file)', () => {
    const text = '[credential_store]\ntype = "local"\nconfig = { path = "p", nested = { a = 1 } }\n';
    const a = parseConfigText(text, F);
    const raw = parseToml(text) as { credential_store: { config: Record<string, unknown> } };
    expect(a.credential_store?.config).toEqual(raw.credential_store.config);
    expect(Object.getPrototypeOf(a.credential_store?.config)).toBe(Object.prototype);
    // A second read of the same text is a new object: one caller's changes never reach another's.
    const b = parseConfigText(text, F);
    expect(b.credential_store?.config).not.toBe(a.credential_store?.config);
  });

  it('keeps a `__proto__` key of the store config and of metadata as a key (the tier then refuses it by name)', () => {
    const cfg = parseConfigText('[credential_store]\ntype = "local"\n[credential_store.config]\n"__proto__" = { polluted = true }\n[[credentials]]\nid = "a"\n[credentials.metadata]\n"__proto__" = "m"\n', F);
    const config = cfg.credential_store?.config ?? {};
    expect(Object.keys(config)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(config)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(() => checkStoreConfigKeys('local', config, ['path'])).toThrow('unknown key credential_store.config.__proto__ for the local store (known: path)');
    expect(Object.getOwnPropertyDescriptor(cfg.credentials?.[0]?.metadata ?? {}, '__proto__')?.value).toBe('m');
  });

  it('accepts every file of the shape, returning what the file says (property)', () => {
    const str = fc.string({ minLength: 1, maxLength: 6 });
    const key = fc.string({ minLength: 1, maxLength: 4 });
    const json = fc.oneof(str, fc.integer(), fc.boolean(), fc.array(fc.oneof(str, fc.integer()), { maxLength: 2 }), fc.dictionary(key, str, { maxKeys: 2 }));
    const table = fc.dictionary(key, json, { maxKeys: 3 });
    const arb = fc.record(
      {
        audit_log: str,
        fernet: fc.record({ keys: fc.array(fc.string({ maxLength: 44 }), { minLength: 1, maxLength: 3 }) }),
        credential_store: fc.record(
          { type: str, name: str, module: str, config: table, references_from: fc.record({ type: str, config: table }, { requiredKeys: ['type'] }) },
          { requiredKeys: ['type'] },
        ),
        credentials: fc.uniqueArray(
          fc.record(
            { id: str, name: str, credential_type: fc.constantFrom(...CREDENTIAL_TYPES), description: fc.string({ maxLength: 6 }), metadata: table },
            { requiredKeys: ['id'] },
          ),
          { selector: (d) => d.id, maxLength: 3 },
        ),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(arb, (raw) => {
        const text = stringifyToml(raw);
        expect(parseConfigText(text, F)).toEqual(parseToml(text));
      }),
      { numRuns: 500 },
    );
  });
});

describe('parseConfigText: one message per problem, naming file, line and key path', () => {
  const PROBLEMS: [string, string][] = [
    ['[credential-store]\ntype = "local"\n', '/c.toml line 1: credential-store: unknown key'],
    ['[credential_store]\ntype = ""\n', '/c.toml line 2: credential_store.type: must not be empty'],
    ['[credential_store]\ntype = 3\n', '/c.toml line 2: credential_store.type: expected a string, found a number'],
    ['[credential_store]\nname = "x"\n', '/c.toml line 1: credential_store.type: is required (a string)'],
    ['[credential_store]\ntype = "local"\nconfig = 1979-05-27T07:32:00Z\n', '/c.toml line 3: credential_store.config: expected a table, found a date'],
    ['[credential_store]\ntype = "local"\nconfig = [1]\n', '/c.toml line 3: credential_store.config: expected a table, found an array'],
    ['[credential_store]\ntype = "local"\nname = ""\n', '/c.toml line 3: credential_store.name: must not be empty'],
    ['[credential_store]\ntype = "sql"\n[credential_store.references_from]\nconfig = {}\nx = 1\n', '/c.toml line 3: credential_store.references_from.type: is required (a string); /c.toml line 5: credential_store.references_from.x: unknown key'],
    ['[fernet]\nkeys = []\n', '/c.toml line 2: fernet.keys: must have at least 1 item(s)'],
    ['[fernet]\nkeys = [1]\n', '/c.toml line 2: fernet.keys[0]: expected a string, found a number'],
    ['[fernet]\nkeys = "k"\nold = 1\n', '/c.toml line 2: fernet.keys: expected an array, found a string; /c.toml line 3: fernet.old: unknown key'],
    ['[fernet]\n', '/c.toml line 1: fernet.keys: is required (an array)'],
    ['fernet = "k"\n', '/c.toml line 1: fernet: expected a table, found a string'],
    ['audit_log = ""\n', '/c.toml line 1: audit_log: must not be empty'],
    ['credentials = {}\n', '/c.toml line 1: credentials: expected an array, found a table'],
    ['credentials = [1]\n', '/c.toml line 1: credentials[0]: expected a table, found a number'],
    ['[[credentials]]\nname = "n"\ncredential_type = 3\nmetadata = 1\n', '/c.toml line 1: credentials[0].id: is required (a string); /c.toml line 3: credentials[0].credential_type: expected one of "aws", "database", "api_key", "oauth", "basic_auth", "certificate", "custom"; /c.toml line 4: credentials[0].metadata: expected a table, found a number'],
    // Each unknown key of one table by name, after the problems of its known keys.
    ['zz = 1\n"a b" = 2\n[credential_store]\n', '/c.toml line 3: credential_store.type: is required (a string); /c.toml line 1: zz: unknown key; /c.toml line 2: "a b": unknown key'],
  ];

  it.each(PROBLEMS.map(([t, m], i) => [i, t, m] as const))('file %i', (_i, text, message) => {
    expect(messageOf(text)).toBe(message);
  });

  it('names the first five problems and counts the rest', () => {
    const text = 'a = 1\nb = 2\n[credential_store]\nc = 3\n[fernet]\nkeys = []\n[[credentials]]\nid = ""\ncredential_type = "db"\n[[credentials]]\n';
    expect(messageOf(text)).toBe(
      '/c.toml line 6: fernet.keys: must have at least 1 item(s); /c.toml line 3: credential_store.type: is required (a string); /c.toml line 4: credential_store.c: unknown key; ' +
        '/c.toml line 8: credentials[0].id: must not be empty; /c.toml line 9: credentials[0].credential_type: expected one of "aws", "database", "api_key", "oauth", "basic_auth", "certificate", "custom"; and 2 more',
    );
  });

  it('a value of the wrong kind is one problem: a date where a table belongs, an array or a table with a `length` key where a string belongs', () => {
    expect(messageOf('fernet = 1979-05-27T07:32:00Z\n')).toBe('/c.toml line 1: fernet: expected a table, found a date');
    expect(messageOf('[credential_store]\ntype = []\n')).toBe('/c.toml line 2: credential_store.type: expected a string, found an array');
    expect(messageOf('[credential_store]\ntype = { length = 0 }\n')).toBe('/c.toml line 2: credential_store.type: expected a string, found a table');
    expect(messageOf('[credential_store]\ntype = { length = {} }\n')).toBe('/c.toml line 2: credential_store.type: expected a string, found a table');
    expect(messageOf('[fernet]\nkeys = { length = {} }\n')).toBe('/c.toml line 2: fernet.keys: expected an array, found a table');
  });

  it('any TOML document: the data or one ConfigError, never a value in the message (property)', () => {
    const CANARY = 'c4n4ry';
    const str = fc.string({ maxLength: 4 }).map((s) => `${CANARY}${s}`);
    const key = fc.oneof(fc.constantFrom('type', 'keys', 'id', 'config', 'metadata', 'length', '__proto__', 'a b'), fc.stringMatching(/^[a-z_]{1,3}$/));
    const value = fc.letrec((tie) => ({
      v: fc.oneof({ depthSize: 'small' }, str, fc.integer(), fc.double(), fc.boolean(), fc.constant(new Date(0)), fc.array(tie('v'), { maxLength: 2 }), fc.dictionary(key, tie('v'), { maxKeys: 3 })),
    })).v;
    const some = <T>(a: fc.Arbitrary<T>) => fc.oneof(a, value);
    const arb = fc.record(
      {
        audit_log: some(str),
        fernet: some(fc.record({ keys: some(fc.array(some(str), { maxLength: 2 })) }, { requiredKeys: [] })),
        credential_store: some(fc.record({ type: some(str), name: some(str), config: value, references_from: value }, { requiredKeys: [] })),
        credentials: some(fc.array(some(fc.record({ id: some(str), credential_type: some(str), metadata: value }, { requiredKeys: [] })), { maxLength: 2 })),
        extra: value,
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(arb, (raw) => {
        let text: string;
        try {
          text = stringifyToml(raw);
        } catch {
          return; // not expressible in TOML
        }
        try {
          parseConfigText(text, F);
        } catch (err) {
          expect(err).toBeInstanceOf(ConfigError);
          // A definition id given twice is named by its id (ids are names, not secrets); nothing else is quoted.
          if (!/: id ".*" is already defined by credentials\[\d+\]$/.test((err as Error).message)) expect((err as Error).message).not.toContain(CANARY);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
