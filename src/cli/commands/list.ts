/**
 * `credstash list`: every name and version, Python credstash's layout
 * `<name padded to the longest> -- version <19-digit version> -- comment <comment>`, sorted by name then
 * version. `--latest`: newest version of each name only. `--json`: an array of {name, version, comment}
 * (version as users write it, "3"), exact. The text layout escapes control characters in names and comments
 * (output/terminal.ts).
 */
import type { JsonValue } from '../../core/types.js';
import { padVersion } from '../../core/version.js';
import { withStore, type GlobalArgs } from '../context.js';
import { pythonJson } from '../output/json.js';
import { displayText } from '../output/terminal.js';
import type { CommandImpl } from './index.js';

interface ListArgs extends GlobalArgs {
  latest?: boolean;
  json?: boolean;
}

export const listCommand: CommandImpl<ListArgs> = {
  builder: (y) =>
    y
      .option('latest', { type: 'boolean', describe: 'only the newest version of each credential' })
      .option('json', { type: 'boolean', describe: 'print a JSON array of {name, version, comment}' }),
  handler: (argv) =>
    withStore(argv, async (store) => {
      const list = await store.listCredentials({ latestOnly: argv.latest === true });
      if (argv.json === true) {
        const rows: JsonValue[] = list.map((s) => ({ name: s.id, version: s.version, comment: s.comment ?? '' }));
        argv.io.stdout.write(`${pythonJson(rows)}\n`);
        return;
      }
      // Names and comments are whatever a table writer stored: escaped so that they cannot drive the terminal.
      // Each version is printed as stored (Python prints the range key), so `get -v` of it reads that version.
      const rows = list.map((s) => ({ name: displayText(s.id), version: s.storedVersion === undefined ? padVersion(s.version) : displayText(s.storedVersion), comment: displayText(s.comment ?? '') }));
      const width = Math.max(0, ...rows.map((r) => r.name.length));
      argv.io.stdout.write(rows.map((r) => `${r.name.padEnd(width)} -- version ${r.version} -- comment ${r.comment}\n`).join(''));
    }),
};
