/**
 * `credstash check [--expiring 14d] [--all-versions] [--json] [pattern]`: the credentials whose newest
 * version has expired or expires within the window, read from the listing (nothing decrypted). Exit 0 when
 * there is none, 1 when there is any (for cron and CI), 2 when the check could not be made (a store that
 * keeps no expiry, a store error): diff(1)'s convention, so a failure never reads as "all clear".
 */
import type { JsonValue } from '../../core/types.js';
import { UnsupportedOperationError } from '../../core/errors.js';
import { withStore, type GlobalArgs } from '../context.js';
import { ExitStatus, Trouble } from '../errors.js';
import { durationArg, lifecycleStore } from '../lifecycle.js';
import { pythonJson } from '../output/json.js';
import { displayText } from '../output/terminal.js';
import type { CommandImpl } from './index.js';

interface CheckArgs extends GlobalArgs {
  pattern?: string;
  expiring?: string;
  allVersions?: boolean;
  json?: boolean;
}

export const checkCommand: CommandImpl<CheckArgs> = {
  builder: (y) =>
    y
      .positional('pattern', { type: 'string', describe: 'only names matching this glob (* and ?)' })
      .option('expiring', { type: 'string', describe: 'also what expires within this duration: 14d, 12h, 2w, 30m (default: only what has expired)', requiresArg: true })
      .option('all-versions', { type: 'boolean', describe: 'every version, not only the newest of each credential' })
      .option('json', { type: 'boolean', describe: 'print a JSON array of {name, version, expiresAt, expired}' }),
  handler: async (argv) => {
    let found;
    try {
      const withinMs = argv.expiring === undefined ? 0 : durationArg(argv.expiring, '--expiring');
      found = await withStore(argv, async (store) => {
        const lc = lifecycleStore(store, 'expiry');
        if (lc.capabilities.expiry !== true) throw new UnsupportedOperationError(store.description, 'expiry (it keeps no expiry dates, so there is nothing to check)');
        return lc.expiringCredentials({
          withinMs,
          ...(argv.pattern === undefined ? {} : { pattern: argv.pattern }),
          ...(argv.allVersions === true ? { allVersions: true } : {}),
        });
      });
    } catch (err) {
      throw new Trouble(err);
    }
    const now = Date.now();
    if (argv.json === true) {
      const rows: JsonValue[] = found.map((e) => ({ name: e.id, version: e.version, expiresAt: e.expiresAt, expired: e.expired }));
      argv.io.stdout.write(`${pythonJson(rows)}\n`);
    } else {
      const width = Math.max(0, ...found.map((e) => displayText(e.id).length));
      argv.io.stdout.write(
        found
          .map((e) => `${displayText(e.id).padEnd(width)} -- version ${displayText(e.version)} -- ${e.expired ? 'expired' : 'expires'} ${displayText(e.expiresAt)}${e.expired ? '' : ` (in ${inWords(Date.parse(e.expiresAt) - now)})`}\n`)
          .join(''),
      );
    }
    if (found.length > 0) throw new ExitStatus(1);
  },
};

/** `3 days`, `5 hours`, `12 minutes`: how long until an expiry, rounded down. */
function inWords(ms: number): string {
  const units: Array<[number, string]> = [[86_400_000, 'day'], [3_600_000, 'hour'], [60_000, 'minute']];
  for (const [size, name] of units) {
    const n = Math.floor(ms / size);
    if (n >= 1) return `${n} ${name}${n === 1 ? '' : 's'}`;
  }
  return 'less than a minute';
}
