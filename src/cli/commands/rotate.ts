/**
 * `credstash rotate NAME [key=value ...]`: change a credential's password where it is used and store it as
 * the next version (create -> set -> test -> finish, docs/rotation.md), under the credential's `rotation`
 * policy in credstash.toml. `--due` rotates every credential whose newest version is older than its
 * policy's `every`; `--status [--json]` shows the last rotation, the next due time and any rotation in
 * progress; `--resume`, `--cancel` and `--discard` act on a rotation in progress. Never prints a value.
 */
import { ConfigError, CredstashError, RotationStepError } from '../../core/errors.js';
import type { CredentialStore } from '../../core/store.js';
import type { EncryptionContext } from '../../core/types.js';
import type { RotationPolicy } from '../../rotation/policy.js';
import type { ResolvedConfig } from '../../config/merge.js';
import { contextFromArgs, withStore, type GlobalArgs } from '../context.js';
import { UsageError } from '../errors.js';
import { displayText } from '../output/terminal.js';
import type { CommandImpl } from './index.js';

interface RotateArgs extends GlobalArgs {
  credential?: string;
  context?: string[];
  due?: boolean;
  status?: boolean;
  json?: boolean;
  resume?: boolean;
  cancel?: boolean;
  discard?: boolean;
}

export const rotateCommand: CommandImpl<RotateArgs> = {
  builder: (y) =>
    y
      .positional('credential', { type: 'string', describe: 'the credential to rotate (its [[credentials]] definition in credstash.toml has a rotation policy)' })
      .positional('context', { type: 'string', array: true, describe: 'encryption context key/value pairs: key=value (default: the policy\'s context)' })
      .option('due', { type: 'boolean', describe: 'rotate every credential whose newest version is older than its policy\'s `every`' })
      .option('status', { type: 'boolean', describe: 'show the last rotation, the next due time and any rotation in progress' })
      .option('json', { type: 'boolean', describe: '--status as JSON' })
      .option('resume', { type: 'boolean', describe: 'take over a rotation in progress whose process is gone (another host: before its lease ends)' })
      .option('cancel', { type: 'boolean', describe: 'roll back the rotation in progress: the target uses the current password again, no version is added' })
      .option('discard', { type: 'boolean', describe: 'forget the rotation in progress without touching the target (only when it never changed)' }),
  handler: async (argv) => {
    const modes = (['due', 'status', 'resume', 'cancel', 'discard'] as const).filter((m) => argv[m] === true);
    if (modes.length > 1) throw new UsageError(`--${modes[0]} and --${modes[1]} cannot be used together`);
    if (argv.json === true && argv.status !== true) throw new UsageError('--json goes with --status');
    if (argv.due === true && argv.credential !== undefined) throw new UsageError('--due rotates every due credential: give no credential name');
    if (argv.status !== true && argv.due !== true && argv.credential === undefined) throw new UsageError('give the credential to rotate, or --due, or --status');
    const explicit = argv.context !== undefined && argv.context.length > 0 ? contextFromArgs(argv.context) : undefined;
    await withStore(argv, async (store, config) => {
      const all = await policiesOf(config);
      const chosen = argv.credential === undefined ? all : [{ id: argv.credential, policy: policyFor(all, argv.credential) }];
      if (argv.status === true) return status(argv, store, chosen, explicit);
      const engine = await import('../../rotation/engine.js');
      if (argv.due === true) {
        const summary = await engine.rotateDue(store, chosen, {
          onResult: (r) => {
            const line =
              r.outcome === 'rotated' ? `Rotated ${displayText(r.id)} -- version ${r.version ?? '?'}`
              : r.outcome === 'rolled-back' ? `Rolled back the rotation of ${displayText(r.id)}; no version was added`
              : r.outcome === 'failed' ? `Failed ${displayText(r.id)}: ${displayText(r.message ?? '')}`
              : r.outcome === 'unknown-age' ? `Skipped ${displayText(r.id)}: its store does not keep when versions were written`
              : undefined;
            if (line !== undefined) argv.io.stdout.write(`${line}\n`);
          },
        });
        const count = (o: string): number => summary.results.filter((r) => r.outcome === o).length;
        const extra = [count('rolled-back') > 0 ? `, ${count('rolled-back')} rolled back` : '', count('unknown-age') > 0 ? `, ${count('unknown-age')} skipped` : ''].join('');
        argv.io.stdout.write(`${summary.rotated} rotated, ${summary.failed} failed, ${count('not-due')} not due${extra}\n`);
        const first = summary.results.find((r) => r.outcome === 'failed');
        if (first !== undefined) {
          throw new CredstashError(RotationStepError.code, `${summary.failed} of the due rotations failed (listed above); first: ${first.message ?? first.id}`);
        }
        return;
      }
      const { id, policy } = chosen[0] as { id: string; policy: RotationPolicy };
      const opts: import('../../rotation/engine.js').RotateOptions = {};
      if (explicit !== undefined) opts.context = explicit;
      if (argv.resume === true) opts.resume = true;
      if (argv.cancel === true) opts.cancel = true;
      if (argv.discard === true) opts.discard = true;
      const r = await engine.rotateCredential(store, id, policy, opts);
      const name = displayText(r.id);
      const how = `${r.rotator}, ${r.strategy}${r.resumed ? ', resumed' : ''}`;
      if (r.outcome === 'rotated') argv.io.stdout.write(`Rotated ${name} -- version ${r.version ?? '?'} (from ${r.previous}; ${how})\n`);
      else if (r.outcome === 'rolled-back') argv.io.stdout.write(`Rolled back the rotation of ${name}: version ${r.previous} is current and the target uses it; no version was added (${how})\n`);
      else if (r.previous === '') argv.io.stdout.write(`Discarded the unreadable rotation state of ${name}; the target was not changed\n`);
      else argv.io.stdout.write(`Discarded the rotation in progress of ${name}; the target was not changed, version ${r.previous} is current\n`);
    });
  },
};

/** The rotation policies of credstash.toml, in file order, checked (a ConfigError names the credential and key). */
async function policiesOf(config: ResolvedConfig): Promise<Array<{ id: string; policy: RotationPolicy }>> {
  const { parseRotationPolicy } = await import('../../rotation/policy.js');
  return [...config.rotation].map(([id, table]) => ({ id, policy: parseRotationPolicy(table, `${config.file ?? 'credstash.toml'}: credentials "${id}" rotation`) }));
}

function policyFor(all: Array<{ id: string; policy: RotationPolicy }>, id: string): RotationPolicy {
  const found = all.find((p) => p.id === id);
  if (found === undefined) {
    throw new ConfigError(`credential "${id}" has no rotation policy; add a rotation table (rotator, strategy, every, ...) to its [[credentials]] definition in credstash.toml`, {
      path: 'credentials',
    });
  }
  return found.policy;
}

async function status(argv: RotateArgs, store: CredentialStore, chosen: Array<{ id: string; policy: RotationPolicy }>, context: EncryptionContext | undefined): Promise<void> {
  const { rotationStatus } = await import('../../rotation/engine.js');
  const rows = [];
  for (const { id, policy } of chosen) rows.push(await rotationStatus(store, id, policy, context === undefined ? {} : { context }));
  if (argv.json === true) {
    argv.io.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return;
  }
  const { formatAge } = await import('../../core/errors.js');
  for (const r of rows) {
    const parts = [`${displayText(r.id)}: ${r.rotator} (${r.strategy})`];
    parts.push(r.version === undefined ? 'no version' : `version ${r.version}${r.lastRotatedAt === undefined ? '' : ` written ${r.lastRotatedAt}`}`);
    parts.push(r.every === undefined ? 'no schedule' : r.nextDueAt === undefined ? `every ${r.every}` : `every ${r.every}, next due ${r.nextDueAt}${r.due ? ' (due)' : ''}`);
    if (r.pending !== undefined) {
      parts.push(`in progress: step ${r.pending.step}, started ${formatAge(r.pending.ageMs)} ago by ${displayText(r.pending.owner)} (${r.pending.ownerState === 'unknown' ? 'another host' : r.pending.ownerState})`);
    }
    argv.io.stdout.write(`${parts.join('; ')}\n`);
  }
  if (rows.length === 0) argv.io.stdout.write('no credential has a rotation policy\n');
}
