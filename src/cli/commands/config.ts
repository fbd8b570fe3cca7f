/**
 * `credstash config`: which configuration the other commands would use, and where it came from: the config
 * file and the rule that found it (`--config`, CREDSTASH_CONFIG, the working directory, the user config
 * folder), the store type and the names of its config keys, the store module, the audit log and how many
 * Fernet keys there are. Never a value and never a key: store config values may hold passwords. It opens no
 * store and imports no store module, so it is safe to run on a config one does not trust yet (a config file
 * someone else owns or may write is refused here as everywhere, with the reason).
 */
import { loadCliConfig, type GlobalArgs } from '../context.js';
import type { CommandImpl } from './index.js';

const SOURCES: Record<string, string> = {
  flag: 'named by --config',
  env: 'named by CREDSTASH_CONFIG',
  cwd: 'found in the working directory',
  user: 'found in the user config folder',
};

export const configCommand: CommandImpl<GlobalArgs> = {
  handler: async (argv) => {
    const config = await loadCliConfig(argv);
    const lines: string[] = [];
    lines.push(
      config.file === undefined
        ? 'config file: none (built-in defaults: the DynamoDB table of Python credstash)'
        : `config file: ${config.file} (${SOURCES[config.fileSource ?? ''] ?? 'found'})`,
    );
    const keys = Object.keys(config.store.config ?? {}).sort();
    lines.push(`store: ${config.store.type}${config.store.name === undefined ? '' : ` "${config.store.name}"`} (from ${sourceName(config.storeSources.type)})`);
    if (keys.length > 0) lines.push(`store config keys: ${keys.join(', ')}`);
    if (config.storeModule !== undefined) lines.push(`store module: ${config.storeModule}`);
    lines.push(`audit log: ${config.auditLog ?? 'none'}`);
    const fromEnv = (argv.io.env.CREDSTASH_FERNET_KEY ?? '').trim() !== '';
    lines.push(`fernet keys: ${config.fernetKeys.length}${config.fernetKeys.length === 0 ? '' : ` (from ${fromEnv ? 'CREDSTASH_FERNET_KEY' : 'the config file'})`}`);
    argv.io.stdout.write(lines.map((l) => `${l.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?')}\n`).join(''));
  },
};

function sourceName(source: string | undefined): string {
  if (source === 'flag') return '--store-type';
  if (source === 'env') return 'CREDSTASH_STORE_TYPE';
  if (source === 'file') return 'the config file';
  return 'the defaults';
}
