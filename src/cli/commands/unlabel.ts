/**
 * `credstash unlabel <credential> <label> [--expect M]`: remove a label (compare-and-set); the versions are
 * untouched. Prints `NAME: label LABEL removed (was version M)`. A label that does not exist is an error
 * (exit 1), as `delete` of an unknown name is.
 */
import { readVersionArg, withStore, type GlobalArgs } from '../context.js';
import { lifecycleStore } from '../lifecycle.js';
import { displayText } from '../output/terminal.js';
import type { CommandImpl } from './index.js';

interface UnlabelArgs extends GlobalArgs {
  credential: string;
  label: string;
  expect?: string;
}

export const unlabelCommand: CommandImpl<UnlabelArgs> = {
  builder: (y) =>
    y
      .positional('credential', { type: 'string', describe: 'the name of the credential', demandOption: true })
      .positional('label', { type: 'string', describe: 'the label to remove', demandOption: true })
      .option('expect', { type: 'string', describe: 'remove the label only if it now points at this version', requiresArg: true }),
  handler: (argv) => {
    const expect = readVersionArg(argv.expect);
    return withStore(argv, async (store) => {
      const r = await lifecycleStore(store, 'labels').unlabelCredential(argv.credential, argv.label, expect === undefined ? {} : { expect });
      argv.io.stdout.write(`${displayText(r.id)}: label ${displayText(r.label)} removed (was version ${displayText(r.version)})\n`);
    });
  },
};
