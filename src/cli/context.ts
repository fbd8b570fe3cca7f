/**
 * What every command needs: its I/O, the global flags, the loaded config and the opened store.
 *
 * Adding a command (see commands/index.ts): write `commands/<name>.ts` exporting a yargs CommandModule
 * whose handler does
 * ```ts
 * handler: (argv) => withStore(argv, async (store, config) => { ...one library call...; argv.io.stdout.write(out) })
 * ```
 * Throw CredstashErrors (exit 1) or UsageError (exit 2); never set process.exitCode or print errors yourself.
 *
 * The config module (smol-toml and the shape check) is imported lazily so that `credstash --help` does not pay for it.
 */
import { AwsConfigError, ConfigError, ValidationError } from '../core/errors.js';
import { parseContextArgs } from '../core/context.js';
import { parseReadVersion, parseWriteVersion } from '../core/version.js';
import type { CredentialStore } from '../core/store.js';
import type { EncryptionContext } from '../core/types.js';
import type { ResolvedConfig } from '../config/merge.js';
import { UsageError } from './errors.js';
import { STORE_FLAGS } from './global-flags.js';

/** Where a command reads and writes. Injected by main() so that tests can run commands in-process. */
export interface CliIO {
  stdout: { write(chunk: string | Uint8Array): unknown };
  stderr: { write(chunk: string): unknown; isTTY?: boolean };
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown };
  /** Whether stdin is a terminal, when that can be told without touching `stdin` (the real process's IO). */
  readonly stdinIsTTY?: boolean;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/** Global options (they may appear before or after the subcommand); each has its row in global-flags.ts. */
export interface GlobalArgs {
  region?: string;
  table?: string;
  profile?: string;
  arn?: string;
  kmsRegion?: string;
  endpointUrl?: string;
  kmsEndpointUrl?: string;
  config?: string;
  storeType?: string;
  logLevel?: string;
  logFile?: string;
  io: CliIO;
}

// The global flags' table (names, short forms, store config keys) is global-flags.ts; re-exported for the commands.
export { globalOptions, STORE_FLAGS } from './global-flags.js';

/** Load the effective config for these arguments. */
export async function loadCliConfig(argv: GlobalArgs): Promise<ResolvedConfig> {
  const { loadConfig } = await import('./load-config.js');
  const storeConfig: Record<string, unknown> = {};
  for (const f of STORE_FLAGS) {
    const v = argv[f.arg];
    if (typeof v === 'string') storeConfig[f.key] = v;
  }
  return loadConfig({
    cwd: argv.io.cwd,
    env: argv.io.env,
    overrides: { configPath: argv.config, storeType: argv.storeType, storeConfig },
  });
}

/**
 * Open the configured store. A tier rejecting a key that came from a flag is reported by flag name.
 * @throws ConfigError
 */
export async function openCliStore(argv: GlobalArgs): Promise<{ store: CredentialStore; config: ResolvedConfig }> {
  const config = await loadCliConfig(argv);
  const { openConfiguredStore } = await import('./load-config.js');
  try {
    // The process's own environment: one command in a short-lived process, so a tier may use its faster
    // client (the DynamoDB get without the AWS SDK, which reads process.env as the SDK does). An injected
    // environment is a test running main() in its own process, with SDK client mocks.
    const hooks = { ...storeHooks(argv.io), ...(argv.io.env === process.env ? { shortLived: true } : {}) };
    return { store: await openConfiguredStore(config, argv.io.env, hooks), config };
  } catch (err) {
    throw explainFlagError(err, config);
  }
}

/**
 * What a store may tell or ask a person: notices (the us-east-1 region fall back, an `auto` legacy write) go
 * to stderr only when it is a terminal, so scripts see the output Python credstash gives; an MFA code is
 * prompted for (not echoed) only when stdin is a terminal.
 */
export function storeHooks(io: CliIO): {
  notice: (message: string) => void;
  onAuditIncomplete: (message: string) => void;
  mfaCodeProvider?: (mfaSerial: string) => Promise<string>;
} {
  const hooks: { notice: (message: string) => void; onAuditIncomplete: (message: string) => void; mfaCodeProvider?: (mfaSerial: string) => Promise<string> } = {
    notice: (message) => {
      if (io.stderr.isTTY === true) io.stderr.write(`credstash: note: ${message.replace(/[\u0000-\u001f\u007f]/g, '?')}\n`);
    },
    // A write happened (or failed) as the command says, but the audit log lacks its outcome line: always said,
    // and the exit code stays that of the write, so a script does not retry a put that was stored.
    onAuditIncomplete: (message) => {
      io.stderr.write(`credstash: warning: ${message.replace(/[\u0000-\u001f\u007f]/g, '?')}\n`);
    },
  };
  if ((io.stdinIsTTY ?? io.stdin.isTTY) === true) {
    hooks.mfaCodeProvider = async (mfaSerial) => {
      const { promptSecret } = await import('./input.js');
      const code: string | Uint8Array = await promptSecret(`MFA code for ${mfaSerial.replace(/[\u0000-\u001f\u007f]/g, '?')}: `, io);
      return (typeof code === 'string' ? code : Buffer.from(code).toString('utf8')).trim();
    };
  }
  return hooks;
}

/** Open the store, run `fn`, always close the store (sockets and file handles must not keep the process alive). */
export async function withStore<T>(argv: GlobalArgs, fn: (store: CredentialStore, config: ResolvedConfig) => Promise<T>): Promise<T> {
  const { store, config } = await openCliStore(argv);
  try {
    return await fn(store, config);
  } catch (err) {
    throw hintLocalTier(err, config);
  } finally {
    await store.close();
  }
}

/**
 * With no config file at all the CLI is Python credstash (DynamoDB + KMS). Someone without AWS who has not
 * run `credstash init` yet gets the AWS error plus the way out, instead of only being told to configure AWS.
 */
function hintLocalTier(err: unknown, config: ResolvedConfig): unknown {
  if (!(err instanceof AwsConfigError) || config.file !== undefined || config.store.type !== 'dynamodb') return err;
  return new AwsConfigError(`${err.message}; or, without AWS, run \`credstash init\` to use a local keystore`, {
    store: err.store,
    cause: (err as Error & { cause?: unknown }).cause,
  });
}

function explainFlagError(err: unknown, config: ResolvedConfig): unknown {
  if (!(err instanceof ConfigError) || err.path === undefined) return err;
  const m = /^credential_store\.config\.([A-Za-z0-9_]+)$/.exec(err.path);
  const key = m?.[1];
  if (key === undefined) return err;
  const flag = STORE_FLAGS.find((f) => f.key === key);
  if (flag !== undefined && config.storeSources[key] === 'flag') {
    return new ConfigError(`${flag.label} does not apply to the ${config.store.type} store`, { path: err.path });
  }
  if (key === 'table' && config.storeSources[key] === 'env') {
    return new ConfigError(`CREDSTASH_DEFAULT_TABLE does not apply to the ${config.store.type} store`, { path: err.path });
  }
  return err;
}

/** `key=value ...` positionals -> a canonical context. A malformed pair is a usage error, as in Python credstash. */
export function contextFromArgs(args: readonly unknown[] | undefined): EncryptionContext {
  try {
    return parseContextArgs((args ?? []).map(String));
  } catch (err) {
    if (err instanceof ValidationError) throw new UsageError(err.message);
    throw err;
  }
}

/** `-v` of a write: a positive integer, else a usage error (exit 2). */
export function writeVersionArg(v: unknown): number | undefined {
  if (v === undefined || v === '') return undefined;
  try {
    return parseWriteVersion(String(v));
  } catch (err) {
    if (err instanceof ValidationError) throw new UsageError(`-v/--version: ${err.message}`);
    throw err;
  }
}

/** `-v` of a read: any stored version string (legacy tables hold `v5`), checked for shape only. */
export function readVersionArg(v: unknown): string | undefined {
  if (v === undefined || v === '') return undefined;
  const s = String(v);
  try {
    parseReadVersion(s);
  } catch (err) {
    if (err instanceof ValidationError) throw new UsageError(`-v/--version: ${err.message}`);
    throw err;
  }
  return s;
}

/**
 * A lone `-` as main.ts hands it to yargs (argv.ts shields every value that starts with `-`; yargs would
 * turn a bare `-` into `''`). Handlers see `-` itself again (argv.ts unescapeArgv); this form is accepted
 * too. `-` means "read stdin" only where a command reads a value (`put NAME -`, `putall -`, `--json -`).
 */
export const STDIN_ARG = '\u0000-';

export function isStdinArg(arg: unknown): boolean {
  return arg === '-' || arg === STDIN_ARG;
}

/** Read all of stdin as bytes (`put NAME -`, `putall -`). */
export async function readStdin(io: CliIO): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of io.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}
