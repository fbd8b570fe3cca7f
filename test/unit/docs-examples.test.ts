/**
 * The `@example` blocks of the public API (src/index.ts, core/store.ts), run as code against a temp local
 * keystore and the in-memory fixture. Imports go through src/index.ts, as a user's would: if a documented
 * name, option or result shape drifts, this file stops compiling or fails.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CachedStore,
  ChainStore,
  ConfigError,
  CredentialNotFoundError,
  CredentialReferenceError,
  CredstashError,
  EncryptionContextMismatchError,
  PartialResultError,
  ValidationError,
  VersionConflictError,
  canonicalContext,
  checkCredentialValue,
  containsCredentialReference,
  credentialsToEnv,
  displayVersion,
  envName,
  exportCredentials,
  extractCredentialId,
  findCredentialReferences,
  formatFromFileName,
  generateFernetKey,
  getCredentialsForConfig,
  importCredentials,
  isCredentialReference,
  isCredstashError,
  isKeyRotationCapable,
  isSetupCapable,
  mapConcurrent,
  migrate,
  openStore,
  padVersion,
  parseContextArgs,
  parseFernetKey,
  parseImportFile,
  prune,
  registerCredentialStore,
  registeredStoreTypes,
  resolveCredentialReferences,
  unregisterCredentialStore,
  validateDefinition,
  withAuditLog,
  withCache,
  type AuditRecord,
  type CredentialStore,
  type CredentialSummary,
  type MigrateProgress,
} from '../../src/index.js';
import { compareIds, compareSummaries } from '../../src/core/store.js';
import { EnvStore } from '../../src/stores/env/index.js';
import { MemoryStore } from '../fixtures/memory-store.js';
import { rejectionOf } from '../helpers/no-leak.js';

let projectDir: string;
let fernetKey: string;
const open: CredentialStore[] = [];

beforeEach(() => {
  projectDir = mkdtempSync(join(tmpdir(), 'docs-examples-'));
  fernetKey = generateFernetKey();
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
  unregisterCredentialStore('memory');
  rmSync(projectDir, { recursive: true, force: true });
});

/** openStore's @example: a local keystore beside the project's credstash.toml. */
async function openLocal(): Promise<CredentialStore> {
  const store = await openStore(
    { type: 'local', config: { path: '.credstash/keystore.json' } },
    { baseDir: projectDir, fernetKeys: [fernetKey] },
  );
  open.push(store);
  return store;
}

describe('docs: openStore + CredentialStore (local keystore)', () => {
  it('rotates a DB password with autoVersion and reads it back with its context (Lambda)', async () => {
    const store = await openLocal();
    expect(store.kind).toBe('local');

    // CredentialStore @example
    await store.storeCredential('myapp.db.prod', 'n3w', { autoVersion: true, context: { env: 'prod' } });
    const cred = await store.getCredential('myapp.db.prod', { context: { env: 'prod' }, required: true });
    expect(cred).toMatchObject({ id: 'myapp.db.prod', version: '1', value: 'n3w' });

    // storeCredential @example: rotate, race-safe
    const newPassword = 'r0tated';
    const { version } = await store.storeCredential('myapp.db.prod', newPassword, { autoVersion: true, context: { env: 'prod' } });
    expect(version).toBe(2);

    // getCredential @example (Lambda)
    const { value } = await store.getCredential('myapp.db.prod', { context: { env: 'prod' }, required: true });
    expect(value).toBe('r0tated');
    const v2 = await store.getCredential('myapp.db.prod', { version: 2, context: { env: 'prod' } });
    expect(v2?.value).toBe('r0tated');
    expect(await store.getCredential('myapp.db.prod', { version: 9, context: { env: 'prod' } })).toBeUndefined();

    // the documented @throws: wrong context, missing with required
    expect(await rejectionOf(store.getCredential('myapp.db.prod', { context: { env: 'dev' } }))).toBeInstanceOf(EncryptionContextMismatchError);
    expect(await rejectionOf(store.getCredential('myapp.nope', { required: true }))).toBeInstanceOf(CredentialNotFoundError);
    // canonicalContext's @example: an empty value is refused before anything is stored
    expect(await rejectionOf(store.storeCredential('myapp.x', 'v', { context: { env: '' } }))).toBeInstanceOf(ValidationError);

    // listCredentials / credentialExists / getAllCredentials / deleteCredential @examples
    expect((await store.listCredentials({ pattern: 'myapp.*', latestOnly: true })).map((s) => [s.id, s.version])).toEqual([['myapp.db.prod', '2']]);
    expect(await store.credentialExists('myapp.db.prod', { version: 3 })).toBe(false);
    expect(await store.credentialExists('myapp.db.prod')).toBe(true);
    const { credentials, skipped } = await store.getAllCredentials({ pattern: 'myapp.*', context: { env: 'prod' }, skipErrors: true });
    expect(credentials.map((c) => c.value)).toEqual(['r0tated']);
    expect(skipped).toEqual([]);
    expect(await store.deleteCredential('myapp.db.prod', { version: 1 })).toEqual({ id: 'myapp.db.prod', deleted: ['1'] });
  });

  it('stores a typed credential with its definition (BaseStore.storeCredential @example)', async () => {
    const store = await openLocal();
    const newPassword = 'pw-2';
    await store.storeCredential('myapp.db.prod', { user: 'app', password: newPassword }, {
      autoVersion: true, context: { env: 'prod' }, comment: 'rotated by ops',
      definition: { id: 'myapp.db.prod', credential_type: 'database' },
    });
    const got = await store.getCredential('myapp.db.prod', { context: { env: 'prod' }, required: true });
    expect(got.value).toEqual({ user: 'app', password: 'pw-2' });
    expect(got.comment).toBe('rotated by ops');
    expect(got.definition).toEqual({ id: 'myapp.db.prod', credential_type: 'database' });
  });

  it('isSetupCapable / isKeyRotationCapable @examples', async () => {
    const store = await openLocal();
    expect(isSetupCapable(store)).toBe(true);
    if (isSetupCapable(store)) expect((await store.setup({ billing: 'on-demand' })).created).toBe(true);
    await store.storeCredential('myapp.api_key', 'k-1');
    expect(isKeyRotationCapable(store)).toBe(true);
    expect(isSetupCapable(new EnvStore())).toBe(false);
    if (isKeyRotationCapable(store)) {
      const newKey = generateFernetKey();
      const { message, reencrypted } = await store.reencryptAll({ keys: [newKey, fernetKey] });
      expect(reencrypted).toBe(1);
      expect(message).toEqual(expect.any(String));
      fernetKey = newKey;
    }
    // only the new key now: the rewritten value still reads
    const again = await openLocal();
    expect((await again.getCredential('myapp.api_key', { required: true })).value).toBe('k-1');
  });

  it('openStore throws ConfigError with the key path (ConfigError @example)', async () => {
    const err = await openStore({ type: 'local', config: { pth: 'x.json' } }).catch((e: ConfigError) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).path).toBe('credential_store.config.pth');
    expect(await rejectionOf(openStore({ type: 'nope' }))).toBeInstanceOf(ConfigError);
  });
});

describe('docs: withCache', () => {
  it('serves repeated gets from the cache, refreshes on forceFetch, drops on clear and on writes', async () => {
    const inner = new MemoryStore('cache');
    await inner.storeCredential('myapp.db.prod', 'v1', { context: { env: 'prod' } });
    const store = withCache(inner, { maxAge: 30 });
    expect(store).toBeInstanceOf(CachedStore);

    const cred = await store.getCredential('myapp.db.prod', { context: { env: 'prod' }, required: true });
    await store.getCredential('myapp.db.prod', { context: { env: 'prod' }, required: true });
    expect(cred.value).toBe('v1');
    expect(inner.reads).toBe(1);

    await inner.storeCredential('myapp.db.prod', 'v2', { autoVersion: true, context: { env: 'prod' } }); // behind the cache's back
    expect((await store.getCredential('myapp.db.prod', { context: { env: 'prod' } }))?.value).toBe('v1');
    const fresh = await store.getCredential('myapp.db.prod', { context: { env: 'prod' }, forceFetch: true });
    expect(fresh?.value).toBe('v2');
    expect(inner.reads).toBe(2);

    store.clear();
    await store.getCredential('myapp.db.prod', { context: { env: 'prod' } });
    expect(inner.reads).toBe(3);

    // CachedStore.storeCredential @example: a write through the cache drops the id's entries
    const newPassword = 'v3';
    await store.storeCredential('myapp.db.prod', newPassword, { autoVersion: true, context: { env: 'prod' } });
    expect((await store.getCredential('myapp.db.prod', { context: { env: 'prod' }, required: true })).value).toBe('v3');

    expect(() => withCache(inner, { maxAge: -1 })).toThrow(ValidationError);
  });
});

describe('docs: ChainStore', () => {
  it('reads the first member holding the credential, falls through to env, writes into the first writable', async () => {
    const project = new MemoryStore('project');
    const env = { CREDSTASH_CREDENTIAL_DB_PROD: 'from-env' };
    const chain = new ChainStore([{ name: 'project', store: project }, new EnvStore({ env })]);
    expect(chain.members.map((m) => m.name)).toEqual(['project', 'env']);

    const cred = await chain.getCredential('db.prod', { required: true }); // local first, then env
    expect(cred.value).toBe('from-env');
    await chain.storeCredential('db.prod', 'n3w', { autoVersion: true }); // into "project"
    expect((await chain.getCredential('db.prod', { required: true })).value).toBe('n3w');
    expect(project.items.has('db.prod')).toBe(true);

    // storeCredential / deleteCredential @examples: pick the member by name
    await chain.storeCredential('myapp.db.prod', 'pw', { autoVersion: true, store: 'project' });
    await chain.deleteCredential('myapp.db.prod', { store: 'project' });
    expect(await chain.credentialExists('myapp.db.prod')).toBe(false);
    expect(await rejectionOf(chain.storeCredential('x', 'v', { store: 'nope' }))).toBeInstanceOf(ValidationError);
    expect(await rejectionOf(chain.getCredential('myapp.missing', { required: true }))).toBeInstanceOf(CredentialNotFoundError);
  });

  it('is built from openStore members too (the doc example shape)', async () => {
    const chain = new ChainStore([{ name: 'project', store: await openLocal() }, new EnvStore({ env: {} })]);
    await chain.storeCredential('db.prod', 'n3w', { autoVersion: true });
    expect((await chain.getCredential('db.prod', { required: true })).version).toBe('1');
  });
});

describe('docs: credential references', () => {
  it('resolves ${credential:db}.password in a config tree (resolveCredentialReferences @example)', async () => {
    const store = new MemoryStore('refs');
    await store.storeCredential('db_prod', { user: 'app', password: 's3cr3t' }, { context: { env: 'prod' } });
    await store.storeCredential('db_host', 'db.internal');
    const cfg = await resolveCredentialReferences(
      { database: { password: '${credential:db_prod?env=prod}.password', url: 'postgres://app@${credential:db_host}/app' } },
      store,
    );
    expect(cfg).toEqual({ database: { password: 's3cr3t', url: 'postgres://app@db.internal/app' } });

    const missing = await rejectionOf(resolveCredentialReferences({ a: '${credential:nope}' }, store));
    expect(missing).toBeInstanceOf(CredentialReferenceError);
    expect(await rejectionOf(resolveCredentialReferences({ a: '${credential:db_prod?env=}' }, store))).toBeInstanceOf(ValidationError);
  });

  it('finds, lists and recognises references (the parse and find @examples)', () => {
    expect(findCredentialReferences({ db: { password: '${credential:db_prod?env=prod}.password' } })).toEqual([
      { path: 'db.password', reference: '${credential:db_prod?env=prod}.password', id: 'db_prod', context: { env: 'prod' }, field: ['password'] },
    ]);
    expect(getCredentialsForConfig({ db: { password: '${credential:db_prod}.password' }, url: 'x://${credential:api}' })).toEqual(['api', 'db_prod']);
    expect(isCredentialReference('${credential:db_prod}.password')).toBe(true);
    expect(isCredentialReference('postgres://${credential:db_user}@db')).toBe(false);
    expect(containsCredentialReference('postgres://${credential:db_user}@db')).toBe(true);
    expect(containsCredentialReference('\\${credential:x}')).toBe(false);
    expect(extractCredentialId('${credential:db_prod?env=prod}.password')).toBe('db_prod');
    expect(() => containsCredentialReference('${credential:x?env=}')).toThrow(ValidationError);
  });
});

describe('docs: registerCredentialStore', () => {
  it('registers a custom type that openStore and config can name', async () => {
    registerCredentialStore('memory', (config) => new MemoryStore(String(config.label ?? 'memory')));
    const store = await openStore({ type: 'memory', config: { label: 'tests' } });
    expect(store.description).toBe('memory store "tests"');
    await store.storeCredential('myapp.api_key', 'k-1', { autoVersion: true });
    expect((await store.getCredential('myapp.api_key', { required: true })).value).toBe('k-1');

    const types = registeredStoreTypes();
    expect(types).toEqual(expect.arrayContaining(['chain', 'dynamodb', 'env', 'local', 'memory', 'sql', 'ssm', 'vault']));
    expect(types).toEqual([...types].sort());
    expect(() => registerCredentialStore('local', () => new MemoryStore())).toThrow(ConfigError);
    expect(() => registerCredentialStore('My Store', () => new MemoryStore())).toThrow(ConfigError);

    expect(unregisterCredentialStore('memory')).toBe(true);
    expect(unregisterCredentialStore('memory')).toBe(false);
    expect(await rejectionOf(openStore({ type: 'memory' }))).toBeInstanceOf(ConfigError);
  });
});

describe('docs: errors', () => {
  it('VersionConflictError: an explicit version that exists; retry with autoVersion', async () => {
    const store = new MemoryStore();
    const newPassword = 'pw';
    for (let v = 1; v <= 4; v++) await store.storeCredential('myapp.db.prod', `old-${v}`, { version: v });
    let version = 0;
    try {
      await store.storeCredential('myapp.db.prod', newPassword, { version: 4 });
    } catch (err) {
      if (!(err instanceof VersionConflictError)) throw err;
      ({ version } = await store.storeCredential('myapp.db.prod', newPassword, { autoVersion: true }));
    }
    expect(version).toBe(5);
  });

  it('CredstashError / isCredstashError / PartialResultError: typed, value-free', async () => {
    const store = new MemoryStore();
    await store.storeCredential('myapp.a', 'a', { context: { env: 'prod' } });
    await store.storeCredential('myapp.b', 'b');
    const failures: string[][] = [];
    let caught: unknown;
    try {
      await store.getAllCredentials({ pattern: 'myapp.*' });
    } catch (err) {
      caught = err;
      if (err instanceof PartialResultError) for (const f of err.failures) failures.push([f.credentialId, f.code]);
      else throw err;
    }
    expect(failures).toEqual([['myapp.a', 'ERR_ENCRYPTION_CONTEXT_MISMATCH']]);
    expect(caught).toBeInstanceOf(CredstashError);
    expect(isCredstashError(caught)).toBe(true);
    expect(isCredstashError(new Error('x'))).toBe(false);
    expect(isCredstashError(caught) && caught.toJSON()).toMatchObject({ name: 'PartialResultError', code: 'ERR_PARTIAL_RESULT' });
  });
});

describe('docs: small helpers', () => {
  it('context, versions, ordering, Fernet keys, definitions, concurrency', async () => {
    expect(canonicalContext({ service: 'api', env: 'prod' })).toEqual({ env: 'prod', service: 'api' });
    expect(Object.keys(canonicalContext({ service: 'api', env: 'prod' }))).toEqual(['env', 'service']);
    expect(Object.isFrozen(canonicalContext({ env: 'prod' }))).toBe(true);
    expect(() => canonicalContext({ env: '' })).toThrow(ValidationError);
    expect(parseContextArgs(['env=prod', 'tag=a=b'])).toEqual({ env: 'prod', tag: 'a=b' });
    expect(() => parseContextArgs(['env=prod', 'env=dev'])).toThrow(ValidationError);

    expect(padVersion(3)).toBe('0000000000000000003');
    expect(displayVersion(padVersion(12))).toBe('12');
    expect(['b', 'B', 'a'].sort(compareIds)).toEqual(['B', 'a', 'b']);
    const summaries: CredentialSummary[] = [{ id: 'db', version: 'v5' }, { id: 'db', version: '10' }, { id: 'db', version: '2' }];
    expect(summaries.sort(compareSummaries).map((s) => s.version)).toEqual(['2', '10', 'v5']);

    const oldKey = fernetKey;
    const keys = [generateFernetKey(), oldKey];
    expect(keys.map((k) => parseFernetKey(k).encryption.length)).toEqual([16, 16]);
    expect(() => parseFernetKey('not-a-key', 'fernet.keys[0]')).toThrow(ConfigError);
    expect(() => parseFernetKey('not-a-key', 'fernet.keys[0]')).toThrow(/^fernet\.keys\[0\] is not a Fernet key/);

    expect(validateDefinition({ id: 'db_prod', credential_type: 'database', owner: 'x' })).toEqual({ id: 'db_prod', credential_type: 'database' });
    expect(() => validateDefinition({ id: 'db_prod', credential_type: 'db' }, 'credentials[2]')).toThrow(/^credentials\[2\]\.credential_type must be one of/);
    expect(() => checkCredentialValue('aws.ci', { aws_access_key_id: 'AKIA…' }, { id: 'aws.ci', credential_type: 'aws' })).toThrow(
      'credential "aws.ci" of type aws is missing field "aws_secret_access_key"',
    );

    const store = new MemoryStore();
    for (const id of ['db', 'api', 'smtp']) await store.storeCredential(id, `${id}-value`);
    const creds = await mapConcurrent(['db', 'api', 'smtp'], 2, (id) => store.getCredential(id, { required: true }));
    expect(creds.map((c) => c.value)).toEqual(['db-value', 'api-value', 'smtp-value']);
  });
});

describe('docs: operator tools', () => {
  it('export, import from a dotenv file, env names, prune, migrate', async () => {
    const store = new MemoryStore('ops');
    await store.storeCredential('myapp.prod.db_password', 'pw', { context: { env: 'prod' } });

    const { credentials } = await exportCredentials(store, { pattern: 'myapp.*', context: { env: 'prod' } });
    const backup = Object.fromEntries(credentials.map((c) => [c.id, c.value]));
    expect(backup).toEqual({ 'myapp.prod.db_password': 'pw' });

    expect(formatFromFileName('secrets/.env.production')).toBe('dotenv');
    const records = await parseImportFile('DB_PASSWORD=s3cr3t\nexport API_KEY="k-123"\n', 'dotenv', '.env');
    expect(records).toEqual([{ id: 'DB_PASSWORD', value: 's3cr3t', line: 1 }, { id: 'API_KEY', value: 'k-123', line: 2 }]);
    const text = JSON.stringify(backup);
    // restoring the backup over itself writes nothing (same value), and without the context a record's
    // error is reported, not thrown
    const report = await importCredentials(store, await parseImportFile(text, 'json', 'backup.json'), { comment: 'restored', context: { env: 'prod' } });
    expect(report.written).toEqual([]);
    expect(report.skipped.map((s) => s.reason)).toEqual(['unchanged (version 1 holds the same value)']);
    const noContext = await importCredentials(store, await parseImportFile(text, 'json', 'backup.json'));
    expect(noContext.skipped.map((s) => [s.id, s.code])).toEqual([['myapp.prod.db_password', 'ERR_ENCRYPTION_CONTEXT_MISMATCH']]);
    const fromDotenv = await importCredentials(store, records, { comment: 'restored' });
    expect(fromDotenv.written).toEqual([{ id: 'DB_PASSWORD', version: 1 }, { id: 'API_KEY', version: 1 }]);
    expect(fromDotenv.skipped).toEqual([]);

    expect(envName('myapp.db-password')).toBe('MYAPP_DB_PASSWORD');
    const all = await store.getAllCredentials({ pattern: 'myapp.prod.*', context: { env: 'prod' } });
    const env = credentialsToEnv(all.credentials, { prefix: 'myapp.prod.' });
    expect(Object.fromEntries(env)).toEqual({ DB_PASSWORD: 'pw' });

    for (const v of ['a', 'b', 'c', 'd']) await store.storeCredential('myapp.db.prod', v, { autoVersion: true });
    const { deleted } = await prune(store, 'myapp.db.prod', 3, { dryRun: true });
    expect(deleted).toEqual(['1']);
    expect(await store.credentialExists('myapp.db.prod', { version: 1 })).toBe(true);

    const legacyTable = store;
    const localKeystore = await openLocal();
    const seen: MigrateProgress[] = [];
    const bar = (p: MigrateProgress): void => void seen.push(p);
    const migrated = await migrate(legacyTable, localKeystore, { allVersions: true, pattern: 'myapp.db.*', onProgress: (p) => bar(p) });
    expect(migrated.failed).toEqual([]);
    expect(migrated.copied.map((c) => c.version)).toEqual(['1', '2', '3', '4']);
    expect(seen.at(-1)).toMatchObject({ done: 4, total: 4 });
    expect(await rejectionOf(migrate(store, store))).toBeInstanceOf(ValidationError);
  });

  it('withAuditLog writes one value-free line per access and closes the file with the store', async () => {
    const path = join(projectDir, 'audit', 'audit.jsonl');
    const store = withAuditLog(new MemoryStore('audited'), path, { user: 'deploy-bot' });
    const newPassword = 'n3w-secret';
    await store.storeCredential('myapp.db.prod', newPassword, { autoVersion: true });
    await store.close();
    const lines = readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as AuditRecord);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ action: 'put', id: 'myapp.db.prod', outcome: 'started', user: 'deploy-bot' });
    expect(lines[1]).toMatchObject({ action: 'put', id: 'myapp.db.prod', version: '1', outcome: 'ok', user: 'deploy-bot' });
    expect(readFileSync(path, 'utf8')).not.toContain(newPassword);
  });
});
