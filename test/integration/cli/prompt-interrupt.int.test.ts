/**
 * Ctrl-C at any prompt, on a real terminal (a pty from util-linux script(1)), exits 130 with one line and
 * does nothing else: the value prompt of `put -P`, and the MFA code prompt that the AWS SDK asks for through
 * credstash when a profile has `mfa_serial` (that prompt runs inside the SDK's credential provider, and its
 * error came back wrapped as a failed DynamoDB Query, exit 1).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, cleanEnv, runCli } from '../../helpers/cli.js';

const haveScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'credstash-interrupt-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Run `credstash ARGS` on a pty; once `prompt` shows, type Ctrl-C. */
function ctrlCAtPrompt(args: string[], cwd: string, env: NodeJS.ProcessEnv, prompt: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const cmd = `exec '${process.execPath}' '${BIN}' ${args.map((a) => `'${a}'`).join(' ')}`;
    const child = spawn('script', ['-qec', cmd, '/dev/null'], { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    let sent = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      output += d;
      if (!sent && output.includes(prompt)) {
        sent = true;
        child.stdin.write('\u0003');
      }
    });
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output: output.replaceAll('\r\n', '\n') });
    });
  });
}

describe.skipIf(!haveScript)('Ctrl-C at a prompt on a terminal exits 130 (skipped without util-linux script)', () => {
  it('put -P: exit 130, one line, nothing stored', async () => {
    const env = cleanEnv(dir);
    expect((await runCli(['init'], { cwd: dir, env })).code).toBe(0);
    const r = await ctrlCAtPrompt(['put', 'int.value', '-P'], dir, env, 'int.value: ');
    expect(r.code, r.output).toBe(130);
    expect(r.output).toBe('int.value: \ncredstash: interrupted\n');
    const get = await runCli(['get', 'int.value'], { cwd: dir, env });
    expect(get.code).toBe(1);
    rmSync(join(dir, 'credstash.toml'));
  });

  it('the MFA code prompt of an AWS profile with mfa_serial: exit 130, one line, no request made', async () => {
    const home = mkdtempSync(join(dir, 'mfa-'));
    writeFileSync(
      join(home, 'aws-config'),
      [
        '[profile mfa]',
        'role_arn = arn:aws:iam::123456789012:role/reader',
        'source_profile = base',
        'mfa_serial = arn:aws:iam::123456789012:mfa/someone',
        'region = us-east-1',
        '[profile base]',
        'aws_access_key_id = AKIAFAKEFAKEFAKEFAKE',
        'aws_secret_access_key = fake-secret-for-tests',
        '',
      ].join('\n'),
    );
    // a closed loopback port: had anything been sent, it would fail as "unreachable", not exit 130
    const env = cleanEnv(home, { AWS_CONFIG_FILE: join(home, 'aws-config'), AWS_ENDPOINT_URL: 'http://127.0.0.1:9' });
    expect(existsSync(join(home, 'credstash.toml'))).toBe(false);
    const r = await ctrlCAtPrompt(['-p', 'mfa', 'get', 'app.db'], home, env, 'MFA code for arn:aws:iam::123456789012:mfa/someone: ');
    expect(r.code, r.output).toBe(130);
    expect(r.output).toBe('MFA code for arn:aws:iam::123456789012:mfa/someone: \ncredstash: interrupted\n');
  });
});
