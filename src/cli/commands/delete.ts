/**
 * `credstash delete <credential>`: every version, printing `Deleting <name> -- version <v>` for each as
 * Python credstash does; `-v N` deletes one version. An unknown name (or version) is an error (exit 1).
 */
import { padVersion } from '../../core/version.js';
import { chainTarget, STORE_OPTION } from '../chain-target.js';
import { readVersionArg, withStore, type GlobalArgs } from '../context.js';
import { displayText } from '../output/terminal.js';
import type { CommandImpl } from './index.js';

interface DeleteArgs extends GlobalArgs {
  credential: string;
  version?: string;
  store?: string;
}

export const deleteCommand: CommandImpl<DeleteArgs> = {
  builder: (y) =>
    y
      .positional('credential', { type: 'string', describe: 'the name of the credential to delete', demandOption: true })
      .option('version', { alias: 'v', type: 'string', describe: 'delete only this version', requiresArg: true })
      .option('store', STORE_OPTION),
  handler: (argv) =>
    withStore(argv, async (store) => {
      const version = readVersionArg(argv.version);
      const result = await store.deleteCredential(argv.credential, { ...(version === undefined ? {} : { version }), ...chainTarget(store, argv.store) });
      // Each version as stored (as Python prints it): an older client's unpadded `1` stays `1`.
      argv.io.stdout.write(result.deleted.map((v, i) => `Deleting ${displayText(result.id)} -- version ${displayText(result.stored?.[i] ?? padVersion(v))}\n`).join(''));
    }),
};
