/**
 * Tamper with every attribute of stored DynamoDB items (AES-256-GCM and Python-credstash legacy), editing
 * the items directly in dynalite: flip a bit, truncate, extend, re-encode non-canonically, and swap with the
 * same attribute of another item (other version, other name, same context). Every read must fail with a
 * typed error — IntegrityError, or EncryptionContextMismatchError where KMS itself cannot tell a damaged
 * wrapped key from a wrong context — and no plaintext or data key may appear in the error.
 *
 * The legacy format binds nothing but the data key: an intact item moved to another name or version is
 * read as the value it holds (Python credstash binds no name into the context). That limitation is asserted exactly here and
 * documented in docs/SECURITY.md; the GCM format rejects it.
 */
import { DeleteItemCommand, DynamoDBClient, GetItemCommand, PutItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../src/core/types.js';
import { DynamoDBStore } from '../../src/stores/dynamodb/index.js';
import { startDynalite, type DynaliteHandle } from '../fixtures/dynalite.js';
import { startKmsEndpoint, type KmsEndpointHandle } from '../fixtures/kms-endpoint.js';
import { CANARY, rejectionOf } from '../helpers/no-leak.js';
import { expectNoLeak } from '../helpers/no-leak.js';

type Item = Record<string, AttributeValue>;
type Format = 'aes-gcm' | 'legacy';

const CONTEXT = { env: 'prod', app: 'tamper' };
const TABLE = 'tamper-table';

let ddb: DynaliteHandle;
let kms: KmsEndpointHandle;
let raw: DynamoDBClient;
const dataKeys: Buffer[] = [];
const stores: Record<Format, DynamoDBStore> = {} as Record<Format, DynamoDBStore>;
let seq = 0;

beforeAll(async () => {
  [ddb, kms] = await Promise.all([startDynalite(), startKmsEndpoint()]);
  raw = new DynamoDBClient({ region: 'us-east-1', endpoint: ddb.endpoint });
  // A KMS client that remembers every data key it hands out, so that the tests can prove none leaks.
  const kmsClient = new KMSClient({ region: 'us-east-1', endpoint: kms.endpoint });
  kmsClient.middlewareStack.add(
    (next) => async (args) => {
      const r = await next(args);
      const pt = (r.output as { Plaintext?: Uint8Array }).Plaintext;
      if (pt !== undefined) dataKeys.push(Buffer.from(pt));
      return r;
    },
    { step: 'initialize', name: 'recordDataKeys' },
  );
  for (const format of ['aes-gcm', 'legacy'] as const) {
    stores[format] = new DynamoDBStore({ table: TABLE, region: 'us-east-1', endpointUrl: ddb.endpoint, kms: kmsClient, format, maxAttempts: 1 });
  }
  await stores['aes-gcm'].setup();
});

afterAll(async () => {
  await Promise.all(Object.values(stores).map((s) => s.close()));
  raw?.destroy();
  await Promise.all([ddb?.close(), kms?.close()]);
});

const pad = (n: number): string => String(n).padStart(19, '0');

async function getItem(name: string, version: string): Promise<Item> {
  const out = await raw.send(new GetItemCommand({ TableName: TABLE, Key: { name: { S: name }, version: { S: version } }, ConsistentRead: true }));
  if (out.Item === undefined) throw new Error(`fixture item ${name}/${version} missing`);
  return out.Item;
}
const putItem = (item: Item): Promise<unknown> => raw.send(new PutItemCommand({ TableName: TABLE, Item: item }));
const deleteItem = (name: string, version: string): Promise<unknown> =>
  raw.send(new DeleteItemCommand({ TableName: TABLE, Key: { name: { S: name }, version: { S: version } } }));

interface Seeded {
  a: string;
  b: string;
  values: string[];
  /** a v1, a v2, b v1 */
  items: [Item, Item, Item];
}

/** Fresh items per case: a v1, a v2 and b v1, all under the same context. b is JSON (GCM) / SHA512 (legacy). */
async function seed(format: Format): Promise<Seeded> {
  const n = ++seq;
  const a = `t${n}.a`;
  const b = `t${n}.b`;
  const store = stores[format];
  const values = [`${CANARY}-${n}-a1`, `${CANARY}-${n}-a2`, `${CANARY}-${n}-b1`];
  await store.storeCredential(a, values[0] as string, { context: CONTEXT, comment: 'first' });
  await store.storeCredential(a, values[1] as string, { context: CONTEXT, version: 2 });
  if (format === 'aes-gcm') await store.storeCredential(b, { password: values[2] } as JsonObject, { context: CONTEXT });
  else await store.storeCredential(b, values[2] as string, { context: CONTEXT, digest: 'SHA512' });
  const items = (await Promise.all([getItem(a, pad(1)), getItem(a, pad(2)), getItem(b, pad(1))])) as [Item, Item, Item];
  return { a, b, values, items };
}

// ---- mutations -------------------------------------------------------------------------------------------

type Encoding = 'base64' | 'hex' | 'text';
const ENCODING: Record<string, Encoding> = { key: 'base64', contents: 'base64', iv: 'base64', tag: 'base64', hmac: 'hex' };

function decode(v: string, enc: Encoding): Buffer {
  return enc === 'text' ? Buffer.from(v, 'utf8') : Buffer.from(v, enc);
}
function encode(b: Buffer, enc: Encoding): string {
  return enc === 'text' ? b.toString('utf8') : b.toString(enc);
}

interface Mutation {
  label: string;
  apply(v: string, enc: Encoding): string;
}

const MUTATIONS: Mutation[] = [
  { label: 'flip a bit in the first byte', apply: (v, enc) => mutateBytes(v, enc, (b) => (b[0] = (b[0] as number) ^ 0x01)) },
  { label: 'flip a bit in the last byte', apply: (v, enc) => mutateBytes(v, enc, (b) => (b[b.length - 1] = (b[b.length - 1] as number) ^ 0x80)) },
  { label: 'flip a bit in the middle', apply: (v, enc) => mutateBytes(v, enc, (b) => (b[b.length >> 1] = (b[b.length >> 1] as number) ^ 0x10)) },
  { label: 'truncate by one byte', apply: (v, enc) => encode(decode(v, enc).subarray(0, -1), enc) },
  { label: 'truncate to half', apply: (v, enc) => encode(decode(v, enc).subarray(0, Math.max(1, decode(v, enc).length >> 1)), enc) },
  { label: 'extend by one zero byte', apply: (v, enc) => encode(Buffer.concat([decode(v, enc), Buffer.from([0])]), enc) },
  { label: 'extend by 16 bytes', apply: (v, enc) => encode(Buffer.concat([decode(v, enc), Buffer.alloc(16, 0x41)]), enc) },
];
/** Changes to the text of an encoded attribute that a lenient decoder would ignore. */
const ENCODING_MUTATIONS: Mutation[] = [
  { label: 'append one stray base64 character', apply: (v) => `${v}A` },
  { label: 'append a stray newline', apply: (v) => `${v}\n` },
  { label: 'insert a character outside the alphabet', apply: (v) => `${v.slice(0, 4)}.${v.slice(4)}` },
  { label: 'set the unused low bits of the last character (same bytes)', apply: (v) => lowBits(v) },
];

/**
 * The same bytes in other base64 text: the last character before the padding with its unused low bits set
 * (a lenient decoder ignores them). Without unused bits (a multiple of 3 bytes), a stray character instead.
 */
function lowBits(v: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const bare = v.replace(/=+$/, '');
  const unused = v.length - bare.length === 1 ? 0x03 : v.length - bare.length === 2 ? 0x0f : 0;
  if (unused === 0) return `${v}A`;
  const out = bare.slice(0, -1) + (alphabet[alphabet.indexOf(bare.at(-1) as string) | unused] as string) + v.slice(bare.length);
  expect(Buffer.from(out, 'base64').equals(Buffer.from(v, 'base64')), 'the low-bit mutation keeps the bytes').toBe(true);
  return out;
}

function mutateBytes(v: string, enc: Encoding, f: (b: Buffer) => void): string {
  const b = Buffer.from(decode(v, enc));
  f(b);
  return encode(b, enc);
}

/** Attributes of each format that are not keys (name/version are tested as moves below). */
const ATTRIBUTES: Record<Format, string[]> = {
  'aes-gcm': ['key', 'contents', 'iv', 'tag', 'algorithm', 'kind'],
  legacy: ['key', 'contents', 'hmac', 'digest'],
};

/** The codes a tampered read may end in. KMS cannot tell a damaged wrapped key from a wrong context. */
function allowed(attr: string): string[] {
  if (attr === 'key') return ['ERR_INTEGRITY', 'ERR_ENCRYPTION_CONTEXT_MISMATCH'];
  // An unknown algorithm names a format this version cannot read: refused before any decryption.
  if (attr === 'algorithm') return ['ERR_INTEGRITY', 'ERR_CORRUPT_STORE'];
  return ['ERR_INTEGRITY'];
}

async function expectRejected(format: Format, read: Promise<unknown>, codes: string[], s: Seeded): Promise<void> {
  const err = await rejectionOf(read);
  expect(codes, `${err.name}: ${err.message}`).toContain(err.code);
  expectNoLeak(err, [...s.values, ...dataKeys]);
  // the one-message rule: integrity failures carry no cause
  if (err.code === 'ERR_INTEGRITY') expect(err.cause).toBeUndefined();
  void format;
}

describe.each(['aes-gcm', 'legacy'] as const)('tampered %s items in DynamoDB', (format) => {
  it('an untouched item still reads (the fixture is sound)', async () => {
    const s = await seed(format);
    const got = await stores[format].getCredential(s.a, { version: 1, context: CONTEXT, required: true });
    expect(got.value).toBe(s.values[0]);
  });

  for (const attr of ATTRIBUTES[format]) {
    const enc = ENCODING[attr] ?? 'text';
    const mutations = enc === 'base64' ? [...MUTATIONS, ...ENCODING_MUTATIONS] : MUTATIONS;
    it.each(mutations.map((m) => [m.label, m] as const))(`${attr}: %s → rejected, nothing leaks`, async (_label, m) => {
      const s = await seed(format);
      const item = { ...s.items[0] };
      const before = item[attr]?.S;
      expect(before, `attribute ${attr} present`).toBeDefined();
      const after = m.apply(before as string, enc);
      expect(after).not.toBe(before);
      item[attr] = { S: after };
      await putItem(item);
      await expectRejected(format, stores[format].getCredential(s.a, { version: 1, context: CONTEXT }), allowed(attr), s);
    });

    it(`${attr}: swapped with the same attribute of another version and of another name → rejected or a no-op`, async () => {
      const s = await seed(format);
      for (const donor of [s.items[1], s.items[2]]) {
        const item = { ...s.items[0] };
        const theirs = donor[attr];
        if (theirs === undefined || JSON.stringify(theirs) === JSON.stringify(item[attr])) {
          // identical attribute (e.g. the same digest): swapping it changes nothing, and reading must still work
          await putItem(item);
          expect((await stores[format].getCredential(s.a, { version: 1, context: CONTEXT, required: true })).value).toBe(s.values[0]);
          continue;
        }
        item[attr] = theirs;
        await putItem(item);
        await expectRejected(format, stores[format].getCredential(s.a, { version: 1, context: CONTEXT }), allowed(attr), s);
      }
    });

    if (enc === 'base64') {
      it(`${attr}: as a B attribute holding the base64 text → still reads; B text edited (stray character, newline, unused low bits) or raw bytes in B → rejected`, async () => {
        const s = await seed(format);
        const before = s.items[0][attr]?.S as string;
        const read = (): Promise<unknown> => stores[format].getCredential(s.a, { version: 1, context: CONTEXT, required: true });
        const asB = (text: string): AttributeValue => ({ B: Buffer.from(text, 'latin1') });
        await putItem({ ...s.items[0], [attr]: asB(before) });
        expect(((await read()) as { value: unknown }).value).toBe(s.values[0]);
        const edited = [...ENCODING_MUTATIONS.map((m) => asB(m.apply(before, enc))), { B: Buffer.from(before, 'base64') }];
        // at least one attribute per format has unused bits, so the low-bit case is exercised (not only its fallback)
        for (const attrValue of edited) {
          await putItem({ ...s.items[0], [attr]: attrValue });
          await expectRejected(format, read(), allowed(attr), s);
        }
      });
    }

    it(`${attr}: removed → rejected`, async () => {
      const s = await seed(format);
      const { [attr]: _gone, ...item } = s.items[0];
      await putItem(item);
      const codes = attr === 'digest' ? ['ERR_INTEGRITY'] : [...allowed(attr), 'ERR_CORRUPT_STORE'];
      // legacy items without `digest` mean SHA256 (credstash before 2016); this one was written with SHA256
      if (format === 'legacy' && attr === 'digest') {
        expect((await stores[format].getCredential(s.a, { version: 1, context: CONTEXT, required: true })).value).toBe(s.values[0]);
        return;
      }
      await expectRejected(format, stores[format].getCredential(s.a, { version: 1, context: CONTEXT }), codes, s);
    });
  }

  it('a wrong, missing or extra context pair is rejected by KMS, never read', async () => {
    const s = await seed(format);
    for (const context of [{ ...CONTEXT, env: 'dev' }, {}, { env: 'prod' }, { ...CONTEXT, extra: 'x' }] as Array<Record<string, string>>) {
      await expectRejected(format, stores[format].getCredential(s.a, { version: 1, context }), ['ERR_ENCRYPTION_CONTEXT_MISMATCH'], s);
    }
  });

  // ---- moves: the whole intact item under another name or version ------------------------------------
  const moves: Array<[string, (s: Seeded) => { target: Item; read: { name: string; version: string } }]> = [
    ['name: flip a bit', (s) => moved(s.items[0], { name: flipLast(s.a) })],
    ['name: truncate', (s) => moved(s.items[0], { name: s.a.slice(0, -1) })],
    ['name: extend', (s) => moved(s.items[0], { name: `${s.a}x` })],
    ['name: swap with another name (overwrite b v1)', (s) => moved(s.items[0], { name: s.b })],
    ['version: flip a bit (v1 → v0)', (s) => moved(s.items[0], { version: pad(0) })],
    ['version: extend', (s) => moved(s.items[0], { version: `${pad(1)}0` })],
    ['version: truncate', (s) => moved(s.items[0], { version: pad(1).slice(1) })],
    ['version: swap with another version (overwrite v2)', (s) => moved(s.items[0], { version: pad(2) })],
  ];

  it.each(moves)(`%s → ${format === 'aes-gcm' ? 'rejected (name and version are in the AAD)' : 'read as the moved value (legacy binds neither)'}`, async (_l, make) => {
    const s = await seed(format);
    const { target, read } = make(s);
    // leave the moved item as the only one under its name, so that the newest-version Query returns it
    for (const [n, v] of [[s.a, pad(1)], [s.a, pad(2)], [s.b, pad(1)]] as const) await deleteItem(n, v);
    await putItem(target);
    const get = stores[format].getCredential(read.name, { context: CONTEXT });
    if (format === 'aes-gcm') {
      await expectRejected(format, get, ['ERR_INTEGRITY'], s);
    } else {
      // Python credstash's format limitation, asserted exactly: the intact value, never a mix or garbage.
      expect((await get)?.value).toBe(s.values[0]);
    }
    await deleteItem(read.name, read.version);
  });

  it('getall over a table with one tampered item fails as a whole (no silently partial result), naming the item', async () => {
    const s = await seed(format);
    const item = { ...s.items[2] };
    item.contents = { S: mutateBytes(item.contents?.S as string, 'base64', (b) => (b[0] = (b[0] as number) ^ 1)) };
    await putItem(item);
    const err = await rejectionOf(stores[format].getAllCredentials({ pattern: `${s.a.slice(0, -2)}.*`, context: CONTEXT }));
    expect(err.code).toBe('ERR_PARTIAL_RESULT');
    expect((err as unknown as { failures: Array<{ credentialId: string; code: string }> }).failures).toEqual([
      expect.objectContaining({ credentialId: s.b, code: 'ERR_INTEGRITY' }),
    ]);
    expectNoLeak(err, [...s.values, ...dataKeys]);
  });
});

function moved(item: Item, to: { name?: string; version?: string }): { target: Item; read: { name: string; version: string } } {
  const name = to.name ?? (item.name?.S as string);
  const version = to.version ?? (item.version?.S as string);
  return { target: { ...item, name: { S: name }, version: { S: version } }, read: { name, version } };
}

function flipLast(s: string): string {
  return s.slice(0, -1) + String.fromCharCode(s.charCodeAt(s.length - 1) ^ 0x01);
}

// `comment` and `definition` are metadata stored in the clear and not authenticated, as in Python credstash
// (docs/SECURITY.md §1, "Metadata"). What the suite pins down: editing them never changes, unlocks or leaks
// the value, which still reads authentic and whole; a definition that is no longer a JSON object is a
// CorruptStoreError naming the item.
describe.each(['aes-gcm', 'legacy'] as const)('unauthenticated metadata of %s items', (format) => {
  for (const attr of ['comment', 'definition'] as const) {
    it(`${attr}: flipped, truncated, extended or swapped → the value still reads authentic, nothing leaks`, async () => {
      const s = await seed(format);
      const defA = JSON.stringify({ id: s.a, name: 'A' });
      const defB = JSON.stringify({ id: s.b, name: 'B', description: 'other' });
      const base: Item = { ...s.items[0], comment: { S: 'first' }, definition: { S: defA } };
      const original = (base[attr] as { S: string }).S;
      const donor = attr === 'comment' ? 'a comment from another item' : defB;
      const edits = [
        ...MUTATIONS.map((m) => [m.label, m.apply(original, 'text')] as const),
        ['swapped with another item', donor] as const,
      ];
      for (const [label, edited] of edits) {
        await putItem({ ...base, [attr]: { S: edited } });
        const read = await Promise.allSettled([stores[format].getCredential(s.a, { version: 1, context: CONTEXT, required: true })]);
        const r = read[0];
        if (r.status === 'fulfilled') {
          expect(r.value.value, label).toBe(s.values[0]);
          if (attr === 'comment') expect(r.value.comment).toBe(edited);
        } else {
          // only a definition can stop the read, and only as a typed, value-free error
          expect(attr, label).toBe('definition');
          expect(r.reason).toMatchObject({ code: 'ERR_CORRUPT_STORE', credentialId: s.a });
          expectNoLeak(r.reason, [...s.values, ...dataKeys]);
        }
      }
      // under a wrong context the edited metadata unlocks nothing
      await putItem({ ...base, [attr]: { S: donor } });
      const err = await rejectionOf(stores[format].getCredential(s.a, { version: 1, context: { ...CONTEXT, env: 'dev' } }));
      expect(err.code).toBe('ERR_ENCRYPTION_CONTEXT_MISMATCH');
      expectNoLeak(err, [...s.values, ...dataKeys]);
    });
  }
});
