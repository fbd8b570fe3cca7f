/**
 * `get` runs without yargs (src/cli/direct-args.ts): for every command line it takes, the handler must see
 * the argv yargs would have given it. Compared over the `get` vectors of the argparse table
 * (test/fixtures/argparse/vectors.json) and the spellings argparse allows (grouped flags, attached values,
 * prefixes, `--`, values that start with `-`, repeated options, global flags before and after the command);
 * a command line it does not take (--help, conflicting flags) goes to yargs.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { CliIO } from '../../../src/cli/context.js';
import { handlerArgv } from '../../../src/cli/main.js';

const io: CliIO = { stdout: { write: () => true }, stderr: { write: () => true }, stdin: new PassThrough(), env: {}, cwd: '/' };

const vectors = (JSON.parse(readFileSync(join(import.meta.dirname, '../../fixtures/argparse/vectors.json'), 'utf8')) as Array<{ argv: string[]; argparse: { ok?: unknown } }>)
  .filter((v) => v.argv[0] === 'get' && v.argparse.ok !== undefined)
  .map((v) => v.argv);

const MORE: string[][] = [
  ['get', 'app.db'],
  ['get', 'app.db', 'env=prod', 'team=x'],
  ['get', 'app.db', '-n', '-v', '3', 'env=prod'],
  ['get', 'app.db', '-nv3'],
  ['get', 'app.db', '--version=0000000000000000003'],
  ['get', 'app.db', '--vers', 'v5'],
  ['get', 'app.*', '-f', 'dotenv', '--allow-env', 'PATH', '--allow-env', 'LD_PRELOAD'],
  ['get', 'app.*', '-fcsv'],
  ['get', 'app.db', '--field', 'user'],
  ['get', 'app.db', '--field=-odd'],
  ['get', 'app.db', '-v', '1', '-v', '2'],
  ['get', '--', '-dash-name', 'k=v'],
  ['get', '-', '-n'],
  ['-r', 'eu-west-1', '-t', 'tbl', 'get', 'app.db'],
  ['get', 'app.db', '-r', 'eu-west-1', '--table', 'tbl', '--kms-region', 'us-west-2'],
  ['--endpoint-url', 'http://127.0.0.1:1', '--kms-endpoint-url=http://127.0.0.1:2', 'get', 'app.db'],
  ['-p', 'prof', 'get', 'app.db'],
  ['--profile', 'prof', 'get', 'app.db'],
  ['-n', 'arn:aws:iam::1:role/r', 'get', 'app.db', '-n'],
  ['--config', 'other.toml', '--store-type', 'local', 'get', 'app.db'],
  ['--log-level', 'debug', '--log-file', 'x.log', 'get', 'app.db'],
  ['-r', 'a', '-r', 'b', 'get', 'app.db'],
];

/** The argv without what only yargs adds for itself. */
function comparable(a: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (a === undefined) return undefined;
  const { io: _io, $0: _s, ...rest } = a;
  return rest;
}

describe('get without yargs: the argv yargs would give the handler', () => {
  it.each([...vectors, ...MORE].map((argv) => [argv.join(' '), argv] as const))('%s', async (_l, argv) => {
    const viaYargs = await handlerArgv(argv, io, 'yargs');
    const direct = await handlerArgv(argv, io, 'direct');
    expect(direct).toBeDefined();
    expect(comparable(direct)).toStrictEqual(comparable(viaYargs));
    expect(direct?.io).toBe(io);
  });

  it('the vectors include the argparse table', () => {
    expect(vectors.length).toBeGreaterThanOrEqual(7);
  });

  it.each([
    ['--help', ['get', '--help']],
    ['-h before the command', ['-h', 'get', 'x']],
    ['--profile with --arn', ['--profile', 'p', '--arn', 'arn:aws:iam::1:role/r', 'get', 'x']],
  ])('%s goes to yargs', async (_l, argv) => {
    expect(await handlerArgv(argv, io, 'direct')).toBeUndefined();
  });
});
