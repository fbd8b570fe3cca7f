/**
 * The custom store example of docs/config.md ("Custom stores"), taken from the page as it is: the module is
 * written into a project whose node_modules/credstash-ts is this package (so its `import ... from
 * 'credstash-ts'` loads dist/lib, a second copy beside the CLI bundle), the config names it with
 * `credential_store.module`, and bin/credstash runs against it as a real process.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateFernetKey } from '../../../src/crypto/fernet.js';
import { LocalStore } from '../../../src/stores/local/index.js';
import { CANARY, expectNoLeak } from '../../helpers/no-leak.js';
import { BUILD, cleanEnv, expectCleanStderr, ROOT, runCli, type CliResult } from '../../helpers/cli.js';

/** The first ```lang block after `heading` in a markdown file. */
export function docBlock(file: string, heading: string, lang: string): string {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const start = text.indexOf(`\n${heading}\n`);
  expect(start, `${file} has a "${heading}" section`).toBeGreaterThan(-1);
  const m = new RegExp('```' + lang + '\\n([\\s\\S]*?)```').exec(text.slice(start));
  expect(m, `${file} "${heading}" has a ${lang} block`).not.toBeNull();
  return m?.[1] ?? '';
}

const MODULE = docBlock('docs/config.md', '## Custom stores', 'js');
const TOML = docBlock('docs/config.md', '## Custom stores', 'toml');

let dir: string;
let env: NodeJS.ProcessEnv;
let key: string;
const cli = (args: string[], cwd = dir): Promise<CliResult> => runCli(args, { cwd, env });

/** A project folder with node_modules/credstash-ts -> this package. */
function project(files: Record<string, string>): string {
  const d = mkdtempSync(join(tmpdir(), 'credstash-custom-'));
  mkdirSync(join(d, 'node_modules'));
  symlinkSync(BUILD, join(d, 'node_modules', 'credstash-ts'), 'dir');
  for (const [name, text] of Object.entries(files)) writeFileSync(join(d, name), text, { mode: 0o600 });
  return d;
}

beforeAll(() => {
  key = generateFernetKey();
  dir = project({ 'team-store.mjs': MODULE, 'credstash.toml': TOML.replace('<the project key>', key) });
  env = cleanEnv(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a custom store from credstash.toml (credential_store.module), the docs/config.md example', () => {
  it('put / get / put -a / list / keys / delete through bin/credstash, stored under the team prefix of the inner store', async () => {
    expect(await cli(['put', 'db.pass', CANARY, 'env=prod'])).toEqual({ code: 0, stdout: 'db.pass has been stored\n', stderr: '' });
    expect(await cli(['put', '-a', 'db.pass', 'second', 'env=prod', '-c', 'rotated'])).toMatchObject({ code: 0, stderr: '' });
    expect(await cli(['get', 'db.pass', 'env=prod'])).toEqual({ code: 0, stdout: 'second\n', stderr: '' });
    expect((await cli(['get', 'db.pass', 'env=prod', '-v', '1'])).stdout).toBe(`${CANARY}\n`);
    expect((await cli(['list'])).stdout).toBe(
      'db.pass -- version 0000000000000000001 -- comment \n' + 'db.pass -- version 0000000000000000002 -- comment rotated\n',
    );
    expect((await cli(['keys'])).stdout).toBe('db.pass\n');

    // the inner local keystore holds the prefixed id, encrypted with the project key
    const inner = new LocalStore({ path: join(dir, '.credstash/keystore.json'), fernetKeys: [key] });
    expect((await inner.listCredentials({ latestOnly: true })).map((s) => s.id)).toEqual(['payments.db.pass']);
    expect((await inner.getCredential('payments.db.pass', { version: 1, context: { env: 'prod' } }))?.value).toBe(CANARY);
    await inner.close();

    expect(await cli(['delete', 'db.pass', '-v', '1'])).toEqual({ code: 0, stdout: 'Deleting db.pass -- version 0000000000000000001\n', stderr: '' });
    expect((await cli(['delete', 'db.pass'])).stdout).toBe('Deleting db.pass -- version 0000000000000000002\n');
  });

  it("reports the module store's errors like a built-in store's: not found, wrong context, version conflict (exit 1, one line)", async () => {
    const missing = await cli(['get', 'nope']);
    expect(missing).toEqual({ code: 1, stdout: '', stderr: expect.stringMatching(/^credstash: credential "nope" not found in team "payments" in local keystore ".*"\n$/) });
    expect((await cli(['put', 'ctx', CANARY, 'env=prod'])).code).toBe(0);
    const wrong = await cli(['get', 'ctx', 'env=dev']);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/^credstash: credential "payments\.ctx" version 1 could not be decrypted with the given encryption context/);
    const conflict = await cli(['put', 'ctx', 'again', 'env=prod']);
    expect(conflict.code).toBe(1);
    expect(conflict.stderr).toMatch(/^credstash: credential "payments\.ctx" version 1 already exists/);
    expectCleanStderr(missing.stderr + wrong.stderr + conflict.stderr);
    expectNoLeak(wrong.stdout + wrong.stderr + conflict.stderr, CANARY, key);
  });

  it('gives concurrent put -a processes each their own version through the module store', async () => {
    const rs = await Promise.all(Array.from({ length: 4 }, (_, i) => cli(['put', '-a', 'race', `v${i}`])));
    for (const r of rs) expect(r).toMatchObject({ code: 0, stderr: '' });
    expect((await cli(['list'])).stdout.split('\n').filter((l) => l.startsWith('race ')).map((l) => l.split(' -- ')[1])).toEqual(
      [1, 2, 3, 4].map((v) => `version ${String(v).padStart(19, '0')}`),
    );
  });

  it('is not loaded when --store-type selects another type', async () => {
    const r = await cli(['--store-type', 'local', 'list']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
  });
});

describe('credential_store.module errors (exit 1, naming the key path, never the module error text)', () => {
  const toml = (module: string, type = 'team'): string =>
    `[fernet]\nkeys = ["${generateFernetKey()}"]\n[credential_store]\ntype = "${type}"\nmodule = "${module}"\n`;
  const cases: Array<[string, Record<string, string>, RegExp]> = [
    ['a module file that does not exist', { 'credstash.toml': toml('./missing.mjs') }, /credential_store\.module: cannot load .*\/missing\.mjs \(ENOENT\)$/],
    [
      'a module that does not register the configured type',
      { 'credstash.toml': toml('./other.mjs'), 'other.mjs': "import { registerCredentialStore } from 'credstash-ts';\nregisterCredentialStore('other', () => { throw new Error('unused'); });\n" },
      /credential_store\.module: .*\/other\.mjs did not register store type "team"; call registerCredentialStore\("team", factory\) in it$/,
    ],
    ['a module that throws while loading', { 'credstash.toml': toml('./boom.mjs'), 'boom.mjs': `throw new TypeError(${JSON.stringify(CANARY)});\n` }, /credential_store\.module: cannot load .*\/boom\.mjs \(TypeError\)$/],
    [
      'a module that tries to replace a built-in type',
      { 'credstash.toml': toml('./builtin.mjs', 'local'), 'builtin.mjs': "import { registerCredentialStore } from 'credstash-ts';\nregisterCredentialStore('local', () => undefined);\n" },
      /credential_store\.module: .*\/builtin\.mjs: store type "local" is built in and cannot be replaced$/,
    ],
    ['a package name instead of a path', { 'credstash.toml': toml('credstash-team-store') }, /credential_store\.module: expected a file path \(\.\/store\.mjs, ~\/store\.mjs or \/abs\/store\.mjs\)$/],
  ];
  for (const [what, files, message] of cases) {
    it(`${what}`, async () => {
      const d = project(files);
      try {
        const r = await cli(['get', 'x'], d);
        expect(r.code).toBe(1);
        expect(r.stdout).toBe('');
        expect(r.stderr.split('\n')).toHaveLength(2);
        expect(r.stderr.trimEnd()).toMatch(message);
        expect(r.stderr).toMatch(/^credstash: .*credstash\.toml: credential_store\.module: /);
        expectCleanStderr(r.stderr);
        expectNoLeak(r.stderr, CANARY);
      } finally {
        rmSync(d, { recursive: true, force: true });
      }
    });
  }
});
