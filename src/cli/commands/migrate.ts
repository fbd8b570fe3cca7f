/**
 * `credstash migrate --from STORE --to STORE [--all-versions] [--reencrypt] [--pattern G] [key=value ...]`
 * (STORE: see ../store-spec.ts; either side defaults to the configured store). Copies keep version numbers,
 * so running the same command again copies nothing twice and resumes an interrupted run; `--reencrypt`
 * rewrites the newest version of each credential in one store as a new version, unless decrypting it shows it
 * is already in the store's preferred format (src/ops/migrate.ts).
 * A progress bar goes to stderr only when stderr is a terminal; the summary always goes to stdout.
 */
import { ValidationError } from '../../core/errors.js';
import type { CredentialStore } from '../../core/store.js';
import { migrate, type MigrateProgress } from '../../ops/migrate.js';
import { contextFromArgs, openCliStore, type GlobalArgs } from '../context.js';
import { UsageError } from '../errors.js';
import { openStoreSpec } from '../store-spec.js';
import { displayText } from '../output/terminal.js';
import type { CommandImpl } from './index.js';

interface MigrateArgs extends GlobalArgs {
  context?: string[];
  from?: string;
  to?: string;
  allVersions?: boolean;
  reencrypt?: boolean;
  pattern?: string;
  format?: string;
}

export const migrateCommand: CommandImpl<MigrateArgs> = {
  builder: (y) =>
    y
      .positional('context', { type: 'string', array: true, describe: 'encryption context to read and write with: key=value' })
      .option('from', { type: 'string', describe: 'source: a config file, or TYPE:key=value,... (default: the configured store)', requiresArg: true })
      .option('to', { type: 'string', describe: 'destination, same forms (default: the configured store)', requiresArg: true })
      .option('all-versions', { type: 'boolean', describe: 'copy every version, not only the newest' })
      .option('reencrypt', { type: 'boolean', describe: "write each credential's newest version again, as a new version, when decrypting it shows it is not in the store's preferred format" })
      .option('pattern', { type: 'string', describe: 'only ids matching this glob (* and ?)', requiresArg: true })
      .option('format', { type: 'string', describe: 'write format for the destination (dynamodb: gcm or legacy; default: the store\'s format, auto)', requiresArg: true })
      .example('credstash migrate --from dynamodb:table=credential-store --to local:path=.credstash/keystore.json --all-versions', '')
      .example('credstash migrate --reencrypt --from dynamodb:table=credential-store', 're-encrypt legacy items as AES-GCM'),
  handler: async (argv) => {
    const context = contextFromArgs(argv.context);
    if (argv.reencrypt === true) {
      if (argv.to !== undefined && argv.from !== undefined && argv.to !== argv.from) throw new UsageError('--reencrypt works in one store; give --from or --to, not two different stores');
    } else {
      if (argv.from === undefined && argv.to === undefined) throw new UsageError('give --from STORE, --to STORE or both (the other side is the configured store)');
      if (argv.from === argv.to) throw new UsageError('--from and --to name the same store; use --reencrypt to re-encrypt in place');
    }
    const open = async (spec: string | undefined, flag: string): Promise<CredentialStore> => (spec === undefined ? (await openCliStore(argv)).store : openStoreSpec(spec, argv, flag));
    const opened: CredentialStore[] = [];
    try {
      const from = await open(argv.reencrypt === true ? argv.from ?? argv.to : argv.from, argv.reencrypt === true && argv.from === undefined ? '--to' : '--from');
      opened.push(from);
      const to = argv.reencrypt === true ? from : await open(argv.to, '--to');
      if (to !== from) opened.push(to);
      const bar = progressBar(argv.io.stderr);
      let report;
      try {
        report = await migrate(from, to, {
          context,
          allVersions: argv.allVersions === true,
          reencrypt: argv.reencrypt === true,
          ...(argv.pattern === undefined ? {} : { pattern: argv.pattern }),
          ...(argv.format === undefined ? {} : { format: argv.format }),
          ...(bar === undefined ? {} : { onProgress: bar.update }),
        });
      } finally {
        bar?.done();
      }
      for (const f of report.failed) argv.io.stderr.write(`credstash: ${displayText(f.id)} version ${displayText(f.version)}: ${displayText(f.reason)}\n`);
      const what = argv.reencrypt === true ? `re-encrypted ${report.copied.length} credential(s) in ${displayText(from.description)}` : `copied ${report.copied.length} version(s) from ${displayText(from.description)} to ${displayText(to.description)}`;
      argv.io.stdout.write(`${what}; ${report.present.length} already done; ${report.failed.length} failed (of ${report.total})\n`);
      if (report.failed.length > 0) {
        throw new ValidationError(`${report.failed.length} version(s) could not be migrated (listed above); fix them and run the same command again`);
      }
    } finally {
      for (const s of opened) await s.close();
    }
  },
};

/** `[#####-----] 12/40 app.db` redrawn in place; only on a terminal. */
function progressBar(stderr: { write(s: string): unknown; isTTY?: boolean }): { update(p: MigrateProgress): void; done(): void } | undefined {
  if (stderr.isTTY !== true) return undefined;
  let drawn = false;
  return {
    update(p) {
      const width = 30;
      const full = p.total === 0 ? width : Math.round((p.done / p.total) * width);
      const id = p.id.length > 40 ? `${p.id.slice(0, 37)}...` : p.id;
      stderr.write(`\r\u001b[K[${'#'.repeat(full)}${'-'.repeat(width - full)}] ${p.done}/${p.total} ${displayText(id)}`);
      drawn = true;
    },
    done() {
      if (drawn) stderr.write('\r\u001b[K');
    },
  };
}
