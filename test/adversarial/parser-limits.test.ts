/**
 * Every parser of untrusted input answers hostile documents with one typed line, never
 * `unexpected error (RangeError)` / `(ReferenceError)`: a YAML alias bomb (bounded alias expansions), JSON
 * nested 200 000 deep (JSON.parse reads it, but everything after it recursed: bounded depth), the same in
 * TOML. Covered: import (json, yaml), putall, put --json, render (json, yaml, toml), credstash.toml, and
 * structured values read back.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/errors.js';
import { assertJsonDepth, decodeValue, encodeValue, MAX_JSON_DEPTH } from '../../src/core/value.js';
import { parseImportFile } from '../../src/ops/import-export.js';
import { resolveCredentialReferences } from '../../src/references/resolve.js';
import { decodeKv } from '../../src/stores/vault/index.js';
import { fernetEncrypt, parseFernetKey } from '../../src/crypto/fernet.js';
import { MemoryStore } from '../fixtures/memory-store.js';
import { CANARY, rejectionOf } from '../helpers/no-leak.js';
import { cliBuilt, expectCleanFailure, runCli } from '../helpers/cli.js';
import { cliTiers, type CliProject } from '../helpers/tiers.js';

const DEEP = 200_000;
const deepArray = (n: number): string => `${'['.repeat(n)}"${CANARY}"${']'.repeat(n)}`;
const deepObject = (n: number): string => `${'{"a":'.repeat(n)}"${CANARY}"${'}'.repeat(n)}`;
/** Nine levels of nine aliases each: 9^9 nodes once expanded. */
const ALIAS_BOMB = [
  `a: &a ["${CANARY}", "${CANARY}", "${CANARY}", "${CANARY}", "${CANARY}", "${CANARY}", "${CANARY}", "${CANARY}", "${CANARY}"]`,
  ...'bcdefghi'.split('').map((k, i) => `${k}: &${k} [${Array(9).fill(`*${'abcdefghi'[i]}`).join(', ')}]`),
].join('\n');

const local = (): Promise<CliProject> => (cliTiers({ dynamodb: false }).find((t) => t.name === 'local keystore') as { project(): Promise<CliProject> }).project();

function expectTypedLine(r: Awaited<ReturnType<typeof runCli>>, pattern: RegExp): void {
  expectCleanFailure(r, pattern);
  expect(r.stderr).not.toMatch(/unexpected error/);
  expect(r.stderr).not.toContain(CANARY);
}

describe.skipIf(!cliBuilt())(`hostile documents through the CLI${cliBuilt() ? '' : ' (skipped: the CLI build is missing; the test setup builds it)'}`, () => {
  it('import: a YAML alias bomb, and JSON and YAML nested 200k deep, each give one typed line and store nothing', async () => {
    const p = await local();
    const cases: Array<[string, string, RegExp]> = [
      ['bomb.yaml', ALIAS_BOMB, /bomb\.yaml is not valid YAML \(more than 100 alias expansions\)/],
      ['deep.json', `{"x": ${deepObject(DEEP)}}`, /deep\.json nests deeper than 100 levels/],
      ['deeparr.json', `{"x": {"y": ${deepArray(DEEP)}}}`, /deeparr\.json nests deeper than 100 levels/],
      ['deep.yaml', `x: ${deepArray(DEEP)}\n`, /deep\.yaml is not valid YAML/],
      ['mid.yaml', `x: ${deepObject(150)}\n`, /mid\.yaml nests deeper than 100 levels/],
    ];
    for (const [name, text, pattern] of cases) {
      writeFileSync(join(p.dir, name), text, { mode: 0o600 });
      expectTypedLine(await runCli(['import', name], { cwd: p.dir, env: p.env }), pattern);
    }
    expect(await p.open().listCredentials()).toEqual([]);
  }, 60_000);

  it('putall and put --json: a value nested 200k deep gives one typed line and stores nothing', async () => {
    const p = await local();
    writeFileSync(join(p.dir, 'deep.json'), `{"x": ${deepObject(DEEP)}}`, { mode: 0o600 });
    expectTypedLine(await runCli(['putall', '@deep.json'], { cwd: p.dir, env: p.env }), /nests deeper than 100 levels/);
    expectTypedLine(await runCli(['putall', '-'], { cwd: p.dir, env: p.env, input: `{"x": ${deepArray(DEEP).replace(/^\[/, '{"k":[').replace(/\]$/, ']}')}}` }), /nests deeper than 100 levels/);
    expectTypedLine(await runCli(['put', 'x', '--json', '-'], { cwd: p.dir, env: p.env, input: deepObject(DEEP) }), /--json value nests deeper than 100 levels/);
    expect(await p.open().listCredentials()).toEqual([]);
  }, 60_000);

  it('render: JSON nested 200k deep, a YAML alias bomb, and TOML nested 200k deep each give one typed line', async () => {
    const p = await local();
    const cases: Array<[string, string, RegExp]> = [
      ['deep.json', `{"x": ${deepObject(DEEP)}}`, /deep\.json nests deeper than 100 levels/],
      ['bomb.yaml', ALIAS_BOMB, /bomb\.yaml: not valid YAML/],
      ['deep.toml', `x = ${deepArray(DEEP)}\n`, /deep\.toml.*not valid TOML/],
    ];
    for (const [name, text, pattern] of cases) {
      writeFileSync(join(p.dir, name), text, { mode: 0o600 });
      expectTypedLine(await runCli(['render', name], { cwd: p.dir, env: p.env }), pattern);
    }
  }, 60_000);

  it('credstash.toml nested 200k deep is a ConfigError line, not a crash', async () => {
    const p = await local();
    writeFileSync(join(p.dir, 'deep.toml'), `x = ${deepArray(DEEP)}\n`, { mode: 0o600 });
    expectTypedLine(await runCli(['--config', join(p.dir, 'deep.toml'), 'list'], { cwd: p.dir, env: p.env }), /invalid TOML/);
  }, 60_000);
});

describe('depth bounds in the library', () => {
  it('parseImportFile refuses deep JSON and an alias bomb with ValidationError naming the file', async () => {
    for (const [text, format] of [
      [`{"x": ${deepObject(DEEP)}}`, 'json'],
      [ALIAS_BOMB, 'yaml'],
    ] as const) {
      const err = await rejectionOf(parseImportFile(text, format, 'f'));
      expect(err).toBeInstanceOf(ValidationError);
      expect(err).toMatchObject({ code: 'ERR_INVALID_INPUT', path: 'f' });
    }
  });

  it('a structured value deeper than the bound is refused on write and on read (a foreign writer), never a RangeError', () => {
    const deep = JSON.parse(deepObject(DEEP)) as Record<string, unknown>;
    expect(() => encodeValue(deep as never)).toThrow(ValidationError);
    expect(() => decodeValue('json', Buffer.from(deepObject(DEEP)), 'app.cfg')).toThrow(/value of credential "app\.cfg" nests deeper than 1000 levels/);
    // at the bound it still works; a value stored before the write bound existed (deeper than 100) still reads
    const ok = JSON.parse(deepObject(MAX_JSON_DEPTH - 1)) as Record<string, unknown>;
    expect(decodeValue('json', encodeValue(ok as never).bytes, 'x')).toEqual(ok);
    expect(decodeValue('json', Buffer.from(deepObject(500)), 'old')).toHaveProperty('a');
  });

  it('storeCredential of a too-deep structured value is a ValidationError on a store, and nothing is written', async () => {
    const store = new MemoryStore();
    const err = await rejectionOf(store.storeCredential('deep', JSON.parse(deepObject(500)) as never));
    expect(err.code).toBe('ERR_INVALID_INPUT');
    expect(await store.credentialExists('deep')).toBe(false);
  });

  it('resolveCredentialReferences refuses a tree deeper than the bound, and a cyclic one, with ValidationError', async () => {
    const store = new MemoryStore();
    await expect(resolveCredentialReferences(JSON.parse(deepArray(DEEP)), store)).rejects.toBeInstanceOf(ValidationError);
    const cyclic: Record<string, unknown> = { a: 'x' };
    cyclic.self = cyclic;
    await expect(resolveCredentialReferences(cyclic, store)).rejects.toBeInstanceOf(ValidationError);
  });

  it('local keystore: an authentic token whose structured value nests past the read bound is a ValidationError naming the credential, not tampering', async () => {
    const p = await local();
    const store = p.open();
    await store.storeCredential('deep.v', { a: 'small' });
    const path = join(p.dir, '.credstash', 'keystore.json');
    const doc = JSON.parse(readFileSync(path, 'utf8')) as { credentials: Array<{ id: string; version: string; token: string }> };
    const entry = doc.credentials.find((c) => c.id === 'deep.v') as { id: string; version: string; token: string };
    // what an unbounded writer would have sealed: the codec's header and a value 2000 levels deep
    const header = JSON.stringify({ id: 'deep.v', version: entry.version, kind: 'json', context: {} });
    const plaintext = Buffer.concat([Buffer.from(`credstash-ts/fernet/v1\n${header}\n`), Buffer.from(deepObject(2000))]);
    entry.token = fernetEncrypt(parseFernetKey(p.keys()[0] as string), plaintext);
    writeFileSync(path, JSON.stringify(doc));
    const err = await rejectionOf(p.open().getCredential('deep.v'));
    expect(err).toMatchObject({ code: 'ERR_INVALID_INPUT', credentialId: 'deep.v' });
    expect(err.message).toMatch(/nests deeper than 1000 levels/);
    expectTypedLine(await runCli(['get', 'deep.v'], { cwd: p.dir, env: p.env }), /value of credential "deep\.v" nests deeper than 1000 levels/);
  });

  it('a Vault secret nested 200k deep is a ValidationError when read, not a RangeError when printed', () => {
    expect(() => decodeKv(JSON.parse(`{"k": ${deepObject(DEEP)}}`) as Record<string, unknown>)).toThrow(/structured vault secret nests deeper than 1000 levels/);
    expect(decodeKv(JSON.parse(`{"k": ${deepObject(10)}}`) as Record<string, unknown>)).toHaveProperty('k');
  });

  it('assertJsonDepth counts a shared (aliased) node at its deepest use', () => {
    const leaf = JSON.parse(deepArray(60)) as unknown;
    let tree: unknown = leaf;
    for (let i = 0; i < 50; i++) tree = [tree];
    expect(() => assertJsonDepth({ shallow: leaf, deep: tree }, 'shared')).toThrow(/shared nests deeper than 100 levels/);
    expect(() => assertJsonDepth({ shallow: leaf, also: leaf }, 'shared')).not.toThrow();
  });
});
