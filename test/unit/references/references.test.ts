import { describe, expect, it } from 'vitest';
import {
  containsCredentialReference,
  extractCredentialId,
  findCredentialReferences,
  getCredentialsForConfig,
  isCredentialReference,
  parseReferences,
  resolveCredentialReferences,
} from '../../../src/references/index.js';
import { MemoryStore } from '../../fixtures/memory-store.js';
import { CANARY, expectNoLeak, rejectionOf } from '../../helpers/no-leak.js';

async function seeded(): Promise<MemoryStore> {
  const store = new MemoryStore('refs');
  await store.storeCredential('db_prod', { host: 'db.example', port: 5432, ssl: true, password: CANARY, nested: { user: 'app' }, list: ['a', 'b'] });
  await store.storeCredential('api_key', 'k-123');
  await store.storeCredential('ctx_key', 'with-context', { context: { env: 'prod', region: 'eu' } });
  await store.storeCredential('odd_ctx', 'odd', { context: { 'a&b': 'x=y}%' } });
  await store.storeCredential('bin', new Uint8Array([1, 2, 3]));
  return store;
}

describe('parseReferences', () => {
  it('splits text and references with id, context and field path', () => {
    const segs = parseReferences('pre ${credential:db_prod?env=prod&region=eu}.password.x post');
    expect(segs).toHaveLength(3);
    expect(segs[0]).toEqual({ kind: 'text', text: 'pre ' });
    expect(segs[1]).toMatchObject({ kind: 'ref', ref: { id: 'db_prod', context: { env: 'prod', region: 'eu' }, field: ['password', 'x'], text: '${credential:db_prod?env=prod&region=eu}.password.x' } });
    expect(segs[2]).toEqual({ kind: 'text', text: ' post' });
  });

  it('percent-decodes context keys and values', () => {
    const [seg] = parseReferences('${credential:odd_ctx?a%26b=x%3Dy%7D%25}');
    expect(seg).toMatchObject({ kind: 'ref', ref: { context: { 'a&b': 'x=y}%' } } });
  });

  it('treats \\${credential: as literal text and \\. after a reference as a literal dot', () => {
    expect(parseReferences('a \\${credential:x} b')).toEqual([{ kind: 'text', text: 'a ${credential:x} b' }]);
    const segs = parseReferences('${credential:host}\\.example.com');
    expect(segs).toEqual([
      { kind: 'ref', ref: expect.objectContaining({ id: 'host', field: [] }) },
      { kind: 'text', text: '.example.com' },
    ]);
  });

  it('rejects an unterminated reference, an empty id and a malformed context, naming the path', async () => {
    expect(() => parseReferences('${credential:abc', 'a.b')).toThrow(/unterminated credential reference at a\.b/);
    expect(() => parseReferences('${credential:}', 'x')).toThrow(/empty id/);
    expect(() => parseReferences('${credential:a?env}', 'x')).toThrow(/key=value/);
    expect(() => parseReferences('${credential:a?e=1&e=2}', 'x')).toThrow(/given twice/);
    expect(() => parseReferences('${credential:a?e=%zz}', 'x')).toThrow(/%-escape/);
  });
});

describe('isCredentialReference / extractCredentialId / containsCredentialReference', () => {
  it('recognises a whole reference with or without field and context', () => {
    expect(isCredentialReference('${credential:db_prod}')).toBe(true);
    expect(isCredentialReference('${credential:db_prod?env=prod}.password')).toBe(true);
    expect(isCredentialReference('x${credential:db_prod}')).toBe(false);
    expect(isCredentialReference('${credential:a}${credential:b}')).toBe(false);
    expect(isCredentialReference('${credential:broken')).toBe(false);
    expect(isCredentialReference(42)).toBe(false);
    expect(extractCredentialId('${credential:db_prod?env=prod}.password')).toBe('db_prod');
    expect(extractCredentialId('plain')).toBeUndefined();
    expect(containsCredentialReference('url://${credential:u}@h')).toBe(true);
    expect(containsCredentialReference('\\${credential:u}')).toBe(false);
  });
});

describe('getCredentialsForConfig / findCredentialReferences', () => {
  it('lists the distinct ids a tree needs, sorted, and where each reference is', () => {
    const tree = { db: { password: '${credential:db_prod}.password', 'odd key': ['${credential:api_key}'] }, url: 'x://${credential:db_prod}.host/${credential:z}', n: 1 };
    expect(getCredentialsForConfig(tree)).toEqual(['api_key', 'db_prod', 'z']);
    expect(findCredentialReferences(tree).map((r) => r.path)).toEqual(['db.password', 'db["odd key"][0]', 'url', 'url']);
    expect(getCredentialsForConfig('${credential:solo}')).toEqual(['solo']);
  });
});

describe('resolveCredentialReferences', () => {
  it('replaces whole references by the value, fields by their JSON value, and interpolates text', async () => {
    const store = await seeded();
    const tree = {
      whole: '${credential:db_prod}',
      password: '${credential:db_prod}.password',
      port: '${credential:db_prod}.port',
      nested: '${credential:db_prod}.nested.user',
      item: '${credential:db_prod}.list.1',
      url: 'postgres://${credential:db_prod}.nested.user@${credential:db_prod}.host:${credential:db_prod}.port/x?ssl=${credential:db_prod}.ssl',
      arr: ['${credential:api_key}', 3, null, true],
      withCtx: '${credential:ctx_key?region=eu&env=prod}',
      oddCtx: '${credential:odd_ctx?a%26b=x%3Dy%7D%25}',
      dot: '${credential:api_key}\\.suffix',
      literal: '\\${credential:api_key}',
      date: new Date(0),
    };
    const out = await resolveCredentialReferences(tree, store);
    expect(out).toEqual({
      whole: { host: 'db.example', port: 5432, ssl: true, password: CANARY, nested: { user: 'app' }, list: ['a', 'b'] },
      password: CANARY,
      port: 5432,
      nested: 'app',
      item: 'b',
      url: 'postgres://app@db.example:5432/x?ssl=true',
      arr: ['k-123', 3, null, true],
      withCtx: 'with-context',
      oddCtx: 'odd',
      dot: 'k-123.suffix',
      literal: '${credential:api_key}',
      date: new Date(0),
    });
    expect(tree.password).toBe('${credential:db_prod}.password'); // input untouched
  });

  it('reads each distinct id+context once', async () => {
    const store = await seeded();
    store.reads = 0;
    await resolveCredentialReferences({ a: '${credential:db_prod}.host', b: '${credential:db_prod}.port', c: ['${credential:db_prod}'], d: '${credential:api_key}', e: '${credential:ctx_key?env=prod&region=eu}', f: '${credential:ctx_key?region=eu&env=prod}' }, store);
    expect(store.reads).toBe(3);
  });

  it('applies opts.context to references without their own', async () => {
    const store = await seeded();
    expect(await resolveCredentialReferences('${credential:ctx_key}', store, { context: { env: 'prod', region: 'eu' } })).toBe('with-context');
    // `?` with nothing after it: explicitly no context, the default does not apply
    expect(await resolveCredentialReferences('${credential:api_key?}', store, { context: { env: 'prod', region: 'eu' } })).toBe('k-123');
    expect((await rejectionOf(resolveCredentialReferences('${credential:api_key}', store, { context: { env: 'prod' } }))).code).toBe('ERR_REFERENCE');
  });

  it('resolves a root string', async () => {
    const store = await seeded();
    expect(await resolveCredentialReferences('key=${credential:api_key}', store)).toBe('key=k-123');
  });

  it('throws CredentialReferenceError naming reference and path for an unknown id', async () => {
    const store = await seeded();
    const err = await rejectionOf(resolveCredentialReferences({ database: { password: '${credential:nope}.password' } }, store));
    expect(err).toMatchObject({ code: 'ERR_REFERENCE', credentialId: 'nope', path: 'database.password' });
    expect(err.message).toBe('credential reference "${credential:nope}.password" at database.password: credential "nope" not found in memory store "refs"');
  });

  it('throws for a missing field without printing the value', async () => {
    const store = await seeded();
    const err = await rejectionOf(resolveCredentialReferences({ servers: [{ pw: '${credential:db_prod}.passwd' }] }, store));
    expect(err).toMatchObject({ code: 'ERR_REFERENCE', path: 'servers[0].pw' });
    expect(err.message).toContain('has no field "passwd"');
    expectNoLeak(err, CANARY);
    const err2 = await rejectionOf(resolveCredentialReferences({ x: '${credential:api_key}.field' }, store));
    expect(err2.message).toContain('has no field "field"');
    expectNoLeak(err2, 'k-123');
  });

  it('throws for an object, array or null inside a longer string, without the value', async () => {
    const store = await seeded();
    for (const [ref, kind] of [['${credential:db_prod}', 'an object'], ['${credential:db_prod}.list', 'an array']] as const) {
      const err = await rejectionOf(resolveCredentialReferences({ a: { b: `x ${ref} y` } }, store));
      expect(err).toMatchObject({ code: 'ERR_REFERENCE', path: 'a.b' });
      expect(err.message).toContain(`its value is ${kind}`);
      expectNoLeak(err, CANARY);
    }
    await store.storeCredential('nul', { v: null });
    expect((await rejectionOf(resolveCredentialReferences('a${credential:nul}.v', store))).message).toContain('its value is null');
  });

  it('refuses binary credentials', async () => {
    const store = await seeded();
    const err = await rejectionOf(resolveCredentialReferences({ b: '${credential:bin}' }, store));
    expect(err.message).toContain('is binary');
  });

  it('wraps a failed read (wrong context) naming the reference and the path, keeping the typed cause', async () => {
    const store = await seeded();
    const err = await rejectionOf(resolveCredentialReferences({ k: '${credential:ctx_key?env=dev}' }, store));
    expect(err).toMatchObject({ code: 'ERR_REFERENCE', path: 'k', credentialId: 'ctx_key' });
    expect((err.cause as { code: string }).code).toBe('ERR_ENCRYPTION_CONTEXT_MISMATCH');
    expectNoLeak(err, 'with-context');
  });

  it('does not resolve references inside values by default', async () => {
    const store = await seeded();
    await store.storeCredential('indirect', 'pw-${credential:api_key}');
    expect(await resolveCredentialReferences('${credential:indirect}', store)).toBe('pw-${credential:api_key}');
  });

  it('resolves inside values with recursive: true and detects cycles', async () => {
    const store = await seeded();
    await store.storeCredential('indirect', 'pw-${credential:api_key}');
    await store.storeCredential('obj', { dsn: 'u:${credential:indirect}' });
    expect(await resolveCredentialReferences({ a: '${credential:obj}.dsn' }, store, { recursive: true })).toEqual({ a: 'u:pw-k-123' });
    await store.storeCredential('c1', 'x ${credential:c2}');
    await store.storeCredential('c2', 'y ${credential:c1}');
    const err = await rejectionOf(resolveCredentialReferences({ top: '${credential:c1}' }, store, { recursive: true }));
    expect(err).toMatchObject({ code: 'ERR_REFERENCE', path: 'top' });
    expect(err.message).toContain('forms a cycle: c1 -> c2 -> c1');
    await store.storeCredential('self', '${credential:self}');
    expect((await rejectionOf(resolveCredentialReferences('${credential:self}', store, { recursive: true }))).message).toContain('cycle: self -> self');
  });
});
