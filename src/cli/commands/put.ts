/**
 * `credstash put <credential> [value] [key=value ...]`: store a new version. `value` may be `@file` or `-`
 * (stdin); `-P` prompts; `--json/--data '{...}'` (also `@file`/`-`) stores a structured credential, checked
 * against `--type` or the `[[credentials]]` definition of that id. Prints `<name> has been stored`.
 */
import { ValidationError, VersionConflictError } from '../../core/errors.js';
import { parseExpiry } from '../../core/lifecycle.js';
import { DEFAULT_GENERATE_PRESET, generateValue, parseGeneratePolicy, type GeneratePolicy } from '../../core/generate.js';
import type { CredentialStore } from '../../core/store.js';
import { CREDENTIAL_TYPES, type CredentialDefinition, type CredentialType, type CredentialValue, type JsonObject, type WriteOptions } from '../../core/types.js';
import { assertJsonDepth } from '../../core/value.js';
import { LEGACY_DIGESTS, WRITE_FORMATS } from '../../config/defaults.js';
import { contextFromArgs, isStdinArg, withStore, writeVersionArg, type GlobalArgs } from '../context.js';
import { UsageError } from '../errors.js';
import { promptSecret, readTextArg, readValueArg } from '../input.js';
import { chainTarget, STORE_OPTION } from '../chain-target.js';
import { displayText } from '../output/terminal.js';
import type { CommandImpl } from './index.js';

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
  generate?: string;
  print?: boolean;
  'if-absent'?: boolean;
  expires?: string;
}

/**
 * Why `-P`, `-` and `@file` exist (`put --help`, README): an argument is visible to every user of the machine
 * in `ps` and /proc/<pid>/cmdline while credstash runs, and stays in the shell's history.
 */
export const PUT_EPILOG =
  'A value typed on the command line can be read by other users in `ps` while credstash runs, and stays in ' +
  'your shell history. Give secrets with -P (prompt, not echoed), - (stdin: `pass show x | credstash put NAME -`) ' +
  'or @file (a file only you can read) instead.';

export const putCommand: CommandImpl<PutArgs> = {
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
      .option('generate', GENERATE_OPTION)
      .option('print', { type: 'boolean', describe: 'with --generate: print the generated value on stdout (only there) once it is stored' })
      .option('if-absent', { type: 'boolean', describe: 'store version 1 only if the credential does not exist yet; if it does, say so and exit 0' })
      .option('expires', { type: 'string', describe: 'this version expires after a duration (90d, 12h, 2w) or at a date (2027-03-01, 2027-03-01T12:00:00Z); nothing is deleted then', requiresArg: true })
      .epilog(PUT_EPILOG),
  handler: (argv) => {
    const policy = generateArgs(argv);
    const expiresAt = argv.expires === undefined ? undefined : expiresArg(argv.expires);
    if (argv['if-absent'] === true && argv.version !== undefined) throw new UsageError('--if-absent stores version 1: drop -v');
    return withStore(argv, async (store, config) => {
      assertFormatApplies(store, argv);
      const context = contextFromArgs(argv.context);
      const version = argv['if-absent'] === true ? 1 : argv.autoversion === true ? undefined : writeVersionArg(argv.version);
      if (argv.json !== undefined && argv.value !== undefined && argv.value !== '') {
        // `put id --json '{}' k=v`: yargs puts the first context pair in `value`; take it back.
        if (argv.value.includes('=') && !argv.value.startsWith('@') && !isStdinArg(argv.value)) {
          argv.context = [argv.value, ...(argv.context ?? [])];
        } else throw new UsageError('give either a value or --json, not both');
      }
      const ifAbsent = argv['if-absent'] === true;
      const exists = (): void => {
        argv.io.stderr.write(`credstash: ${displayText(argv.credential)} already exists in ${displayText(store.description)}; nothing stored (--if-absent)\n`);
      };
      if (ifAbsent && (await store.credentialExists(argv.credential))) return exists();
      const value = policy !== undefined ? generateValue(policy) : await resolveValue(argv);
      // --if-absent writes version 1 with the store's conditional write (never -a's retry loop): of two
      // racing puts, the loser's write is refused with a VersionConflictError and reported like a name
      // that existed.
      const opts = writeOptions(ifAbsent ? { ...argv, autoversion: false } : argv, argv.json !== undefined || policy !== undefined ? contextFromArgs(argv.context) : context, version);
      const definition = definitionFor(argv.credential, config.credentials.get(argv.credential), argv.type);
      if (definition !== undefined) opts.definition = definition;
      if (expiresAt !== undefined) opts.expiresAt = expiresAt;
      try {
        await store.storeCredential(argv.credential, value, { ...opts, ...chainTarget(store, argv.store) });
      } catch (err) {
        if (ifAbsent && err instanceof VersionConflictError) return exists();
        throw err;
      }
      if (argv.print === true && typeof value === 'string') {
        // stdout carries the value alone, so that `pw=$(credstash put NAME --generate --print)` takes it.
        argv.io.stdout.write(`${value}\n`);
        argv.io.stderr.write(`credstash: ${displayText(argv.credential)} has been stored\n`);
      } else argv.io.stdout.write(`${displayText(argv.credential)} has been stored\n`);
    });
  },
};

/**
 * `--generate [POLICY]`: the value is drawn from POLICY (a preset, or settings: docs/lifecycle.md), so no
 * VALUE, `@file`, `-`, `-P` or `--json` goes with it. Without a policy, the `alnum` preset. It is a usage
 * error (exit 2) to give `--print` without `--generate`. A `key=value` that yargs put in the VALUE slot
 * (`put NAME env=prod --generate`) is taken back as context.
 */
export const GENERATE_OPTION = {
  type: 'string',
  describe: `generate the value from POLICY: a preset (postgres, mysql, redis, alnum, hex, base64url; alnum:40 for another length) and/or settings such as len=32,classes=upper+lower+digit+symbol,exclude=CHARS,require-each (default ${DEFAULT_GENERATE_PRESET})`,
  optionalValue: true,
} as const;

function generateArgs(argv: PutArgs): GeneratePolicy | undefined {
  if (argv.generate === undefined) {
    if (argv.print === true) throw new UsageError('--print applies only to --generate');
    return undefined;
  }
  if (argv.value !== undefined) {
    if (argv.value.includes('=') && !argv.value.startsWith('@') && !isStdinArg(argv.value)) {
      argv.context = [argv.value, ...(argv.context ?? [])];
      delete argv.value;
    } else throw new UsageError('give either a value or --generate, not both');
  }
  if (argv.prompt === true) throw new UsageError('give either -P or --generate, not both');
  if (argv.json !== undefined) throw new UsageError('give either --json or --generate, not both');
  // A generated value is text: --type (a structured credential's type) would only fail later, in the store.
  if (argv.type !== undefined) throw new UsageError('--type needs a structured value given with --json, not --generate');
  try {
    return parseGeneratePolicy(argv.generate === '' ? DEFAULT_GENERATE_PRESET : argv.generate);
  } catch (err) {
    if (err instanceof ValidationError) throw new UsageError(err.message);
    throw err;
  }
}

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

/** `--expires`: checked here (a usage error, exit 2, before the store is opened); the store checks it again. */
function expiresArg(text: string): string {
  try {
    return parseExpiry(text);
  } catch (err) {
    if (err instanceof ValidationError) throw new UsageError(`--expires: ${err.message}`);
    throw err;
  }
}

function definitionFor(id: string, configured: CredentialDefinition | undefined, type: CredentialType | undefined): CredentialDefinition | undefined {
  if (type === undefined) return configured;
  return { ...(configured ?? { id }), id, credential_type: type };
}
