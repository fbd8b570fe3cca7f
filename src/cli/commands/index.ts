/**
 * Every `credstash` subcommand, one CommandModule per file. To add a command: create
 * `commands/<name>.ts` exporting a CommandModule<GlobalArgs, YourArgs> (see get.ts; handler =
 * `withStore(argv, async (store, config) => ...)`, output to `argv.io.stdout`, errors thrown), then add ONE
 * line below. Keep command modules light: import heavy code lazily inside the handler.
 */
import type { CommandModule } from 'yargs';
import type { GlobalArgs } from '../context.js';
import { deleteCommand } from './delete.js';
import { envCommand } from './env.js';
import { execCommand } from './exec.js';
import { exportCommand } from './export.js';
import { getCommand } from './get.js';
import { getallCommand } from './getall.js';
import { importCommand } from './import.js';
import { initCommand } from './init.js';
import { keysCommand } from './keys.js';
import { listCommand } from './list.js';
import { migrateCommand } from './migrate.js';
import { pruneCommand } from './prune.js';
import { putCommand } from './put.js';
import { putallCommand } from './putall.js';
import { rotateKeyCommand } from './rotate-key.js';
import { renderCommand } from './render.js';
import { setupCommand } from './setup.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each command has its own argv type
export const commands: Array<CommandModule<GlobalArgs, any>> = [
  deleteCommand,
  envCommand,
  execCommand,
  exportCommand,
  getCommand,
  getallCommand,
  importCommand,
  initCommand,
  keysCommand,
  listCommand,
  migrateCommand,
  pruneCommand,
  putCommand,
  putallCommand,
  rotateKeyCommand,
  renderCommand,
  setupCommand,
];
