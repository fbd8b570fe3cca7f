/**
 * `credstash rotate-key`: generate a new Fernet key, write it FIRST into credstash.toml `[fernet] keys`
 * (the old keys stay, so every existing token still opens), then re-encrypt every stored version in the
 * configured Fernet tier under it. If the re-encryption is interrupted nothing is lost: the config already
 * lists the old keys, and `credstash rotate-key --reencrypt-only` finishes the job. Never prints a key.
 */
import type { CommandModule } from 'yargs';
import { ConfigError } from '../../core/errors.js';
import { openCliStore, type GlobalArgs } from '../context.js';

interface RotateKeyArgs extends GlobalArgs {
  reencryptOnly?: boolean;
}

export const rotateKeyCommand: CommandModule<GlobalArgs, RotateKeyArgs> = {
  command: 'rotate-key',
  describe: 'Add a new first Fernet key to credstash.toml and re-encrypt every stored version under it',
  builder: (y) =>
    y.option('reencrypt-only', {
      type: 'boolean',
      describe: 'do not add a key: re-encrypt under the current first key (finishes an interrupted rotation)',
    }) as never,
  handler: async (argv) => {
    const { isKeyRotationCapable, generateFernetKey } = await import('../../index.js');
    const { store, config } = await openCliStore(argv);
    try {
      if (!isKeyRotationCapable(store)) {
        throw new ConfigError(`${store.description} is not encrypted with the project Fernet keys; rotate-key applies to the local and sql stores`, {
          path: 'credential_store.type',
        });
      }
      let keys = config.fernetKeys;
      if (argv.reencryptOnly !== true) {
        if (argv.io.env.CREDSTASH_FERNET_KEY !== undefined && argv.io.env.CREDSTASH_FERNET_KEY.trim() !== '') {
          throw new ConfigError(
            'the Fernet keys come from CREDSTASH_FERNET_KEY, which rotate-key cannot edit; put a new key first in that list yourself, then run `credstash rotate-key --reencrypt-only`',
            { path: 'CREDSTASH_FERNET_KEY' },
          );
        }
        if (config.file === undefined) throw new ConfigError('no credstash.toml found; run `credstash init` first', { path: 'fernet.keys' });
        const { addFirstFernetKey } = await import('../../config/rotate-key.js');
        keys = addFirstFernetKey(config.file, generateFernetKey());
        argv.io.stdout.write(`added a new first Fernet key to ${config.file} (now ${keys.length} keys; the older ones still decrypt)\n`);
      }
      const result = await store.reencryptAll({ keys });
      argv.io.stdout.write(`${result.message}\n`);
      if (keys.length > 1) {
        argv.io.stdout.write(
          `the older key(s) can be removed from [fernet] keys once every copy of this store (and every other store using them) has been rotated\n`,
        );
      }
    } finally {
      await store.close();
    }
  },
};
