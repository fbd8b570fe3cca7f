import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, DIST, runCli } from '../../helpers/cli.js';

// The full build loads the module of the command being run and no other (src/cli/commands/index.ts): each
// command is its own chunk, named after its file (esbuild.config.mjs, chunkNames `[name]-[hash]`). A plain
// `get` runs from the fast-path bundle instead (src/cli/fast-path.ts), which holds no other command.
const HOOK = fileURLToPath(new URL('../../helpers/record-modules.mjs', import.meta.url));
const COMMAND_CHUNK = /\/chunks\/(delete|env|exec|export|get|getall|import|init|keys|list|migrate|prune|put|putall|render|rotate-key|setup)-[A-Z0-9]+\.js$/;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'credstash-lazy-int-'));
  expect((await runCli(['init'], { cwd: dir, env: cleanEnv(dir) })).code).toBe(0);
  expect((await runCli(['put', 'a', 'v'], { cwd: dir, env: cleanEnv(dir) })).code).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function commandChunks(args: string[], log: string): Promise<{ code: number | null; stdout: string; chunks: string[] }> {
  const r = await runCli(args, { cwd: dir, env: cleanEnv(dir, { CREDSTASH_MODULE_LOG: join(dir, log) }), nodeArgs: ['--import', HOOK] });
  const loaded = readFileSync(join(dir, log), 'utf8').split('\n').filter((l) => l !== '');
  const chunks = [...new Set(loaded.map((u) => COMMAND_CHUNK.exec(u)?.[1]).filter((c): c is string => c !== undefined))].sort();
  return { code: r.code, stdout: r.stdout, chunks };
}

describe('lazy command modules', () => {
  it('a plain get runs from the fast-path bundle, which holds the get command and no other', async () => {
    expect(await commandChunks(['get', 'a'], 'get.log')).toEqual({ code: 0, stdout: 'v\n', chunks: [] });
    const meta = JSON.parse(readFileSync(join(DIST, 'cli-fast-meta.json'), 'utf8')) as { inputs: Record<string, unknown> };
    const commandsIn = Object.keys(meta.inputs).filter((i) => /^src\/cli\/commands\/(?!index\.ts$)/.test(i));
    expect(commandsIn).toEqual(['src/cli/commands/get.ts']);
  });

  it('a get the full build runs (a wildcard) loads the get command chunk and no other', async () => {
    expect(await commandChunks(['get', 'a*', '-f', 'dotenv'], 'get-wild.log')).toEqual({ code: 0, stdout: "A='v'\n", chunks: ['get'] });
  });

  it('get on a store config without ${credential:...} loads no reference resolver', async () => {
    const meta = JSON.parse(readFileSync(join(DIST, 'cli-fast-meta.json'), 'utf8')) as { inputs: Record<string, unknown> };
    expect(Object.keys(meta.inputs).some((i) => i === 'src/stores/open.ts')).toBe(true);
    expect(Object.keys(meta.inputs).filter((i) => i.startsWith('src/references/'))).toEqual([]);
    // in the full build too
    const log = join(dir, 'refs.log');
    const r = await runCli(['get', 'a*', '-f', 'dotenv'], { cwd: dir, env: cleanEnv(dir, { CREDSTASH_MODULE_LOG: log }), nodeArgs: ['--import', HOOK] });
    expect(r).toMatchObject({ code: 0, stdout: "A='v'\n" });
    const loaded = readFileSync(log, 'utf8').split('\n').filter((l) => l !== '');
    expect(loaded.some((u) => /\/chunks\/load-/.test(u))).toBe(true);
    expect(loaded.filter((u) => /\/chunks\/(store-config|resolve)-/.test(u))).toEqual([]);
  });

  it('--help loads no command chunk', async () => {
    const r = await commandChunks(['--help'], 'help.log');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('credstash exec [context..]');
    expect(r.chunks).toEqual([]);
  });

  it('an option value that names a command is not taken for the command: only the command named loads', async () => {
    // `--store-type list`: "list" is the option's value (argv is read as argparse reads it); the command is `keys`.
    const r = await commandChunks(['--store-type', 'list', 'keys'], 'keys.log');
    expect(r.chunks).toEqual(['keys']);
    expect(r.code).toBe(1); // "list" is not a store type: the keys command ran and opened the store
  });
});
