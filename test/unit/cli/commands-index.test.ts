import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { commandName, commands } from '../../../src/cli/commands/index.js';
import { registerCredentialStore, unregisterCredentialStore } from '../../../src/stores/registry.js';
import { MemoryStore } from '../../fixtures/memory-store.js';
import { runCliInProcess, type InProcessRun } from '../../helpers/cli-in-process.js';

// main() loads one command module per run (cold start): commands/index.ts holds every command's
// `command` and `describe` (COMMAND_META), so that `--help` lists the others without importing them; the
// modules hold only their options and handler.
const COMMANDS_DIR = fileURLToPath(new URL('../../../src/cli/commands/', import.meta.url));

describe('the command table', () => {
  it('lists every command module once', () => {
    const files = readdirSync(COMMANDS_DIR).filter((f) => f.endsWith('.ts') && f !== 'index.ts').map((f) => f.slice(0, -3)).sort();
    expect(commands.map(commandName).sort()).toEqual(files);
  });

  it.each(commands.map((c) => [commandName(c), c] as const))('%s: the loaded command carries the index’s command and describe, which its module does not define', async (name, entry) => {
    const mod = await entry.load();
    expect({ command: mod.command, describe: mod.describe }).toEqual({ command: entry.command, describe: entry.describe });
    expect(typeof mod.handler).toBe('function');
    expect(await entry.load()).toBe(mod);
    const file = (await import(join(COMMANDS_DIR, `${name}.ts`))) as Record<string, unknown>;
    const impls = Object.values(file).filter((v): v is Record<string, unknown> => typeof v === 'object' && v !== null && typeof (v as { handler?: unknown }).handler === 'function');
    expect(impls).toHaveLength(1);
    expect(Object.keys(impls[0] as object).filter((k) => k === 'command' || k === 'describe')).toEqual([]);
  });
});

describe('command metadata', () => {
  it('marks the commands that rewrite credstash.toml (they hold termination signals while they run), and no other', () => {
    expect(commands.filter((c) => c.writesConfig === true).map(commandName)).toEqual(['init', 'rotate-key', 'setup']);
  });
});

describe('typed builders', () => {
  it('no file under src/cli casts to never: builders are checked against their command`s argument type', () => {
    const cliDir = fileURLToPath(new URL('../../../src/cli/', import.meta.url));
    const files = readdirSync(cliDir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(20);
    const casts = files.filter((f) => /\bas never\b/.test(readFileSync(join(cliDir, f), 'utf8')));
    expect(casts).toEqual([]);
  });
});

describe('main loads the command yargs selects', () => {
  let dir: string;
  let store: MemoryStore;
  beforeAll(() => registerCredentialStore('lazytest', () => store));
  afterAll(() => {
    unregisterCredentialStore('lazytest');
    process.exitCode = 0;
  });
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'credstash-lazy-'));
    store = new MemoryStore('t');
    await store.storeCredential('a', 'value-a');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function run(args: string[]): Promise<InProcessRun> {
    return runCliInProcess(args, { cwd: dir, env: { HOME: dir } });
  }

  it('runs get when an option value before it names another command (the first guess was wrong)', async () => {
    // `--config list`: the first word naming a command is the option's value, a file called "list".
    writeFileSync(join(dir, 'list'), '[credential_store]\ntype = "lazytest"\n');
    expect(await run(['--config', 'list', 'get', 'a'])).toEqual({ code: 0, stdout: 'value-a\n', stderr: '' });
  });

  it('shows the help of a command selected after a wrong guess, with its own options', async () => {
    writeFileSync(join(dir, 'keys'), '[credential_store]\ntype = "lazytest"\n');
    const r = await run(['--config', 'keys', 'get', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('credstash get <credential> [context..]');
    expect(r.stdout).toContain('--noline');
  });

  it('lists every command with its description in the top-level help', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    // yargs wraps both columns mid-word: compare the start of each, without whitespace.
    const flat = r.stdout.replace(/\s+/g, '');
    for (const c of commands) {
      expect(r.stdout).toContain(`  credstash ${commandName(c)}`);
      expect(flat).toContain(c.describe.replace(/\s+/g, '').slice(0, 20));
    }
  });

  it('still rejects an unknown option of the selected command (strict mode with the full module)', async () => {
    writeFileSync(join(dir, 'credstash.toml'), '[credential_store]\ntype = "lazytest"\n');
    const r = await run(['get', 'a', '--bogus']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("credstash: get: unknown option (3rd argument)\nrun 'credstash get --help' for usage\n");
  });
});
