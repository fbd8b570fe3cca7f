/**
 * `credstash export -f json|yaml|csv|dotenv [-o FILE] [--pattern GLOB] [key=value ...]`: the newest version
 * of every credential, in the same formats as `getall -f` (binary values as base64, structured values as
 * objects in json/yaml). To stdout, or to FILE created 0600 atomically (never replaced without --force).
 */
import { existsSync } from 'node:fs';
import { ValidationError } from '../../core/errors.js';
import { exportCredentials } from '../../ops/import-export.js';
import { contextFromArgs, withStore, type GlobalArgs } from '../context.js';
import { ALLOW_ENV_OPTION, allowEnvArg } from '../env-options.js';
import { displayText } from '../output/terminal.js';
import { formatCredentials, OUTPUT_FORMATS, type OutputFormat } from '../output/index.js';
import { writeSecretFile } from '../secret-file.js';
import type { CommandImpl } from './index.js';

interface ExportArgs extends GlobalArgs {
  context?: string[];
  format: OutputFormat;
  output?: string;
  force?: boolean;
  pattern?: string;
  skipErrors?: boolean;
  allowEnv?: string[];
}

export const exportCommand: CommandImpl<ExportArgs> = {
  builder: (y) =>
    y
      .positional('context', { type: 'string', array: true, describe: 'encryption context key/value pairs: key=value' })
      .option('format', { alias: 'f', choices: OUTPUT_FORMATS, default: 'json' as OutputFormat, describe: 'output format' })
      .option('output', { alias: 'o', type: 'string', describe: 'write to FILE (created 0600, atomically) instead of stdout', requiresArg: true })
      .option('force', { type: 'boolean', describe: 'replace FILE if it exists' })
      .option('pattern', { type: 'string', describe: 'only ids matching this glob (* and ?)', requiresArg: true })
      .option('skip-errors', { type: 'boolean', describe: 'export what can be read and list the rest on stderr' })
      .option('allow-env', { ...ALLOW_ENV_OPTION, describe: `-f dotenv: ${ALLOW_ENV_OPTION.describe ?? ''}` }),
  handler: (argv) => {
    const allowEnv = allowEnvArg(argv.allowEnv);
    const target = argv.output === undefined ? undefined : resolveFrom(argv.io.cwd, argv.output);
    // Refuse before reading anything (writeSecretFile checks again, atomically enough for a CLI).
    if (target !== undefined && argv.force !== true && existsSync(target)) throw new ValidationError(`${target} already exists; use --force to replace it`, { path: target });
    return withStore(argv, async (store) => {
      const result = await exportCredentials(store, {
        context: contextFromArgs(argv.context),
        ...(argv.pattern === undefined ? {} : { pattern: argv.pattern }),
        ...(argv.skipErrors === true ? { skipErrors: true } : {}),
      });
      const text = `${formatCredentials(result.credentials, argv.format, { allowEnv })}${argv.format === 'json' ? '\n' : ''}`;
      for (const s of result.skipped) argv.io.stderr.write(`credstash: skipped ${displayText(s.id)}: ${displayText(s.message)}\n`);
      if (target === undefined) {
        argv.io.stdout.write(text);
        return;
      }
      const path = await writeSecretFile(target as string, text, { overwrite: argv.force === true });
      const binary = result.credentials.filter((c) => c.value instanceof Uint8Array).length;
      argv.io.stdout.write(`exported ${result.credentials.length} credential(s) to ${displayText(path)}${binary > 0 ? ` (${binary} binary value(s) as base64)` : ''}\n`);
    });
  },
};

function resolveFrom(cwd: string, p: string): string {
  return p.startsWith('/') ? p : `${cwd}/${p}`;
}
