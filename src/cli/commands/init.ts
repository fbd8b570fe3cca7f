/**
 * `credstash init [--path P] [--force] [--allow-unreadable]`: write credstash.toml with a new Fernet key and
 * the local keystore as the store (file 0600, every folder it creates 0700). Refuses to replace an existing
 * file without --force; with it, the old file's keys are kept after the new one and the old file is backed
 * up (0600) beside it. Refuses when the keystore already holds versions no key of the new file opens (the
 * config was deleted), unless --allow-unreadable. Warns on stderr when the file is in a git work tree and not
 * ignored.
 */
import type { GlobalArgs } from '../context.js';
import type { CommandImpl } from './index.js';

interface InitArgs extends GlobalArgs {
  path?: string;
  force?: boolean;
  allowUnreadable?: boolean;
}

export const initCommand: CommandImpl<InitArgs> = {
  builder: (y) =>
    y
      .option('path', { type: 'string', describe: 'config file to write, or a folder (existing, or ending in /) to write credstash.toml into (default ./credstash.toml)', requiresArg: true })
      .option('force', { type: 'boolean', describe: 'replace an existing file (its keys are kept after the new one; the old file is backed up 0600)' })
      .option('allow-unreadable', {
        type: 'boolean',
        describe: 'write a new key even though the keystore holds versions no key of the new file can read (they stay unreadable)',
      }),
  handler: async (argv) => {
    const { initConfig } = await import('../../config/init.js');
    const result = await initConfig({
      path: argv.path ?? argv.config,
      force: argv.force === true,
      allowUnreadable: argv.allowUnreadable === true,
      cwd: argv.io.cwd,
      env: argv.io.env,
    });
    for (const w of result.warnings) argv.io.stderr.write(`credstash: ${w}\n`);
    const kept = result.backup === undefined ? '' : `; the ${result.keptKeys} key(s) of the file it replaced are kept after it, and that file was backed up to ${result.backup}`;
    argv.io.stdout.write(`created ${result.file} with a new Fernet key${kept}; credentials will be stored in ${result.keystore}\n`);
  },
};
