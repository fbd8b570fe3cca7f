/**
 * The `credstash` command line: a yargs 17 root over one CommandModule per command (commands/index.ts).
 * Only this file decides exit codes (style.md §c.11): 0 ok, 1 CredstashError / unexpected error,
 * 2 usage error. With no subcommand it prints help and exits 0, as Python credstash does.
 */
import yargs, { type Argv } from 'yargs';
import { commandName, commands, type AnyCommandModule, type CommandEntry } from './commands/index.js';
import { globalOptions, STDIN_ARG, type CliIO, type GlobalArgs } from './context.js';
import { EXIT_OK, reportError, UsageError } from './errors.js';

/** Global options that take a value, as spelled before the subcommand. */
const GLOBAL_VALUE_FLAGS = new Set([
  '-r', '--region', '-t', '--table', '-p', '--profile', '-n', '--arn', '--kms-region', '--endpoint-url',
  '--kms-endpoint-url', '--config', '--store-type', '--log-level', '--log-file',
]);

/**
 * Python credstash's `-n` is `--arn` before the subcommand and `--noline` after `get`; `-p` is `--profile`
 * before it and `--prefix` after `exec` / `env`. Rewrite the global ones so yargs sees different options.
 * A lone `-` (stdin) becomes STDIN_ARG, because yargs would turn it into an empty string.
 */
export function rewriteArgs(argv: readonly string[]): string[] {
  const out = argv.map((a) => (a === '-' ? STDIN_ARG : a));
  for (let i = 0; i < out.length; i++) {
    const tok = out[i] ?? '';
    if (tok === '--' || !tok.startsWith('-')) break;
    if (tok === '-n') out[i] = '--arn';
    else if (tok.startsWith('-n') && !tok.startsWith('--')) out[i] = `--arn=${tok.slice(2)}`;
    else if (tok === '-p') out[i] = '--profile';
    else if (tok.startsWith('-p') && !tok.startsWith('--')) out[i] = `--profile=${tok.slice(2)}`;
    if (GLOBAL_VALUE_FLAGS.has(tok)) i++;
  }
  return out;
}

function defaultIO(): CliIO {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    // A getter: creating process.stdin costs a stream setup that only put/putall/import with `-` need.
    get stdin() {
      return process.stdin;
    },
    env: process.env,
    cwd: process.cwd(),
  };
}

const COMMAND_NAMES = new Set(commands.map(commandName));

/**
 * Raised by the stand-in of a command whose module was not loaded, when yargs selects that command
 * (`credstash -t list get x`: the guess was `list`). main() loads it and parses again: stand-ins have no
 * side effects and write no output.
 */
class CommandNotLoaded extends Error {
  constructor(readonly entry: CommandEntry) {
    super(`command ${commandName(entry)} is not loaded`);
    this.name = 'CommandNotLoaded';
  }
}

/**
 * The command table for one parse: the full module of every command in `load`, a stand-in for the
 * others. A stand-in carries what `credstash --help` lists (the same `command` and `describe`); yargs
 * runs a command's builder only for the command it selected, so a stand-in's builder runs only when a
 * full module is needed.
 */
async function commandTable(load: ReadonlySet<CommandEntry>): Promise<AnyCommandModule[]> {
  return Promise.all(
    commands.map(async (entry): Promise<AnyCommandModule> => {
      if (load.has(entry)) return entry.load();
      const notLoaded = (): never => {
        throw new CommandNotLoaded(entry);
      };
      return { command: entry.command, describe: entry.describe, builder: notLoaded, handler: notLoaded };
    }),
  );
}

/**
 * yargs renders the selected command's whole help text before running its handler, so that the handler
 * may call showHelp(); no credstash handler does (the default command's does, and yargs skips the cache
 * for it). That rendering was ~5 ms of every command's cold start, so it is skipped. Guarded: if yargs
 * changes its internals, the cache simply stays on.
 */
function skipHelpCache(parser: Argv<GlobalArgs>): void {
  type Internals = { getInternalMethods?: () => { getUsageInstance?: () => { cacheHelpMessage?: () => void } } };
  const usage = (parser as unknown as Internals).getInternalMethods?.().getUsageInstance?.();
  if (typeof usage?.cacheHelpMessage === 'function') usage.cacheHelpMessage = () => {};
}

async function parse(table: AnyCommandModule[], args: string[], io: CliIO): Promise<void> {
  const parser: Argv<GlobalArgs> = globalOptions(yargs().scriptName('credstash'))
    .command(table)
    .command({
      command: '$0',
      describe: false,
      handler: () => {
        parser.showHelp((s) => io.stdout.write(`${s}\n`));
      },
    })
    .strict()
    .version(false)
    .help()
    .alias('help', 'h')
    .wrap(Math.min(100, process.stdout.columns ?? 80))
    .exitProcess(false)
    .fail((msg, err) => {
      // A handler's error reaches here with no msg: let it through to the catch below.
      if (err !== undefined && err !== null && (msg === null || msg === undefined || msg === '')) throw err;
      throw new UsageError(msg ?? err?.message ?? 'invalid arguments');
    });
  skipHelpCache(parser);
  await parser.parseAsync(args, { io }, (_err, _argv, output) => {
    // --help output is captured here instead of printed by yargs, so it goes to io.stdout.
    if (output !== '') io.stdout.write(`${output}\n`);
  });
}

/**
 * Run the CLI. Sets `process.exitCode` (and returns it); never calls `process.exit`, never throws.
 * @param argv arguments without `node` and the script (`process.argv.slice(2)`)
 */
export async function main(argv: readonly string[], io: CliIO = defaultIO()): Promise<number> {
  // stderr carries credstash's own one-line diagnostics only: the AWS SDK's multi-line "Node 20 support ends"
  // notice would print on every command on Node 20 (docs/cli.md).
  if (io.env === process.env) process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const args = rewriteArgs(argv);
  // The first word that names a command is, nearly always, the command yargs will run: load only that one.
  const command = args.find((a) => COMMAND_NAMES.has(a));
  let code = EXIT_OK;
  try {
    const load = new Set(commands.filter((c) => commandName(c) === command));
    for (;;) {
      try {
        await parse(await commandTable(load), args, io);
        break;
      } catch (err) {
        if (!(err instanceof CommandNotLoaded) || load.has(err.entry)) throw err;
        load.add(err.entry);
      }
    }
  } catch (err) {
    code = reportError(err, io.stderr, io.env, command);
  }
  process.exitCode = code;
  return code;
}
