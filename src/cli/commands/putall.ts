/**
 * `credstash putall <credentials> [key=value ...]`: store every `{"name": "value", ...}` pair of a JSON
 * object given inline, as `@file` or as `-` (stdin). Each item goes through the put path and prints
 * `<name> has been stored`; a failed item is reported on stderr and the rest continue. Unlike Python
 * credstash (always exit 0), the command exits 1 when any item failed. Object values are stored as
 * structured credentials.
 */
import { CredstashError, isCredstashError, PartialResultError } from '../../core/errors.js';
import type { CredentialValue } from '../../core/types.js';
import { LEGACY_DIGESTS } from '../../config/defaults.js';
import { contextFromArgs, withStore, writeVersionArg, type GlobalArgs } from '../context.js';
import { UsageError } from '../errors.js';
import { readTextArg } from '../input.js';
import { assertFormatApplies, FORMAT_OPTION, parseJsonObject, writeOptions } from './put.js';
import { displayText } from '../output/terminal.js';
import type { CommandImpl } from './index.js';

interface PutAllArgs extends GlobalArgs {
  credentials: string;
  context?: string[];
  key?: string;
  comment?: string;
  version?: string;
  autoversion?: boolean;
  digest?: string;
  legacy?: boolean;
  format?: string;
}

export const putallCommand: CommandImpl<PutAllArgs> = {
  builder: (y) =>
    y
      .positional('credentials', { type: 'string', describe: 'a JSON object of name/value pairs; @file reads a file, - reads stdin', demandOption: true })
      .positional('context', { type: 'string', array: true, describe: 'encryption context key/value pairs: key=value' })
      .option('key', { alias: 'k', type: 'string', describe: 'KMS key (default alias/credstash)', requiresArg: true })
      .option('comment', { alias: 'c', type: 'string', describe: 'comment stored with every item', requiresArg: true })
      .option('version', { alias: 'v', type: 'string', describe: 'version to store (a positive integer; default 1)', requiresArg: true })
      .option('autoversion', { alias: 'a', type: 'boolean', describe: 'store the next version of each credential' })
      .option('digest', { alias: 'd', choices: LEGACY_DIGESTS, describe: 'HMAC digest of legacy items (default SHA256; implies --format legacy)' })
      .option('format', FORMAT_OPTION)
      .option('legacy', { type: 'boolean', describe: 'the same as --format legacy' }),
  handler: (argv) =>
    withStore(argv, async (store, config) => {
      assertFormatApplies(store, argv);
      const context = contextFromArgs(argv.context);
      const version = argv.autoversion === true ? undefined : writeVersionArg(argv.version);
      const items = parseJsonObject(await readTextArg(argv.credentials, argv.io, 'the putall JSON (binary values go one at a time: put NAME @file)'), 'credentials');
      let failed = 0;
      const names = Object.keys(items);
      for (const name of names) {
        const raw = items[name];
        let value: CredentialValue;
        if (typeof raw === 'string') value = raw;
        else if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) value = raw;
        else {
          failed++;
          argv.io.stderr.write(`credstash: "${displayText(name)}" was not stored: its value must be a string or a JSON object\n`);
          continue;
        }
        const opts = writeOptions(argv, context, version);
        const def = config.credentials.get(name);
        if (def !== undefined) opts.definition = def;
        try {
          await store.storeCredential(name, value, opts);
          argv.io.stdout.write(`${displayText(name)} has been stored\n`);
        } catch (err) {
          if (err instanceof UsageError) throw err;
          failed++;
          const msg = isCredstashError(err) ? err.message : `unexpected error (${err instanceof Error ? err.name : typeof err})`;
          argv.io.stderr.write(`credstash: "${displayText(name)}" was not stored: ${displayText(msg)}\n`);
        }
      }
      if (failed > 0) {
        throw new CredstashError(PartialResultError.code, `${failed} of ${names.length} credential(s) were not stored`, { store: store.description });
      }
    }),
};
