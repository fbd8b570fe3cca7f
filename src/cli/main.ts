/**
 * The `credstash` command line: a yargs 17 root over one CommandModule per command (commands/index.ts).
 * Only this file decides exit codes (commands throw, never set process.exitCode): 0 ok, 1 CredstashError / unexpected error,
 * 2 usage error. With no subcommand it prints help and exits 0, as Python credstash does.
 */
import type { Stats } from 'node:fs';
import type { Argv } from 'yargs';
import { commandName, commands, type AnyCommandModule, type CommandEntry } from './commands/index.js';
import { canonicalArgs, declaredPositionals, optionTable, ordinal, parseSection, recordOptions, unescapeArgv, type OptionSpec, type ParsedSection } from './argv.js';
import { directArgs } from './direct-args.js';
import { needsFullCli } from './fast-path.js';
import type { CliIO, GlobalArgs } from './context.js';
import { beforeCommandSpecs, globalOptionSpecs, globalOptions } from './global-flags.js';
import { EXIT_OK, reportError, UsageError } from './errors.js';
import { holdTerminationSignals } from './signals.js';
import { guardStdio } from './stdio.js';
import { unknownCommandMessage } from './suggest.js';

/**
 * The global options as argparse would read them before the subcommand (global-flags.ts): the declared
 * ones, the short spellings valid only there (Python credstash's `-n` = `--arn`, `-p` = `--profile`; after
 * `get`, `-n` is `--noline`, after `exec` / `env`, `-p` is `--prefix`), `-h/--help` and `--version`.
 */
const GLOBAL_SPECS = globalOptionSpecs();
const HELP_SPEC: OptionSpec = { key: 'help', takesValue: false, array: false, label: '-h/--help', names: ['-h', '--help'] };
const VERSION_SPEC: OptionSpec = { key: 'version', takesValue: false, array: false, label: '--version', names: ['--version'] };
const GLOBAL_TABLE = optionTable(GLOBAL_SPECS, [HELP_SPEC, VERSION_SPEC], beforeCommandSpecs());

/** credstash-ts's version, put in by the build (esbuild `define`, vitest `define`) from package.json. */
declare const __CREDSTASH_VERSION__: string | undefined;
const VERSION = typeof __CREDSTASH_VERSION__ === 'string' ? __CREDSTASH_VERSION__ : 'unknown';

/** What main() runs: the canonical argv for yargs and the command it names (undefined: help). */
interface PreparedArgs {
  args: string[];
  entry?: CommandEntry;
  version?: true;
  /** The tokens read (global options, then the command's), unless --help was given: for directArgs. */
  tokens?: ParsedSection['tokens'];
}

/**
 * Read argv as Python credstash's argparse would (src/cli/argv.ts) and return the argv yargs gets: the
 * global options, the command word, its positionals and options, each value that starts with `-` shielded.
 * Loads the one command module named, to know its options.
 * @throws UsageError naming the problem and the argument's position, never its text
 */
export async function prepareArgs(argv: readonly string[], onCommand: (name: string) => void = () => {}): Promise<PreparedArgs> {
  const global = parseSection(argv, GLOBAL_TABLE, { offset: 0, stopAtPositional: true });
  const globals = canonicalArgs(global.tokens);
  if (global.tokens.some((t) => t.kind === 'option' && t.spec === VERSION_SPEC)) return { args: [], version: true };
  const word = argv[global.end];
  if (word === undefined) return { args: globals };
  const entry = commands.find((c) => commandName(c) === word);
  if (entry === undefined) throw new UsageError(unknownCommandMessage(word, `${ordinal(global.end + 1)} argument`, commands.map(commandName)));
  const name = commandName(entry);
  onCommand(name);
  const mod = await entry.load();
  const builder = mod.builder;
  const specs = typeof builder === 'function' ? recordOptions(builder) : [];
  const table = optionTable(GLOBAL_SPECS, [HELP_SPEC], specs);
  let rest = argv.slice(global.end + 1);
  // exec: the first `--` starts the command to run, passed through untouched.
  let passThrough: string[] = [];
  if (name === 'exec') {
    const dd = rest.indexOf('--');
    if (dd >= 0) {
      passThrough = rest.slice(dd);
      rest = rest.slice(0, dd);
    }
  }
  const section = parseSection(rest, table, { offset: global.end + 1, where: name });
  const help = [...global.tokens, ...section.tokens].some((t) => t.kind === 'option' && t.spec === HELP_SPEC);
  if (!help) {
    const positionals = section.tokens.filter((t) => t.kind === 'positional');
    const declared = declaredPositionals(entry.command);
    const extra = positionals[declared.max];
    if (extra !== undefined) throw new UsageError(`${name}: unexpected extra argument (${ordinal(global.end + 2 + extra.at)} argument)`);
    const missing = declared.required[positionals.length];
    if (missing !== undefined) throw new UsageError(`${name}: missing <${missing}>`);
  }
  const args = [...globals, name, ...canonicalArgs(section.tokens), ...passThrough];
  return help || passThrough.length > 0 ? { args, entry } : { args, entry, tokens: [...global.tokens, ...section.tokens] };
}

/**
 * A yargs failure message, made safe to print: yargs quotes what was typed (`Unknown argument: <value>`,
 * `Given: "<value>"`), which may be a secret pasted in the wrong place. Only messages that name nothing
 * but our own option names pass through; anything else says which command's arguments are wrong.
 */
export function safeYargsMessage(msg: string, command: string | undefined): string {
  if (/^Arguments [a-z-]+ and [a-z-]+ are mutually exclusive$/.test(msg)) return msg;
  if (/^Missing required arguments?: [a-z, -]+$/.test(msg)) return msg;
  return command === undefined ? 'invalid arguments' : `${command}: invalid arguments`;
}

/**
 * Whether a character device is one of Linux's memory devices (major 1: /dev/null, /dev/zero, /dev/full,
 * /dev/random, /dev/urandom, …), none of which is a terminal. `rdev` as glibc encodes it (major in bits 8-19
 * and 32-43). Elsewhere, false: the caller asks isatty().
 */
export function isMemoryDevice(rdev: number, platform: NodeJS.Platform = process.platform): boolean {
  if (platform !== 'linux') return false;
  const major = (Math.floor(rdev / 0x100) & 0xfff) | (Math.floor(rdev / 0x100000000) & ~0xfff);
  return major === 1;
}

/** This process's IO; the fast path passes stand-ins for stdout and stderr that hold the output (fast-path.ts). */
export function defaultIO(stdout: CliIO['stdout'] = process.stdout, stderr: CliIO['stderr'] = process.stderr): CliIO {
  return {
    stdout,
    stderr,
    // A getter: creating process.stdin costs a stream setup that only put/putall/import with `-` need.
    get stdin() {
      return process.stdin;
    },
    // Whether fd 0 is a terminal, without creating process.stdin (every command asks, for the MFA prompt).
    // A terminal is a character device: a pipe, file or socket is told apart without loading node:tty, and so
    // is /dev/null (systemd's default stdin, so every boot-time `get` of a unit) and the other memory devices.
    get stdinIsTTY() {
      let st: Stats;
      try {
        st = process.getBuiltinModule('node:fs').fstatSync(0);
      } catch {
        return false; // no fd 0
      }
      if (!st.isCharacterDevice() || isMemoryDevice(st.rdev)) return false;
      return process.getBuiltinModule('node:tty').isatty(0);
    },
    env: process.env,
    cwd: process.cwd(),
  };
}

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

/** The first lines of `credstash --help`. A command's own help starts with its usage line instead. */
const ROOT_USAGE = "Usage: credstash [global options] <command> [arguments] [options]\n\nRun 'credstash <command> --help' for a command's arguments, options and an example.";

async function parse(table: AnyCommandModule[], args: string[], io: CliIO, command: string | undefined): Promise<void> {
  // Loaded here, not at the top: `get` usually runs without it (direct-args.ts).
  const { default: yargs } = await import('yargs');
  const parser: Argv<GlobalArgs> = globalOptions(yargs().scriptName('credstash'))
    .usage(ROOT_USAGE)
    .command(table)
    .command({
      command: '$0',
      describe: false,
      handler: () => {
        parser.showHelp((s) => io.stdout.write(`${s}\n`));
      },
    })
    .strict()
    // Positionals are text as typed: yargs would turn `exec -- cmd 1e3 0x10` into 1000 and 16.
    .parserConfiguration({ 'parse-positional-numbers': false })
    .version(false)
    .help()
    .alias('help', 'h')
    .wrap(Math.min(100, process.stdout.columns ?? 80))
    .exitProcess(false)
    // Values that start with `-` were shielded from yargs (prepareArgs); every handler sees them as typed.
    .middleware((argv) => unescapeArgv(argv as Record<string, unknown>))
    .fail((msg, err) => {
      // A handler's error reaches here with no msg: let it through to the catch below.
      if (err !== undefined && err !== null && (msg === null || msg === undefined || msg === '')) throw err;
      throw new UsageError(safeYargsMessage(msg ?? '', command));
    });
  skipHelpCache(parser);
  await parser.parseAsync(args, { io }, (_err, _argv, output) => {
    // --help output is captured here instead of printed by yargs, so it goes to io.stdout.
    if (output !== '') io.stdout.write(`${output}\n`);
  });
}

/** Commands that run without yargs when their command line allows it (direct-args.ts). */
const DIRECT_COMMANDS: ReadonlySet<string> = new Set(['get']);

/** Run the handler on the argv directArgs builds; false when yargs must parse the command line instead. */
async function runDirect(prepared: PreparedArgs, io: CliIO): Promise<boolean> {
  const { entry, tokens } = prepared;
  if (entry === undefined || tokens === undefined || !DIRECT_COMMANDS.has(commandName(entry))) return false;
  const mod = await entry.load();
  const argv = directArgs(entry.command, typeof mod.builder === 'function' ? (mod.builder as (y: Argv<GlobalArgs>) => unknown) : undefined, tokens, io);
  if (argv === undefined) return false;
  await mod.handler(argv);
  return true;
}

/**
 * The argv a command's handler receives for this command line, by yargs or by directArgs (tests compare the two).
 * @internal
 */
export async function handlerArgv(argv: readonly string[], io: CliIO, via: 'yargs' | 'direct'): Promise<Record<string, unknown> | undefined> {
  const prepared = await prepareArgs(argv);
  const { entry } = prepared;
  if (entry === undefined) return undefined;
  const mod = await entry.load();
  if (via === 'direct') {
    if (prepared.tokens === undefined) return undefined;
    return directArgs(entry.command, typeof mod.builder === 'function' ? (mod.builder as (y: Argv<GlobalArgs>) => unknown) : undefined, prepared.tokens, io);
  }
  let seen: Record<string, unknown> | undefined;
  const capture: AnyCommandModule = { ...mod, handler: (a: Record<string, unknown>) => void (seen = a) };
  const table = (await commandTable(new Set())).map((m) => (m.command === mod.command ? capture : m));
  await parse(table, prepared.args, io, commandName(entry));
  return seen;
}

/**
 * Run the CLI. Sets `process.exitCode` (and returns it); never calls `process.exit`, never throws (in the
 * fast-path bundle it throws NeedsFullCli when the command line needs the full build, see fast-path.ts).
 * @param argv arguments without `node` and the script (`process.argv.slice(2)`)
 */
export async function main(argv: readonly string[], io: CliIO = defaultIO()): Promise<number> {
  // stderr carries credstash's own one-line diagnostics only: the AWS SDK's multi-line "Node 20 support ends"
  // notice would print on every command on Node 20 (docs/cli.md).
  if (io.env === process.env) process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  // A failed write to stdout/stderr (EPIPE, ENOSPC) is an exit status, never a stack trace (stdio.ts).
  const output = guardStdio(io.stdout, io.stderr);
  let command: string | undefined;
  let code = EXIT_OK;
  try {
    const prepared = await prepareArgs(argv, (name) => {
      command = name;
      // A command run without yargs opens its store next: start loading the config reader now, beside the
      // command module (the two import graphs load concurrently; a failure surfaces where it is awaited).
      if (DIRECT_COMMANDS.has(name)) import('./load-config.js').catch(() => undefined);
    });
    if (prepared.version === true) {
      io.stdout.write(`${VERSION}\n`);
      process.exitCode = EXIT_OK;
      return EXIT_OK;
    }
    const { args, entry } = prepared;
    // The commands that write credstash.toml (it holds the Fernet key): SIGINT/SIGTERM/SIGHUP wait for the
    // synchronous atomic write to finish, so that none leaves its temp file (signals.ts). export -o and
    // render -o do the same in writeSecretFile; the read commands pay nothing.
    if (io.env === process.env && entry?.writesConfig === true) holdTerminationSignals();
    // A command whose builder only declares positionals and options runs without yargs (direct-args.ts).
    const direct = await runDirect(prepared, io);
    // Only the module of the command named is loaded; the others are stand-ins (see commandTable).
    const load = new Set(entry === undefined ? [] : [entry]);
    for (; !direct; ) {
      try {
        await parse(await commandTable(load), args, io, command);
        break;
      } catch (err) {
        if (!(err instanceof CommandNotLoaded) || load.has(err.entry)) throw err;
        load.add(err.entry);
      }
    }
  } catch (err) {
    // Only in the fast-path bundle: this command line needs the full build (fast-path.ts); bin/credstash runs it.
    if (needsFullCli(err)) throw err;
    code = reportError(err, io.stderr, io.env, command);
  }
  if (code === EXIT_OK) code = output.failure() ?? code;
  process.exitCode = code;
  return code;
}
