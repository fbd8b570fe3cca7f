/**
 * Usage errors never quote what was typed (a secret pasted in the wrong place would land on stderr, in CI
 * logs and terminal scrollback): an unknown command or option, a missing or extra positional, an invalid
 * choice, an option without its value each name the problem, the command and the argument's position.
 * Also: only `*` is a wildcard, and `getall -v N` / `get 'x*' -v N` report the names that have no version N.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { safeYargsMessage } from '../../../src/cli/main.js';
import { registerCredentialStore, unregisterCredentialStore } from '../../../src/stores/registry.js';
import { MemoryStore } from '../../fixtures/memory-store.js';
import { CANARY } from '../../helpers/no-leak.js';
import { runCliInProcess, type InProcessRun } from '../../helpers/cli-in-process.js';

let dir: string;
let store: MemoryStore;

async function run(args: string[]): Promise<InProcessRun> {
  return runCliInProcess(args, { cwd: dir, env: { HOME: dir }, stdin: '' });
}

beforeAll(() => registerCredentialStore('usagetest', () => store));
afterAll(() => {
  unregisterCredentialStore('usagetest');
  process.exitCode = 0;
});
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'credstash-usage-'));
  store = new MemoryStore('u');
  writeFileSync(join(dir, 'credstash.toml'), '[credential_store]\ntype = "usagetest"\n');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** The shapes a secret takes when it is typed in the wrong place. */
const SHAPES = [CANARY, `-${CANARY}`, `--${CANARY}`, `--${CANARY}=x`, `--comment=${CANARY}`, `-c${CANARY}`, `- ${CANARY}`];
const COMMANDS: string[][] = [
  [],
  ['put', 'name', 'value', 'k=v'],
  ['get', 'name', 'k=v'],
  ['getall', '-f', 'json'],
  ['list'],
  ['keys'],
  ['delete', 'name'],
  ['putall', '{}'],
  ['setup', '--tags', 'a=b'],
  ['get', '-f'],
  ['put', 'name', '-c'],
];

describe('usage errors never quote an argument', () => {
  it('a CANARY in every position of every command, in every shape: exit 2 never shows it, and exit 0 stores it only where it was given as a value', async () => {
    let usage = 0;
    for (const base of COMMANDS) {
      for (let at = 0; at <= base.length; at++) {
        for (const shape of SHAPES) {
          store = new MemoryStore('u');
          const argv = [...base.slice(0, at), shape, ...base.slice(at)];
          const r = await run(argv);
          const where = JSON.stringify(argv);
          expect([0, 1, 2], where).toContain(r.code);
          if (r.code === 2) {
            usage++;
            expect(r.stderr, where).not.toContain(CANARY);
            expect(r.stderr, where).toMatch(/^credstash: [^\n]+\nrun 'credstash [a-z ]*--help' for usage\n$/);
          }
        }
      }
    }
    expect(usage).toBeGreaterThan(100);
  });

  it.each([
    [['frobnicate'], 'unknown command (1st argument)', ''],
    [['-t', 'x', CANARY], 'unknown command (3rd argument)', ''],
    [[`-${CANARY}`, 'list'], 'unknown option (1st argument)', ''],
    [['put', 'a', 'b', `-${CANARY}`], 'put: unknown option (4th argument)', 'put '],
    [['list', CANARY], 'list: unexpected extra argument (2nd argument)', 'list '],
    [['delete', 'a', CANARY], 'delete: unexpected extra argument (3rd argument)', 'delete '],
    [['list', '--', `-${CANARY}`], 'list: unexpected extra argument (3rd argument)', 'list '],
    [['delete'], 'delete: missing <credential>', 'delete '],
    [['get', 'a', '-f', CANARY], 'get: -f/--format must be one of json, yaml, csv, dotenv (4th argument)', 'get '],
    [['put', 'a', 'b', '-c'], 'put: -c/--comment expects a value (4th argument)', 'put '],
    [['put', 'a', 'b', '-c', `-${CANARY}`], 'put: -c/--comment expects a value (4th argument)', 'put '],
    [['put', 'a', 'b', `--autoversion=${CANARY}`], 'put: -a/--autoversion takes no value (4th argument)', 'put '],
    [['put', 'a', `-a${CANARY}`], 'put: unknown option (3rd argument)', 'put '],
  ])('%j: %s', async (argv, message, hint) => {
    const r = await run(argv);
    expect(r).toEqual({ code: 2, stdout: '', stderr: `credstash: ${message}\nrun 'credstash ${hint}--help' for usage\n` });
    expect(store.items.size).toBe(0);
  });
});

describe('yargs messages that reach the user', () => {
  it('pass through only when they name nothing but option names; anything else is replaced', () => {
    expect(safeYargsMessage('Arguments profile and arn are mutually exclusive', undefined)).toBe('Arguments profile and arn are mutually exclusive');
    expect(safeYargsMessage('Missing required argument: keep', 'prune')).toBe('Missing required argument: keep');
    for (const msg of [`Unknown argument: ${CANARY}`, `Unknown arguments: a, ${CANARY}`, `Invalid values:\n  Argument: format, Given: "${CANARY}", Choices: "json"`, `Not enough arguments following: ${CANARY}`, `Missing required argument: ${CANARY}`]) {
      expect(safeYargsMessage(msg, 'put')).toBe('put: invalid arguments');
    }
    expect(safeYargsMessage(`Unknown argument: ${CANARY}`, undefined)).toBe('invalid arguments');
  });
});

describe('only * is a wildcard, as in Python credstash', () => {
  it("get 'a?b' reads the credential named a?b (its value, not a JSON match list); put 'a?b' and 'x[1]' store them", async () => {
    expect(await run(['put', 'a?b', 'v1'])).toEqual({ code: 0, stdout: 'a?b has been stored\n', stderr: '' });
    expect(await run(['put', 'x[1]', 'v2'])).toEqual({ code: 0, stdout: 'x[1] has been stored\n', stderr: '' });
    await store.storeCredential('axb', 'other');
    expect(await run(['get', 'a?b'])).toEqual({ code: 0, stdout: 'v1\n', stderr: '' });
    expect(await run(['get', 'x[1]'])).toEqual({ code: 0, stdout: 'v2\n', stderr: '' });
    expect(await run(['get', 'a*b'])).toEqual({ code: 0, stdout: '{\n    "a?b": "v1",\n    "axb": "other"\n}', stderr: '' });
    expect(await run(['get', 'a.b'])).toMatchObject({ code: 1 });
  });

  it("put of a name with * is refused without quoting it", async () => {
    const r = await run(['put', `${CANARY}*`, 'v']);
    expect(r).toEqual({ code: 1, stdout: '', stderr: 'credstash: credential id must not contain * (it is the wildcard)\n' });
  });
});

describe('getall -v N and get PATTERN -v N: a name without version N is reported, never left out', () => {
  beforeEach(async () => {
    await store.storeCredential('a', 'a1', { version: 1 });
    await store.storeCredential('a', 'a2', { version: 2 });
    await store.storeCredential('b', 'b1', { version: 1 });
  });

  it('getall -v 2 fails naming b, with nothing on stdout', async () => {
    const r = await run(['getall', '-v', '2']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      'credstash: 1 credential(s) in memory store "u" could not be read; first: credential "b" version 2 not found in memory store "u"; nothing was returned (use --skip-errors to get the rest)\n',
    );
  });

  it('getall -v 2 --skip-errors prints a and names b on stderr', async () => {
    const r = await run(['getall', '-v', '2', '--skip-errors']);
    expect(r).toEqual({ code: 0, stdout: '{\n    "a": "a2"\n}\n', stderr: 'credstash: skipped "b": credential "b" version 2 not found in memory store "u"\n' });
  });

  it("get '*' -v 2 fails the same way; every name having version 1 reads them all", async () => {
    const r = await run(['get', '*', '-v', '2']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('credential "b" version 2 not found');
    expect(await run(['get', '*', '-v', '1'])).toEqual({ code: 0, stdout: '{\n    "a": "a1",\n    "b": "b1"\n}', stderr: '' });
  });
});

describe('values on argv show in ps: put --help and the docs say so, and the docs\' own examples keep values off argv', () => {
  it('put --help says why -P, - and @file exist', async () => {
    const r = await run(['put', '--help']);
    expect(r.code).toBe(0);
    const text = r.stdout.replace(/\s+/g, ' ');
    for (const word of ['`ps`', 'shell history', '-P (prompt', '- (stdin', '@file']) expect(text).toContain(word);
  });

  it('every `credstash put` in a shell block of README.md and docs/cli.md reads its value from stdin, a prompt or a file', () => {
    const root = join(import.meta.dirname, '../../..');
    let puts = 0;
    for (const file of ['README.md', 'docs/cli.md']) {
      const text = readFileSync(join(root, file), 'utf8');
      for (const block of text.matchAll(/```sh\n([\s\S]*?)```/g)) {
        for (const line of (block[1] ?? '').split('\n')) {
          for (const m of line.matchAll(/credstash put (\S+(?: \S+)*?)(?=\s+&&|\s+#|\s*$)/g)) {
            puts++;
            const args = (m[1] ?? '').split(' ').filter((a) => a !== '-a' && !a.includes('='));
            // NAME and then `-`, `-P` or `@file`: never the value itself
            expect(args.slice(1), `${file}: ${line}`).toSatisfy((rest: string[]) => rest.length === 1 && (rest[0] === '-' || rest[0] === '-P' || (rest[0] ?? '').startsWith('@')));
          }
        }
      }
    }
    expect(puts).toBeGreaterThanOrEqual(3);
  });
});

describe('an option given twice is the last one given, as in argparse', () => {
  it('put -c a -c b stores the comment b (was: an array, a comment that is not a string); -a -a and -v 1 -v 2 likewise', async () => {
    expect(await run(['put', 'x', 'v', '-c', 'a', '-c', 'b', '-v', '1', '-v', '2', '-a', '-a'])).toEqual({ code: 0, stdout: 'x has been stored\n', stderr: '' });
    const got = await store.getCredential('x', { required: true });
    expect(got.comment).toBe('b');
    expect(got.version).toBe('1'); // -a wins over -v, as in Python credstash
    expect(await run(['get', 'x', '-f', 'yaml', '-f', 'json', '-n', '-n'])).toEqual({ code: 0, stdout: 'v', stderr: '' });
  });
});

describe('the library refuses a comment that is not a string', () => {
  it('storeCredential with an array comment is a ValidationError and stores nothing', async () => {
    await expect(store.storeCredential('x', 'v', { comment: ['a', 'b'] as unknown as string })).rejects.toThrow('comment must be a string');
    expect(store.items.size).toBe(0);
  });
});
