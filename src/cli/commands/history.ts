/**
 * `credstash history <credential> [--json]`: every version, oldest first, with what is known without
 * decrypting anything: created time, writer, stored size, expiry, labels and comment. Never a value, never
 * a decrypt (one listing of the credential's versions, and its labels). Facts an old version or a tier does
 * not keep print as `-` (JSON: absent).
 */
import type { JsonValue, VersionInfo } from '../../core/types.js';
import { withStore, type GlobalArgs } from '../context.js';
import { lifecycleStore } from '../lifecycle.js';
import { pythonJson } from '../output/json.js';
import { displayText } from '../output/terminal.js';
import type { CommandImpl } from './index.js';

interface HistoryArgs extends GlobalArgs {
  credential: string;
  json?: boolean;
}

export const historyCommand: CommandImpl<HistoryArgs> = {
  builder: (y) =>
    y
      .positional('credential', { type: 'string', describe: 'the name of the credential', demandOption: true })
      .option('json', { type: 'boolean', describe: 'print a JSON array, one object per version' }),
  handler: (argv) =>
    withStore(argv, async (store) => {
      const versions = await lifecycleStore(store, 'history').credentialHistory(argv.credential);
      argv.io.stdout.write(argv.json === true ? `${pythonJson(versions.map(historyJson))}\n` : historyTable(versions));
    }),
};

/** One version as `history --json` prints it: the VersionInfo fields that are known (library names), `version` as users write it. */
export function historyJson(v: VersionInfo): JsonValue {
  const out: Record<string, JsonValue> = { version: v.version };
  if (v.storedVersion !== undefined) out.storedVersion = v.storedVersion;
  if (v.createdAt !== undefined) out.createdAt = v.createdAt;
  if (v.writtenBy !== undefined) out.writtenBy = v.writtenBy;
  if (v.size !== undefined) out.size = v.size;
  if (v.expiresAt !== undefined) out.expiresAt = v.expiresAt;
  out.labels = [...v.labels];
  if (v.comment !== undefined) out.comment = v.comment;
  return out;
}

const HEADER = ['VERSION', 'CREATED', 'WRITER', 'SIZE', 'EXPIRES', 'LABELS', 'COMMENT'] as const;

/** Columns padded to their widest cell; the comment last, as written (escaped). */
export function historyTable(versions: readonly VersionInfo[]): string {
  const rows = versions.map((v) => [
    displayText(v.version),
    displayText(v.createdAt ?? '-'),
    displayText(v.writtenBy ?? '-'),
    v.size === undefined ? '-' : String(v.size),
    displayText(v.expiresAt ?? '-'),
    v.labels.length === 0 ? '-' : v.labels.map(displayText).join(','),
    displayText(v.comment ?? ''),
  ]);
  const all = [[...HEADER], ...rows];
  const widths = HEADER.map((_, i) => Math.max(...all.map((r) => (r[i] as string).length)));
  return all.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] as number))).join('  ').trimEnd() + '\n').join('');
}
