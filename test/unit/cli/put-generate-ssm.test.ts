/**
 * `put --generate` / `--if-absent` on SSM Parameter Store (aws-sdk-client-mock with the in-memory FakeSsm),
 * through the CLI's main() in this process (a child process could not see the mock).
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { runCliInProcess } from '../../helpers/cli-in-process.js';
import { FakeSsm } from '../stores/ssm/fake-ssm.js';

describe('put --generate on ssm (aws-sdk-client-mock)', () => {
  const ssm = mockClient(SSMClient);
  const dir = mkdtempSync(join(tmpdir(), 'credstash-gen-ssm-'));
  chmodSync(dir, 0o700);
  const env = { HOME: dir, AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y', AWS_REGION: 'us-east-1' };
  let fake: FakeSsm;
  const run = (args: string[]) => runCliInProcess(args, { cwd: dir, env });
  const values = (id: string): string[] => [...fake.params.entries()].filter(([n]) => n.endsWith(id)).flatMap(([, p]) => p.versions.map((v) => `${v.version}:${v.value}`));
  beforeEach(() => {
    ssm.reset();
    fake = new FakeSsm();
    fake.install(ssm);
    writeFileSync(join(dir, 'credstash.toml'), '[credential_store]\ntype = "ssm"\n[credential_store.config]\nregion = "us-east-1"\n', { mode: 0o600 });
  });
  afterAll(() => {
    ssm.restore();
    rmSync(dir, { recursive: true, force: true });
  });

  it('--print writes the stored value alone to stdout; -a stores the next version without printing it', async () => {
    const r1 = await run(['put', 'gen.ssm', '--generate', 'base64url', '--print']);
    expect(r1).toMatchObject({ code: 0, stderr: 'credstash: gen.ssm has been stored\n' });
    expect(r1.stdout).toMatch(/^[A-Za-z0-9_-]{43}\n$/);
    expect(values('gen.ssm')).toEqual([`1:${r1.stdout.slice(0, -1)}`]);
    expect(await run(['put', 'gen.ssm', '--generate', 'hex', '-a'])).toEqual({ code: 0, stdout: 'gen.ssm has been stored\n', stderr: '' });
    expect(values('gen.ssm').map((v) => v.slice(0, 2))).toEqual(['1:', '2:']);
    expect(values('gen.ssm')[1]).toMatch(/^2:[0-9a-f]{64}$/);
  });

  it('--if-absent: concurrent puts leave exactly one version 1; an existing name is left alone', async () => {
    const results = await Promise.all(Array.from({ length: 8 }, () => run(['put', 'gen.race', '--generate', '--if-absent', '--print'])));
    for (const r of results) expect(r.code).toBe(0);
    const winners = results.filter((r) => r.stdout !== '');
    expect(winners).toHaveLength(1);
    expect(results.filter((r) => /^credstash: gen\.race already exists in .*; nothing stored \(--if-absent\)\n$/.test(r.stderr))).toHaveLength(7);
    expect(values('gen.race')).toEqual([`1:${winners[0]?.stdout.slice(0, -1)}`]);
    const again = await run(['put', 'gen.race', '--generate', '--if-absent', '-a']);
    expect(again).toMatchObject({ code: 0, stdout: '' });
    expect(values('gen.race')).toHaveLength(1);
  });
});
