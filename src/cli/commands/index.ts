/**
 * Every `credstash` subcommand, one CommandModule per file, loaded lazily: `credstash get` imports
 * `get.ts` and nothing of the other sixteen (cold start, docs/cli.md). To add a command: create
 * `commands/<name>.ts` exporting a CommandModule<GlobalArgs, YourArgs> (see get.ts; handler =
 * `withStore(argv, async (store, config) => ...)`, output to `argv.io.stdout`, errors thrown), then add ONE
 * entry below with the module's `command` and `describe` verbatim (test/unit/cli/commands-index.test.ts
 * checks that they match) and its loader.
 */
import type { CommandModule } from 'yargs';
import type { GlobalArgs } from '../context.js';

// `any`: each command has its own argv type, and yargs' CommandModule is not covariant in it.
export type AnyCommandModule = CommandModule<GlobalArgs, any>;

/** What `credstash --help` lists, and how to load the full command. */
export interface CommandEntry {
  /** The module's yargs `command` string, verbatim. */
  readonly command: string;
  /** The module's `describe`, verbatim. */
  readonly describe: string;
  readonly load: () => Promise<AnyCommandModule>;
}

export const commands: readonly CommandEntry[] = [
  { command: 'completion <shell>', describe: 'Print a shell completion script for bash or zsh (eval "$(credstash completion bash)")', load: async () => (await import('./completion.js')).completionCommand },
  { command: 'config', describe: 'Show which config file, store, store module and audit log the other commands use (never a value)', load: async () => (await import('./config.js')).configCommand },
  { command: 'delete <credential>', describe: 'Delete a credential (every version, or one with -v)', load: async () => (await import('./delete.js')).deleteCommand },
  { command: 'env [context..]', describe: "Print the credentials as shell `export NAME='value'` lines (eval \"$(credstash env)\")", load: async () => (await import('./env.js')).envCommand },
  { command: 'exec [context..]', describe: 'Run a command with the credentials as environment variables: exec [key=value ...] -- cmd args', load: async () => (await import('./exec.js')).execCommand },
  { command: 'export [context..]', describe: 'Export the newest version of every credential as json, yaml, csv or dotenv', load: async () => (await import('./export.js')).exportCommand },
  { command: 'get <credential> [context..]', describe: 'Get a credential from the store', load: async () => (await import('./get.js')).getCommand },
  { command: 'getall [context..]', describe: 'Get all credentials from the store', load: async () => (await import('./getall.js')).getallCommand },
  { command: 'import <file> [context..]', describe: 'Import credentials from a json, yaml, csv or dotenv file, one new version each', load: async () => (await import('./import.js')).importCommand },
  { command: 'init', describe: 'Create credstash.toml with a new Fernet key and a local keystore', load: async () => (await import('./init.js')).initCommand },
  { command: 'keys', describe: 'List unique credential names', load: async () => (await import('./keys.js')).keysCommand },
  { command: 'list', describe: 'List credentials and their versions', load: async () => (await import('./list.js')).listCommand },
  { command: 'migrate [context..]', describe: 'Copy credentials between two stores, or re-encrypt a store in place (--reencrypt)', load: async () => (await import('./migrate.js')).migrateCommand },
  { command: 'prune <credential>', describe: 'Delete old versions of a credential, keeping the newest N', load: async () => (await import('./prune.js')).pruneCommand },
  { command: 'put <credential> [value] [context..]', describe: 'Put a credential into the store', load: async () => (await import('./put.js')).putCommand },
  { command: 'putall <credentials> [context..]', describe: 'Put credentials from a JSON object {"name": "value", ...} (inline, @file or -)', load: async () => (await import('./putall.js')).putallCommand },
  { command: 'rotate-key', describe: 'Add a new first Fernet key to credstash.toml and re-encrypt every stored version under it', load: async () => (await import('./rotate-key.js')).rotateKeyCommand },
  { command: 'render <file> [context..]', describe: 'Print a TOML/JSON/YAML file with its ${credential:...} references resolved', load: async () => (await import('./render.js')).renderCommand },
  { command: 'setup', describe: 'Set up the credential store (create the DynamoDB table)', load: async () => (await import('./setup.js')).setupCommand },
];

/** The command's name: the first word of its yargs `command` string. */
export function commandName(entry: Pick<CommandEntry, 'command'>): string {
  return entry.command.split(' ')[0] ?? '';
}
