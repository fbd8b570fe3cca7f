/** `credstash keys`: unique credential names, sorted, one per line, control characters escaped (output/terminal.ts). */
import { withStore, type GlobalArgs } from '../context.js';
import { displayText } from '../output/terminal.js';
import type { CommandImpl } from './index.js';

export const keysCommand: CommandImpl<GlobalArgs> = {
  handler: (argv) =>
    withStore(argv, async (store) => {
      const names = [...new Set((await store.listCredentials({ latestOnly: true })).map((s) => s.id))];
      argv.io.stdout.write(names.map((n) => `${displayText(n)}\n`).join(''));
    }),
};
