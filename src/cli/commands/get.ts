/**
 * `credstash get <credential> [key=value ...]`: the value and a newline (`-n`: no newline); a binary value
 * is written byte for byte with nothing added. A credential
 * name with `*` is a pattern (`*` only, as in Python; `?` and `.` are ordinary characters): every match is printed in `-f json|yaml|csv|dotenv` (default json),
 * without an added newline, as Python credstash does. `--field F` prints one field of a structured value.
 * `--label L` reads the version label L points at (not with -v or a wildcard). A version past its expiry is
 * printed with one `credstash: warning: ...` line on stderr; with `--strict` it is an error (exit 1).
 */
import { CredstashError, ValidationError } from '../../core/errors.js';
import { isGlob } from '../../core/names.js';
import type { CredentialValue, JsonValue } from '../../core/types.js';
import { valueToText } from '../../core/value.js';
import { contextFromArgs, readVersionArg, withStore, type GlobalArgs } from '../context.js';
import { ALLOW_ENV_OPTION } from '../env-option-spec.js';
import { UsageError } from '../errors.js';
import { expiredWarning } from '../lifecycle.js';
import { OUTPUT_FORMATS, type OutputFormat } from '../output/formats.js';
import type { CommandImpl } from './index.js';

interface GetArgs extends GlobalArgs {
  credential: string;
  context?: string[];
  noline?: boolean;
  version?: string;
  format: OutputFormat;
  field?: string;
  allowEnv?: string[];
  label?: string;
  strict?: boolean;
}

export const getCommand: CommandImpl<GetArgs> = {
  builder: (y) =>
    y
      .positional('credential', { type: 'string', describe: 'the name of the credential to get (* is a wildcard)', demandOption: true })
      .positional('context', { type: 'string', array: true, describe: 'encryption context key/value pairs: key=value' })
      .option('noline', { alias: 'n', type: 'boolean', describe: "don't append a newline to the output" })
      .option('version', { alias: 'v', type: 'string', describe: 'get a specific version of the credential (default: the latest)', requiresArg: true })
      .option('format', { alias: 'f', choices: OUTPUT_FORMATS, default: 'json' as OutputFormat, describe: 'output format for wildcard gets' })
      .option('field', { type: 'string', describe: 'print one field of a structured (JSON) credential', requiresArg: true })
      .option('allow-env', { ...ALLOW_ENV_OPTION, describe: `-f dotenv: ${ALLOW_ENV_OPTION.describe ?? ''}` })
      .option('label', { alias: 'l', type: 'string', describe: 'get the version this label points at (e.g. current); not with -v', requiresArg: true })
      .option('strict', { type: 'boolean', describe: 'fail (exit 1) instead of warning when the version has expired' }),
  handler: (argv) =>
    withStore(argv, async (store) => {
      const context = contextFromArgs(argv.context);
      const version = readVersionArg(argv.version);
      if (argv.label !== undefined && version !== undefined) throw new UsageError('give -v or --label, not both');
      if (isGlob(argv.credential)) {
        if (argv.field !== undefined) throw new UsageError('--field cannot be used with a wildcard');
        if (argv.label !== undefined) throw new UsageError('--label reads one credential; it cannot be used with a wildcard');
        // The formatters and the variable-name rules load only for a wildcard get (cold start of a plain get).
        const [{ allowEnvArg }, { formatCredentials }] = await Promise.all([import('../env-options.js'), import('../output/index.js')]);
        const allowEnv = allowEnvArg(argv.allowEnv);
        const { credentials } = await store.getAllCredentials({ pattern: argv.credential, version, context });
        argv.io.stdout.write(formatCredentials(credentials, argv.format, { allowEnv }));
        return;
      }
      const cred = await store.getCredential(argv.credential, {
        version,
        context,
        required: true,
        ...(argv.label === undefined ? {} : { label: argv.label }),
        ...(argv.strict === true ? { strict: true } : {}),
      });
      const expired = expiredWarning(cred, store);
      if (expired !== undefined) argv.io.stderr.write(expired);
      if (cred.value instanceof Uint8Array && argv.field === undefined) {
        // Bytes in, bytes out: a binary value is written exactly, with no newline added (`get x > file`).
        argv.io.stdout.write(cred.value);
        return;
      }
      const text = argv.field === undefined ? valueToText(cred.value) : fieldText(argv.credential, cred.value, argv.field);
      argv.io.stdout.write(argv.noline === true ? text : `${text}\n`);
    }),
};

/** One field of a structured value: strings as they are, anything else as JSON. */
export function fieldText(id: string, value: CredentialValue, field: string): string {
  if (typeof value === 'string' || value instanceof Uint8Array) {
    throw new ValidationError(`credential "${id}" is not a structured (JSON) credential; --field needs one`, { credentialId: id });
  }
  if (!Object.prototype.hasOwnProperty.call(value, field)) {
    throw new CredstashError(ValidationError.code, `credential "${id}" has no field "${field}"`, { credentialId: id });
  }
  const v = value[field] as JsonValue;
  return typeof v === 'string' ? v : JSON.stringify(v);
}
