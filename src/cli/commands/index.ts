/**
 * Every `credstash` subcommand, one CommandModule per file, loaded lazily: `credstash get` imports
 * `get.ts` and nothing of the other sixteen (cold start, docs/cli.md). To add a command: create
 * `commands/<name>.ts` exporting a CommandModule<GlobalArgs, YourArgs> (see get.ts; handler =
 * `withStore(argv, async (store, config) => ...)`, output to `argv.io.stdout`, errors thrown, and
 * `...COMMAND_META.<name>` for its `command` and `describe`), then add its row to COMMAND_META and to
 * LOADERS below.
 */
import type { CommandModule } from 'yargs';
import type { GlobalArgs } from '../context.js';

// `any`: each command has its own argv type, and yargs' CommandModule is not covariant in it.
export type AnyCommandModule = CommandModule<GlobalArgs, any>;

/** What a command module exports: its options (builder) and its handler; `command` and `describe` are COMMAND_META's. */
export type CommandImpl<A extends GlobalArgs> = Omit<CommandModule<GlobalArgs, A>, 'command' | 'describe' | 'aliases'>;

/** What `credstash --help` lists, and how to load the full command. */
export interface CommandEntry {
  /** The yargs `command` string (COMMAND_META). */
  readonly command: string;
  /** Its line in `credstash --help` (COMMAND_META). */
  readonly describe: string;
  /**
   * It rewrites credstash.toml (which holds the Fernet keys): main() holds SIGINT/SIGTERM/SIGHUP while it
   * runs, so that the atomic write never leaves its temp file (signals.ts).
   */
  readonly writesConfig?: true;
  readonly load: () => Promise<AnyCommandModule>;
}

/**
 * What `credstash --help` lists for each command, written here only: a command module holds its options and
 * handler (a {@link CommandImpl}), and its `command` and `describe` are added from this table when it is
 * loaded, so main() lists every command without importing its module and the two can never disagree.
 */
export const COMMAND_META = {
  completion: { command: 'completion <shell>', describe: 'Print a shell completion script for bash or zsh (eval "$(credstash completion bash)")' },
  config: { command: 'config', describe: 'Show which config file, store, store module and audit log the other commands use (never a value)' },
  delete: { command: 'delete <credential>', describe: 'Delete a credential (every version, or one with -v)' },
  env: { command: 'env [context..]', describe: "Print the credentials as shell `export NAME='value'` lines (eval \"$(credstash env)\")" },
  exec: { command: 'exec [context..]', describe: 'Run a command with the credentials as environment variables: exec [key=value ...] -- cmd args' },
  export: { command: 'export [context..]', describe: 'Export the newest version of every credential as json, yaml, csv or dotenv' },
  get: { command: 'get <credential> [context..]', describe: 'Get a credential from the store' },
  getall: { command: 'getall [context..]', describe: 'Get all credentials from the store' },
  import: { command: 'import <file> [context..]', describe: 'Import credentials from a json, yaml, csv or dotenv file, one new version each' },
  init: { command: 'init', describe: 'Create credstash.toml with a new Fernet key and a local keystore', writesConfig: true },
  keys: { command: 'keys', describe: 'List unique credential names' },
  list: { command: 'list', describe: 'List credentials and their versions' },
  migrate: { command: 'migrate [context..]', describe: 'Copy credentials between two stores, or re-encrypt a store in place (--reencrypt)' },
  prune: { command: 'prune <credential>', describe: 'Delete old versions of a credential, keeping the newest N' },
  put: { command: 'put <credential> [value] [context..]', describe: 'Put a credential into the store' },
  putall: { command: 'putall <credentials> [context..]', describe: 'Put credentials from a JSON object {"name": "value", ...} (inline, @file or -)' },
  'rotate-key': { command: 'rotate-key', describe: 'Add a new first Fernet key to credstash.toml and re-encrypt every stored version under it', writesConfig: true },
  render: { command: 'render <file> [context..]', describe: 'Print a TOML/JSON/YAML file with its ${credential:...} references resolved' },
  setup: { command: 'setup', describe: 'Set up the credential store (create the DynamoDB table)', writesConfig: true },
} as const satisfies Record<string, { readonly command: string; readonly describe: string; readonly writesConfig?: true }>;

type CommandKey = keyof typeof COMMAND_META;

/** How to load each command's module: a dynamic import, so that `credstash get` loads get.ts and no other command. */
const LOADERS: { readonly [K in CommandKey]: () => Promise<CommandImpl<any>> } = {
  completion: async () => (await import('./completion.js')).completionCommand,
  config: async () => (await import('./config.js')).configCommand,
  delete: async () => (await import('./delete.js')).deleteCommand,
  env: async () => (await import('./env.js')).envCommand,
  exec: async () => (await import('./exec.js')).execCommand,
  export: async () => (await import('./export.js')).exportCommand,
  get: async () => (await import('./get.js')).getCommand,
  getall: async () => (await import('./getall.js')).getallCommand,
  import: async () => (await import('./import.js')).importCommand,
  init: async () => (await import('./init.js')).initCommand,
  keys: async () => (await import('./keys.js')).keysCommand,
  list: async () => (await import('./list.js')).listCommand,
  migrate: async () => (await import('./migrate.js')).migrateCommand,
  prune: async () => (await import('./prune.js')).pruneCommand,
  put: async () => (await import('./put.js')).putCommand,
  putall: async () => (await import('./putall.js')).putallCommand,
  'rotate-key': async () => (await import('./rotate-key.js')).rotateKeyCommand,
  render: async () => (await import('./render.js')).renderCommand,
  setup: async () => (await import('./setup.js')).setupCommand,
};

export const commands: readonly CommandEntry[] = (Object.keys(COMMAND_META) as CommandKey[]).map((k) => {
  let loaded: Promise<AnyCommandModule> | undefined;
  // One module object per command, however often it is asked for (main() may ask twice).
  const load = (): Promise<AnyCommandModule> => (loaded ??= LOADERS[k]().then((impl) => ({ ...impl, command: COMMAND_META[k].command, describe: COMMAND_META[k].describe })));
  return { ...COMMAND_META[k], load };
});

/** The command's name: the first word of its yargs `command` string. */
export function commandName(entry: Pick<CommandEntry, 'command'>): string {
  return entry.command.split(' ')[0] ?? '';
}
