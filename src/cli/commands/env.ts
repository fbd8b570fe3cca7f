/**
 * `credstash env [-p PREFIX] [--strict] [key=value ...]`: `export NAME='value'` lines for `eval`, one per
 * credential, names as `exec` builds them, values in POSIX single quotes (a `'` becomes `'\''`), so
 * `eval "$(credstash env)"` reproduces every value exactly: quotes, newlines and `$` included. A name that
 * would change how the shell or the programs it starts behave (PATH, PROMPT_COMMAND, LD_PRELOAD, ...) is
 * refused unless named with `--allow-env`, as in `exec`.
 */
import { contextFromArgs, withStore, type GlobalArgs } from '../context.js';
import { ALLOW_ENV_OPTION, allowEnvArg } from '../env-options.js';
import { shellQuote } from '../output/dotenv.js';
import { envFromStore } from './exec.js';
import type { CommandImpl } from './index.js';

interface EnvArgs extends GlobalArgs {
  context?: string[];
  strict?: boolean;
  prefix?: string;
  allowEnv?: string[];
}

export const envCommand: CommandImpl<EnvArgs> = {
  builder: (y) =>
    y
      .positional('context', { type: 'string', array: true, describe: 'encryption context key/value pairs: key=value' })
      .option('strict', { type: 'boolean', describe: 'fail if any credential cannot be read with this context' })
      .option('prefix', { alias: 'p', type: 'string', describe: 'only credentials whose id starts with PREFIX; PREFIX is removed from the names', requiresArg: true })
      .option('allow-env', ALLOW_ENV_OPTION),
  handler: (argv) =>
    withStore(argv, async (store) => {
      const allow = allowEnvArg(argv.allowEnv);
      const env = await envFromStore(
        store,
        { context: contextFromArgs(argv.context), strict: argv.strict === true, allow, ...(argv.prefix === undefined ? {} : { prefix: argv.prefix }) },
        argv.io,
      );
      const names = [...env.keys()].sort();
      argv.io.stdout.write(names.map((n) => `export ${n}=${shellQuote(env.get(n) as string)}\n`).join(''));
    }),
};
