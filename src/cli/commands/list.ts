/**
 * `credstash list`: every name and version, Python credstash's layout
 * `<name padded to the longest> -- version <19-digit version> -- comment <comment>`, sorted by name then
 * version. `--latest`: newest version of each name only. `--json`: an array of {name, version, comment}
 * (version as users write it, "3"), exact. The text layout escapes control characters in names and comments
 * (output/terminal.ts).
 * `--labels` adds the labels pointing at each version: ` [current, previous]` after the comment (only on
 * versions that have labels), and `labels` (an array) in every `--json` object. Without it the output stays
 * Python credstash's, byte for byte, whatever labels exist: scripts parse it, and the comment runs to the
 * end of the line.
 */
import type { JsonValue } from '../../core/types.js';
import { padVersion } from '../../core/version.js';
import { withStore, type GlobalArgs } from '../context.js';
import { labelSuffix, lifecycleStore } from '../lifecycle.js';
import { pythonJson } from '../output/json.js';
import { displayText } from '../output/terminal.js';
import type { CommandImpl } from './index.js';

interface ListArgs extends GlobalArgs {
  latest?: boolean;
  json?: boolean;
  labels?: boolean;
}

export const listCommand: CommandImpl<ListArgs> = {
  builder: (y) =>
    y
      .option('latest', { type: 'boolean', describe: 'only the newest version of each credential' })
      .option('json', { type: 'boolean', describe: 'print a JSON array of {name, version, comment}' })
      .option('labels', { type: 'boolean', describe: 'also show the labels pointing at each version (e.g. [current, previous])' }),
  handler: (argv) =>
    withStore(argv, async (store) => {
      const list = await store.listCredentials({ latestOnly: argv.latest === true });
      // id -> version (as users write it) -> labels, sorted; only with --labels (one more listing).
      const labels = new Map<string, Map<string, string[]>>();
      if (argv.labels === true) {
        for (const { id, labels: named } of await lifecycleStore(store, 'labels').listLabels()) {
          const byVersion = new Map<string, string[]>();
          for (const [name, t] of Object.entries(named).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) byVersion.set(t.version, [...(byVersion.get(t.version) ?? []), name]);
          labels.set(id, byVersion);
        }
      }
      const labelsOf = (id: string, version: string): string[] => labels.get(id)?.get(version) ?? [];
      if (argv.json === true) {
        const rows: JsonValue[] = list.map((s) => ({ name: s.id, version: s.version, comment: s.comment ?? '', ...(argv.labels === true ? { labels: labelsOf(s.id, s.version) } : {}) }));
        argv.io.stdout.write(`${pythonJson(rows)}\n`);
        return;
      }
      // Names and comments are whatever a table writer stored: escaped so that they cannot drive the terminal.
      // Each version is printed as stored (Python prints the range key), so `get -v` of it reads that version.
      const rows = list.map((s) => ({ name: displayText(s.id), version: s.storedVersion === undefined ? padVersion(s.version) : displayText(s.storedVersion), comment: displayText(s.comment ?? ''), labels: labelSuffix(labelsOf(s.id, s.version)) }));
      const width = Math.max(0, ...rows.map((r) => r.name.length));
      argv.io.stdout.write(rows.map((r) => `${r.name.padEnd(width)} -- version ${r.version} -- comment ${r.comment}${r.labels}\n`).join(''));
    }),
};
