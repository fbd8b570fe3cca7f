/**
 * `credstash prune <credential> --keep N [--dry-run]`: delete all but the newest N versions (N >= 1: the
 * newest is never deleted). Prints one `Deleting <name> -- version <v>` line per version, as `delete` does.
 */
import { prune } from '../../ops/prune.js';
import { withStore, type GlobalArgs } from '../context.js';
import { UsageError } from '../errors.js';
import { displayText } from '../output/terminal.js';
import type { CommandImpl } from './index.js';

interface PruneArgs extends GlobalArgs {
  credential: string;
  keep: number;
  dryRun?: boolean;
}

export const pruneCommand: CommandImpl<PruneArgs> = {
  builder: (y) =>
    y
      .positional('credential', { type: 'string', describe: 'the credential id', demandOption: true })
      .option('keep', { type: 'number', describe: 'how many of the newest versions to keep (at least 1)', demandOption: true, requiresArg: true })
      .option('dry-run', { type: 'boolean', describe: 'print what would be deleted, delete nothing' }),
  handler: async (argv) => {
    if (!Number.isSafeInteger(argv.keep) || argv.keep < 1) throw new UsageError('--keep must be a positive integer (the newest version is never deleted)');
    await withStore(argv, async (store) => {
      const r = await prune(store, argv.credential, argv.keep, { dryRun: argv.dryRun === true });
      const verb = argv.dryRun === true ? 'Would delete' : 'Deleting';
      argv.io.stdout.write(r.deleted.map((v) => `${verb} ${displayText(r.id)} -- version ${v}\n`).join(''));
      argv.io.stdout.write(`kept ${r.kept.length} version(s) of ${displayText(r.id)}: ${r.kept.join(', ')}\n`);
    });
  },
};
