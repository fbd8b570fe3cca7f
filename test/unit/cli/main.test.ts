import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isMemoryDevice, prepareArgs } from '../../../src/cli/main.js';
import { ESCAPE } from '../../../src/cli/argv.js';
import { registerCredentialStore, unregisterCredentialStore } from '../../../src/stores/registry.js';
import { MemoryStore } from '../../fixtures/memory-store.js';
import { CANARY, expectNoLeak } from '../../helpers/no-leak.js';
import { runCliInProcess, type InProcessRun } from '../../helpers/cli-in-process.js';

let dir: string;
let store: MemoryStore;

async function run(args: string[], opts: { env?: Record<string, string>; stdin?: string } = {}): Promise<InProcessRun> {
  return runCliInProcess(args, { cwd: dir, env: { HOME: dir, ...opts.env }, ...(opts.stdin === undefined ? {} : { stdin: opts.stdin }) });
}

beforeAll(() => {
  registerCredentialStore('memtest', () => store);
  registerCredentialStore('exploding', () => {
    throw new TypeError(`boom ${CANARY}`);
  });
});
afterAll(() => {
  unregisterCredentialStore('memtest');
  unregisterCredentialStore('exploding');
  process.exitCode = 0;
});
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'credstash-main-'));
  store = new MemoryStore('t');
  writeFileSync(join(dir, 'credstash.toml'), '[credential_store]\ntype = "memtest"\n');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('main exit codes', () => {
  it('prints help on stdout and exits 0 with no subcommand, like Python credstash', async () => {
    const r = await run([]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('credstash get <credential>');
    expect(r.stderr).toBe('');
  });

  it('exits 2 for an unknown command, naming its position but not what was typed', async () => {
    const r = await run(['frobnicate']);
    expect(r).toEqual({ code: 2, stdout: '', stderr: "credstash: unknown command (1st argument)\nrun 'credstash --help' for usage\n" });
  });

  it('exits 2 when a required positional is missing, naming it and the command', async () => {
    const r = await run(['get']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("credstash: get: missing <credential>\nrun 'credstash get --help' for usage\n");
  });

  it('-h before or after the command prints its help without asking for its arguments', async () => {
    for (const argv of [['-h', 'put'], ['put', '-h'], ['--help', 'delete']]) {
      const r = await run(argv);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(`credstash ${argv.find((a) => !a.startsWith('-')) ?? ''} <credential>`);
    }
  });

  it('--version prints the version of package.json and exits 0', async () => {
    const { version } = JSON.parse(readFileSync(join(import.meta.dirname, '../../../package.json'), 'utf8')) as { version: string };
    expect(await run(['--version'])).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
    expect(await run(['-t', 'x', '--version'])).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it('exits 2 for a non-integer -v on put and stores nothing', async () => {
    const r = await run(['put', 'a', 'v', '-v', 'v5']);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe('credstash: -v/--version: version must be a positive integer up to 9007199254740991');
    expect(store.items.size).toBe(0);
  });

  it('exits 2 for a context argument without =, as argparse did', async () => {
    const r = await run(['get', 'a', 'novalue']);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe('credstash: context argument is not of the form key=value (argument 1)');
  });

  it('exits 2 when -p and -n are both given', async () => {
    const r = await run(['-p', 'prof', '-n', 'arn:aws:iam::1:role/r', 'list']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('credstash: Arguments profile and arn are mutually exclusive');
  });

  it('exits 1 with one credstash: line for a CredstashError', async () => {
    const r = await run(['get', 'missing']);
    expect(r).toEqual({ code: 1, stdout: '', stderr: 'credstash: credential "missing" not found in memory store "t"\n' });
  });

  it('never prints an unexpected error\'s message or stack, only its name', async () => {
    writeFileSync(join(dir, 'credstash.toml'), '[credential_store]\ntype = "exploding"\n');
    const r = await run(['get', 'a']);
    expect(r).toEqual({ code: 1, stdout: '', stderr: 'credstash: unexpected error (TypeError)\n' });
    expectNoLeak(r.stderr, CANARY);
  });

  it('prints the stack of an unexpected error with CREDSTASH_DEBUG=1, but not its message', async () => {
    writeFileSync(join(dir, 'credstash.toml'), '[credential_store]\ntype = "exploding"\n');
    const r = await run(['get', 'a'], { env: { CREDSTASH_DEBUG: '1' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^credstash: unexpected error \(TypeError\)\nTypeError \(message withheld: it may quote input\)\n\s+at /);
    expectNoLeak(r.stderr, CANARY);
  });

  it('exits 1 naming the type for an unknown store type', async () => {
    writeFileSync(join(dir, 'credstash.toml'), '[credential_store]\ntype = "nosuch"\n');
    const r = await run(['get', 'a']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^credstash: unknown store type "nosuch"; known types: .*memtest/);
  });

  it('stores the empty string when put has no value, as Python credstash (value defaults to "")', async () => {
    expect(await run(['put', 'empty'])).toEqual({ code: 0, stdout: 'empty has been stored\n', stderr: '' });
    expect((await store.getCredential('empty', { required: true })).value).toBe('');
    expect(await run(['get', 'empty'])).toEqual({ code: 0, stdout: '\n', stderr: '' });
  });

  it('reads a value from stdin for `-`', async () => {
    const r = await run(['put', 'a', '-'], { stdin: `x${CANARY}\n` });
    expect(r).toEqual({ code: 0, stdout: 'a has been stored\n', stderr: '' });
    expect((await store.getCredential('a', { required: true })).value).toBe(`x${CANARY}\n`);
  });

  it('exits 1 after storing the rest when a putall item fails', async () => {
    const r = await run(['putall', '{"a":"1","b":2,"c":"3"}']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('a has been stored\nc has been stored\n');
    expect(r.stderr).toBe('credstash: "b" was not stored: its value must be a string or a JSON object\ncredstash: 1 of 3 credential(s) were not stored\n');
  });
});

describe('argument errors of put / get / putall / setup (each path: exit code, one message, nothing stored)', () => {
  it('put: a value and --json together is a usage error; a key=value after --json is taken as context', async () => {
    const both = await run(['put', 'a', 'plain', '--json', '{"x":"1"}']);
    expect(both.code).toBe(2);
    expect(both.stderr.split('\n')[0]).toBe('credstash: give either a value or --json, not both');
    expect(await store.credentialExists('a')).toBe(false);
    expect((await run(['put', 'a', '--json', '{"x":"1"}', 'env=prod', 'tier=web'])).code).toBe(0);
    expect((await store.getCredential('a', { context: { env: 'prod', tier: 'web' }, required: true })).value).toEqual({ x: '1' });
  });

  it('put: --type other than custom needs --json; --json must be a JSON object', async () => {
    const typed = await run(['put', 'a', 'plain', '--type', 'aws']);
    expect(typed.code).toBe(2);
    expect(typed.stderr.split('\n')[0]).toBe('credstash: --type needs a structured value given with --json');
    const arr = await run(['put', 'a', '--json', `["${CANARY}"]`]);
    expect(arr).toEqual({ code: 1, stdout: '', stderr: 'credstash: --json value must be a JSON object\n' });
    const unknownType = await run(['put', 'a', '--json', '{}', '--type', 'password']);
    expect(unknownType.code).toBe(2);
    expect(await store.credentialExists('a')).toBe(false);
    expect((await run(['put', 'a', 'plain', '--type', 'custom'])).code).toBe(0);
  });

  it('get --field: refused with a wildcard (exit 2) and on a value that is not structured (exit 1), never printing it', async () => {
    await store.storeCredential('plain', CANARY);
    const glob = await run(['get', 'pl*', '--field', 'x']);
    expect(glob.code).toBe(2);
    expect(glob.stderr.split('\n')[0]).toBe('credstash: --field cannot be used with a wildcard');
    const notJson = await run(['get', 'plain', '--field', 'x']);
    expect(notJson).toEqual({ code: 1, stdout: '', stderr: 'credstash: credential "plain" is not a structured (JSON) credential; --field needs one\n' });
    expectNoLeak(glob.stderr + notJson.stderr, CANARY);
  });

  it('putall: a non-integer -v is a usage error and nothing is stored', async () => {
    const r = await run(['putall', '{"a":"1"}', '-v', 'v2']);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toMatch(/^credstash: -v\/--version: /);
    expect(await store.credentialExists('a')).toBe(false);
  });

  it('setup: a store with nothing to create says so; a bad --save-kms-region is a usage error that writes nothing', async () => {
    expect(await run(['setup'])).toEqual({ code: 0, stdout: 'memory store "t" needs no setup\n', stderr: '' });
    const bad = await run(['setup', '--save-kms-region', 'EU West 1']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.split('\n')[0]).toBe('credstash: --save-kms-region: not an AWS region name');
    expect(() => readFileSync(join(dir, '.credstash'))).toThrow();
    const tags = await run(['setup', '--tags', '=v']);
    expect(tags.code).toBe(2);
    expect(tags.stderr.split('\n')[0]).toBe('credstash: --tags: tag 1 is not of the form Key=Value');
  });
});

describe('prepareArgs (argv read as argparse does, then handed to yargs)', () => {
  it('-n and -p before the subcommand are --arn and --profile; after get, -n is --noline', async () => {
    expect((await prepareArgs(['-n', 'arn:x', 'get', '-n', 'a'])).args).toEqual(['--arn', 'arn:x', 'get', 'a', '--noline']);
    expect((await prepareArgs(['-narn:x', 'list'])).args).toEqual(['--arn', 'arn:x', 'list']);
    expect((await prepareArgs(['-p', 'prof', 'exec', '-p', 'app.', '--', 'env'])).args).toEqual(['--profile', 'prof', 'exec', '--prefix', 'app.', '--', 'env']);
  });

  it('a global option that takes a value does not take the next option as one (argparse: expected one argument)', async () => {
    await expect(prepareArgs(['-r', '-n', 'get', 'x'])).rejects.toThrow('-r/--region expects a value (1st argument)');
  });

  it('shields every value that starts with - from yargs, and gives exec the command after -- untouched', async () => {
    expect((await prepareArgs(['put', 'a', '-'])).args).toEqual(['put', 'a', `${ESCAPE}-`]);
    expect((await prepareArgs(['put', 'a', 'v', '-c', '-x y'])).args).toEqual(['put', 'a', 'v', '--comment', `${ESCAPE}-x y`]);
    expect((await prepareArgs(['exec', 'env=prod', '--', 'sh', '-c', 'x', '--', '-'])).args).toEqual(['exec', 'env=prod', '--', 'sh', '-c', 'x', '--', '-']);
  });
});

describe('isMemoryDevice (stdin told from a terminal without node:tty)', () => {
  const dev = (major: number, minor: number): number => (major & 0xfff) * 0x100 + Math.floor(major / 0x1000) * 0x1000 * 0x100000000 + (minor & 0xff) + (minor >> 8) * 0x100000;
  it.each([
    ['/dev/null (1, 3)', dev(1, 3), true],
    ['/dev/urandom (1, 9)', dev(1, 9), true],
    ['/dev/tty (5, 0)', dev(5, 0), false],
    ['/dev/tty1 (4, 1)', dev(4, 1), false],
    ['a pseudo-terminal (136, 300)', dev(136, 300), false],
    ['major 4097 (its low 12 bits are 1)', dev(4097, 0), false],
  ] as const)('%s: %s', (_name, rdev, memory) => {
    expect(isMemoryDevice(rdev, 'linux')).toBe(memory);
  });
  it("this machine's /dev/null is one on Linux; no device is one elsewhere (isatty() decides there)", () => {
    const rdev = statSync('/dev/null').rdev;
    expect(isMemoryDevice(rdev, 'linux')).toBe(process.platform === 'linux');
    expect(isMemoryDevice(rdev, 'darwin')).toBe(false);
  });
});
