import fc from 'fast-check';
import { parse as parseToml } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import { commonConfigShape, configFileSchema, parseConfigText } from '../../../src/config/schema.js';

// parseConfigText checks the usual credstash.toml without zod (cold start, docs/config.md); the result
// must be exactly the schema's, and anything the fast check does not cover must reach the schema.
const KEY = 'p9fmtNshoJmctbd6oLHeyLY9goUXSZUIyuB6I8UXlac=';

/** The schema's output, or undefined when it rejects the input. */
function bySchema(raw: unknown): unknown {
  const r = configFileSchema().safeParse(raw);
  return r.success ? r.data : undefined;
}

/** Equal, and with the same key order at every level (JSON text compares the order). */
function expectSame(fast: unknown, slow: unknown): void {
  expect(fast).toEqual(slow);
  expect(JSON.stringify(fast)).toBe(JSON.stringify(slow));
}

const COMMON = [
  `[fernet]\nkeys = ["${KEY}"]\n\n[credential_store]\ntype = "local"\n\n[credential_store.config]\npath = ".credstash/keystore.json"\n`,
  `audit_log = "~/audit.log"\n[credential_store]\ntype = "dynamodb"\nname = "prod"\n[credential_store.config]\ntable = "t"\nregion = "eu-west-1"\nkms_key = "alias/x"\n`,
  `[credential_store]\nmodule = "./store.mjs"\ntype = "custom"\nconfig = { a = 1, b = [1, 2], c = { d = "e" }, f = 1979-05-27T07:32:00Z }\n`,
  `[credential_store]\ntype = "sql"\n[credential_store.config]\ntable = "t"\nengine = { name = "sqlite", config = { path = "d.db" } }\n`,
  `[fernet]\nkeys = ["${KEY}", "b", "c"]\n`,
  '',
];

const SCHEMA_ONLY = [
  '[[credentials]]\nid = "a"\n',
  '[credential_store]\ntype = "sql"\n[credential_store.references_from]\ntype = "local"\n',
  '[credential-store]\ntype = "local"\n',
  '[credential_store]\ntype = ""\n',
  '[credential_store]\ntype = 3\n',
  '[credential_store]\nname = "x"\n',
  '[credential_store]\ntype = "local"\nconfig = 1979-05-27T07:32:00Z\n',
  '[credential_store]\ntype = "local"\nconfig = [1]\n',
  '[credential_store]\ntype = "local"\nname = ""\n',
  '[fernet]\nkeys = []\n',
  '[fernet]\nkeys = [1]\n',
  '[fernet]\nkeys = "k"\nold = 1\n',
  'fernet = "k"\n',
  'audit_log = ""\n',
  '[credential_store]\ntype = "local"\n[credential_store.config]\n"__proto__" = { polluted = true }\n',
];

describe('commonConfigShape', () => {
  it.each(COMMON.map((t, i) => [i, t] as const))('common file %i: the schema’s result, without the schema', (_i, text) => {
    const raw = parseToml(text);
    const fast = commonConfigShape(raw);
    expect(fast).toBeDefined();
    expectSame(fast, bySchema(raw));
    expectSame(parseConfigText(text, '/c.toml'), fast);
  });

  it.each(SCHEMA_ONLY.map((t, i) => [i, t] as const))('file %i goes to the schema', (_i, text) => {
    expect(commonConfigShape(parseToml(text))).toBeUndefined();
  });

  it('copies the store config one level deep, as the schema does (loadConfig may add keys to it)', () => {
    const raw = parseToml('[credential_store]\ntype = "local"\nconfig = { path = "p", nested = { a = 1 } }\n') as { credential_store: { config: { nested: unknown } } };
    const fast = commonConfigShape(raw);
    const slow = bySchema(raw) as typeof raw;
    expect(fast?.credential_store?.config).not.toBe(raw.credential_store.config);
    expect(fast?.credential_store?.config?.nested).toBe(raw.credential_store.config.nested);
    expect(slow.credential_store.config.nested).toBe(raw.credential_store.config.nested);
  });

  it('never disagrees with the schema, and covers every valid file without credentials or references_from (property)', () => {
    const str = fc.oneof(fc.constantFrom('', 'local', 'x', KEY), fc.string({ maxLength: 4 }));
    const scalar = fc.oneof(str, fc.integer(), fc.boolean(), fc.constant(new Date(0)));
    const value = fc.oneof(scalar, fc.array(scalar, { maxLength: 2 }), fc.dictionary(fc.string({ maxLength: 3 }), scalar, { maxKeys: 2 }));
    const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
    const table = <T extends Record<string, fc.Arbitrary<unknown>>>(shape: T) =>
      fc.tuple(fc.record(shape, { requiredKeys: [] }), maybe(fc.tuple(fc.string({ maxLength: 5 }), value))).map(([o, extra]) => {
        const out: Record<string, unknown> = { ...o };
        if (extra !== undefined) out[extra[0]] = extra[1];
        return out;
      });
    // smol-toml always returns a table at the top (the schema would take a Date there as an empty file).
    const arb = fc.oneof(
      table({
        audit_log: fc.oneof(str, value),
        fernet: fc.oneof(table({ keys: fc.oneof(fc.array(str, { maxLength: 3 }), value) }), value),
        credential_store: fc.oneof(
          table({ type: fc.oneof(str, value), name: fc.oneof(str, value), module: fc.oneof(str, value), config: fc.oneof(fc.dictionary(fc.string({ maxLength: 3 }), value), value) }),
          value,
        ),
      }),
      fc.dictionary(fc.string({ maxLength: 5 }), value, { maxKeys: 2 }),
    );
    fc.assert(
      fc.property(arb, (raw) => {
        const fast = commonConfigShape(raw);
        const slow = bySchema(raw);
        if (fast !== undefined) expectSame(fast, slow);
        else if (slow !== undefined) {
          // Only the shapes left to the schema on purpose.
          const r = raw as Record<string, Record<string, unknown> | undefined>;
          expect(Object.hasOwn(r, 'credentials') || Object.hasOwn(r.credential_store ?? {}, 'references_from') || Object.hasOwn((r.credential_store?.config ?? {}) as object, '__proto__')).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
