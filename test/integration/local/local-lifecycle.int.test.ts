import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { fernetTimestamp, generateFernetKey } from '../../../src/crypto/fernet.js';
import { FernetCodec } from '../../../src/stores/fernet-codec.js';
import { LocalStore } from '../../../src/stores/local/index.js';
import { serializeKeystore } from '../../../src/stores/local/local-keystore-file.js';
import { runLifecycleContract, type LifecycleStore } from '../../contract/lifecycle.contract.js';
import { moveChain, raceLabelMovers } from '../../helpers/label-race.js';
import { CANARY, expectNoLeak, rejectionOf } from '../../helpers/no-leak.js';

const root = mkdtempSync(join(tmpdir(), 'credstash-local-lc-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => join(root, `s${++n}`, '.credstash', 'keystore.json');
const KEY = generateFernetKey();
// A test key and a token sealed by the codec as it was before the lifecycle header fields existed
// (id "old.cred", version 3, context env=prod, comment "from before").
const OLD_KEY = 'vi-90osENQCiyWLYIynVtWctqu8rGMDGiT5sLaEYJVc=';
const OLD_TOKEN =
  'gAAAAABrD3IDGB_fkPluQLVR6pt1a7R-cAAtA-OOqzfBnNMkKHemc1AyMFWxwERH-kSzTkMcay8NxVfB6uX6Rj4ii7fQTqkYBNXm8_RDcSh2Uh5vHDd4qHTYp1SQ1r2HTRdrgLw-D7UC20g_aroi-xwp0H59EiuYqa-gm1yK3-hJHPHNgpZaLHjBiJiM7A-irmy6j44VXX_UkrJhymYlnnpjQ5YFPdz85SxPRuCd8TfoChQ7Rqy3oBD7Aquof1sv_V1ulEwT3GJagUp_RSRv_qmjR6GwVrdrEA==';

interface FileDoc {
  credentials: Array<Record<string, string>>;
  lifecycle?: { epoch: string; rev: number; records: Array<{ id: string; rev: number; doc: { labels: Record<string, { v: string; proof?: string }> } }> };
}
const readDoc = (path: string): FileDoc => JSON.parse(readFileSync(path, 'utf8')) as FileDoc;
const writeDoc = (path: string, doc: FileDoc): void => writeFileSync(path, JSON.stringify(doc));

/** Point a label elsewhere by editing the file, as someone who can write it but has no key would. */
async function forgeLabel(store: LifecycleStore, id: string, label: string, paddedVersion: string): Promise<void> {
  const path = (store as unknown as LocalStore).path;
  const doc = readDoc(path);
  const rec = doc.lifecycle?.records.find((r) => r.id === id);
  const target = rec?.doc.labels[label];
  if (target === undefined) throw new Error('no label to forge');
  target.v = paddedVersion;
  writeDoc(path, doc);
}

runLifecycleContract('local', async () => new LocalStore({ path: fresh(), fernetKeys: [KEY] }), {
  context: true,
  expiry: true,
  history: true,
  state: true,
  forgeLabel,
});

describe('local keystore: lifecycle at rest', () => {
  it('8 processes moving one label at once: each reports done or a conflict, and the label ends on a version that exists', async () => {
    const path = fresh();
    const store = new LocalStore({ path, fernetKeys: [KEY] });
    for (let i = 1; i <= 9; i++) await store.storeCredential('race.lbl', `v${i}`, { autoVersion: true });
    await store.labelCredential('race.lbl', 'current', { version: 1 });
    const results = await raceLabelMovers({ kind: 'local', path }, KEY, 'race.lbl', 'current', [2, 3, 4, 5, 6, 7, 8, 9], join(root, `go-${++n}`));
    const done = results.filter((r) => r.outcome === 'done');
    expect(done.length).toBeGreaterThanOrEqual(1);
    const got = await store.getCredential('race.lbl', { label: 'current', required: true });
    expect(got.value).toBe(`v${got.version}`);
    // every move that was done is one compare-and-set after the other, ending where the label is
    const chain = moveChain(results, '1');
    expect(chain, JSON.stringify(results)).toBeDefined();
    expect(chain?.at(-1)).toBe(got.version);
    expect(readDoc(path).lifecycle?.records).toHaveLength(1);
  });

  it('a forged target is refused with IntegrityError: proof removed, proof of another label, record copied from another credential', async () => {
    const path = fresh();
    const store = new LocalStore({ path, fernetKeys: [KEY] });
    await store.storeCredential('f.a', 'genuine');
    await store.storeCredential('f.a', CANARY, { autoVersion: true });
    await store.storeCredential('f.b', 'b1');
    await store.storeCredential('f.b', 'b2', { autoVersion: true });
    await store.labelCredential('f.a', 'current', { version: 1 });
    await store.labelCredential('f.a', 'next', { version: 2 });
    await store.labelCredential('f.b', 'current', { version: 2 });
    const genuine = readFileSync(path, 'utf8');
    const edits: Array<(d: FileDoc) => void> = [
      (d) => delete (d.lifecycle?.records.find((r) => r.id === 'f.a')?.doc.labels.current as { proof?: string }).proof,
      (d) => {
        const a = d.lifecycle?.records.find((r) => r.id === 'f.a');
        if (a !== undefined) a.doc.labels.current = { ...(a.doc.labels.next as { v: string; proof?: string }) };
      },
      (d) => {
        const a = d.lifecycle?.records.find((r) => r.id === 'f.a');
        const b = d.lifecycle?.records.find((r) => r.id === 'f.b');
        if (a !== undefined && b !== undefined) a.doc.labels.current = { ...(b.doc.labels.current as { v: string; proof?: string }) };
      },
    ];
    for (const edit of edits) {
      const d = JSON.parse(genuine) as FileDoc;
      edit(d);
      writeDoc(path, d);
      const err = await rejectionOf(store.getCredential('f.a', { label: 'current', required: true }));
      expect(err).toMatchObject({ code: 'ERR_INTEGRITY', credentialId: 'f.a' });
      expectNoLeak(err, CANARY, KEY);
    }
    writeFileSync(path, genuine);
    expect((await store.getCredential('f.a', { label: 'current', required: true })).value).toBe('genuine');
  });

  it('get returns the authenticated expiry: an edited or removed plaintext expiresAt changes only history and check', async () => {
    const path = fresh();
    const store = new LocalStore({ path, fernetKeys: [KEY] });
    const at = new Date(Date.now() + 3_600_000).toISOString();
    await store.storeCredential('e.a', 'v', { expiresAt: at });
    const d = readDoc(path);
    expect(d.credentials[0]).toMatchObject({ expiresAt: at, writtenBy: expect.any(String), createdAt: expect.any(String) });
    const later = '2099-01-01T00:00:00.000Z';
    (d.credentials[0] as Record<string, string>).expiresAt = later;
    writeDoc(path, d);
    expect((await store.getCredential('e.a', { required: true })).expiresAt).toBe(at);
    expect((await store.credentialHistory('e.a'))[0]?.expiresAt).toBe(later); // the plaintext copy: unauthenticated
    delete (d.credentials[0] as Record<string, string>).expiresAt;
    writeDoc(path, d);
    expect((await store.getCredential('e.a', { required: true })).expiresAt).toBe(at);
  });

  it('history of 100 versions decrypts nothing: it works with a key that opens none of them, and no token is opened', async () => {
    const path = fresh();
    const store = new LocalStore({ path, fernetKeys: [KEY] });
    for (let i = 0; i < 100; i++) await store.storeCredential('h.many', `value ${i}`, { autoVersion: true, comment: `c${i}`, ...(i === 99 ? { expiresAt: '30d' } : {}) });
    await store.labelCredential('h.many', 'current', { version: 50 });
    const wrong = new LocalStore({ path, fernetKeys: [generateFernetKey()] });
    expect(await rejectionOf(wrong.getCredential('h.many'))).toMatchObject({ code: 'ERR_INTEGRITY' }); // a decrypt would fail
    const open = vi.spyOn(FernetCodec.prototype, 'open');
    try {
      const h = await wrong.credentialHistory('h.many');
      expect(open).not.toHaveBeenCalled();
      expect(h).toHaveLength(100);
      const tokens = readDoc(path).credentials.map((e) => e.token as string);
      expect(h.map((v) => v.size)).toEqual(tokens.map((t) => t.length));
      expect(h[49]).toMatchObject({ version: '50', labels: ['current'], comment: 'c49', writtenBy: expect.any(String) });
      expect(h[99]?.expiresAt).toBeDefined();
      for (const v of h) expect(Number.isNaN(Date.parse(v.createdAt ?? ''))).toBe(false);
    } finally {
      open.mockRestore();
    }
  });

  it('a keystore from before the lifecycle fields: read as before, history dates versions by the token timestamp, a label adds the section', async () => {
    const path = fresh();
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, serializeKeystore([{ id: 'old.cred', version: '0000000000000000003', token: OLD_TOKEN, comment: 'from before' }]));
    const store = new LocalStore({ path, fernetKeys: [OLD_KEY] });
    expect(await store.getCredential('old.cred', { context: { env: 'prod' }, required: true })).toMatchObject({ version: '3', value: 'old value ✓' });
    const [h] = await store.credentialHistory('old.cred');
    expect(h).toEqual({ version: '3', createdAt: new Date(fernetTimestamp(OLD_TOKEN) * 1000).toISOString(), size: OLD_TOKEN.length, comment: 'from before', labels: [] });
    await store.labelCredential('old.cred', 'current', { version: 3, context: { env: 'prod' } });
    expect((await store.getCredential('old.cred', { label: 'current', context: { env: 'prod' }, required: true })).value).toBe('old value ✓');
    const text = readFileSync(path, 'utf8');
    expect(text.startsWith(`{"format":"credstash-ts-keystore","format_version":1,"credentials":[\n${JSON.stringify({ id: 'old.cred', version: '0000000000000000003', token: OLD_TOKEN, comment: 'from before' })}\n],"lifecycle":`)).toBe(true);
  });

  it('rotate-key: labels made under the old key verify meanwhile and are proved again under the new key; a forged one stays refused; state moves too', async () => {
    const path = fresh();
    const OLD = generateFernetKey();
    const NEW = generateFernetKey();
    const before = new LocalStore({ path, fernetKeys: [OLD] });
    await before.storeCredential('r.a', 'one');
    await before.storeCredential('r.a', CANARY, { autoVersion: true });
    await before.labelCredential('r.a', 'current', { version: 1 });
    await before.labelCredential('r.a', 'stale', { version: 1 });
    expect(await before.writeState('r.a', 'rotation', Buffer.from('pending'), { expectRev: (await before.readState('r.a', 'rotation')).rev })).toBe(true);
    // the forgery: "stale" pointed at version 2 with version 1's proof
    const d = readDoc(path);
    const rec = d.lifecycle?.records[0];
    if (rec !== undefined) (rec.doc.labels.stale as { v: string }).v = '0000000000000000002';
    writeDoc(path, d);
    // the new key written first, the store not yet re-encrypted: the old key's label still verifies
    const meanwhile = new LocalStore({ path, fernetKeys: [NEW, OLD] });
    expect((await meanwhile.getCredential('r.a', { label: 'current', required: true })).value).toBe('one');
    const revBefore = (await meanwhile.readState('r.a', 'rotation')).rev;
    await meanwhile.reencryptAll();
    // a compare-and-set that read before the rotation loses
    expect(await meanwhile.writeState('r.a', 'rotation', Buffer.from('x'), { expectRev: revBefore })).toBe(false);
    const after = new LocalStore({ path, fernetKeys: [NEW] });
    expect((await after.getCredential('r.a', { label: 'current', required: true })).value).toBe('one');
    expect(Buffer.from((await after.readState('r.a', 'rotation')).value ?? []).toString()).toBe('pending');
    const err = await rejectionOf(after.getCredential('r.a', { label: 'stale', required: true }));
    expect(err).toMatchObject({ code: 'ERR_INTEGRITY' });
    expectNoLeak(err, CANARY);
  });

  it('rotate-key without the re-proof would leave labels unreadable once the old key is gone (the re-proof is what keeps them)', async () => {
    const path = fresh();
    const OLD = generateFernetKey();
    const NEW = generateFernetKey();
    const before = new LocalStore({ path, fernetKeys: [OLD] });
    await before.storeCredential('r.b', 'one');
    await before.labelCredential('r.b', 'current', { version: 1 });
    const proof = readDoc(path).lifecycle?.records[0]?.doc.labels.current?.proof;
    await new LocalStore({ path, fernetKeys: [NEW, OLD] }).reencryptAll();
    expect(readDoc(path).lifecycle?.records[0]?.doc.labels.current?.proof).not.toBe(proof);
    // put the old proof back: with only the new key it no longer verifies
    const d = readDoc(path);
    const t = d.lifecycle?.records[0]?.doc.labels.current;
    if (t !== undefined && proof !== undefined) t.proof = proof;
    writeDoc(path, d);
    expect(await rejectionOf(new LocalStore({ path, fernetKeys: [NEW] }).getCredential('r.b', { label: 'current' }))).toMatchObject({ code: 'ERR_INTEGRITY' });
  });
});
