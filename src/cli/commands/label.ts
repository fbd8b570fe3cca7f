/**
 * `credstash label <credential> <label> -v N [--expect M | --new] [key=value ...]`: create a label, or move
 * it to version N, by compare-and-set (docs/lifecycle.md "Labels"). Prints
 * `NAME: label LABEL -> version N (was M)` (or `(new)`). `--expect M`: move only if the label now points at
 * version M; `--new`: only if it does not exist yet; either way a label changed by someone else meanwhile is
 * LabelConflictError (exit 1), and nothing was changed.
 */
import { contextFromArgs, readVersionArg, withStore, type GlobalArgs } from '../context.js';
import { UsageError } from '../errors.js';
import { lifecycleStore } from '../lifecycle.js';
import { displayText } from '../output/terminal.js';
import type { CommandImpl } from './index.js';

interface LabelArgs extends GlobalArgs {
  credential: string;
  label: string;
  context?: string[];
  version?: string;
  expect?: string;
  new?: boolean;
}

export const labelCommand: CommandImpl<LabelArgs> = {
  builder: (y) =>
    y
      .positional('credential', { type: 'string', describe: 'the name of the credential', demandOption: true })
      .positional('label', { type: 'string', describe: 'the label: a lower-case word such as current, previous, next', demandOption: true })
      .positional('context', { type: 'string', array: true, describe: 'encryption context of that version: key=value (some tiers authenticate the label with it)' })
      .option('version', { alias: 'v', type: 'string', describe: 'the version the label points at', requiresArg: true })
      .option('expect', { type: 'string', describe: 'move the label only if it now points at this version', requiresArg: true })
      .option('new', { type: 'boolean', describe: 'create the label only if it does not exist yet' }),
  handler: (argv) => {
    const version = readVersionArg(argv.version);
    if (version === undefined) throw new UsageError('label: give the version the label points at with -v N');
    if (argv.new === true && argv.expect !== undefined) throw new UsageError('give --expect or --new, not both');
    const expect = argv.new === true ? null : readVersionArg(argv.expect);
    const context = contextFromArgs(argv.context);
    return withStore(argv, async (store) => {
      const r = await lifecycleStore(store, 'labels').labelCredential(argv.credential, argv.label, {
        version,
        context,
        ...(expect === undefined ? {} : { expect }),
      });
      const was = r.previous === undefined ? 'new' : r.previous === r.version ? 'unchanged' : `was ${displayText(r.previous)}`;
      argv.io.stdout.write(`${displayText(r.id)}: label ${displayText(r.label)} -> version ${displayText(r.version)} (${was})\n`);
    });
  },
};
