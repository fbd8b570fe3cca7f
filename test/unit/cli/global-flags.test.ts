import { describe, expect, it } from 'vitest';
import { recordOptions } from '../../../src/cli/argv.js';
import { beforeCommandSpecs, flagLabel, GLOBAL_FLAGS, globalOptions, globalOptionSpecs, STORE_FLAGS } from '../../../src/cli/global-flags.js';
import { runCliInProcess } from '../../helpers/cli-in-process.js';

// One table of global flags; the yargs options, the argv reader's specs and the store config key map are
// generated from it and must say the same thing.
describe('the global flags table', () => {
  it('the yargs options declare exactly the flags the argv reader knows, with the same spellings', () => {
    const yargsView = recordOptions((y) => globalOptions(y)).map((s) => ({ key: s.key, names: s.names, label: s.label, takesValue: s.takesValue }));
    const readerView = globalOptionSpecs().map((s) => ({ key: s.key, names: s.names, label: s.label, takesValue: s.takesValue }));
    expect(yargsView).toEqual(readerView);
    expect(readerView.map((s) => s.key)).toEqual(GLOBAL_FLAGS.map((f) => f.name));
  });

  it('maps every flag with a store config key, by the label messages use', () => {
    expect(STORE_FLAGS).toEqual([
      { arg: 'region', key: 'region', label: '-r/--region' },
      { arg: 'table', key: 'table', label: '-t/--table' },
      { arg: 'profile', key: 'profile', label: '-p/--profile' },
      { arg: 'arn', key: 'role_arn', label: '-n/--arn' },
      { arg: 'kmsRegion', key: 'kms_region', label: '--kms-region' },
      { arg: 'endpointUrl', key: 'endpoint_url', label: '--endpoint-url' },
      { arg: 'kmsEndpointUrl', key: 'kms_endpoint_url', label: '--kms-endpoint-url' },
    ]);
  });

  it('the before-the-subcommand spellings are -n (--arn) and -p (--profile), and are no alias valid after it', () => {
    expect(beforeCommandSpecs().map((s) => [s.names, s.key, s.label])).toEqual([
      [['-p'], 'profile', '-p/--profile'],
      [['-n'], 'arn', '-n/--arn'],
    ]);
    const everywhere = globalOptionSpecs().flatMap((s) => s.names);
    expect(everywhere).not.toContain('-n');
    expect(everywhere).not.toContain('-p');
  });

  it('each flag`s arg is the camel-case form of its name (the field yargs fills)', () => {
    for (const f of GLOBAL_FLAGS) expect(f.arg).toBe(f.name.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase()));
    expect(GLOBAL_FLAGS.map(flagLabel)).toContain('--store-type');
  });

  it('--help lists every flag that has a description, and no hidden one', async () => {
    const r = await runCliInProcess(['--help'], { cwd: '/', env: { HOME: '/nonexistent' } });
    expect(r.code).toBe(0);
    const flat = r.stdout.replace(/\s+/g, ' ');
    for (const f of GLOBAL_FLAGS) {
      if (f.describe === undefined) expect(r.stdout).not.toContain(`--${f.name}`);
      else {
        expect(r.stdout).toContain(`--${f.name}`);
        expect(flat).toContain(f.describe.split(' ').slice(0, 3).join(' '));
      }
    }
  });
});
