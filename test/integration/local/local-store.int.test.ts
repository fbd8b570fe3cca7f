import { mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateFernetKey } from '../../../src/crypto/fernet.js';
import { openStore } from '../../../src/stores/registry.js';
import { createLocalStore, LOCAL_MAX_VALUE_BYTES, LocalStore, resolveKeystorePath } from '../../../src/stores/local/index.js';
import { runStoreContract } from '../../contract/credential-store.contract.js';
import { CANARY, expectNoLeak, rejectionOf } from '../../helpers/no-leak.js';

const root = mkdtempSync(join(tmpdir(), 'credstash-local-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => join(root, `s${++n}`, '.credstash', 'keystore.json');
const KEY = generateFernetKey();

runStoreContract('local', async () => new LocalStore({ path: fresh(), fernetKeys: [KEY] }), {
  context: true,
  maxValueBytes: LOCAL_MAX_VALUE_BYTES,
});

describe('LocalStore files', () => {
  it('creates the folder 0700 and the keystore 0600 on the first put, with the format header', async () => {
    const path = fresh();
    const store = new LocalStore({ path, fernetKeys: [KEY] });
    await store.storeCredential('a', CANARY, { comment: 'note' });
    expect(statSync(join(path, '..')).mode & 0o777).toBe(0o700);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const text = readFileSync(path, 'utf8');
    expect(JSON.parse(text)).toMatchObject({ format: 'credstash-ts-keystore', format_version: 1 });
    expect(text).not.toContain(CANARY);
    expect(text).not.toContain(KEY);
    expect(readdirSync(join(path, '..')).sort()).toEqual(['keystore.json']); // no temp or lock file left behind
  });

  it('setup creates an empty keystore once and reports it already exists afterwards', async () => {
    const store = new LocalStore({ path: fresh(), fernetKeys: [KEY] });
    expect(await store.setup()).toMatchObject({ created: true });
    expect(await store.setup()).toMatchObject({ created: false });
    expect(await store.listCredentials()).toEqual([]);
  });

  it('reads back the definition and comment stored with a structured credential, and checks required fields', async () => {
    const store = new LocalStore({ path: fresh(), fernetKeys: [KEY] });
    const definition = { id: 'aws.ci', credential_type: 'aws' as const, description: 'CI user' };
    await store.storeCredential('aws.ci', { aws_access_key_id: 'AKIA1', aws_secret_access_key: CANARY }, { definition, comment: 'c' });
    expect(await store.getCredential('aws.ci')).toMatchObject({ definition, comment: 'c', value: { aws_secret_access_key: CANARY } });
    const err = await rejectionOf(store.storeCredential('aws.ci', { aws_access_key_id: CANARY }, { definition, autoVersion: true }));
    expect(err).toMatchObject({ code: 'ERR_INVALID_INPUT', message: 'credential "aws.ci" of type aws is missing field "aws_secret_access_key"' });
    expectNoLeak(err, CANARY);
    expect((await store.listCredentials()).length).toBe(1);
  });

  it('a token moved to another id or version fails its integrity check; a tampered token too', async () => {
    const path = fresh();
    const store = new LocalStore({ path, fernetKeys: [KEY] });
    await store.storeCredential('one', CANARY);
    await store.storeCredential('two', 'other');
    const doc = JSON.parse(readFileSync(path, 'utf8')) as { credentials: Array<{ id: string; version: string; token: string }> };
    const [one, two] = doc.credentials as unknown as [{ token: string; version: string }, { token: string }];
    two.token = one.token; // copy "one" over "two"
    doc.credentials.push({ id: 'one', version: '0000000000000000002', token: one.token }); // and to another version
    writeFileSync(path, JSON.stringify(doc));
    const fresh2 = new LocalStore({ path, fernetKeys: [KEY] });
    for (const [id, version] of [['two', 1], ['one', 2]] as const) {
      const err = await rejectionOf(fresh2.getCredential(id, { version }));
      expect(err).toMatchObject({ code: 'ERR_INTEGRITY', message: `credential "${id}" version ${version} failed its integrity check in local keystore "${path}"` });
      expectNoLeak(err, CANARY, KEY);
    }
    // One character changed (never to itself: the 64th token with an 'A' there would be no tampering at all).
    doc.credentials[0] = { ...doc.credentials[0], token: `${one.token.slice(0, 30)}${one.token[30] === 'A' ? 'B' : 'A'}${one.token.slice(31)}` } as (typeof doc.credentials)[0];
    writeFileSync(path, JSON.stringify(doc));
    const err = await rejectionOf(new LocalStore({ path, fernetKeys: [KEY] }).getCredential('one', { version: 1 }));
    expect(err).toMatchObject({ code: 'ERR_INTEGRITY' });
    expect(err.cause).toBeUndefined();
  });

  it('a store opened with another key gives IntegrityError, and with no key a ConfigError, while list still works', async () => {
    const path = fresh();
    await new LocalStore({ path, fernetKeys: [KEY] }).storeCredential('x', CANARY);
    const other = generateFernetKey();
    const err = await rejectionOf(new LocalStore({ path, fernetKeys: [other] }).getCredential('x'));
    expect(err).toMatchObject({ code: 'ERR_INTEGRITY' });
    expectNoLeak(err, CANARY, KEY, other);
    const nokey = new LocalStore({ path });
    expect(await rejectionOf(nokey.getCredential('x'))).toMatchObject({ code: 'ERR_CONFIG', message: expect.stringContaining('credstash init') });
    expect((await nokey.listCredentials()).map((s) => s.id)).toEqual(['x']);
  });

  it('rotation: a new first key re-encrypts every version; the old key alone no longer opens them, old+new does', async () => {
    const path = fresh();
    const store = new LocalStore({ path, fernetKeys: [KEY] });
    await store.storeCredential('r1', 'v1', { context: { env: 'prod' } });
    await store.storeCredential('r1', 'v2', { autoVersion: true, context: { env: 'prod' } });
    await store.storeCredential('r2', new Uint8Array([1, 2, 3]));
    const before = readFileSync(path, 'utf8');
    const NEW = generateFernetKey();
    const res = await store.reencryptAll({ keys: [NEW, KEY] });
    expect(res).toMatchObject({ reencrypted: 3, alreadyCurrent: 0 });
    expect(readFileSync(path, 'utf8')).not.toBe(before);
    const onlyNew = new LocalStore({ path, fernetKeys: [NEW] });
    expect((await onlyNew.getCredential('r1', { version: 1, context: { env: 'prod' } }))?.value).toBe('v1');
    expect(Buffer.from((await onlyNew.getCredential('r2'))?.value as Uint8Array)).toEqual(Buffer.from([1, 2, 3]));
    expect(await rejectionOf(new LocalStore({ path, fernetKeys: [KEY] }).getCredential('r2'))).toMatchObject({ code: 'ERR_INTEGRITY' });
    expect(await onlyNew.reencryptAll()).toMatchObject({ reencrypted: 0, alreadyCurrent: 3 });
  });

  it('rotation that meets a token no key opens writes nothing and names the version', async () => {
    const path = fresh();
    await new LocalStore({ path, fernetKeys: [KEY] }).storeCredential('a', 'x');
    await new LocalStore({ path, fernetKeys: [generateFernetKey()] }).storeCredential('b', 'y');
    const before = readFileSync(path);
    const err = await rejectionOf(new LocalStore({ path, fernetKeys: [generateFernetKey(), KEY] }).reencryptAll());
    expect(err).toMatchObject({ code: 'ERR_INTEGRITY', credentialId: 'b', version: '1' });
    expect(readFileSync(path)).toEqual(before);
  });
});

describe('LocalStore corrupt and foreign files', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['not JSON', `{"format":"credstash-ts-keystore",\n  "credentials": [ ${CANARY} ]}`, /is not valid JSON( \(line 2, column \d+\))?; it was left untouched$/],
    ['foreign JSON', JSON.stringify({ hello: CANARY }), /is not a credstash-ts keystore \(no "format" header\)/],
    ['a newer format', JSON.stringify({ format: 'credstash-ts-keystore', format_version: 9, credentials: [] }), /format version 9, newer than/],
    ['an entry without a token', JSON.stringify({ format: 'credstash-ts-keystore', format_version: 1, credentials: [{ id: 'a', version: '0000000000000000001', token: CANARY.replace(/-/g, ' ') }] }), /entry 1 has no valid token/],
    ['an empty file', '', /is empty/],
  ];
  for (const [what, content, message] of cases) {
    it(`refuses ${what} with CorruptStoreError naming the file, and never writes over it`, async () => {
      const path = fresh();
      const store = new LocalStore({ path, fernetKeys: [KEY] });
      await store.setup();
      writeFileSync(path, content);
      const before = readFileSync(path);
      for (const op of [() => store.getCredential('a'), () => store.storeCredential('a', 'v'), () => store.storeCredential('a', 'v', { autoVersion: true }), () => store.listCredentials(), () => store.deleteCredential('a'), () => store.reencryptAll()]) {
        const err = await rejectionOf(op());
        expect(err).toMatchObject({ code: 'ERR_CORRUPT_STORE', path });
        expect(err.message).toMatch(message);
        expect(err.message).toContain(`keystore "${path}"`);
        expectNoLeak(err, CANARY, KEY);
      }
      expect(readFileSync(path)).toEqual(before);
      expect(existsSync(`${path}.lock`)).toBe(false);
    });
  }
});

describe('LocalStore lock', () => {
  it('waits for a held lock, then fails with a clear error naming the holder and the lock file', async () => {
    const path = fresh();
    const store = new LocalStore({ path, fernetKeys: [KEY], lock: { timeoutMs: 150 } });
    await store.setup();
    // A live process (this one's parent) holds it.
    writeFileSync(`${path}.lock`, JSON.stringify({ pid: process.ppid, host: (await import('node:os')).hostname(), created: Date.now(), nonce: 'x' }));
    const t0 = Date.now();
    const err = await rejectionOf(store.storeCredential('a', CANARY));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    expect(err).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
    expect(err.message).toContain(`locked by process ${process.ppid}`);
    expect(err.message).toContain(`remove "${path}.lock"`);
    expectNoLeak(err, CANARY);
  });

  it("breaks a lock left by a dead process, and another host's lock not refreshed for the stale age", async () => {
    const path = fresh();
    const store = new LocalStore({ path, fernetKeys: [KEY], lock: { timeoutMs: 2000, staleMs: 300, clockSkewMs: 100 } });
    await store.setup();
    const host = (await import('node:os')).hostname();
    writeFileSync(`${path}.lock`, JSON.stringify({ pid: 2 ** 22 + 12345, host, created: Date.now(), nonce: 'dead' }));
    await store.storeCredential('a', '1');
    // Another host's pid cannot be checked: its lock is judged by how long since it was last refreshed.
    writeFileSync(`${path}.lock`, JSON.stringify({ pid: process.ppid, host: 'elsewhere', created: Date.now() - 60_000, nonce: 'old' }));
    await store.storeCredential('a', '2', { autoVersion: true });
    expect((await store.listCredentials()).map((s) => s.version)).toEqual(['1', '2']);
    expect(existsSync(`${path}.lock`)).toBe(false);
  });

  it('breaks an empty or unreadable lock file once it is a second old (locks are always linked into place complete)', async () => {
    const path = fresh();
    const store = new LocalStore({ path, fernetKeys: [KEY], lock: { timeoutMs: 3000 } });
    await store.setup();
    writeFileSync(`${path}.lock`, '');
    const old = new Date(Date.now() - 5000);
    utimesSync(`${path}.lock`, old, old);
    await store.storeCredential('a', '1');
    expect(existsSync(`${path}.lock`)).toBe(false);
    expect(readdirSync(join(path, '..')).sort()).toEqual(['keystore.json']);
  });
});

describe('createLocalStore', () => {
  it('resolves the default path against baseDir, expands ~ and is reachable through openStore', async () => {
    const base = join(root, 'proj');
    const store = createLocalStore({}, { baseDir: base, fernetKeys: [KEY] });
    expect(store.path).toBe(join(base, '.credstash', 'keystore.json'));
    expect(resolveKeystorePath('~/ks.json', base, { HOME: '/home/u' })).toBe('/home/u/ks.json');
    expect(resolveKeystorePath('/abs/ks.json', base)).toBe('/abs/ks.json');
    const opened = await openStore({ type: 'local', config: { path: 'x/ks.json' } }, { baseDir: base, fernetKeys: [KEY] });
    expect(opened.kind).toBe('local');
    expect((opened as LocalStore).path).toBe(join(base, 'x', 'ks.json'));
  });

  it('takes the keys from CREDSTASH_FERNET_KEY (comma-separated) when none are configured', async () => {
    const base = join(root, 'envkeys');
    const other = generateFernetKey();
    const writer = createLocalStore({}, { baseDir: base, env: { CREDSTASH_FERNET_KEY: other } });
    await writer.storeCredential('e', 'v');
    const reader = createLocalStore({}, { baseDir: base, env: { CREDSTASH_FERNET_KEY: ` ${KEY} , ${other} ` } });
    expect((await reader.getCredential('e'))?.value).toBe('v');
    const configured = createLocalStore({}, { baseDir: base, fernetKeys: [KEY], env: { CREDSTASH_FERNET_KEY: other } });
    expect(await rejectionOf(configured.getCredential('e'))).toMatchObject({ code: 'ERR_INTEGRITY' });
  });

  it('refuses unknown keys, a non-string path and a bad Fernet key, naming the key path', () => {
    expect(() => createLocalStore({ pth: 'x' }, { baseDir: root })).toThrow(/credential_store\.config\.pth/);
    expect(() => createLocalStore({ path: 3 }, { baseDir: root })).toThrow(/credential_store\.config\.path must be a non-empty string/);
    let err: unknown;
    try {
      createLocalStore({}, { baseDir: root, fernetKeys: [KEY, 'short'] });
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'ERR_CONFIG', message: expect.stringContaining('fernet key 2 of 2') });
    expectNoLeak(err, KEY);
  });
});
