/**
 * `credstash --help` as people read it: at any terminal width and through a pipe, the help wraps at spaces
 * (every command's description reads back verbatim when its lines are joined), no line is wider than the
 * terminal, and a usage line comes first. Every command's help ends with one example.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandName, commands } from '../../../src/cli/commands/index.js';
import { BIN, cleanEnv, runCli } from '../../helpers/cli.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'credstash-help-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `credstash ARGS` on a terminal `columns` wide (util-linux script(1) gives the child a pty). */
function onTerminal(args: string[], columns: number): string {
  const cmd = `stty cols ${columns} rows 50; exec '${process.execPath}' '${BIN}' ${args.join(' ')}`;
  const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { cwd: dir, env: cleanEnv(dir), encoding: 'utf8', timeout: 30_000 });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.replaceAll('\r\n', '\n');
}

/** Each command row of the Commands section, its lines joined: `{ usage, describe }`. */
function commandRows(help: string): Array<{ usage: string; describe: string }> {
  const lines = help.split('\n');
  const start = lines.indexOf('Commands:');
  expect(start).toBeGreaterThanOrEqual(0);
  const rows: Array<{ usage: string[]; describe: string[] }> = [];
  let column = 0;
  for (const line of lines.slice(start + 1)) {
    if (line.trim() === '') break;
    const first = /^( {2}credstash \S.*?) {2,}(\S.*)$/.exec(line);
    if (line.startsWith('  credstash ') && first !== null) {
      column = line.length - (first[2] as string).length;
      rows.push({ usage: [(first[1] as string).trim()], describe: [first[2] as string] });
      continue;
    }
    const row = rows[rows.length - 1];
    expect(row, line).toBeDefined();
    const left = line.slice(0, column).trim();
    const right = line.slice(column).trim();
    if (left !== '') row?.usage.push(left);
    if (right !== '') row?.describe.push(right);
  }
  return rows.map((r) => ({ usage: r.usage.join(' '), describe: r.describe.join(' ') }));
}

function expectReadable(help: string, width: number): void {
  for (const line of help.split('\n')) expect([...line].length, line).toBeLessThanOrEqual(width);
  const rows = commandRows(help);
  expect(rows).toEqual(commands.map((c) => ({ usage: `credstash ${c.command}`, describe: c.describe })));
}

describe('credstash --help wraps at word boundaries', () => {
  it('through a pipe (80 columns): every command reads back verbatim, no word is cut', async () => {
    const r = await runCli(['--help'], { cwd: dir, env: cleanEnv(dir) });
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expectReadable(r.stdout, 80);
    expect(r.stdout).not.toMatch(/expo\n|credst\n|Fer\n/);
  });

  it.each([50, 64, 120])('on a terminal %i columns wide (help is at most 100 wide)', (columns) => {
    const help = onTerminal(['--help'], columns);
    expectReadable(help, Math.min(columns, 100));
  });
});

describe('usage line and examples', () => {
  it('credstash --help and credstash alone start with a usage line', async () => {
    for (const args of [['--help'], [], ['-h']]) {
      const r = await runCli(args, { cwd: dir, env: cleanEnv(dir) });
      expect(r.code).toBe(0);
      expect(r.stdout.split('\n')[0]).toBe('Usage: credstash [global options] <command> [arguments] [options]');
      expect(r.stdout).toContain("Run 'credstash <command> --help' for a command's arguments, options and an");
    }
  });

  it.each(commands.map((c) => [commandName(c), c] as const))("credstash %s --help: its usage line first, then an example", async (name, entry) => {
    const r = await runCli([name, '--help'], { cwd: dir, env: cleanEnv(dir) });
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout.split('\n')[0]).toBe(`credstash ${entry.command}`);
    const at = r.stdout.indexOf('\nExamples:\n');
    expect(at).toBeGreaterThan(0);
    expect(r.stdout.indexOf('\nExamples:\n', at + 1)).toBe(-1);
    const lines = (r.stdout.slice(at + '\nExamples:\n'.length).split('\n\n')[0] ?? '').split('\n');
    expect(lines.join(' ')).toContain(`credstash ${name}`);
    // exec and migrate give their own examples in their builders; every other command's is the table's
    if (entry.example === undefined) {
      expect(['exec', 'migrate']).toContain(name);
      return;
    }
    // two columns, each wrapped at spaces: the example's command line, and what it does
    const first = /^( {2}\S.*?) {2,}(\S.*)$/.exec(lines[0] ?? '');
    expect(first, lines[0]).not.toBeNull();
    const column = (lines[0] as string).length - (first?.[2] as string).length;
    const left = lines.map((l) => l.slice(0, column).trim()).filter((t) => t !== '');
    const right = lines.map((l) => l.slice(column).trim()).filter((t) => t !== '');
    expect({ command: left.join(' '), description: right.join(' ') }).toEqual({ command: entry.example[0], description: entry.example[1] });
    // never a value on the command line
    if (name === 'put') expect(entry.example[0]).toMatch(/ -P | - |@/);
  });
});
