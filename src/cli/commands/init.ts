/**
 * `credstash init [--path P] [--force]`: write credstash.toml with a new Fernet key and the local keystore
 * as the store (file 0600, keystore folder 0700). Refuses to replace an existing file without --force;
 * warns on stderr when the file is in a git work tree and not ignored.
 */
import type { CommandModule } from 'yargs';
import type { GlobalArgs } from '../context.js';

interface InitArgs extends GlobalArgs {
  path?: string;
  force?: boolean;
}

export const initCommand: CommandModule<GlobalArgs, InitArgs> = {
  command: 'init',
  describe: 'Create credstash.toml with a new Fernet key and a local keystore',
  builder: (y) =>
    y
      .option('path', { type: 'string', describe: 'config file (or folder) to write (default ./credstash.toml)', requiresArg: true })
      .option('force', { type: 'boolean', describe: 'replace an existing file (its key is lost)' }) as never,
  handler: async (argv) => {
    const { initConfig } = await import('../../config/init.js');
    const result = initConfig({ path: argv.path ?? argv.config, force: argv.force === true, cwd: argv.io.cwd, env: argv.io.env });
    for (const w of result.warnings) argv.io.stderr.write(`credstash: ${w}\n`);
    argv.io.stdout.write(`created ${result.file} with a new Fernet key; credentials will be stored in ${result.keystore}\n`);
  },
};
