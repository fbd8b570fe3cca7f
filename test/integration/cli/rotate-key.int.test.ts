import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../src/config/schema.js';
import { generateFernetKey } from '../../../src/crypto/fernet.js';
import { LocalStore } from '../../../src/stores/local/index.js';
import { SqlStore } from '../../../src/stores/sql/index.js';
import { runCliInProcess, type InProcessRun } from '../../helpers/cli-in-process.js';
import { CANARY, expectNoLeak } from '../../helpers/no-leak.js';

const root = mkdtempSync(join(tmpdir(), 'credstash-rotate-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

function run(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<InProcessRun> {
  return runCliInProcess(args, { cwd, env: { HOME: root, ...env } });
}


describe('credstash rotate-key', () => {
  it('adds a new first key to credstash.toml (0600, comments kept) and re-encrypts every version under it', async () => {
    const dir = join(root, `p${++n}`);
    mkdirSync(dir);
    expect((await run(dir, ['init'])).code).toBe(0);
    const file = join(dir, 'credstash.toml');
    const oldKey = parseConfigText(readFileSync(file, 'utf8'), file).fernet?.keys[0] as string;
    expect((await run(dir, ['put', 'app.db', CANARY, 'env=prod'])).code).toBe(0);
    expect((await run(dir, ['put', '-a', 'app.db', 'second', 'env=prod'])).code).toBe(0);
    const before = readFileSync(file, 'utf8');

    const r = await run(dir, ['rotate-key']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`added a new first Fernet key to ${file} (now 2 keys; the older ones still decrypt)`);
    expect(r.stdout).toMatch(/re-encrypted 2 version\(s\) in local keystore ".*" under the first key \(2 were under an older key\)/);
    expect(r.stdout).toContain('the older key(s) can be removed from [fernet] keys once every copy');
    expect(r.stdout).toContain('a put that was running meanwhile may have used an older key, so first run `credstash rotate-key --reencrypt-only` and check it reports 0 under an older key');
    const after = readFileSync(file, 'utf8');
    const keys = parseConfigText(after, file).fernet?.keys as string[];
    expect(keys).toHaveLength(2);
    expect(keys[1]).toBe(oldKey);
    expectNoLeak(r.stdout, oldKey, keys[0] as string, CANARY);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    // only the keys line changed: comments and the rest of the file are kept
    expect(after.split('\n').filter((l) => !l.startsWith('keys'))).toEqual(before.split('\n').filter((l) => !l.startsWith('keys')));

    const keystore = join(dir, '.credstash', 'keystore.json');
    expect((await new LocalStore({ path: keystore, fernetKeys: [keys[0] as string] }).getCredential('app.db', { version: 1, context: { env: 'prod' } }))?.value).toBe(CANARY);
    const oldOnly = await run(dir, ['get', 'app.db', 'env=prod'], { CREDSTASH_FERNET_KEY: oldKey });
    expect(oldOnly.code).toBe(1);
    expect(oldOnly.stderr).toMatch(/^credstash: credential "app\.db" version 2 in local keystore ".*" is not readable with the configured Fernet key\(s\): it was written under a key that is not in the list, or it was altered\n$/);
    const got = await run(dir, ['get', 'app.db', 'env=prod']);
    expect(got.stdout.trim()).toBe('second');
  });

  it('--reencrypt-only re-encrypts under the current first key without touching the config', async () => {
    const dir = join(root, `p${++n}`);
    mkdirSync(dir);
    const [k1, k2] = [generateFernetKey(), generateFernetKey()];
    writeFileSync(join(dir, 'credstash.toml'), `[fernet]\nkeys = [\n  "${k1}",\n  "${k2}",\n]\n[credential_store]\ntype = "sql"\n[credential_store.config]\nengine = { name = "sqlite", config = { path = "c.db" } }\n`, { mode: 0o600 });
    const old = new SqlStore({ engine: { name: 'sqlite', path: join(dir, 'c.db') }, fernetKeys: [k2] });
    await old.storeCredential('x', 'v');
    await old.close();
    const before = readFileSync(join(dir, 'credstash.toml'));
    const r = await run(dir, ['rotate-key', '--reencrypt-only']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/re-encrypted 1 version\(s\) in sql table "xt_credentials" \(sqlite .*c\.db\) under the first key \(1 were under an older key\)/);
    expect(readFileSync(join(dir, 'credstash.toml'))).toEqual(before);
    const only1 = new SqlStore({ engine: { name: 'sqlite', path: join(dir, 'c.db') }, fernetKeys: [k1] });
    expect((await only1.getCredential('x'))?.value).toBe('v');
    await only1.close();
  });

  it('refuses keys from CREDSTASH_FERNET_KEY and non-Fernet stores, changing nothing', async () => {
    const dir = join(root, `p${++n}`);
    mkdirSync(dir);
    expect((await run(dir, ['init'])).code).toBe(0);
    const file = join(dir, 'credstash.toml');
    const before = readFileSync(file);
    const key = generateFernetKey();
    const env = await run(dir, ['rotate-key'], { CREDSTASH_FERNET_KEY: key });
    expect(env.code).toBe(1);
    expect(env.stderr).toContain('credstash: the Fernet keys come from CREDSTASH_FERNET_KEY');
    expectNoLeak(env.stderr, key);
    const other = await run(dir, ['rotate-key', '--store-type', 'env']);
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/rotate-key applies to the local and sql stores/);
    expect(readFileSync(file)).toEqual(before);
  });
});
