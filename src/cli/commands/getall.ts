/**
 * `credstash getall [key=value ...]`: every credential (newest version, or `-v`), decrypted, in
 * `-f json|yaml|csv|dotenv` (default json) followed by a newline, as Python credstash prints it. Any
 * failure fails the command with nothing on stdout; `--skip-errors` prints the rest and names each
 * skipped credential on stderr.
 */
import { contextFromArgs, readVersionArg, withStore, type GlobalArgs } from '../context.js';
import { ALLOW_ENV_OPTION, allowEnvArg } from '../env-options.js';
import { displayText } from '../output/terminal.js';
import { formatCredentials, OUTPUT_FORMATS, type OutputFormat } from '../output/index.js';
import type { CommandImpl } from './index.js';

interface GetAllArgs extends GlobalArgs {
  context?: string[];
  version?: string;
  format: OutputFormat;
  skipErrors?: boolean;
  allowEnv?: string[];
}

export const getallCommand: CommandImpl<GetAllArgs> = {
  builder: (y) =>
    y
      .positional('context', { type: 'string', array: true, describe: 'encryption context key/value pairs: key=value' })
      .option('version', { alias: 'v', type: 'string', describe: 'get this version of every credential (default: the latest)', requiresArg: true })
      .option('format', { alias: 'f', choices: OUTPUT_FORMATS, default: 'json' as OutputFormat, describe: 'output format' })
      .option('skip-errors', { type: 'boolean', describe: 'print what can be read; name the credentials that cannot on stderr' })
      .option('allow-env', { ...ALLOW_ENV_OPTION, describe: `-f dotenv: ${ALLOW_ENV_OPTION.describe ?? ''}` }),
  handler: (argv) =>
    withStore(argv, async (store) => {
      const context = contextFromArgs(argv.context);
      const version = readVersionArg(argv.version);
      const allowEnv = allowEnvArg(argv.allowEnv);
      const result = await store.getAllCredentials({ context, version, skipErrors: argv.skipErrors === true });
      const text = formatCredentials(result.credentials, argv.format, { allowEnv });
      for (const s of result.skipped) argv.io.stderr.write(`credstash: skipped "${displayText(s.id)}": ${displayText(s.message)}\n`);
      argv.io.stdout.write(`${text}\n`);
    }),
};
