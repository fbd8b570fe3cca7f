/**
 * The lifecycle commands on SSM Parameter Store, whose labels are SSM's own parameter labels, through the
 * CLI's main() in this process against aws-sdk-client-mock answering with the SSM model
 * (test/unit/stores/ssm/fake-ssm.ts): label, get --label, list --labels, history, rollback, diff, unlabel,
 * each failure one line, no value printed unasked.
 */
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCliInProcess, type InProcessRun } from '../../helpers/cli-in-process.js';
import { CANARY, expectNoLeak } from '../../helpers/no-leak.js';
import { FakeSsm } from '../../unit/stores/ssm/fake-ssm.js';

const ssm = mockClient(SSMClient);
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'credstash-lc-ssm-'));
  chmodSync(dir, 0o700);
  writeFileSync(join(dir, 'credstash.toml'), '[credential_store]\ntype = "ssm"\n[credential_store.config]\nregion = "us-east-1"\n', { mode: 0o600 });
});
afterAll(() => {
  ssm.restore();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  ssm.reset();
  new FakeSsm().install(ssm);
});

const env = (): NodeJS.ProcessEnv => ({ HOME: dir, AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y', AWS_REGION: 'us-east-1' });
const cli = (args: string[], stdin?: string): Promise<InProcessRun> => runCliInProcess(args, { cwd: dir, env: env(), ...(stdin === undefined ? {} : { stdin }) });

describe('lifecycle commands on SSM (native parameter labels)', () => {
  it('label, get --label, list --labels, history, rollback, diff, unlabel', async () => {
    expect((await cli(['put', 'app.db', '-'], `${CANARY}-1`)).code).toBe(0);
    expect((await cli(['put', '-a', 'app.db', '-'], `${CANARY}-2`)).code).toBe(0);
    expect(await cli(['label', 'app.db', 'current', '-v', '1'])).toEqual({ code: 0, stdout: 'app.db: label current -> version 1 (new)\n', stderr: '' });
    ssm.resetHistory();
    expect(await cli(['get', 'app.db', '--label', 'current'])).toEqual({ code: 0, stdout: `${CANARY}-1\n`, stderr: '' });
    // natively: one GetParameter with the `name:label` selector
    expect(ssm.commandCalls(GetParameterCommand).map((c) => c.args[0].input.Name)).toEqual(['/credstash/credentials/app.db:current']);
    const listed = await cli(['list', '--labels']);
    expect(listed.stdout).toMatch(/^app\.db -- version 0000000000000000001 -- comment .*\[current\]\napp\.db -- version 0000000000000000002 -- comment [^[]*\n$/);
    const history = await cli(['history', 'app.db', '--json']);
    expect(history.code, history.stderr).toBe(0);
    expect((JSON.parse(history.stdout) as Array<{ version: string; labels: string[] }>).map((v) => [v.version, v.labels])).toEqual([['1', ['current']], ['2', []]]);
    expectNoLeak(history.stdout, CANARY);
    expect(await cli(['rollback', 'app.db', '--to', '1', '--label', 'current'])).toEqual({
      code: 0,
      stdout: 'app.db: version 3 stored with the value of version 1\napp.db: label current -> version 3\n',
      stderr: '',
    });
    expect(await cli(['get', 'app.db', '--label', 'current'])).toMatchObject({ code: 0, stdout: `${CANARY}-1\n` });
    expect(await cli(['diff', 'app.db', '-v', '1', '-v', '3'])).toEqual({ code: 0, stdout: 'app.db: versions 1 and 3 are the same\n', stderr: '' });
    expect(await cli(['diff', 'app.db', '-v', '2', '-v', '3'])).toEqual({ code: 1, stdout: 'app.db: versions 2 and 3 differ (text)\n', stderr: '' });
    expect(await cli(['unlabel', 'app.db', 'current'])).toEqual({ code: 0, stdout: 'app.db: label current removed (was version 3)\n', stderr: '' });
    const gone = await cli(['get', 'app.db', '--label', 'current']);
    expect(gone.code).toBe(1);
    expect(gone.stdout).toBe('');
    expect(gone.stderr).toMatch(/^credstash: credential "app\.db" has no label "current" in .*\n$/);
  });

  it('--expect on a label that moved is a LabelConflictError in one line', async () => {
    expect((await cli(['put', 'app.x', '-'], CANARY)).code).toBe(0);
    expect((await cli(['put', '-a', 'app.x', '-'], CANARY)).code).toBe(0);
    await cli(['label', 'app.x', 'current', '-v', '2']);
    const r = await cli(['label', 'app.x', 'current', '-v', '1', '--expect', '1']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^credstash: label "current" of credential "app\.x" in .* was changed by another writer at the same time; nothing was changed, run the command again\n$/);
    expectNoLeak(r.stderr, CANARY);
  });
});
