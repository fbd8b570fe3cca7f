/**
 * `put -P` reads one line (Python's getpass). End of input — or Ctrl-D at a terminal — before a newline is
 * an error (exit 1, nothing stored: Python's getpass raises EOFError), where it once stored an empty value
 * with exit 0. An explicitly empty line stores an empty value, as in Python credstash. Ctrl-C at a terminal
 * exits 130 and stores nothing. The terminal always leaves raw mode.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { CliIO } from '../../src/cli/context.js';
import { main } from '../../src/cli/main.js';
import { CANARY } from '../helpers/no-leak.js';
import { cliBuilt, runCli } from '../helpers/cli.js';
import { cliTiers, type CliProject } from '../helpers/tiers.js';

const local = (): Promise<CliProject> => (cliTiers({ dynamodb: false }).find((t) => t.name === 'local keystore') as { project(): Promise<CliProject> }).project();

describe.skipIf(!cliBuilt())(`put -P on a pipe (a real process)${cliBuilt() ? '' : ' (skipped: the CLI build is missing; the test setup builds it)'}`, () => {
  it('end of input before any newline (empty, or text without a newline) fails with exit 1 and stores nothing', async () => {
    const p = await local();
    for (const input of ['', `${CANARY}-partial`]) {
      const r = await runCli(['put', 'p.eof', '-P'], { cwd: p.dir, env: p.env, input });
      // the prompt itself is on stderr before the error line
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/^p\.eof: \ncredstash: no value entered: end of input before a newline/);
      expect(r.stderr).not.toContain(CANARY);
      expect(r.stdout).toBe('');
    }
    expect(await p.open().credentialExists('p.eof')).toBe(false);
  });

  it('an empty line stores an empty value (as Python credstash); the first line is the value, the rest ignored', async () => {
    const p = await local();
    const empty = await runCli(['put', 'p.empty', '-P'], { cwd: p.dir, env: p.env, input: '\n' });
    expect(empty.code, empty.stderr).toBe(0);
    expect((await p.open().getCredential('p.empty', { required: true })).value).toBe('');
    const line = await runCli(['put', 'p.line', '-P'], { cwd: p.dir, env: p.env, input: `${CANARY} é\nsecond line\n` });
    expect(line.code, line.stderr).toBe(0);
    expect((await p.open().getCredential('p.line', { required: true })).value).toBe(`${CANARY} é`);
  });
});

/** A terminal stdin: isTTY and setRawMode, recording every mode change. */
function ttyIo(p: CliProject, keys: string): { io: CliIO; out: () => string; err: () => string; modes: boolean[] } {
  const stdin = new PassThrough() as PassThrough & { isTTY?: boolean; setRawMode?: (m: boolean) => unknown };
  const modes: boolean[] = [];
  stdin.isTTY = true;
  stdin.setRawMode = (m: boolean) => modes.push(m);
  // keys arrive after the prompt, one chunk each, as a terminal delivers them; the terminal never ends
  setTimeout(() => {
    for (const ch of keys) stdin.write(Buffer.from(ch, 'utf8'));
  }, 20);
  let stdout = '';
  let stderr = '';
  const io: CliIO = {
    stdout: { write: (c: string | Uint8Array) => (stdout += typeof c === 'string' ? c : Buffer.from(c).toString('utf8')) },
    stderr: { write: (c: string) => (stderr += c) },
    stdin,
    env: p.env,
    cwd: p.dir,
  };
  return { io, out: () => stdout, err: () => stderr, modes };
}

describe('put -P at a terminal (in-process, raw mode)', () => {
  it('Enter ends the value; backspace erases a whole character; raw mode is switched on and back off', async () => {
    const p = await local();
    const t = ttyIo(p, 'aé\u007fb\r');
    expect(await main(['put', 't.ok', '-P'], t.io)).toBe(0);
    expect((await p.open().getCredential('t.ok', { required: true })).value).toBe('ab');
    expect(t.modes).toEqual([true, false]);
  });

  it('Ctrl-C exits 130 with one line, stores nothing, and leaves raw mode', async () => {
    const p = await local();
    const t = ttyIo(p, `${CANARY}\u0003`);
    expect(await main(['put', 't.int', '-P'], t.io)).toBe(130);
    expect(t.err()).toBe('t.int: \ncredstash: interrupted\n');
    expect(t.out()).toBe('');
    expect(t.modes).toEqual([true, false]);
    expect(await p.open().credentialExists('t.int')).toBe(false);
  });

  it('Ctrl-D before Enter (on an empty or a partly typed line) fails with exit 1 and stores nothing', async () => {
    const p = await local();
    for (const keys of ['\u0004', `${CANARY}\u0004`]) {
      const t = ttyIo(p, keys);
      expect(await main(['put', 't.eof', '-P'], t.io)).toBe(1);
      expect(t.err()).toMatch(/credstash: no value entered: end of input before a newline/);
      expect(t.err()).not.toContain(CANARY);
      expect(t.modes).toEqual([true, false]);
    }
    expect(await p.open().credentialExists('t.eof')).toBe(false);
  });
});
