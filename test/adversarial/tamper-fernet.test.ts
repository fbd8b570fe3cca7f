/**
 * Tamper with every Fernet token and every field of the Fernet tiers: the local keystore (editing the JSON
 * file) and SQL (UPDATE statements on the rows). Flip bits in each part of the token (version byte,
 * timestamp, IV, ciphertext, HMAC), truncate, extend, re-encode non-canonically, swap with the token of
 * another version / another id (same context), and move intact tokens to another id or version. Every read
 * fails with IntegrityError (a wrong context: EncryptionContextMismatchError) and no plaintext, Fernet key
 * or value leaks.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { CredentialStore } from '../../src/core/store.js';
import { generateFernetKey } from '../../src/crypto/fernet.js';
import { LocalStore } from '../../src/stores/local/index.js';
import { CANARY, rejectionOf } from '../helpers/no-leak.js';
import { expectNoLeak } from '../helpers/no-leak.js';
import { sqlBackends, type FernetBackend, type FernetHandle, type Row } from '../helpers/fernet-backends.js';

const CONTEXT = { env: 'prod', team: 'ops' };
const KEY = generateFernetKey();
const OTHER_KEY = generateFernetKey();
const root = mkdtempSync(join(tmpdir(), 'credstash-adv-tamper-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

/** The local keystore as a tamperable backend: rows are the `credentials` entries of the JSON file. */
function localBackend(): FernetBackend {
  return {
    name: 'local keystore',
    async open(keys = [KEY]) {
      const path = join(root, `k${++n}`, 'keystore.json');
      const store = new LocalStore({ path, fernetKeys: keys });
      const read = (): { doc: { credentials: Row[] } & Record<string, unknown> } => ({ doc: JSON.parse(readFileSync(path, 'utf8')) });
      return {
        store,
        reopen: (k) => new LocalStore({ path, fernetKeys: k }),
        async rows() {
          return read().doc.credentials;
        },
        async replace(match, next) {
          const { doc } = read();
          const i = doc.credentials.findIndex((r) => r.id === match.id && r.version === match.version);
          if (i < 0) throw new Error('row not found');
          if (next === undefined) doc.credentials.splice(i, 1);
          else doc.credentials[i] = next;
          writeFileSync(path, JSON.stringify(doc));
        },
        async insert(row) {
          const { doc } = read();
          doc.credentials.push(row);
          writeFileSync(path, JSON.stringify(doc));
        },
        async close() {
          await store.close();
        },
      };
    },
  };
}

const BACKENDS: FernetBackend[] = [localBackend(), ...sqlBackends()];

// Fernet token layout: 0x80 ‖ timestamp (8) ‖ IV (16) ‖ ciphertext (16·k) ‖ HMAC (32)
const REGIONS: Array<[string, (len: number) => number]> = [
  ['version byte', () => 0],
  ['timestamp', () => 5],
  ['IV', () => 9 + 7],
  ['ciphertext (first block)', () => 25 + 3],
  ['ciphertext (last byte)', (len) => len - 33],
  ['HMAC (first byte)', (len) => len - 32],
  ['HMAC (last byte)', (len) => len - 1],
];

const b64 = (t: string): Buffer => Buffer.from(t.replace(/=+$/, ''), 'base64url');
const enc = (b: Buffer): string => b.toString('base64url').padEnd(Math.ceil(b.length / 3) * 4, '=');

const TOKEN_MUTATIONS: Array<[string, (t: string) => string]> = [
  ...REGIONS.map(([label, at]): [string, (t: string) => string] => [
    `flip a bit in the ${label}`,
    (t) => {
      const b = b64(t);
      const i = at(b.length);
      b[i] = (b[i] as number) ^ 0x04;
      return enc(b);
    },
  ]),
  ['truncate by one byte', (t) => enc(b64(t).subarray(0, -1))],
  ['truncate by one block', (t) => enc(b64(t).subarray(0, -16))],
  ['truncate to the header', (t) => enc(b64(t).subarray(0, 25))],
  ['extend by one byte', (t) => enc(Buffer.concat([b64(t), Buffer.from([0])]))],
  ['extend by one block', (t) => enc(Buffer.concat([b64(t), Buffer.alloc(16, 7)]))],
  ['append a stray base64 character', (t) => `${t.replace(/=+$/, '')}A`],
  ['append two stray base64 characters', (t) => `${t.replace(/=+$/, '')}AA`],
  ['set the unused low bits of the last character', (t) => nonCanonical(t)],
  ['standard base64 alphabet (+/) instead of URL-safe', (t) => b64(t).toString('base64')],
];

/** Same bytes, different text: the last character before padding with its unused low bits set. */
function nonCanonical(t: string): string {
  const bare = t.replace(/=+$/, '');
  const pad = t.slice(bare.length);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const last = alphabet.indexOf(bare.at(-1) as string);
  const unused = bare.length % 4 === 2 ? 0x0f : bare.length % 4 === 3 ? 0x03 : 0;
  if (unused === 0) return `${bare}A${pad}`; // no unused bits: fall back to a stray character
  return bare.slice(0, -1) + (alphabet[last | unused] as string) + pad;
}

for (const backend of BACKENDS) {
  describe.skipIf(backend.skip !== undefined)(`tampered Fernet tokens in ${backend.name}${backend.skip ?? ''}`, () => {
    const opened: FernetHandle[] = [];
    afterEach(async () => {
      for (const h of opened.splice(0)) await h.close().catch(() => undefined);
    });

    async function seeded(): Promise<{ h: Awaited<ReturnType<FernetBackend['open']>>; values: string[]; rows: Row[]; a: string; b: string }> {
      const h = await backend.open([KEY]);
      opened.push(h);
      const a = `t${++n}.a`;
      const b = `t${n}.b`;
      const values = [`${CANARY}-${n}-a1`, `${CANARY}-${n}-a2`, `${CANARY}-${n}-b1`];
      await h.store.storeCredential(a, values[0] as string, { context: CONTEXT, comment: 'first' });
      await h.store.storeCredential(a, values[1] as string, { context: CONTEXT, version: 2 });
      await h.store.storeCredential(b, { password: values[2] as string }, { context: CONTEXT });
      const rows = (await h.rows()).filter((r) => r.id === a || r.id === b);
      expect(rows).toHaveLength(3);
      return { h, values, rows, a, b };
    }
    const row = (rows: Row[], id: string, v: number): Row => {
      const r = rows.find((x) => x.id === id && Number(x.version) === v);
      if (r === undefined) throw new Error('seed row missing');
      return r;
    };

    async function expectRejected(store: CredentialStore, read: Promise<unknown>, codes: string[], secrets: string[]): Promise<void> {
      void store;
      const err = await rejectionOf(read);
      expect(codes, `${err.name}: ${err.message}`).toContain(err.code);
      expectNoLeak(err, [...secrets, KEY, OTHER_KEY]);
      if (err.code === 'ERR_INTEGRITY') expect(err.cause).toBeUndefined();
    }

    it('an untouched token reads, and the store holds neither plaintext nor key', async () => {
      const s = await seeded();
      expect((await s.h.store.getCredential(s.a, { version: 1, context: CONTEXT, required: true })).value).toBe(s.values[0]);
      const text = JSON.stringify(await s.h.rows());
      for (const v of [...s.values, KEY]) expect(text.includes(v)).toBe(false);
    });

    it.each(TOKEN_MUTATIONS)('token: %s → IntegrityError, nothing leaks', async (_label, mutate) => {
      const s = await seeded();
      const target = row(s.rows, s.a, 1);
      const token = mutate(target.token);
      expect(token).not.toBe(target.token);
      await s.h.replace(target, { ...target, token });
      await expectRejected(s.h.store, s.h.store.getCredential(s.a, { version: 1, context: CONTEXT }), ['ERR_INTEGRITY', 'ERR_CORRUPT_STORE'], s.values);
    });

    it('token: the same bytes re-encoded with the unused low bits of the last character set (padded and unpadded, both remainders) → IntegrityError', async () => {
      const h = await backend.open([KEY]);
      opened.push(h);
      const id = `t${++n}.bits`;
      const remainders = new Set<number>();
      // A token is 57 + 16·blocks bytes: values 0, 1 and 2 blocks longer give every remainder mod 3, and
      // remainders 1 and 2 leave unused bits in the last character.
      for (let blocks = 0; blocks < 3; blocks++) await h.store.storeCredential(id, `${CANARY}${'x'.repeat(16 * blocks)}`, { version: blocks + 1 });
      let tried = 0;
      for (const r of (await h.rows()).filter((x) => x.id === id)) {
        const bytes = b64(r.token);
        const rem = bytes.length % 3;
        if (rem === 0) continue;
        remainders.add(rem);
        const bare = r.token.replace(/=+$/, '');
        for (const token of [nonCanonical(bare + '='.repeat((4 - (bare.length % 4)) % 4)), nonCanonical(bare)]) {
          expect(b64(token).equals(bytes), 'the mutation keeps the bytes').toBe(true);
          expect(token.replace(/=+$/, '')).not.toBe(bare);
          await h.replace(r, { ...r, token });
          await expectRejected(h.store, h.store.getCredential(id, { version: r.version }), ['ERR_INTEGRITY'], [CANARY]);
          await h.replace({ id: r.id, version: r.version }, r);
          tried++;
        }
        expect((await h.store.getCredential(id, { version: r.version, required: true })).value).toMatch(new RegExp(`^${CANARY}`));
      }
      expect([...remainders].sort()).toEqual([1, 2]);
      expect(tried).toBe(4);
    });

    it('token: swapped with the token of another version, and of another id (same context) → IntegrityError', async () => {
      const s = await seeded();
      const target = row(s.rows, s.a, 1);
      for (const donor of [row(s.rows, s.a, 2), row(s.rows, s.b, 1)]) {
        await s.h.replace(target, { ...target, token: donor.token });
        await expectRejected(s.h.store, s.h.store.getCredential(s.a, { version: 1, context: CONTEXT }), ['ERR_INTEGRITY'], s.values);
      }
    });

    it('a token sealed under a key the store does not hold → IntegrityError naming the credential only', async () => {
      const s = await seeded();
      const foreign = await backend.open([OTHER_KEY]);
      opened.push(foreign);
      await foreign.store.storeCredential(s.a, 'x', { context: CONTEXT });
      const foreignRow = (await foreign.rows()).find((r) => r.id === s.a) as Row;
      await s.h.replace(row(s.rows, s.a, 1), { ...row(s.rows, s.a, 1), token: foreignRow.token });
      await expectRejected(s.h.store, s.h.store.getCredential(s.a, { version: 1, context: CONTEXT }), ['ERR_INTEGRITY'], s.values);
    });

    const moves: Array<[string, (r: Row, s: { a: string; b: string }) => Row]> = [
      ['id: flip a bit', (r) => ({ ...r, id: r.id.slice(0, -1) + String.fromCharCode(r.id.charCodeAt(r.id.length - 1) ^ 1) })],
      ['id: truncate', (r) => ({ ...r, id: r.id.slice(0, -1) })],
      ['id: extend', (r) => ({ ...r, id: `${r.id}x` })],
      ['version: 1 → 3', (r) => ({ ...r, version: r.version.slice(0, -1) + '3' })],
      ['version: extend to 20 digits', (r) => ({ ...r, version: `0${r.version}` })],
    ];
    it.each(moves.filter(([l]) => !(backend.integerVersions === true && l.includes('20 digits'))))('intact token moved — %s → IntegrityError (id and version are inside the token)', async (_l, move) => {
      const s = await seeded();
      const target = row(s.rows, s.a, 1);
      const next = move(target, s);
      await s.h.replace(target, next);
      // the stored string itself: a 20-digit version is addressable only as written
      await expectRejected(s.h.store, s.h.store.getCredential(next.id, { version: next.version, context: CONTEXT }), ['ERR_INTEGRITY'], s.values);
    });

    it('intact token copied over another id and over another version → IntegrityError', async () => {
      const s = await seeded();
      const a1 = row(s.rows, s.a, 1);
      await s.h.replace(row(s.rows, s.b, 1), { ...row(s.rows, s.b, 1), token: a1.token });
      await expectRejected(s.h.store, s.h.store.getCredential(s.b, { context: CONTEXT }), ['ERR_INTEGRITY'], s.values);
      await s.h.replace(row(s.rows, s.a, 2), { ...row(s.rows, s.a, 2), token: a1.token });
      await expectRejected(s.h.store, s.h.store.getCredential(s.a, { context: CONTEXT }), ['ERR_INTEGRITY'], s.values);
    });

    it('a wrong, missing or extra context pair → EncryptionContextMismatchError (the MAC verified first)', async () => {
      const s = await seeded();
      for (const context of [{ ...CONTEXT, env: 'dev' }, {}, { env: 'prod' }, { ...CONTEXT, x: 'y' }] as Array<Record<string, string>>) {
        await expectRejected(s.h.store, s.h.store.getCredential(s.a, { version: 1, context }), ['ERR_ENCRYPTION_CONTEXT_MISMATCH'], s.values);
      }
    });

    // The comment column is plain metadata (shown by `list`, docs/SECURITY.md §1); the comment that `get`
    // returns is the one sealed inside the token, so editing the column changes neither value nor comment.
    it('comment column: flipped, truncated, extended, removed or swapped → get returns the sealed value and comment', async () => {
      const s = await seeded();
      const target = row(s.rows, s.a, 1);
      expect(target.comment).toBe('first');
      for (const comment of ['firsu', 'firs', 'first\u0001', 'first and more', undefined, 'a comment from another row']) {
        const next: Row = { id: target.id, version: target.version, token: target.token, ...(comment === undefined ? {} : { comment }) };
        await s.h.replace(target, undefined);
        await s.h.insert(next);
        const got = await s.h.store.getCredential(s.a, { version: 1, context: CONTEXT, required: true });
        expect(got.value).toBe(s.values[0]);
        expect(got.comment, String(comment)).toBe('first');
      }
    });

    it('getall over a store with one tampered token fails as a whole, naming that credential', async () => {
      const s = await seeded();
      const target = row(s.rows, s.b, 1);
      await s.h.replace(target, { ...target, token: (TOKEN_MUTATIONS[3] as [string, (t: string) => string])[1](target.token) });
      const err = await rejectionOf(s.h.store.getAllCredentials({ context: CONTEXT, pattern: `t${s.a.slice(1, -2)}.*` }));
      expect(err.code).toBe('ERR_PARTIAL_RESULT');
      expect((err as unknown as { failures: Array<{ credentialId: string; code: string }> }).failures).toEqual([
        expect.objectContaining({ credentialId: s.b, code: 'ERR_INTEGRITY' }),
      ]);
      expectNoLeak(err, [...s.values, KEY]);
    });
  });
}
