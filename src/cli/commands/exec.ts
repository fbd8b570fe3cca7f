/**
 * `credstash exec [--pristine] [--strict] [-p PREFIX] [key=value ...] -- cmd args`: run a command with the
 * credentials as environment variables (docs/operations.md).
 *
 * Names: the id less PREFIX, upper-cased, every non-alphanumeric turned into `_`; two ids giving one name
 * are an error, and so is a name that changes how the command starts or what it loads (LD_PRELOAD,
 * NODE_OPTIONS, PATH, ...: src/ops/env-names.ts) unless named with `--allow-env`. The command does not
 * inherit credstash's own settings and secrets (every CREDSTASH_* variable, VAULT_TOKEN) unless
 * `--pass-credstash-env`. The store is read and closed before the child starts. The child's exit code becomes
 * credstash's; a signal sent to credstash is forwarded to the child, and if the child dies of a signal,
 * credstash dies of the same signal, so a supervisor sees what it would have seen without credstash.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { delimiter, isAbsolute, join } from 'node:path';
import { ValidationError } from '../../core/errors.js';
import { isGlob } from '../../core/names.js';
import type { CredentialStore } from '../../core/store.js';
import type { EncryptionContext } from '../../core/types.js';
import { credentialsToEnv } from '../../ops/env-names.js';
import { contextFromArgs, STDIN_ARG, withStore, type CliIO, type GlobalArgs } from '../context.js';
import { ALLOW_ENV_OPTION, allowEnvArg } from '../env-options.js';
import { ChildExit, UsageError } from '../errors.js';
import { displayText } from '../output/terminal.js';
import type { CommandImpl } from './index.js';

interface ExecArgs extends GlobalArgs {
  context?: string[];
  pristine?: boolean;
  strict?: boolean;
  prefix?: string;
  allowEnv?: string[];
  passCredstashEnv?: boolean;
  _: Array<string | number>;
}

/**
 * Signals relayed to the child. SIGINT and SIGQUIT typed at a terminal already reach the child (it is in
 * our foreground process group), so they are relayed only when credstash has no terminal: otherwise the
 * child would get each Ctrl-C twice.
 */
const ALWAYS_FORWARD: NodeJS.Signals[] = ['SIGTERM', 'SIGHUP', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'];
const TTY_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGQUIT'];

export interface EnvSelection {
  prefix?: string;
  context: EncryptionContext;
  strict: boolean;
  /** Protected variable names a credential may set all the same (`--allow-env`). */
  allow?: readonly string[];
}

/**
 * credstash's own configuration and secrets, kept from the command unless `--pass-credstash-env`: the
 * Fernet key, the env tier's credentials and every other CREDSTASH_* setting, and the Vault token. (Role
 * credentials assumed with `--arn` live only inside credstash and are never in any environment.)
 */
export function isCredstashOwnEnv(name: string): boolean {
  return name.startsWith('CREDSTASH_') || name === 'VAULT_TOKEN';
}

/**
 * Read the credentials for exec/env. Default: credentials that cannot be read with this context (other
 * environments' items in a shared table) are skipped with a warning naming them. `strict`: any unreadable
 * credential is an error.
 */
export async function envFromStore(store: CredentialStore, sel: EnvSelection, io: CliIO): Promise<Map<string, string>> {
  const pattern = sel.prefix !== undefined && sel.prefix !== '' && !isGlob(sel.prefix) ? `${sel.prefix}*` : undefined;
  const result = await store.getAllCredentials({ context: sel.context, ...(pattern === undefined ? {} : { pattern }), skipErrors: !sel.strict });
  if (result.skipped.length > 0) {
    const list = result.skipped.map((s) => `${displayText(s.id)} (${s.code})`).join(', ');
    io.stderr.write(`credstash: warning: skipped ${result.skipped.length} credential(s) that could not be read: ${list}\n`);
  }
  return credentialsToEnv(result.credentials, { ...(sel.prefix === undefined ? {} : { prefix: sel.prefix }), ...(sel.allow === undefined ? {} : { allow: sel.allow }) });
}

export const execCommand: CommandImpl<ExecArgs> = {
  builder: (y) =>
    y
      .positional('context', { type: 'string', array: true, describe: 'encryption context key/value pairs: key=value' })
      .option('pristine', { type: 'boolean', describe: 'give the command only the credentials (and PATH, HOME, USER, LANG, TERM, TZ), not the rest of this environment' })
      .option('strict', { type: 'boolean', describe: 'fail if any credential cannot be read, or would replace a variable already in the environment' })
      .option('prefix', { alias: 'p', type: 'string', describe: 'only credentials whose id starts with PREFIX; PREFIX is removed from the names', requiresArg: true })
      .option('allow-env', ALLOW_ENV_OPTION)
      .option('pass-credstash-env', { type: 'boolean', describe: "also pass credstash's own variables (CREDSTASH_*, VAULT_TOKEN) to the command" })
      .example('credstash exec -p myapp.prod. env=prod -- ./server --port 8080', 'myapp.prod.db_password -> $DB_PASSWORD'),
  handler: async (argv) => {
    const cmd = argv._.slice(1).map((a) => (String(a) === STDIN_ARG ? '-' : String(a)));
    if (cmd.length === 0) throw new UsageError('no command given; put it after --, e.g. credstash exec -- ./server');
    const context = contextFromArgs(argv.context);
    const strict = argv.strict === true;
    const allow = allowEnvArg(argv.allowEnv);
    // Before any decryption: a typo in the command costs no KMS calls.
    const file = resolveCommand(cmd[0] as string, argv.io.env.PATH ?? '', argv.io.cwd);
    const creds = await withStore(argv, (store) => envFromStore(store, { context, strict, allow, ...(argv.prefix === undefined ? {} : { prefix: argv.prefix }) }, argv.io));

    const base: NodeJS.ProcessEnv = argv.pristine === true ? pick(argv.io.env, ['PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'TERM', 'TZ']) : { ...argv.io.env };
    if (argv.passCredstashEnv !== true) for (const k of Object.keys(base)) if (isCredstashOwnEnv(k)) delete base[k];
    if (strict) {
      const clash = [...creds.keys()].filter((k) => base[k] !== undefined).sort();
      if (clash.length > 0) throw new ValidationError(`--strict: ${clash.join(', ')} already set in the environment; the credential would replace it`);
    }
    const env = { ...base, ...Object.fromEntries(creds) };
    const code = await runChild(file, cmd.slice(1), { env, cwd: argv.io.cwd, argv0: cmd[0] as string });
    if (code !== 0) throw new ChildExit(code);
  },
};

/** Find the executable with the caller's PATH (the child's may be pristine); errors name the command only. */
function resolveCommand(cmd: string, path: string, cwd: string): string {
  const ok = (f: string): boolean => {
    try {
      accessSync(f, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  if (cmd.includes('/')) {
    const f = isAbsolute(cmd) ? cmd : join(cwd, cmd);
    if (!ok(f)) throw new ValidationError(`command "${cmd}" is not an executable file`);
    return f;
  }
  for (const dir of path.split(delimiter)) {
    const f = join(dir === '' ? cwd : dir, cmd);
    if (ok(f)) return f;
  }
  throw new ValidationError(`command "${cmd}" not found in PATH`);
}

/**
 * Spawn with inherited stdio and wait. Returns the exit code; if the child was killed by a signal,
 * re-raises that signal on this process (after removing the relays), so the parent dies the same way.
 */
function runChild(file: string, args: string[], opts: { env: NodeJS.ProcessEnv; cwd: string; argv0: string }): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env: opts.env, cwd: opts.cwd, stdio: 'inherit', argv0: opts.argv0 });
    const relayed = [...ALWAYS_FORWARD, ...(process.stdin.isTTY === true ? [] : TTY_SIGNALS)];
    const relay = (sig: NodeJS.Signals): void => {
      try {
        child.kill(sig);
      } catch {
        // the child is already gone
      }
    };
    // With a terminal the child gets Ctrl-C itself; credstash must not die of it before the child does.
    const ignore = (): void => {};
    for (const s of relayed) process.on(s, relay);
    const ignored = process.stdin.isTTY === true ? TTY_SIGNALS : [];
    for (const s of ignored) process.on(s, ignore);
    const cleanup = (): void => {
      for (const s of relayed) process.off(s, relay);
      for (const s of ignored) process.off(s, ignore);
    };
    child.on('error', (err) => {
      cleanup();
      reject(new ValidationError(`command "${opts.argv0}" could not be started (${(err as NodeJS.ErrnoException).code ?? err.name})`));
    });
    child.on('exit', (code, signal) => {
      cleanup();
      if (signal !== null) {
        process.kill(process.pid, signal);
        // SIGWINCH-like signals whose default is to ignore: fall back to the shell's 128+n convention.
        setTimeout(() => resolve(128 + (signalNumber(signal) ?? 0)), 100);
        return;
      }
      resolve(code ?? 1);
    });
  });
}

function signalNumber(sig: NodeJS.Signals): number | undefined {
  return (osConstants.signals as Record<string, number | undefined>)[sig];
}

function pick(env: NodeJS.ProcessEnv, keys: string[]): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const k of keys) if (env[k] !== undefined) out[k] = env[k];
  return out;
}
