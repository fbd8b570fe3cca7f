/**
 * Keys that name Object.prototype machinery (`__proto__`, `constructor`, `prototype`) are ordinary keys
 * wherever an object is built from untrusted input: reference query strings, rendered config trees,
 * putall/import mappings, structured values and context arguments. `obj[key] = v` with key `__proto__`
 * sets the prototype instead, so the pair silently vanishes (a reference then reads under a weaker context,
 * a rendered file loses a key). Each case here keeps the pair as an own property.
 */
import { describe, expect, it } from 'vitest';
import { setupOptions } from '../../src/cli/commands/setup.js';
import { formatCredentials } from '../../src/cli/output/index.js';
import { parseStoreSpec } from '../../src/cli/store-spec.js';
import { parseContextArgs } from '../../src/core/context.js';
import { VaultStore } from '../../src/stores/vault/index.js';
import { startVaultServer } from '../fixtures/vault-server.js';
import { parseImportFile } from '../../src/ops/import-export.js';
import { parseReferences } from '../../src/references/parse.js';
import { findCredentialReferences, resolveCredentialReferences } from '../../src/references/resolve.js';
import { MemoryStore } from '../fixtures/memory-store.js';
import { CANARY, rejectionOf } from '../helpers/no-leak.js';

const PROTO_KEYS = ['__proto__', 'constructor', 'prototype'] as const;

/** `{ [k]: v }` as an own data property, whatever k is (an object literal `{ __proto__: v }` would not be). */
const own = (k: string, v: string): Record<string, string> => Object.fromEntries([[k, v]]);

describe('`__proto__`, `constructor`, `prototype` as keys of untrusted input', () => {
  it.each(PROTO_KEYS)('a reference `?%s=a` keeps the pair in its context', (k) => {
    const [seg] = parseReferences(`\${credential:x?${k}=a&env=prod}`);
    expect(seg?.kind).toBe('ref');
    const ctx = seg?.kind === 'ref' ? seg.ref.context : {};
    expect(Object.keys(ctx).sort()).toEqual(['env', k].sort());
    expect(Object.prototype.hasOwnProperty.call(ctx, k)).toBe(true);
    expect(ctx[k]).toBe('a');
    expect(Object.getPrototypeOf(ctx)).toBe(Object.prototype);
  });

  it('`${credential:x?__proto__=a}` reads the version stored under that context, and never the context-free one', async () => {
    const store = new MemoryStore();
    await store.storeCredential('bound', `${CANARY}-bound`, { context: own('__proto__', 'a') });
    await store.storeCredential('free', `${CANARY}-free`);
    expect(await resolveCredentialReferences('${credential:bound?__proto__=a}', store)).toBe(`${CANARY}-bound`);
    // the pair used to be dropped, so this read the context-free credential
    const err = await rejectionOf(resolveCredentialReferences('${credential:free?__proto__=a}', store));
    expect(err.code).toBe('ERR_REFERENCE');
    expect((err.cause as { code?: string } | undefined)?.code).toBe('ERR_ENCRYPTION_CONTEXT_MISMATCH');
    expect(err.message).not.toContain(CANARY);
  });

  it('a duplicated `__proto__` pair in a reference is an error, as any duplicated key', () => {
    expect(() => parseReferences('${credential:x?__proto__=a&__proto__=b}')).toThrow(/given twice/);
  });

  it('a rendered tree keeps `__proto__`, `constructor` and `prototype` keys with their resolved values', async () => {
    const store = new MemoryStore();
    await store.storeCredential('db', CANARY);
    const tree = JSON.parse('{"__proto__": "${credential:db}", "constructor": {"prototype": "${credential:db}"}, "plain": "p"}') as Record<string, unknown>;
    const out = (await resolveCredentialReferences(tree, store)) as Record<string, unknown>;
    expect(Object.keys(out)).toEqual(['__proto__', 'constructor', 'plain']);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(out, '__proto__')?.value).toBe(CANARY);
    expect(Object.getOwnPropertyDescriptor(out.constructor as object, 'prototype')?.value).toBe(CANARY);
    expect(findCredentialReferences(tree).map((r) => r.path)).toEqual(['__proto__', 'constructor.prototype']);
  });

  it.each(['json', 'yaml'] as const)('an import file (%s) with those ids imports each of them as a credential', async (format) => {
    const text =
      format === 'json'
        ? '{"__proto__": "v1", "constructor": "v2", "prototype": {"__proto__": "f"}}'
        : '__proto__: v1\nconstructor: v2\nprototype:\n  __proto__: f\n';
    const records = await parseImportFile(text, format, `ids.${format}`);
    expect(records.map((r) => r.id)).toEqual(['__proto__', 'constructor', 'prototype']);
    const structured = records[2]?.value as Record<string, unknown>;
    expect(Object.getOwnPropertyDescriptor(structured, '__proto__')?.value).toBe('f');
    const store = new MemoryStore();
    for (const r of records) await store.storeCredential(r.id, r.value);
    expect((await store.getCredential('__proto__', { required: true })).value).toBe('v1');
    const back = (await store.getCredential('prototype', { required: true })).value as Record<string, unknown>;
    expect(Object.getOwnPropertyDescriptor(back, '__proto__')?.value).toBe('f');
  });

  it('context arguments keep the three keys as pairs', () => {
    const ctx = parseContextArgs(PROTO_KEYS.map((k) => `${k}=v`));
    expect(Object.keys(ctx).sort()).toEqual([...PROTO_KEYS].sort());
  });

  it.each(['json', 'yaml', 'csv'] as const)('getall/export -f %s keeps a credential named `__proto__` (it vanished from the output)', (format) => {
    const creds = [
      { id: '__proto__', version: '1', value: 'p-value' },
      { id: 'constructor', version: '1', value: { prototype: 'c-value' } },
    ];
    const out = formatCredentials(creds, format);
    expect(out).toContain('__proto__');
    expect(out).toContain('p-value');
    expect(out).toContain('c-value');
  });

  it('a `TYPE:__proto__=x` store spec and a `--tags __proto__=x` tag keep the pair (the tier then judges the key)', () => {
    const spec = parseStoreSpec('local:__proto__=x,path=ks.json', '/tmp', ['local']);
    expect(Object.keys(spec.config ?? {})).toEqual(['__proto__', 'path']);
    expect(() => parseStoreSpec('local:__proto__=x,__proto__=y', '/tmp', ['local'])).toThrow(/given twice/);
    const tags = setupOptions({ tags: ['__proto__=x', 'constructor=y'] }).tags ?? {};
    expect(Object.keys(tags)).toEqual(['__proto__', 'constructor']);
    expect(Object.getOwnPropertyDescriptor(tags, '__proto__')?.value).toBe('x');
  });

  it('vault: definition metadata keyed `__proto__` reads back as that key', async () => {
    const vault = await startVaultServer();
    try {
      const store = new VaultStore({ address: vault.address, token: vault.rootToken, prefix: 'keys/', env: {} });
      await store.storeCredential('v', 'x', { definition: { id: 'v', metadata: own('__proto__', 'm') } });
      const def = await store.getDefinition('v');
      expect(Object.getOwnPropertyDescriptor(def?.metadata ?? {}, '__proto__')?.value).toBe('m');
    } finally {
      await vault.close();
    }
  });
});
