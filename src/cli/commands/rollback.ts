/**
 * `credstash rollback <credential> --to N [--label L ...] [-c COMMENT] [key=value ...]`: store version N's
 * value again as a new version (same context and definition) through the race-safe autoversion path, then
 * move each `--label` to it. Never rewrites an old version. Prints
 * `NAME: version 6 stored with the value of version 3` and, per label, `NAME: label L -> version 6`.
 */
import { contextFromArgs, readVersionArg, withStore, type GlobalArgs } from '../context.js';
import { UsageError } from '../errors.js';
import { lifecycleStore } from '../lifecycle.js';
import { displayText } from '../output/terminal.js';
import type { CommandImpl } from './index.js';

interface RollbackArgs extends GlobalArgs {
  credential: string;
  context?: string[];
  to?: string;
  label?: string[];
  comment?: string;
}

export const rollbackCommand: CommandImpl<RollbackArgs> = {
  builder: (y) =>
    y
      .positional('credential', { type: 'string', describe: 'the name of the credential', demandOption: true })
      .positional('context', { type: 'string', array: true, describe: 'encryption context version N was stored with: key=value' })
      .option('to', { type: 'string', describe: 'the version whose value becomes the new version', requiresArg: true })
      .option('label', { type: 'string', array: true, repeatable: true, describe: 'move this label to the new version (repeat for more)', requiresArg: true })
      .option('comment', { alias: 'c', type: 'string', describe: 'comment of the new version (default: "rollback to version N")', requiresArg: true }),
  handler: (argv) => {
    const to = readVersionArg(argv.to);
    if (to === undefined) throw new UsageError('rollback: give the version to go back to with --to N');
    const context = contextFromArgs(argv.context);
    return withStore(argv, async (store) => {
      const r = await lifecycleStore(store, 'rollback').rollbackCredential(argv.credential, {
        to,
        context,
        labels: argv.label ?? [],
        ...(argv.comment === undefined ? {} : { comment: argv.comment }),
      });
      const name = displayText(r.id);
      argv.io.stdout.write(
        `${name}: version ${r.version} stored with the value of version ${displayText(r.from)}\n` + r.labels.map((l) => `${name}: label ${displayText(l)} -> version ${r.version}\n`).join(''),
      );
    });
  },
};
