/**
 * Every `credstash` subcommand, one CommandModule per file, loaded lazily: `credstash get` imports
 * `get.ts` and nothing of the other sixteen (cold start, docs/cli.md). To add a command: create
 * `commands/<name>.ts` exporting a CommandModule<GlobalArgs, YourArgs> (see get.ts; handler =
 * `withStore(argv, async (store, config) => ...)`, output to `argv.io.stdout`, errors thrown, and
 * `...COMMAND_META.<name>` for its `command` and `describe`), then add its row to COMMAND_META and to
 * LOADERS below.
 */
import type { Argv, CommandModule } from 'yargs';
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
  /**
   * The example its `--help` shows: a command line (never with a secret on it) and what it does. Absent
   * for a command whose builder gives its own examples (exec, migrate).
   */
  readonly example?: readonly [command: string, description: string];
  readonly load: () => Promise<AnyCommandModule>;
}

/**
 * What `credstash --help` lists for each command, written here only: a command module holds its options and
 * handler (a {@link CommandImpl}), and its `command` and `describe` are added from this table when it is
 * loaded, so main() lists every command without importing its module and the two can never disagree.
 */
export const COMMAND_META = {
  check: { command: 'check [pattern]', describe: 'List credentials whose newest version has expired or expires soon (--expiring 14d); exit 1 when any does', example: ['credstash check --expiring 14d', 'what has expired or expires within 14 days (exit 1 if anything does: for cron and CI)'] },
  completion: { command: 'completion <shell>', describe: 'Print a shell completion script for bash or zsh (eval "$(credstash completion bash)")', example: ['eval "$(credstash completion bash)"', "in ~/.bashrc: Tab completes credstash's commands and options"] },
  config: { command: 'config', describe: 'Show which config file, store, store module and audit log the other commands use (never a value)', example: ['credstash config', 'which config file and store the other commands would use'] },
  delete: { command: 'delete <credential>', describe: 'Delete a credential (every version, or one with -v)', example: ['credstash delete myapp.db.prod -v 1', 'delete version 1 only (without -v: every version)'] },
  diff: { command: 'diff [credential] [context..]', describe: 'Compare two versions (-v A -v B) or two stores (--against STORE); values masked; exit 0 same, 1 different', example: ['credstash diff myapp.db.prod -v 3 -v 4', 'which fields of version 4 were added, removed or changed (no value shown)'] },
  env: { command: 'env [context..]', describe: "Print the credentials as shell `export NAME='value'` lines (eval \"$(credstash env)\")", example: ['eval "$(credstash env env=prod)"', 'export every credential stored with the context env=prod'] },
  exec: { command: 'exec [context..]', describe: 'Run a command with the credentials as environment variables: exec [key=value ...] -- cmd args' },
  export: { command: 'export [context..]', describe: 'Export the newest version of every credential as json, yaml, csv or dotenv', example: ['credstash export -o backup.json env=prod', 'write every credential to backup.json (mode 0600)'] },
  get: { command: 'get <credential> [context..]', describe: 'Get a credential from the store', example: ['credstash get myapp.db.prod env=prod', 'print the newest version, read with the context env=prod'] },
  getall: { command: 'getall [context..]', describe: 'Get all credentials from the store', example: ['credstash getall env=prod -f json', 'every credential as one JSON object'] },
  history: { command: 'history <credential>', describe: 'Show every version of a credential: created, writer, size, expiry, labels, comment (never a value)', example: ['credstash history myapp.db.prod', 'every version with who wrote it and when, and its labels'] },
  import: { command: 'import <file> [context..]', describe: 'Import credentials from a json, yaml, csv or dotenv file, one new version each', example: ['credstash import backup.json env=prod', 'store each credential of the file as a new version'] },
  init: { command: 'init', describe: 'Create credstash.toml with a new Fernet key and a local keystore', writesConfig: true, example: ['credstash init', 'credstash.toml and a local keystore in this folder: no AWS needed'] },
  keys: { command: 'keys', describe: 'List unique credential names', example: ['credstash keys', 'the credential names, one per line'] },
  label: { command: 'label <credential> <label> [context..]', describe: 'Point a label (current, previous, ...) at a version of a credential, creating or moving it', example: ['credstash label myapp.db.prod current -v 4', "readers of --label current get version 4 from now on"] },
  list: { command: 'list', describe: 'List credentials and their versions', example: ['credstash list --latest', 'the newest version of every credential'] },
  migrate: { command: 'migrate [context..]', describe: 'Copy credentials between two stores, or re-encrypt a store in place (--reencrypt)' },
  prune: { command: 'prune <credential>', describe: 'Delete old versions of a credential, keeping the newest N', example: ['credstash prune myapp.db.prod --keep 5', 'delete every version but the newest 5'] },
  put: { command: 'put <credential> [value] [context..]', describe: 'Put a credential into the store', example: ['credstash put -a myapp.db -P env=prod', 'store the next version; the value is asked for, not echoed (never on the command line, where ps shows it)'] },
  putall: { command: 'putall <credentials> [context..]', describe: 'Put credentials from a JSON object {"name": "value", ...} (inline, @file or -)', example: ['credstash putall @creds.json env=prod', 'store each name and value of a JSON file'] },
  rollback: { command: 'rollback <credential> [context..]', describe: "Store an old version's value again as a new version (--to N), moving labels to it", example: ['credstash rollback myapp.db.prod --to 3 --label current', "a new version with version 3's value; current points at it"] },
  rotate: { command: 'rotate [credential] [context..]', describe: 'Rotate a password where it is used (database, Redis, a program) and store it as the next version, under the credential\'s rotation policy', example: ['credstash rotate app.db.prod', 'create, set, test and finish a new password for app.db.prod; --due, --status, --resume, --cancel'] },
  'rotate-key': { command: 'rotate-key', describe: 'Add a new first Fernet key to credstash.toml and re-encrypt every stored version under it', writesConfig: true, example: ['credstash rotate-key', 'a new first Fernet key, every stored version re-encrypted under it'] },
  render: { command: 'render <file> [context..]', describe: 'Print a TOML/JSON/YAML file with its ${credential:...} references resolved', example: ['credstash render app.toml -o out.toml', 'app.toml with its references resolved, written with mode 0600'] },
  setup: { command: 'setup', describe: 'Set up the credential store (create the DynamoDB table)', writesConfig: true, example: ['credstash setup --tags team=platform', 'create the DynamoDB table (on demand), or report that it exists'] },
  unlabel: { command: 'unlabel <credential> <label>', describe: 'Remove a label from a credential (the versions stay)', example: ['credstash unlabel myapp.db.prod next', 'remove the label next'] },
} as const satisfies Record<string, { readonly command: string; readonly describe: string; readonly writesConfig?: true; readonly example?: readonly [string, string] }>;

type CommandKey = keyof typeof COMMAND_META;

/** How to load each command's module: a dynamic import, so that `credstash get` loads get.ts and no other command. */
const LOADERS: { readonly [K in CommandKey]: () => Promise<CommandImpl<any>> } = {
  check: async () => (await import('./check.js')).checkCommand,
  completion: async () => (await import('./completion.js')).completionCommand,
  config: async () => (await import('./config.js')).configCommand,
  delete: async () => (await import('./delete.js')).deleteCommand,
  diff: async () => (await import('./diff.js')).diffCommand,
  env: async () => (await import('./env.js')).envCommand,
  exec: async () => (await import('./exec.js')).execCommand,
  export: async () => (await import('./export.js')).exportCommand,
  get: async () => (await import('./get.js')).getCommand,
  getall: async () => (await import('./getall.js')).getallCommand,
  history: async () => (await import('./history.js')).historyCommand,
  import: async () => (await import('./import.js')).importCommand,
  init: async () => (await import('./init.js')).initCommand,
  keys: async () => (await import('./keys.js')).keysCommand,
  label: async () => (await import('./label.js')).labelCommand,
  list: async () => (await import('./list.js')).listCommand,
  migrate: async () => (await import('./migrate.js')).migrateCommand,
  prune: async () => (await import('./prune.js')).pruneCommand,
  put: async () => (await import('./put.js')).putCommand,
  putall: async () => (await import('./putall.js')).putallCommand,
  rollback: async () => (await import('./rollback.js')).rollbackCommand,
  rotate: async () => (await import('./rotate.js')).rotateCommand,
  'rotate-key': async () => (await import('./rotate-key.js')).rotateKeyCommand,
  render: async () => (await import('./render.js')).renderCommand,
  setup: async () => (await import('./setup.js')).setupCommand,
  unlabel: async () => (await import('./unlabel.js')).unlabelCommand,
};

export const commands: readonly CommandEntry[] = (Object.keys(COMMAND_META) as CommandKey[]).map((k) => {
  let loaded: Promise<AnyCommandModule> | undefined;
  // One module object per command, however often it is asked for (main() may ask twice).
  const meta: { readonly command: string; readonly describe: string; readonly example?: readonly [string, string] } = COMMAND_META[k];
  const load = (): Promise<AnyCommandModule> =>
    (loaded ??= LOADERS[k]().then((impl) => ({ ...impl, command: meta.command, describe: meta.describe, builder: withExample(impl.builder, meta.example) })));
  return { ...COMMAND_META[k], load };
});

/** A command's builder, then its example (yargs shows it under "Examples:" in the command's --help). */
function withExample(builder: AnyCommandModule['builder'], example: readonly [string, string] | undefined): AnyCommandModule['builder'] {
  if (example === undefined) return builder;
  const [command, description] = example;
  return (y: Argv<GlobalArgs>) => {
    const built = typeof builder === 'function' ? builder(y) : builder === undefined ? y : y.options(builder);
    // every credstash builder returns its Argv; a promise would be a builder this table does not know
    if ('then' in built) throw new TypeError('a command builder returned a promise');
    return (built as Argv<GlobalArgs>).example(command, description);
  };
}

/** The command's name: the first word of its yargs `command` string. */
export function commandName(entry: Pick<CommandEntry, 'command'>): string {
  return entry.command.split(' ')[0] ?? '';
}
