/**
 * `credstash rotate-key`: generate a new Fernet key, write it FIRST into credstash.toml `[fernet] keys`
 * (the old keys stay, so every existing token still opens), then re-encrypt every stored version in the
 * configured Fernet tier under it. If the re-encryption is interrupted nothing is lost: the config already
 * lists the old keys, and `credstash rotate-key --reencrypt-only` finishes the job. Never prints a key.
 *
 * One lock (`credstash.toml.lock`, src/config/config-lock.ts) is held from before the config is read until
 * the re-encryption has committed, so a second rotator waits and then extends the list the first one wrote.
 * The keys encrypted under are those just read from the file on disk, and the store checks again, under its
 * own write lock, that the file's first key is still the one it encrypts with; otherwise it writes nothing.
 */
import { ConfigError } from '../../core/errors.js';
import { openCliStore, type GlobalArgs } from '../context.js';
import type { CommandImpl } from './index.js';

interface RotateKeyArgs extends GlobalArgs {
  reencryptOnly?: boolean;
}

export const rotateKeyCommand: CommandImpl<RotateKeyArgs> = {
  builder: (y) =>
    y.option('reencrypt-only', {
      type: 'boolean',
      describe: 'do not add a key: re-encrypt under the current first key (finishes an interrupted rotation)',
    }),
  handler: async (argv) => {
    const { isKeyRotationCapable, generateFernetKey } = await import('../../index.js');
    const { store, config } = await openCliStore(argv);
    try {
      if (!isKeyRotationCapable(store)) {
        throw new ConfigError(`${store.description} is not encrypted with the project Fernet keys; rotate-key applies to the local and sql stores`, {
          path: 'credential_store.type',
        });
      }
      const fromEnv = argv.io.env.CREDSTASH_FERNET_KEY !== undefined && argv.io.env.CREDSTASH_FERNET_KEY.trim() !== '';
      if (argv.reencryptOnly !== true) {
        if (fromEnv) {
          throw new ConfigError(
            'the Fernet keys come from CREDSTASH_FERNET_KEY, which rotate-key cannot edit; put a new key first in that list yourself, then run `credstash rotate-key --reencrypt-only`',
            { path: 'CREDSTASH_FERNET_KEY' },
          );
        }
        if (config.file === undefined) throw new ConfigError('no credstash.toml found; run `credstash init` first', { path: 'fernet.keys' });
      }
      const { realConfigPath, withConfigLock } = await import('../../config/config-lock.js');
      // Edit the file itself: a credstash.toml that is a symlink to a shared file stays a symlink, and the
      // shared file (which other projects read) gets the new key.
      const file = config.file === undefined ? undefined : realConfigPath(config.file);
      const { addFirstFernetKey, readFernetKeysFromDisk } = await import('../../config/rotate-key.js');
      const rotate = async (assertHeld: () => void): Promise<readonly string[]> => {
        let keys: readonly string[] = config.fernetKeys;
        let currentKeys: (() => readonly string[]) | undefined;
        if (!fromEnv && file !== undefined) {
          // The file as it is now, under the lock: never the copy loaded before the lock was taken.
          currentKeys = () => {
            assertHeld();
            return readFernetKeysFromDisk(file);
          };
          if (argv.reencryptOnly === true) keys = currentKeys();
          else {
            keys = addFirstFernetKey(file, generateFernetKey(), assertHeld);
            argv.io.stdout.write(`added a new first Fernet key to ${file} (now ${keys.length} keys; the older ones still decrypt)\n`);
          }
        }
        const result = await store.reencryptAll(currentKeys === undefined ? { keys } : { keys, currentKeys });
        argv.io.stdout.write(`${result.message}\n`);
        return keys;
      };
      const keys =
        file === undefined ? await rotate(() => undefined) : await withConfigLock(file, { purpose: 'rotate-key' }, (lock) => rotate(() => lock.assertHeld()));
      if (keys.length > 1) {
        argv.io.stdout.write(
          `the older key(s) can be removed from [fernet] keys once every copy of this store (and every other store using them) has been rotated; ` +
            `a put that was running meanwhile may have used an older key, so first run \`credstash rotate-key --reencrypt-only\` and check it reports 0 under an older key\n`,
        );
      }
    } finally {
      await store.close();
    }
  },
};
