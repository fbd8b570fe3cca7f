/**
 * The global flags, once: each row says how the flag is spelt, whether it takes a value, which short
 * spelling it has only before the subcommand, and which store config key it sets. From this table come the
 * yargs options (globalOptions), the argparse-style option specs main.ts reads argv with
 * (globalOptionSpecs), and the flag -> store config key map (STORE_FLAGS). To add a global flag, add a row
 * here and its field to GlobalArgs (context.ts); nothing else lists them.
 */
import type { Argv } from 'yargs';
import type { OptionSpec } from './argv.js';
import type { GlobalArgs } from './context.js';

/** One global flag. Every global flag takes one value (a string). */
export interface GlobalFlag {
  /** The long name, as typed after `--` and given to yargs (`kms-region`). */
  readonly name: string;
  /** Its field in GlobalArgs (yargs' camel-case form of `name`). */
  readonly arg: Exclude<keyof GlobalArgs, 'io'>;
  /** A one-letter alias valid before and after the subcommand (`-r`). */
  readonly alias?: string;
  /**
   * A one-letter spelling valid only before the subcommand, as in Python credstash: after it, the same
   * letter is a command's own option (`-n`: get's --noline, `-p`: exec's and env's --prefix).
   */
  readonly shortBeforeCommand?: string;
  /** The store config key it sets (`[credential_store.config]`); a tier that does not know it rejects it. */
  readonly configKey?: string;
  /** Its line in --help; undefined for a hidden flag. */
  readonly describe?: string;
}

export const GLOBAL_FLAGS: readonly GlobalFlag[] = [
  { name: 'region', arg: 'region', alias: 'r', configKey: 'region', describe: 'AWS region of the DynamoDB table (and of KMS unless --kms-region)' },
  { name: 'table', arg: 'table', alias: 't', configKey: 'table', describe: 'DynamoDB table (default $CREDSTASH_DEFAULT_TABLE or credential-store)' },
  { name: 'profile', arg: 'profile', shortBeforeCommand: 'p', configKey: 'profile', describe: 'AWS profile (-p before the subcommand)' },
  { name: 'arn', arg: 'arn', shortBeforeCommand: 'n', configKey: 'role_arn', describe: 'role to assume (-n before the subcommand); excludes --profile' },
  { name: 'kms-region', arg: 'kmsRegion', configKey: 'kms_region', describe: 'KMS region (default: saved by setup --save-kms-region, else --region)' },
  { name: 'endpoint-url', arg: 'endpointUrl', configKey: 'endpoint_url', describe: 'DynamoDB endpoint (also AWS_ENDPOINT_URL_DYNAMODB)' },
  { name: 'kms-endpoint-url', arg: 'kmsEndpointUrl', configKey: 'kms_endpoint_url', describe: 'KMS endpoint (also AWS_ENDPOINT_URL_KMS)' },
  { name: 'config', arg: 'config', describe: 'config file (default $CREDSTASH_CONFIG, ./credstash.toml, ~/.config/credstash/credstash.toml)' },
  { name: 'store-type', arg: 'storeType', describe: 'store type, overriding the config file (dynamodb, local, sql, ...)' },
  // Python's logging flags: accepted for script compatibility; credstash-ts writes no log file.
  { name: 'log-level', arg: 'logLevel' },
  { name: 'log-file', arg: 'logFile' },
];

/** Pairs of global flags that exclude each other (yargs `conflicts`). */
const CONFLICTS: ReadonlyArray<readonly [string, string]> = [['profile', 'arn']];

/** `-r/--region`, `-n/--arn`: how a message names a flag. */
export function flagLabel(flag: GlobalFlag): string {
  const short = flag.alias ?? flag.shortBeforeCommand;
  return short === undefined ? `--${flag.name}` : `-${short}/--${flag.name}`;
}

/** The global flags that set a store config key, with the label a message names them by. */
export const STORE_FLAGS: ReadonlyArray<{ arg: GlobalFlag['arg']; key: string; label: string }> = GLOBAL_FLAGS.flatMap((f) =>
  f.configKey === undefined ? [] : [{ arg: f.arg, key: f.configKey, label: flagLabel(f) }],
);

/** Declare the global options on the root yargs instance. */
export function globalOptions<T>(y: Argv<T>): Argv<GlobalArgs> {
  let out: Argv<T> = y;
  for (const f of GLOBAL_FLAGS) {
    out = out.option(f.name, {
      ...(f.alias === undefined ? {} : { alias: f.alias }),
      type: 'string',
      ...(f.describe === undefined ? { hidden: true } : { describe: f.describe }),
      global: true,
      requiresArg: true,
    });
  }
  for (const [a, b] of CONFLICTS) out = out.conflicts(a, b);
  // The options add the GlobalArgs fields (all optional strings); `io` is given to every parse by main().
  return out as unknown as Argv<GlobalArgs>;
}

/** The argparse-style spec of every global flag, with its alias: valid before and after the subcommand. */
export function globalOptionSpecs(): OptionSpec[] {
  return GLOBAL_FLAGS.map((f) => {
    const names = [`--${f.name}`, ...(f.alias === undefined ? [] : [`-${f.alias}`])];
    return { key: f.name, takesValue: true, array: false, label: f.alias === undefined ? `--${f.name}` : `-${f.alias}/--${f.name}`, names };
  });
}

/** The spellings valid only before the subcommand (`-n` = --arn, `-p` = --profile), each as its own spec. */
export function beforeCommandSpecs(): OptionSpec[] {
  return GLOBAL_FLAGS.flatMap((f) =>
    f.shortBeforeCommand === undefined ? [] : [{ key: f.name, takesValue: true, array: false, label: flagLabel(f), names: [`-${f.shortBeforeCommand}`] }],
  );
}
