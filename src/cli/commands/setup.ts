/**
 * `credstash setup`: create the store's backing resources (DynamoDB: an on-demand table, or provisioned
 * with --provisioned / --read-capacity / --write-capacity; --tags K=V ...). Idempotent. A store with nothing
 * to create says so. `--save-kms-region R` writes Python credstash's ~/.credstash and then still sets up.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../../core/atomic-file.js';
import { ConfigError } from '../../core/errors.js';
import { isSetupCapable } from '../../core/store.js';
import type { SetupOptions } from '../../core/types.js';
import { withStore, type GlobalArgs } from '../context.js';
import { UsageError } from '../errors.js';
import type { CommandImpl } from './index.js';

interface SetupArgs extends GlobalArgs {
  tags?: string[];
  provisioned?: boolean;
  readCapacity?: number;
  writeCapacity?: number;
  saveKmsRegion?: string;
}

export const setupCommand: CommandImpl<SetupArgs> = {
  builder: (y) =>
    y
      .option('tags', { type: 'string', array: true, describe: 'tags for the table: Key=Value ...' })
      .option('provisioned', { type: 'boolean', describe: 'provisioned capacity instead of on-demand' })
      .option('read-capacity', { type: 'number', describe: 'provisioned read capacity units (implies --provisioned; default 1)', requiresArg: true })
      .option('write-capacity', { type: 'number', describe: 'provisioned write capacity units (implies --provisioned; default 1)', requiresArg: true })
      .option('save-kms-region', { type: 'string', describe: 'save the KMS region in ~/.credstash (Python credstash compatible)', requiresArg: true }),
  handler: async (argv) => {
    const opts = setupOptions(argv);
    if (argv.saveKmsRegion !== undefined) {
      await saveKmsRegion(argv.saveKmsRegion, argv.io.env);
      argv.io.stdout.write(`KMS region set to ${argv.saveKmsRegion}\n`);
    }
    await withStore(argv, async (store) => {
      if (!isSetupCapable(store)) {
        argv.io.stdout.write(`${store.description} needs no setup\n`);
        return;
      }
      const result = await store.setup(opts);
      argv.io.stdout.write(`${result.message}\n`);
    });
  },
};

export function setupOptions(argv: Pick<SetupArgs, 'tags' | 'provisioned' | 'readCapacity' | 'writeCapacity'>): SetupOptions {
  const opts: SetupOptions = {};
  if (argv.tags !== undefined && argv.tags.length > 0) {
    // Entries, not `tags[key] = ...`: a `__proto__=x` tag would set the prototype and be dropped silently.
    const tags: Array<[string, string]> = [];
    for (const [n, t] of argv.tags.entries()) {
      const i = t.indexOf('=');
      // Which tag, never its text: a usage error does not quote what was typed.
      if (i <= 0) throw new UsageError(`--tags: tag ${n + 1} is not of the form Key=Value`);
      tags.push([t.slice(0, i), t.slice(i + 1)]);
    }
    opts.tags = Object.fromEntries(tags);
  }
  for (const [flag, v] of [['--read-capacity', argv.readCapacity], ['--write-capacity', argv.writeCapacity]] as const) {
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 1)) throw new UsageError(`${flag} must be a positive integer`);
  }
  if (argv.provisioned === true || argv.readCapacity !== undefined || argv.writeCapacity !== undefined) {
    opts.billing = 'provisioned';
    opts.readCapacity = argv.readCapacity ?? 1;
    opts.writeCapacity = argv.writeCapacity ?? 1;
  }
  return opts;
}

/**
 * Python credstash's `~/.credstash`: a JSON object whose `kms-region` the config loader reads back. Every other
 * key in it is kept (merged, never dropped); written atomically, 0600 whatever the umask. A file that is not
 * a JSON object is an error naming the file, never silently replaced.
 */
async function saveKmsRegion(region: string, env: NodeJS.ProcessEnv): Promise<void> {
  if (!/^[a-z0-9-]{1,64}$/.test(region)) throw new UsageError('--save-kms-region: not an AWS region name');
  const home = env.HOME !== undefined && env.HOME !== '' ? env.HOME : homedir();
  const file = join(home, '.credstash');
  let saved: Record<string, unknown> = {};
  let text: string | undefined;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new ConfigError(`cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'}); the KMS region was not saved`, { path: file });
    }
  }
  if (text !== undefined && text.trim() !== '') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new ConfigError(`${file} is not a JSON object; fix or delete it (the KMS region was not saved)`, { path: file });
    }
    saved = parsed as Record<string, unknown>;
  }
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writeFileAtomic(file, `${JSON.stringify({ ...saved, 'kms-region': region })}\n`, { mode: 0o600 });
  } catch (err) {
    throw new ConfigError(`cannot write ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'}); the KMS region was not saved`, { path: file });
  }
}
