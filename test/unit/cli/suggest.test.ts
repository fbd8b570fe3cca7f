import { describe, expect, it } from 'vitest';
import { commandName, commands } from '../../../src/cli/commands/index.js';
import { editDistance, suggestCommand, unknownCommandMessage } from '../../../src/cli/suggest.js';
import { runCliInProcess } from '../../helpers/cli-in-process.js';

const NAMES = commands.map(commandName);

describe('did you mean (a mistyped command)', () => {
  it.each([
    ['gte', 'get'],
    ['gett', 'get'],
    ['pt', 'put'],
    ['ge', 'get'],
    ['puta', 'put'],
    ['putal', 'putall'],
    ['lsit', 'list'],
    ['dleete', 'delete'],
    ['rotat', 'rotate'],
    ['rotae-key', 'rotate-key'],
    ['migr', 'migrate'],
    ['rotatekey', 'rotate-key'],
    ['setpu', 'setup'],
    ['imprt', 'import'],
    ['exprot', 'export'],
  ])('%s -> %s', (typed, expected) => {
    expect(suggestCommand(typed, NAMES)).toBe(expected);
  });

  it.each([
    ['a word that is no near miss', 'frobnicate'],
    ['a secret-like word (digits)', 'g3t'],
    ['upper case', 'GET'],
    ['a long word', 'getgetgetgetgetgetgetget'],
    ['with a space', 'get x'],
    ['empty', ''],
    ['a command itself', 'get'],
  ])('no suggestion for %s', (_what, typed) => {
    expect(suggestCommand(typed, NAMES)).toBeUndefined();
  });

  it('counts a transposition as one edit', () => {
    expect(editDistance('gte', 'get')).toBe(1);
    expect(editDistance('abc', 'abc')).toBe(0);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });

  it('the message shows the word only with a suggestion', () => {
    expect(unknownCommandMessage('gte', '1st argument', NAMES)).toBe('unknown command "gte" (1st argument); did you mean "get"?');
    expect(unknownCommandMessage('hunter2', '3rd argument', NAMES)).toBe('unknown command (3rd argument)');
  });
});

describe('credstash with a mistyped command', () => {
  it('suggests the command, exit 2, and never echoes a word that is not a near miss', async () => {
    const typo = await runCliInProcess(['gte', 'x'], { cwd: '/' });
    expect(typo.code).toBe(2);
    expect(typo.stdout).toBe('');
    expect(typo.stderr.split('\n')[0]).toBe('credstash: unknown command "gte" (1st argument); did you mean "get"?');
    const after = await runCliInProcess(['-r', 'eu-west-1', 'lsit'], { cwd: '/' });
    expect(after.stderr.split('\n')[0]).toBe('credstash: unknown command "lsit" (3rd argument); did you mean "list"?');
    const secret = await runCliInProcess(['Sup3r-s3cret!'], { cwd: '/' });
    expect(secret.code).toBe(2);
    expect(secret.stderr).not.toContain('Sup3r');
    expect(secret.stderr.split('\n')[0]).toBe('credstash: unknown command (1st argument)');
  });
});
