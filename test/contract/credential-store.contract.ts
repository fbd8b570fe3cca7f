/**
 * The shared contract every writable store passes: one interface, the same semantics on every tier. A tier calls
 * `runStoreContract('local', () => makeStore())` inside its own test file; each test gets a fresh, empty store.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CredentialStore } from '../../src/core/store.js';
import { encodeStringValue } from '../../src/core/string-values.js';
import type { CredentialDefinition, DeleteResult, JsonObject } from '../../src/core/types.js';
import { CANARY, expectNoLeak, rejectionOf } from '../helpers/no-leak.js';

/**
 * Text values a store must give back byte for byte, as text: text that looks like JSON of every kind (objects
 * in compact and other forms, arrays, numbers, literals), what JSON.parse would change (a 20-digit integer,
 * `1.0`, duplicate keys, escapes, key order), significant whitespace, a BOM, CR LF, NUL, astral characters,
 * combining marks, and the shapes other tiers use to tell text from structured values.
 */

/**
 * A DeleteResult without its optional `stored` forms, after checking them: a tier that reports them (DynamoDB)
 * gives one per deleted version, each naming that same version (padded as written by this tool).
 */
function withoutStoredForms(r: DeleteResult): DeleteResult {
  const { stored, ...rest } = r;
  if (stored !== undefined) {
    expect(stored).toHaveLength(r.deleted.length);
    stored.forEach((s, i) => expect(String(Number(s))).toBe(r.deleted[i]));
  }
  return rest;
}

export const TRICKY_TEXTS: readonly string[] = [
  '{"a":1}', '{"b":1,"a":2}', '{"1":"x","a":"y","0":"z"}', '{}', '[]', '[1,2]', '123', '-0', '1.0', '1e2', 'null', 'true', 'false', '"quoted"',
  '{"n":12345678901234567891}', '12345678901234567891', '{"x":1.0}', '{"a":1,"a":2}', '{"a":"\\u0041"}',
  '{"a": 1}', '{ "a":1 }', '{\n  "a": 1\n}\n', ' {"a":1}', '{"a":1} ', '{"a":1',
  ' leading', 'trailing ', '\nnewlines\n', '\r\nwindows\r\nlines\r\n', '\t', ' ',
  '\uFEFFbom', '\uFEFF{"a":1}', 'nul\u0000inside', '\u0000', '😀 astral 𝄞', 'e\u0301 combining', 'A\u030A\u00C5 decomposed and precomposed',
  'credstash:text:', 'credstash:text:{"a":1}', 'credstash:text:plain', '{"value":"x"}', '{"value":"eA==","encoding":"base64"}',
];

/** Structured values that must come back structured and equal (key order of integer-like keys, Vault's shapes...). */
export const TRICKY_OBJECTS: readonly JsonObject[] = [
  {},
  { '1': 'x', b: 'y', '0': 'z' },
  { value: 'x' },
  { value: 'eA==', encoding: 'base64' },
  { n: 1.5, big: 12345678901234567000, neg: -1, zero: 0 },
  { nested: { deep: [1, { x: null }] }, t: true, f: false },
  { 'ключ': 'значение ✓', combining: 'e\u0301', astral: '😀' },
  { text: '{"a":1}', marker: 'credstash:text:x', nul: 'a\u0000b', bom: '\uFEFF', crlf: '\r\n' },
];

/** Byte values (stores that hold bytes): empty, UTF-8 JSON text, a BOM, invalid and truncated UTF-8, NUL. */
export const TRICKY_BYTES: readonly number[][] = [
  [], [0x7b, 0x22, 0x61, 0x22, 0x3a, 0x31, 0x7d], [0xef, 0xbb, 0xbf, 0x61], [0xff, 0xfe, 0x00], [0xc3], [0x00],
  // every byte value once, and the text marker's bytes (bytes must never read back as text)
  Array.from({ length: 256 }, (_, i) => i), [...Buffer.from('credstash:text:x')],
];

export interface ContractOptions {
  /** The store binds an encryption context (KMS semantics). Otherwise context must be refused. */
  context: boolean;
  /** Largest value the store accepts, to test the one-byte-over error (skip the check when undefined). */
  maxValueBytes?: number;
  /** Parallel autoversion writers to race in-process (default 8). */
  racers?: number;
  /**
   * The store can create an explicit version that skips numbers (default true). Stores whose backend assigns
   * versions (Vault KV v2) set false: the tests then use consecutive versions, and a skip must be refused
   * with UnsupportedOperationError.
   */
  versionGaps?: boolean;
  /**
   * Value kinds the store cannot hold (default: none). Each listed kind must be refused with
   * UnsupportedOperationError and nothing written (SSM: a SecureString can hold neither bytes nor "").
   */
  unsupportedValues?: ReadonlyArray<'bytes' | 'empty'>;
  /**
   * The store can delete one version (default true). Stores that delete a credential only as a whole (SSM)
   * set false: deleting one version must then be refused with UnsupportedOperationError, deleting nothing.
   */
  deleteVersion?: boolean;
  /**
   * How the store gives back the definition stored with a credential (default: `getCredential(...).definition`).
   * Vault keeps it in the secret's metadata, read by its own `getDefinition(id)`.
   */
  readDefinition?: (store: CredentialStore, id: string) => Promise<CredentialDefinition | undefined>;
}

export function runStoreContract(name: string, makeStore: () => Promise<CredentialStore>, options: ContractOptions): void {
  const gaps = options.versionGaps !== false;
  describe(`CredentialStore contract: ${name}`, () => {
    let store: CredentialStore;
    beforeEach(async () => {
      store = await makeStore();
    });
    afterEach(async () => {
      await store.close();
    });

    it('returns undefined for a missing credential and throws CredentialNotFoundError when required', async () => {
      expect(await store.getCredential('missing.one')).toBeUndefined();
      const err = await rejectionOf(store.getCredential('missing.one', { required: true }));
      expect(err).toMatchObject({ code: 'ERR_CREDENTIAL_NOT_FOUND', credentialId: 'missing.one' });
      expect(err.message).toContain('"missing.one"');
    });

    it('stores version 1 by default and reads the newest version back', async () => {
      expect(await store.storeCredential('app.db', 'one')).toEqual({ id: 'app.db', version: 1 });
      await store.storeCredential('app.db', 'two', { version: 2 });
      const got = await store.getCredential('app.db', { required: true });
      expect(got).toMatchObject({ id: 'app.db', version: '2', value: 'two' });
      expect((await store.getCredential('app.db', { version: 1 }))?.value).toBe('one');
      expect(await store.getCredential('app.db', { version: 3 })).toBeUndefined();
    });

    it('never overwrites a version: a second put of the same version fails with VersionConflictError', async () => {
      await store.storeCredential('app.key', 'original');
      const err = await rejectionOf(store.storeCredential('app.key', CANARY, { version: 1 }));
      expect(err).toMatchObject({ code: 'ERR_VERSION_CONFLICT', credentialId: 'app.key' });
      expectNoLeak(err, CANARY);
      expect((await store.getCredential('app.key', { required: true })).value).toBe('original');
    });

    it('autoVersion writes highest + 1, also after an explicit version', async () => {
      expect((await store.storeCredential('auto', 'a', { autoVersion: true })).version).toBe(1);
      expect((await store.storeCredential('auto', 'b', { autoVersion: true })).version).toBe(2);
      await store.storeCredential('auto', 'j', { version: gaps ? 10 : 3 });
      expect((await store.storeCredential('auto', 'k', { autoVersion: true })).version).toBe(gaps ? 11 : 4);
      expect((await store.getCredential('auto', { required: true })).value).toBe('k');
    });

    if (!gaps) {
      it('refuses an explicit version that skips numbers with UnsupportedOperationError and writes nothing', async () => {
        await store.storeCredential('gap', 'a');
        expect(await rejectionOf(store.storeCredential('gap', CANARY, { version: 5 }))).toMatchObject({ code: 'ERR_UNSUPPORTED_OPERATION' });
        expect(await rejectionOf(store.storeCredential('gap.new', CANARY, { version: 2 }))).toMatchObject({ code: 'ERR_UNSUPPORTED_OPERATION' });
        expect((await store.listCredentials({ pattern: 'gap*' })).map((s) => `${s.id}@${s.version}`)).toEqual(['gap@1']);
      });
    }

    it(`gives each of ${options.racers ?? 8} concurrent autoVersion writers its own version, losing none`, async () => {
      const n = options.racers ?? 8;
      const results = await Promise.all(
        Array.from({ length: n }, (_, i) => store.storeCredential('race', `value-${i}`, { autoVersion: true })),
      );
      expect(results.map((r) => r.version).sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
      const versions = (await store.listCredentials({ pattern: 'race' })).map((s) => s.version);
      expect(versions).toEqual(Array.from({ length: n }, (_, i) => String(i + 1)));
      const values = await Promise.all(results.map((r) => store.getCredential('race', { version: r.version, required: true })));
      expect(new Set(values.map((v) => v.value)).size).toBe(n);
    });

    it('stores a definition with the credential, after checking a typed value for its required fields (naming the field, never a value)', async () => {
      const definition = { id: 'aws.ci', credential_type: 'aws' as const, description: 'CI deploy user', metadata: { owner: 'platform' } };
      const missing = await rejectionOf(store.storeCredential('aws.ci', { aws_access_key_id: CANARY }, { definition }));
      expect(missing).toMatchObject({ code: 'ERR_INVALID_INPUT', message: 'credential "aws.ci" of type aws is missing field "aws_secret_access_key"' });
      const plain = await rejectionOf(store.storeCredential('aws.ci', CANARY, { definition }));
      expect(plain).toMatchObject({ code: 'ERR_INVALID_INPUT' });
      const other = await rejectionOf(store.storeCredential('aws.other', { aws_access_key_id: 'a', aws_secret_access_key: 'b' }, { definition }));
      expect(other).toMatchObject({ code: 'ERR_INVALID_INPUT', message: 'definition for "aws.ci" cannot be stored with credential "aws.other"' });
      expectNoLeak([missing, plain, other], CANARY);
      expect(await store.credentialExists('aws.ci')).toBe(false);
      expect(await store.credentialExists('aws.other')).toBe(false);
      await store.storeCredential('aws.ci', { aws_access_key_id: 'AKIA1', aws_secret_access_key: CANARY }, { definition });
      const got = await store.getCredential('aws.ci', { required: true });
      expect(got.value).toEqual({ aws_access_key_id: 'AKIA1', aws_secret_access_key: CANARY });
      expect(options.readDefinition === undefined ? got.definition : await options.readDefinition(store, 'aws.ci')).toEqual(definition);
    });

    const unsupported = new Set(options.unsupportedValues ?? []);
    it(`round-trips text${unsupported.has('empty') ? '' : ' (including the empty string)'}${unsupported.has('bytes') ? '' : ', bytes'} and JSON objects`, async () => {
      await store.storeCredential('v.text', 'héllo ✓ "quoted" $HOME\nline2');
      await store.storeCredential('v.json', { host: 'db', port: 5432, password: CANARY });
      expect((await store.getCredential('v.text'))?.value).toBe('héllo ✓ "quoted" $HOME\nline2');
      expect((await store.getCredential('v.json'))?.value).toEqual({ host: 'db', port: 5432, password: CANARY });
      if (!unsupported.has('empty')) {
        await store.storeCredential('v.empty', '');
        const empty = await store.getCredential('v.empty');
        expect(empty).toBeDefined();
        expect(empty?.value).toBe('');
      }
      if (!unsupported.has('bytes')) {
        await store.storeCredential('v.bytes', new Uint8Array([0, 1, 2, 254, 255]));
        expect(Buffer.from((await store.getCredential('v.bytes'))?.value as Uint8Array)).toEqual(Buffer.from([0, 1, 2, 254, 255]));
      }
    });

    it('gives back every text value byte for byte as text, every structured value structured, and bytes as bytes (get and getAll)', async () => {
      const texts = TRICKY_TEXTS.filter((t) => t !== '' || !unsupported.has('empty'));
      if (!unsupported.has('empty')) texts.push('');
      const bytes = unsupported.has('bytes') ? [] : TRICKY_BYTES;
      for (const [i, t] of texts.entries()) await store.storeCredential(`tt.t${i}`, t);
      for (const [i, o] of TRICKY_OBJECTS.entries()) await store.storeCredential(`tt.o${i}`, o);
      for (const [i, b] of bytes.entries()) await store.storeCredential(`tt.b${i}`, new Uint8Array(b));
      const all = new Map((await store.getAllCredentials({ pattern: 'tt.*' })).credentials.map((c) => [c.id, c.value]));
      for (const [i, t] of texts.entries()) {
        const got = (await store.getCredential(`tt.t${i}`, { required: true })).value;
        expect(got, JSON.stringify(t)).toBe(t);
        expect(all.get(`tt.t${i}`), `getAll ${JSON.stringify(t)}`).toBe(t);
      }
      for (const [i, o] of TRICKY_OBJECTS.entries()) {
        for (const got of [(await store.getCredential(`tt.o${i}`, { required: true })).value, all.get(`tt.o${i}`)]) {
          expect(typeof got === 'object' && got !== null && !(got instanceof Uint8Array), JSON.stringify(o)).toBe(true);
          expect(got).toStrictEqual(o);
          expect(JSON.stringify(got)).toBe(JSON.stringify(o));
        }
      }
      for (const [i, b] of bytes.entries()) {
        for (const got of [(await store.getCredential(`tt.b${i}`, { required: true })).value, all.get(`tt.b${i}`)]) {
          expect(got instanceof Uint8Array, JSON.stringify(b)).toBe(true);
          expect([...(got as Uint8Array)]).toEqual(b);
        }
      }
    });

    it('refuses a comment that is not a string before writing anything, on every tier', async () => {
      for (const comment of [1, ['x'], { a: 1 }, null, true]) {
        const err = await rejectionOf(store.storeCredential('cm.bad', 'v', { comment: comment as never }));
        expect(err, JSON.stringify(comment)).toMatchObject({ code: 'ERR_INVALID_INPUT', message: 'comment must be a string' });
        const auto = await rejectionOf(store.storeCredential('cm.bad', 'v', { comment: comment as never, autoVersion: true }));
        expect(auto, `autoVersion ${JSON.stringify(comment)}`).toMatchObject({ code: 'ERR_INVALID_INPUT', message: 'comment must be a string' });
      }
      expect(await store.credentialExists('cm.bad')).toBe(false);
    });

    it('gives each version its own comment: a version written without one has none', async () => {
      await store.storeCredential('cm', 'a', { comment: 'first' });
      await store.storeCredential('cm', 'b', { autoVersion: true });
      await store.storeCredential('cm', 'c', { autoVersion: true, comment: 'third' });
      await store.storeCredential('cm', 'd', { version: 4 });
      const list = await store.listCredentials({ pattern: 'cm' });
      expect(list.map((s) => [s.version, s.comment])).toEqual([['1', 'first'], ['2', undefined], ['3', 'third'], ['4', undefined]]);
      expect((await store.listCredentials({ pattern: 'cm', latestOnly: true })).map((s) => s.comment)).toEqual([undefined]);
    });

    if (unsupported.size > 0) {
      it(`refuses ${[...unsupported].join(' and ')} values with UnsupportedOperationError and writes nothing`, async () => {
        const values = { bytes: new Uint8Array([0, 1, 2]), empty: '' } as const;
        for (const kind of unsupported) {
          const err = await rejectionOf(store.storeCredential(`v.${kind}`, values[kind]));
          expect(err, kind).toMatchObject({ code: 'ERR_UNSUPPORTED_OPERATION' });
          expect(await store.credentialExists(`v.${kind}`)).toBe(false);
        }
      });
    }

    it('keeps comments and lists every version sorted by id then version, or only the newest', async () => {
      await store.storeCredential('b.svc', 'x', { comment: 'first' });
      await store.storeCredential('b.svc', 'y', { autoVersion: true });
      const [lo, hi] = gaps ? [2, 10] : [1, 2];
      await store.storeCredential('a.svc', 'z', { version: lo });
      await store.storeCredential('a.svc', 'w', { version: hi });
      const all = await store.listCredentials();
      expect(all.map((s) => `${s.id}@${s.version}`)).toEqual([`a.svc@${lo}`, `a.svc@${hi}`, 'b.svc@1', 'b.svc@2']);
      expect(all.find((s) => s.id === 'b.svc' && s.version === '1')?.comment).toBe('first');
      expect((await store.listCredentials({ latestOnly: true })).map((s) => `${s.id}@${s.version}`)).toEqual([`a.svc@${hi}`, 'b.svc@2']);
      expect((await store.listCredentials({ pattern: 'a.*' })).map((s) => s.id)).toEqual(['a.svc', 'a.svc']);
      // Only `*` is a wildcard, as in Python credstash: `?` is an ordinary character.
      expect(await store.listCredentials({ pattern: 'a?svc' })).toHaveLength(0);
      expect(await store.listCredentials({ pattern: 'axsvc' })).toHaveLength(0);
      expect(JSON.stringify(all)).not.toContain('"value"');
    });

    if (options.deleteVersion !== false) {
      it('deletes one version, then all, and reports an unknown name as not found', async () => {
        await store.storeCredential('del', '1');
        await store.storeCredential('del', '2', { autoVersion: true });
        await store.storeCredential('del', '3', { autoVersion: true });
        expect(withoutStoredForms(await store.deleteCredential('del', { version: 2 }))).toEqual({ id: 'del', deleted: ['2'] });
        expect(await store.credentialExists('del', { version: 2 })).toBe(false);
        expect(await store.credentialExists('del', { version: 3 })).toBe(true);
        expect(withoutStoredForms(await store.deleteCredential('del'))).toEqual({ id: 'del', deleted: ['1', '3'] });
        expect(await store.credentialExists('del')).toBe(false);
        const err = await rejectionOf(store.deleteCredential('del'));
        expect(err).toMatchObject({ code: 'ERR_CREDENTIAL_NOT_FOUND', credentialId: 'del' });
        const err2 = await rejectionOf(store.deleteCredential('nope', { version: 4 }));
        expect(err2).toMatchObject({ code: 'ERR_CREDENTIAL_NOT_FOUND' });
      });
    } else {
      it('refuses to delete one version with UnsupportedOperationError, deletes all versions, and reports an unknown name as not found', async () => {
        await store.storeCredential('del', '1');
        await store.storeCredential('del', '2', { autoVersion: true });
        const err = await rejectionOf(store.deleteCredential('del', { version: 1 }));
        expect(err).toMatchObject({ code: 'ERR_UNSUPPORTED_OPERATION' });
        expect(await store.credentialExists('del', { version: 1 })).toBe(true);
        expect(withoutStoredForms(await store.deleteCredential('del'))).toEqual({ id: 'del', deleted: ['1', '2'] });
        expect(await store.credentialExists('del')).toBe(false);
        expect(await rejectionOf(store.deleteCredential('del'))).toMatchObject({ code: 'ERR_CREDENTIAL_NOT_FOUND', credentialId: 'del' });
      });
    }

    it('getAll returns the newest version of every credential, filtered by a glob', async () => {
      await store.storeCredential('g.one', 'old');
      await store.storeCredential('g.one', 'new', { autoVersion: true });
      await store.storeCredential('g.two', { user: 'u' });
      await store.storeCredential('other', 'o');
      const all = await store.getAllCredentials();
      expect(all.credentials.map((c) => [c.id, c.value])).toEqual([['g.one', 'new'], ['g.two', { user: 'u' }], ['other', 'o']]);
      expect(all.skipped).toEqual([]);
      expect((await store.getAllCredentials({ pattern: 'g.*' })).credentials.map((c) => c.id)).toEqual(['g.one', 'g.two']);
      expect((await store.getAllCredentials({ version: 1 })).credentials.map((c) => c.value)).toEqual(['old', { user: 'u' }, 'o']);
    });

    it('rejects invalid ids and versions with ValidationError', async () => {
      for (const bad of ['', 'a\nb', 'x'.repeat(3000)]) {
        expect(await rejectionOf(store.getCredential(bad))).toMatchObject({ code: 'ERR_INVALID_INPUT' });
      }
      expect(await rejectionOf(store.storeCredential('has*star', 'v'))).toMatchObject({ code: 'ERR_INVALID_INPUT' });
      for (const v of [0, -1, 1.5]) {
        expect(await rejectionOf(store.storeCredential('ver', 'v', { version: v }))).toMatchObject({ code: 'ERR_INVALID_INPUT' });
      }
    });

    if (options.maxValueBytes !== undefined) {
      const limit = options.maxValueBytes;
      it(`accepts a value of exactly ${limit} bytes (multi-byte characters counted as bytes) and rejects one byte more with ValueTooLargeError naming the sizes, never the value`, async () => {
        const atLimit = `é${'x'.repeat(limit - 2)}`;
        expect(Buffer.byteLength(atLimit)).toBe(limit);
        await store.storeCredential('big', atLimit);
        expect((await store.getCredential('big', { required: true })).value).toBe(atLimit);
        const over = CANARY + 'y'.repeat(limit + 1 - CANARY.length);
        const err = await rejectionOf(store.storeCredential('big2', over));
        expect(err).toMatchObject({ code: 'ERR_VALUE_TOO_LARGE', credentialId: 'big2' });
        expect(err.message).toContain(String(limit + 1));
        expect(err.message).toContain(String(limit));
        expectNoLeak(err, CANARY);
        expect(await store.credentialExists('big2')).toBe(false);
      });
    }

    if (options.context) {
      it('binds the encryption context: exact pairs in any order decrypt; wrong, missing or extra pairs fail', async () => {
        await store.storeCredential('ctx', CANARY, { context: { env: 'prod', app: 'web' } });
        expect((await store.getCredential('ctx', { context: { app: 'web', env: 'prod' } }))?.value).toBe(CANARY);
        for (const context of [{ env: 'dev', app: 'web' }, {}, { env: 'prod' }, { env: 'prod', app: 'web', x: 'y' }] as Array<Record<string, string>>) {
          const err = await rejectionOf(store.getCredential('ctx', { context }));
          expect(err).toMatchObject({ code: 'ERR_ENCRYPTION_CONTEXT_MISMATCH', credentialId: 'ctx' });
          expectNoLeak(err, CANARY);
        }
      });

      it('accepts contexts with = and unicode, refuses empty values as KMS does, and binds a credential without context', async () => {
        const context = { 'k=1': 'a=b', 'ключ': 'значение ✓', space: ' ' };
        await store.storeCredential('ctx2', 'v', { context });
        expect((await store.getCredential('ctx2', { context: { space: ' ', 'ключ': 'значение ✓', 'k=1': 'a=b' } }))?.value).toBe('v');
        expect(await rejectionOf(store.getCredential('ctx2', { context: { ...context, space: '  ' } }))).toMatchObject({
          code: 'ERR_ENCRYPTION_CONTEXT_MISMATCH',
        });
        // AWS KMS answers an empty context value with ValidationException; every tier refuses it up front.
        expect(await rejectionOf(store.storeCredential('ctx3', 'v', { context: { empty: '' } }))).toMatchObject({ code: 'ERR_INVALID_INPUT' });
        expect(await rejectionOf(store.getCredential('ctx2', { context: { ...context, empty: '' } }))).toMatchObject({ code: 'ERR_INVALID_INPUT' });
        await store.storeCredential('noctx', 'n');
        expect(await rejectionOf(store.getCredential('noctx', { context: { env: 'prod' } }))).toMatchObject({
          code: 'ERR_ENCRYPTION_CONTEXT_MISMATCH',
        });
      });

      it('fails a getAll whose context does not fit every credential, unless skipErrors, which reports what it skipped', async () => {
        await store.storeCredential('p.a', 'a', { context: { env: 'prod' } });
        await store.storeCredential('p.b', 'b', { context: { env: 'dev' } });
        const err = await rejectionOf(store.getAllCredentials({ context: { env: 'prod' } }));
        expect(err).toMatchObject({ code: 'ERR_PARTIAL_RESULT' });
        const res = await store.getAllCredentials({ context: { env: 'prod' }, skipErrors: true });
        expect(res.credentials.map((c) => c.id)).toEqual(['p.a']);
        expect(res.skipped).toEqual([expect.objectContaining({ id: 'p.b', code: 'ERR_ENCRYPTION_CONTEXT_MISMATCH' })]);
      });
    } else {
      it('refuses an encryption context on every read and write with UnsupportedOperationError, writing nothing', async () => {
        const context = { env: 'prod' };
        await store.storeCredential('ctx', 'v');
        for (const p of [
          store.storeCredential('ctx', CANARY, { context }),
          store.storeCredential('ctx', CANARY, { autoVersion: true, context }),
          store.storeCredential('ctx.new', CANARY, { context }),
          store.getCredential('ctx', { context }),
          store.getCredential('ctx', { version: 1, context }),
          store.getCredential('ctx.none', { context, required: true }),
          store.getAllCredentials({ context }),
          store.getAllCredentials({ context, skipErrors: true }),
        ]) {
          const err = await rejectionOf(p);
          expect(err).toMatchObject({ code: 'ERR_UNSUPPORTED_OPERATION', message: expect.stringContaining('encryption context') });
          expectNoLeak(err, CANARY);
        }
        expect((await store.listCredentials({ pattern: 'ctx*' })).map((s) => `${s.id}@${s.version}`)).toEqual(['ctx@1']);
      });
    }
  });
}

export interface ReadOnlyContractOptions {
  /** The store binds an encryption context. Otherwise a context on read must be refused. */
  context: boolean;
}

/**
 * The contract for a read-only store (env): reads, listings and getAll over what `makeStore(seed)` was seeded
 * with, and UnsupportedOperationError for every write and delete. Seed ids are lower-case with `_`, so they
 * survive a one-way id mapping; values are strings as the backend holds them (a JSON object text is structured).
 */
export function runReadOnlyStoreContract(
  name: string,
  makeStore: (seed: Record<string, string>) => Promise<CredentialStore>,
  options: ReadOnlyContractOptions,
): void {
  const seed = { app_db: 'one', app_json: JSON.stringify({ host: 'db', port: 5432, password: CANARY }), app_empty: '', other: 'héllo ✓ "quoted" $HOME\nline2' };
  describe(`CredentialStore contract (read-only): ${name}`, () => {
    let store: CredentialStore;
    beforeEach(async () => {
      store = await makeStore(seed);
    });
    afterEach(async () => {
      await store.close();
    });

    it('says it cannot write or delete', () => {
      expect(store.capabilities).toMatchObject({ write: false, delete: false, context: options.context });
    });

    it('returns undefined for a missing credential and throws CredentialNotFoundError when required', async () => {
      expect(await store.getCredential('missing_one')).toBeUndefined();
      expect(await store.credentialExists('missing_one')).toBe(false);
      const err = await rejectionOf(store.getCredential('missing_one', { required: true }));
      expect(err).toMatchObject({ code: 'ERR_CREDENTIAL_NOT_FOUND', credentialId: 'missing_one' });
    });

    it('reads text (including the empty string) and a JSON object as a structured credential', async () => {
      expect(await store.getCredential('app_db', { required: true })).toMatchObject({ id: 'app_db', value: 'one' });
      expect((await store.getCredential('other'))?.value).toBe('héllo ✓ "quoted" $HOME\nline2');
      expect((await store.getCredential('app_json'))?.value).toEqual({ host: 'db', port: 5432, password: CANARY });
      const empty = await store.getCredential('app_empty');
      expect(empty).toBeDefined();
      expect(empty?.value).toBe('');
      expect(await store.credentialExists('app_db')).toBe(true);
    });

    it('lists what it holds sorted by id, never a value, filtered by a glob; getAll reads it', async () => {
      const all = await store.listCredentials();
      expect(all.map((s) => s.id)).toEqual(['app_db', 'app_empty', 'app_json', 'other']);
      expect(JSON.stringify(all)).not.toContain(CANARY);
      expect((await store.listCredentials({ pattern: 'app_j*n' })).map((s) => s.id)).toEqual(['app_json']);
      expect(await store.listCredentials({ pattern: 'app_?son' })).toEqual([]); // only * is a wildcard
      const got = await store.getAllCredentials({ pattern: 'app_*' });
      expect(got.credentials.map((c) => [c.id, c.value])).toEqual([
        ['app_db', 'one'],
        ['app_empty', ''],
        ['app_json', { host: 'db', port: 5432, password: CANARY }],
      ]);
      expect(got.skipped).toEqual([]);
    });

    it('refuses every write and delete with UnsupportedOperationError, naming no value, and changes nothing', async () => {
      for (const p of [
        store.storeCredential('app_db', CANARY),
        store.storeCredential('app_db', CANARY, { autoVersion: true }),
        store.storeCredential('new_one', CANARY),
        store.deleteCredential('app_db'),
        store.deleteCredential('app_db', { version: 1 }),
      ]) {
        const err = await rejectionOf(p);
        expect(err).toMatchObject({ code: 'ERR_UNSUPPORTED_OPERATION' });
        expectNoLeak(err, CANARY);
      }
      expect((await store.getCredential('app_db'))?.value).toBe('one');
      expect(await store.credentialExists('new_one')).toBe(false);
    });

    it('rejects invalid ids and versions with ValidationError', async () => {
      for (const bad of ['', 'a\nb', 'x'.repeat(3000)]) {
        expect(await rejectionOf(store.getCredential(bad))).toMatchObject({ code: 'ERR_INVALID_INPUT' });
      }
      for (const v of [-1, 1.5, '', 'a\nb']) {
        expect(await rejectionOf(store.getCredential('app_db', { version: v }))).toMatchObject({ code: 'ERR_INVALID_INPUT' });
      }
    });

    if (!options.context) {
      it('refuses an encryption context on every read with UnsupportedOperationError', async () => {
        const context = { env: 'prod' };
        for (const p of [
          store.getCredential('app_db', { context }),
          store.getCredential('app_db', { version: 1, context }),
          store.getCredential('missing_one', { context }),
          store.getAllCredentials({ context }),
          store.getAllCredentials({ context, skipErrors: true }),
        ]) {
          expect(await rejectionOf(p)).toMatchObject({ code: 'ERR_UNSUPPORTED_OPERATION', message: expect.stringContaining('encryption context') });
        }
      });
    }
  });

  // A read-only backend holds one string per credential, text as core/string-values keeps it.
  const tricky: Record<string, string> = {};
  TRICKY_TEXTS.forEach((t, i) => (tricky[`t_${i}`] = encodeStringValue(t)));
  TRICKY_OBJECTS.forEach((o, i) => (tricky[`o_${i}`] = encodeStringValue(o)));
  describe(`CredentialStore contract (read-only, tricky values): ${name}`, () => {
    it('gives back every text value byte for byte as text and every structured value structured (get and getAll)', async () => {
      const store = await makeStore(tricky);
      try {
        const all = new Map((await store.getAllCredentials()).credentials.map((c) => [c.id, c.value]));
        for (const [i, t] of TRICKY_TEXTS.entries()) {
          expect((await store.getCredential(`t_${i}`, { required: true })).value, JSON.stringify(t)).toBe(t);
          expect(all.get(`t_${i}`), `getAll ${JSON.stringify(t)}`).toBe(t);
        }
        for (const [i, o] of TRICKY_OBJECTS.entries()) {
          for (const got of [(await store.getCredential(`o_${i}`, { required: true })).value, all.get(`o_${i}`)]) {
            expect(got).toStrictEqual(o);
            expect(JSON.stringify(got)).toBe(JSON.stringify(o));
          }
        }
      } finally {
        await store.close();
      }
    });
  });
}
