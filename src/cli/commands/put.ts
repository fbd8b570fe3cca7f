/**
 * `credstash put <credential> [value] [key=value ...]`: store a new version. `value` may be `@file` or `-`
 * (stdin); `-P` prompts; `--json/--data '{...}'` (also `@file`/`-`) stores a structured credential, checked
 * against `--type` or the `[[credentials]]` definition of that id. Prints `<name> has been stored`.
 */
import type { CommandModule } from 'yargs';
import { ValidationError } from '../../core/errors.js';
import type { CredentialStore } from '../../core/store.js';
import { CREDENTIAL_TYPES, type CredentialDefinition, type CredentialType, type CredentialValue, type JsonObject, type WriteOptions } from '../../core/types.js';
import { assertJsonDepth } from '../../core/value.js';
import { LEGACY_DIGESTS, WRITE_FORMATS } from '../../config/defaults.js';
import { contextFromArgs, isStdinArg, withStore, writeVersionArg, type GlobalArgs } from '../context.js';
import { UsageError } from '../errors.js';
import { promptSecret, readTextArg, readValueArg } from '../input.js';
import { chainTarget, STORE_OPTION } from '../chain-target.js';
import { displayText } from '../output/terminal.js';

interface PutArgs extends GlobalArgs {
  credential: string;
  value?: string;
  context?: string[];
  key?: string;
  comment?: string;
  version?: string;
  autoversion?: boolean;
  digest?: string;
  prompt?: boolean;
  legacy?: boolean;
  format?: string;
  json?: string;
  type?: CredentialType;
  store?: string;
}

/**
 * Why `-P`, `-` and `@file` exist (`put --help`, README): an argument is visible to every user of the machine
 * in `ps` and /proc/<pid>/cmdline while credstash runs, and stays in the shell's history.
 */
export const PUT_EPILOG =
  'A value typed on the command line can be read by other users in `ps` while credstash runs, and stays in ' +
  'your shell history. Give secrets with -P (prompt, not echoed), - (stdin: `pass show x | credstash put NAME -`) ' +
  'or @file (a file only you can read) instead.';

export const putCommand: CommandModule<GlobalArgs, PutArgs> = {
  command: 'put <credential> [value] [context..]',
  describe: 'Put a credential into the store',
  builder: (y) =>
    y
      .positional('credential', { type: 'string', describe: 'the name of the credential to store', demandOption: true })
      .positional('value', { type: 'string', describe: 'the value; @file reads a file, - reads stdin (default: empty)' })
      .positional('context', { type: 'string', array: true, describe: 'encryption context key/value pairs: key=value' })
      .option('key', { alias: 'k', type: 'string', describe: 'KMS key (default alias/credstash)', requiresArg: true })
      .option('comment', { alias: 'c', type: 'string', describe: 'comment stored with this version', requiresArg: true })
      .option('version', { alias: 'v', type: 'string', describe: 'version to store (a positive integer; default 1)', requiresArg: true })
      .option('autoversion', { alias: 'a', type: 'boolean', describe: 'store the next version after the highest one' })
      .option('digest', { alias: 'd', choices: LEGACY_DIGESTS, describe: 'HMAC digest of legacy items (default SHA256; implies --format legacy)' })
      .option('prompt', { alias: 'P', type: 'boolean', describe: 'prompt for the value (not echoed)' })
      .option('format', FORMAT_OPTION)
      .option('legacy', { type: 'boolean', describe: 'the same as --format legacy' })
      .option('json', { alias: 'data', type: 'string', describe: 'store a structured credential: a JSON object, @file or -', requiresArg: true })
      .option('type', { choices: CREDENTIAL_TYPES, describe: 'credential type of a structured value (checks its required fields)' })
      .option('store', STORE_OPTION)
      .epilog(PUT_EPILOG) as never,
  handler: (argv) =>
    withStore(argv, async (store, config) => {
      assertFormatApplies(store, argv);
      const context = contextFromArgs(argv.context);
      const version = argv.autoversion === true ? undefined : writeVersionArg(argv.version);
      if (argv.json !== undefined && argv.value !== undefined && argv.value !== '') {
        // `put id --json '{}' k=v`: yargs puts the first context pair in `value`; take it back.
        if (argv.value.includes('=') && !argv.value.startsWith('@') && !isStdinArg(argv.value)) {
          argv.context = [argv.value, ...(argv.context ?? [])];
        } else throw new UsageError('give either a value or --json, not both');
      }
      const value = await resolveValue(argv);
      const opts = writeOptions(argv, argv.json !== undefined ? contextFromArgs(argv.context) : context, version);
      const definition = definitionFor(argv.credential, config.credentials.get(argv.credential), argv.type);
      if (definition !== undefined) opts.definition = definition;
      await store.storeCredential(argv.credential, value, { ...opts, ...chainTarget(store, argv.store) });
      argv.io.stdout.write(`${displayText(argv.credential)} has been stored\n`);
    }),
};

async function resolveValue(argv: PutArgs): Promise<CredentialValue> {
  if (argv.json !== undefined) return parseJsonObject(await readTextArg(argv.json, argv.io, '--json value'), '--json');
  if (argv.type !== undefined && argv.type !== 'custom') throw new UsageError('--type needs a structured value given with --json');
  if (argv.prompt === true) return promptSecret(`${displayText(argv.credential)}: `, argv.io);
  return readValueArg(argv.value ?? '', argv.io);
}

/**
 * `--format`, `--legacy` and `-d` choose between the DynamoDB item formats; any other store has one format, so
 * they would be silently ignored there: a usage error instead (StoreCapabilities.formats; a chain has it when a
 * member has).
 */
export function assertFormatApplies(store: Pick<CredentialStore, 'capabilities' | 'description'>, argv: Pick<PutArgs, 'digest' | 'legacy' | 'format'>): void {
  if (argv.format === undefined && argv.legacy !== true && argv.digest === undefined) return;
  if (store.capabilities.formats === true) return;
  const flag = argv.format !== undefined ? '--format' : argv.legacy === true ? '--legacy' : '-d/--digest';
  throw new UsageError(`${flag} chooses a DynamoDB item format; ${store.description} has only one (drop the option)`);
}

/** `--format` of put and putall (also CREDSTASH_FORMAT and `format` in the store config). */
export const FORMAT_OPTION = {
  choices: WRITE_FORMATS,
  describe: 'item format of a DynamoDB write: auto follows the table (legacy where Python credstash reads it), gcm, legacy (default: $CREDSTASH_FORMAT, the config, auto)',
  requiresArg: true,
} as const;

/** The write options put and putall share: -a / -v, -c, -k, -d, --format and --legacy. */
export function writeOptions(
  argv: Pick<PutArgs, 'autoversion' | 'comment' | 'key' | 'digest' | 'legacy' | 'format'>,
  context: WriteOptions['context'],
  version: number | undefined,
): WriteOptions {
  const opts: WriteOptions = { context };
  if (argv.autoversion === true) opts.autoVersion = true;
  else if (version !== undefined) opts.version = version;
  if (argv.comment !== undefined) opts.comment = argv.comment;
  if (argv.key !== undefined) opts.keyId = argv.key;
  if (argv.legacy === true && argv.format !== undefined && argv.format !== 'legacy') throw new UsageError(`--legacy contradicts --format ${argv.format}`);
  const format = argv.legacy === true ? 'legacy' : argv.format;
  // A digest exists only in the legacy format: -d without a format means legacy (the store applies it).
  if (argv.digest !== undefined && format !== undefined && format !== 'legacy') throw new UsageError(`-d/--digest applies only to the legacy format, not --format ${format}`);
  if (argv.digest !== undefined) opts.digest = argv.digest;
  if (format !== undefined) opts.format = format;
  return opts;
}

/** Parse a JSON object given on the command line (depth bounded); the message never quotes it (JSON.parse's would). */
export function parseJsonObject(text: string, what: string): JsonObject {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ValidationError(`${what} value is not valid JSON`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new ValidationError(`${what} value must be a JSON object`);
  assertJsonDepth(parsed, `${what} value`);
  return parsed as JsonObject;
}

function definitionFor(id: string, configured: CredentialDefinition | undefined, type: CredentialType | undefined): CredentialDefinition | undefined {
  if (type === undefined) return configured;
  return { ...(configured ?? { id }), id, credential_type: type };
}
