/**
 * `credstash completion bash|zsh` prints a script that bash sources and that completes command names,
 * options (global ones before the command, the command's own after it) and the choices of options that
 * have them, with COMP_WORDS / COMP_CWORD set as bash sets them when Tab is pressed.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, runCli } from '../../helpers/cli.js';

let dir: string;
let bashScript: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'credstash-completion-'));
  const r = await runCli(['completion', 'bash'], { cwd: dir, env: cleanEnv(dir) });
  expect(r).toMatchObject({ code: 0, stderr: '' });
  bashScript = join(dir, 'credstash.bash');
  writeFileSync(bashScript, r.stdout);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What bash offers for the command line `words`, the last word being the one Tab completes. */
function complete(words: string[]): string[] {
  const quoted = words.map((w) => `'${w.replaceAll("'", "'\\''")}'`).join(' ');
  const probe = `source "$1" || exit 9
complete -p credstash >/dev/null || exit 8
COMP_WORDS=(${quoted}); COMP_CWORD=$(( \${#COMP_WORDS[@]} - 1 )); COMP_LINE="\${COMP_WORDS[*]}"; COMP_POINT=\${#COMP_LINE}
_credstash_completion
printf '%s\\n' "\${COMPREPLY[@]}"`;
  const r = spawnSync('bash', ['--norc', '--noprofile', '-c', probe, 'probe', bashScript], { encoding: 'utf8', cwd: dir });
  expect(r.status, r.stderr).toBe(0);
  expect(r.stderr).toBe('');
  return r.stdout.split('\n').filter((l) => l !== '').sort();
}

describe('credstash completion bash', () => {
  it.each([
    ['command names', ['credstash', 'g'], ['get', 'getall']],
    ['every command with an empty word', ['credstash', ''], expect.arrayContaining(['completion', 'get', 'put', 'render', 'rotate-key', 'setup'])],
    ['the command after a global option and its value', ['credstash', '-r', 'eu-west-1', '--table', 'get', 'pu'], ['put', 'putall']],
    ['global options before the command', ['credstash', '--ver'], ['--version']],
    ["the command's own options", ['credstash', 'get', 'app.db', '--no'], ['--noline']],
    ['global options after the command', ['credstash', 'list', '--kms-r'], ['--kms-region']],
    ['the choices of -f', ['credstash', 'get', 'app.*', '-f', ''], ['csv', 'dotenv', 'json', 'yaml']],
    ['the choices of --format, filtered', ['credstash', 'put', 'x', '-', '--format', 'l'], ['legacy']],
    ['the shells of completion', ['credstash', 'completion', ''], ['bash', 'zsh']],
    ['nothing of credstash after exec --', ['credstash', 'exec', 'env=prod', '--', 'printenv', '--pr'], []],
    ['nothing for a positional (the shell falls back to file names)', ['credstash', 'get', ''], []],
    ['nothing for an unknown command', ['credstash', 'nosuch', '--'], []],
  ])('completes %s', (_what, words, expected) => {
    expect(complete(words)).toEqual(expected);
  });

  it('registers the function for credstash with file name completion as the fallback', () => {
    const r = spawnSync('bash', ['--norc', '--noprofile', '-c', 'source "$1" && complete -p credstash', 'probe', bashScript], { encoding: 'utf8' });
    expect(r.stdout.trim()).toBe('complete -o default -F _credstash_completion credstash');
  });
});

describe('credstash completion zsh / errors', () => {
  it('zsh gets the same completion through bashcompinit, as a #compdef file', async () => {
    const r = await runCli(['completion', 'zsh'], { cwd: dir, env: cleanEnv(dir) });
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('#compdef credstash');
    expect(r.stdout).toContain('autoload -U +X bashcompinit && bashcompinit\n');
    // the completion function itself is the bash one, which bash parses
    const fn = r.stdout.slice(r.stdout.indexOf('_credstash_completion() {'));
    const bash = spawnSync('bash', ['-n'], { input: fn, encoding: 'utf8' });
    expect(bash.status, bash.stderr).toBe(0);
    const bashOut = (await runCli(['completion', 'bash'], { cwd: dir, env: cleanEnv(dir) })).stdout;
    expect(bashOut.slice(bashOut.indexOf('_credstash_completion() {'))).toBe(fn);
  });

  it('an unknown or missing shell is a usage error (exit 2)', async () => {
    const fish = await runCli(['completion', 'fish'], { cwd: dir, env: cleanEnv(dir) });
    expect(fish.code).toBe(2);
    expect(fish.stdout).toBe('');
    expect(fish.stderr).toBe("credstash: completion: the shell must be one of bash, zsh\nrun 'credstash completion --help' for usage\n");
    const none = await runCli(['completion'], { cwd: dir, env: cleanEnv(dir) });
    expect(none).toMatchObject({ code: 2, stdout: '' });
    expect(none.stderr).toMatch(/^credstash: completion: missing <shell>\n/);
  });
});
