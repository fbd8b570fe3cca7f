/**
 * Versions are numbered exactly or not at all. The largest version credstash numbers exactly is
 * 9007199254740991 (Number.MAX_SAFE_INTEGER; 16 digits, well inside the 19-digit padded range key): an
 * explicit `put -v` above it is a usage error, and `put -a` after it is a clear error — it once wrote 2^53,
 * after which every `put -a` failed with a version conflict for good. Through the real CLI on every
 * writable tier.
 */
import { describe, expect, it } from 'vitest';
import { MAX_VERSION, nextAutoVersion, padVersion, versionMagnitude } from '../../src/core/version.js';
import { LocalStore } from '../../src/stores/local/index.js';
import { cliBuilt, expectCleanFailure, runCli } from '../helpers/cli.js';
import { awsFixtures, cliTiers, type CliTier } from '../helpers/tiers.js';
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { generateFernetKey } from '../../src/crypto/fernet.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const MAX = String(MAX_VERSION);

describe.skipIf(!cliBuilt())(`the largest version, through the CLI${cliBuilt() ? '' : ' (skipped: the CLI build is missing; the test setup builds it)'}`, () => {
  for (const tier of cliTiers()) {
    it.skipIf(tier.skip !== undefined)(`${tier.name}: put -v ${MAX} works; put -a after it fails clearly and writes nothing; -v 9007199254740992 is a usage error${tier.skip ?? ''}`, async () => {
      const p = await tier.project();
      const cli = (args: string[]) => runCli([...p.flags, ...args], { cwd: p.dir, env: p.env, timeoutMs: 60_000 });
      const put = await cli(['put', 'big', 'first', '-v', MAX]);
      expect(put.code, put.stderr).toBe(0);

      const auto = await cli(['put', 'big', 'second', '-a']);
      expectCleanFailure(auto, new RegExp(`credential "big".*${MAX}`));
      expect(auto.stderr).not.toContain('second');
      // and it keeps failing the same clear way, not as a version conflict
      expectCleanFailure(await cli(['put', 'big', 'second', '-a']), new RegExp(MAX));

      const over = await cli(['put', 'big', 'third', '-v', '9007199254740992']);
      expect(over.code).toBe(2);
      expect(over.stderr).toMatch(new RegExp(`up to ${MAX}`));

      const list = await p.open().listCredentials();
      expect(list.map((s) => s.version)).toEqual([MAX]);
      const got = await cli(['get', 'big']);
      expect(got.stdout).toBe('first\n');

      // below the maximum, put -a still counts on exactly
      expect((await cli(['put', 'near', 'a', '-v', String(MAX_VERSION - 1)])).code).toBe(0);
      const next = await cli(['put', 'near', 'b', '-a']);
      expect(next.code, next.stderr).toBe(0);
      expect((await p.open().listCredentials({ pattern: 'near' })).map((s) => s.version)).toEqual([String(MAX_VERSION - 1), MAX]);
    }, 120_000);
  }
});

describe('version arithmetic', () => {
  it('nextAutoVersion is exact up to the maximum and refuses at and beyond it (also Infinity and NaN)', () => {
    expect(nextAutoVersion(0, { credentialId: 'x' })).toBe(1);
    expect(nextAutoVersion(MAX_VERSION - 1, { credentialId: 'x' })).toBe(MAX_VERSION);
    for (const h of [MAX_VERSION, MAX_VERSION + 1, Number.POSITIVE_INFINITY, Number.NaN]) {
      expect(() => nextAutoVersion(h, { credentialId: 'x' })).toThrow(/at or beyond 9007199254740991/);
    }
  });

  it('a stored integer version beyond the maximum counts as Infinity (never ignored), a non-integer as none', () => {
    expect(versionMagnitude(padVersion(MAX))).toBe(MAX_VERSION);
    expect(versionMagnitude('0009007199254740992')).toBe(Number.POSITIVE_INFINITY);
    expect(versionMagnitude('9999999999999999999')).toBe(Number.POSITIVE_INFINITY);
    expect(versionMagnitude('00000000000000000v5')).toBeUndefined();
  });

  it('local keystore: a version beyond the maximum written by another client makes put -a refuse, not write below it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'credstash-ver-'));
    try {
      const key = generateFernetKey();
      const path = join(dir, 'keystore.json');
      const store = new LocalStore({ path, fernetKeys: [key] });
      await store.storeCredential('x', 'v1', { version: 1 });
      // another client's entry, numbered past what a JS number holds exactly (the token is never opened)
      const doc = JSON.parse((await import('node:fs')).readFileSync(path, 'utf8')) as { credentials: Array<Record<string, string>> };
      doc.credentials.push({ ...(doc.credentials[0] as Record<string, string>), version: '0009007199254740993' });
      writeFileSync(path, JSON.stringify(doc));
      const fresh = new LocalStore({ path, fernetKeys: [key] });
      await expect(fresh.storeCredential('x', 'v2', { autoVersion: true })).rejects.toMatchObject({ code: 'ERR_INVALID_INPUT', credentialId: 'x' });
      await store.close();
      await fresh.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('dynamodb: an item numbered beyond the maximum by another client makes put -a refuse, not write below it', async () => {
    const tier = cliTiers().find((t) => t.name.startsWith('dynamodb')) as CliTier;
    const p = await tier.project();
    const table = p.flags[1] as string;
    const store = p.open();
    await store.storeCredential('x', 'v1', { version: 1 });
    const { ddb } = await awsFixtures();
    const raw = new DynamoDBClient({ region: 'us-east-1', endpoint: ddb.endpoint });
    try {
      const item = (await raw.send(new GetItemCommand({ TableName: table, Key: { name: { S: 'x' }, version: { S: padVersion(1) } } }))).Item ?? {};
      await raw.send(new PutItemCommand({ TableName: table, Item: { ...item, version: { S: '0009007199254740993' } } }));
    } finally {
      raw.destroy();
    }
    const err = await store.storeCredential('x', 'v2', { autoVersion: true }).then(() => undefined, (e: unknown) => e as Error & { code?: string });
    expect(err).toMatchObject({ code: 'ERR_INVALID_INPUT', credentialId: 'x' });
    // it says why (the version is past the maximum), not that an integer is not one
    expect(err?.message).toMatch(/at or beyond 9007199254740991/);
    expect((await store.listCredentials()).map((s) => s.version).sort()).toEqual(['1', '9007199254740993']);
  }, 60_000);
});
