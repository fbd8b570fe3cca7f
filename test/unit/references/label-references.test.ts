/**
 * Label references: `${credential:ID?@LABEL}` and `${credential:ID?key=value&@LABEL}` read the version the
 * label points at. The `@` part sits where a context pair would, and a context part without `=` was an
 * error before, so no reference that parsed before changes meaning; an id may contain `@`, and text after
 * the closing brace is never a label.
 */
import { describe, expect, it } from 'vitest';
import { CredentialReferenceError } from '../../../src/core/errors.js';
import { findCredentialReferences, parseReferences, resolveCredentialReferences } from '../../../src/references/index.js';
import { MemoryStore } from '../../fixtures/memory-store.js';
import { CANARY, expectNoLeak, rejectionOf } from '../../helpers/no-leak.js';

async function labelled(): Promise<MemoryStore> {
  const store = new MemoryStore('refs');
  await store.storeCredential('db_prod', { user: 'app', password: `${CANARY}-1` });
  await store.storeCredential('db_prod', { user: 'app', password: `${CANARY}-2` }, { autoVersion: true });
  await store.labelCredential('db_prod', 'current', { version: 1 });
  await store.storeCredential('ctx_db', `${CANARY}-c1`, { context: { env: 'prod' } });
  await store.storeCredential('ctx_db', `${CANARY}-c2`, { autoVersion: true, context: { env: 'prod' } });
  await store.labelCredential('ctx_db', 'current', { version: 1, context: { env: 'prod' } });
  await store.storeCredential('user@host', 'at-id');
  return store;
}

function ref(text: string): Record<string, unknown> {
  const seg = parseReferences(text)[0];
  if (seg?.kind !== 'ref') throw new Error('not a reference');
  return seg.ref as unknown as Record<string, unknown>;
}

describe('parsing ?@label', () => {
  it('reads the label from an @-part of the query, alone or with context pairs, in any position', () => {
    expect(ref('${credential:db_prod?@current}.password')).toMatchObject({ id: 'db_prod', label: 'current', context: {}, explicitContext: false, field: ['password'] });
    expect(ref('${credential:db_prod?env=prod&@current}')).toMatchObject({ id: 'db_prod', label: 'current', context: { env: 'prod' }, explicitContext: true });
    expect(ref('${credential:db_prod?@next&env=prod}')).toMatchObject({ label: 'next', context: { env: 'prod' }, explicitContext: true });
  });

  it('leaves every earlier form as it was: no label, @ inside an id, @ after the brace, @ in a context value', () => {
    expect(ref('${credential:db_prod?env=prod}')).not.toHaveProperty('label');
    expect(ref('${credential:user@host}')).toMatchObject({ id: 'user@host', explicitContext: false });
    expect(ref('${credential:user@host}')).not.toHaveProperty('label');
    expect(parseReferences('https://${credential:user}@host/x')).toMatchObject([{ kind: 'text', text: 'https://' }, { kind: 'ref', ref: { id: 'user' } }, { kind: 'text', text: '@host/x' }]);
    expect(ref('${credential:x?tag=@current}')).toMatchObject({ context: { tag: '@current' } });
    expect(ref('${credential:x?%40current=1}')).toMatchObject({ context: { '@current': '1' } });
    expect(ref('${credential:x?%40current=1}')).not.toHaveProperty('label');
  });

  it('refuses two labels, an empty or invalid label, with one message naming the reference', () => {
    expect(() => parseReferences('${credential:x?@a&@b}', 'db.password')).toThrow(/^credential reference "\$\{credential:x\?@a&@b\}" at db\.password names more than one label$/);
    expect(() => parseReferences('${credential:x?@}')).toThrow(/label "" is not valid/);
    expect(() => parseReferences('${credential:x?@Current}')).toThrow(/label "Current" is not valid/);
    expect(() => parseReferences('${credential:x?@latest}')).toThrow(/"latest" is not a label/);
    expect(() => parseReferences('${credential:x?env}')).toThrow(/context must be key=value pairs \(and at most one @label\) joined by &/);
  });

  it('findCredentialReferences reports the label', () => {
    expect(findCredentialReferences({ a: '${credential:db_prod?@current}.password', b: '${credential:db_prod}' })).toEqual([
      { path: 'a', reference: '${credential:db_prod?@current}.password', id: 'db_prod', context: {}, field: ['password'], label: 'current' },
      { path: 'b', reference: '${credential:db_prod}', id: 'db_prod', context: {}, field: [] },
    ]);
  });
});

describe('resolving ?@label', () => {
  it('reads the labelled version, and the newest for the same id without a label (two reads, not one)', async () => {
    const store = await labelled();
    const out = await resolveCredentialReferences({ pinned: '${credential:db_prod?@current}.password', newest: '${credential:db_prod}.password', id: '${credential:user@host}' }, store);
    expect(out).toEqual({ pinned: `${CANARY}-1`, newest: `${CANARY}-2`, id: 'at-id' });
  });

  it('a label alone keeps the default context; a label with pairs uses only its own', async () => {
    const store = await labelled();
    expect(await resolveCredentialReferences({ v: '${credential:ctx_db?@current}' }, store, { context: { env: 'prod' } })).toEqual({ v: `${CANARY}-c1` });
    expect(await resolveCredentialReferences({ v: '${credential:ctx_db?env=prod&@current}' }, store, { context: { env: 'other' } })).toEqual({ v: `${CANARY}-c1` });
  });

  it('a missing label is a CredentialReferenceError naming the reference, the label and the store, with no value', async () => {
    const store = await labelled();
    const err = await rejectionOf(resolveCredentialReferences({ db: { password: '${credential:db_prod?@stable}.password' } }, store));
    expect(err).toBeInstanceOf(CredentialReferenceError);
    expect(err.message).toBe('credential reference "${credential:db_prod?@stable}.password" at db.password: credential "db_prod" has no label "stable" in memory store "refs"');
    expectNoLeak(err, CANARY);
  });

  it('a forged label target fails the read (the tier checks the proof) instead of returning another version', async () => {
    const store = await labelled();
    const rec = store.companions.get('db_prod');
    if (rec === undefined) throw new Error('no companion record');
    rec.text = rec.text.replace('"v":"0000000000000000001"', '"v":"0000000000000000002"');
    const err = await rejectionOf(resolveCredentialReferences({ p: '${credential:db_prod?@current}.password' }, store));
    expect(err.message).toMatch(/could not be read: .*integrity/i);
    expectNoLeak(err, CANARY);
  });
});
