/**
 * `credstash import <file> [-f json|yaml|csv|dotenv] [--force] [-c COMMENT] [key=value ...]`: write every
 * credential in FILE as a new version and report what was written and what was skipped. The format comes
 * from the extension unless -f says otherwise (`-` reads stdin and needs -f). A value equal to the newest
 * stored version is skipped as unchanged unless --force, so importing a file twice writes nothing twice.
 * Exit 1 when any credential failed (the report still lists everything).
 */
import { readFileSync } from 'node:fs';
import { ValidationError } from '../../core/errors.js';
import { decodeUtf8Exact } from '../../core/value.js';
import { formatFromFileName, IMPORT_FORMATS, importCredentials, parseImportFile, type ImportFormat } from '../../ops/import-export.js';
import { contextFromArgs, isStdinArg, readStdin, withStore, type GlobalArgs } from '../context.js';
import { UsageError } from '../errors.js';
import { displayText } from '../output/terminal.js';
import type { CommandImpl } from './index.js';

interface ImportArgs extends GlobalArgs {
  file: string;
  context?: string[];
  format?: ImportFormat;
  force?: boolean;
  comment?: string;
}

export const importCommand: CommandImpl<ImportArgs> = {
  builder: (y) =>
    y
      .positional('file', { type: 'string', describe: 'the file to import (- for stdin)', demandOption: true })
      .positional('context', { type: 'string', array: true, describe: 'encryption context key/value pairs: key=value' })
      .option('format', { alias: 'f', choices: IMPORT_FORMATS, describe: 'file format (default: from the extension)' })
      .option('force', { type: 'boolean', describe: 'write a new version even when the value is unchanged' })
      .option('comment', { alias: 'c', type: 'string', describe: 'comment for every version written', requiresArg: true }),
  handler: async (argv) => {
    const stdin = isStdinArg(argv.file);
    const format = argv.format ?? (stdin ? undefined : formatFromFileName(argv.file));
    if (format === undefined) throw new UsageError(`cannot tell the format of ${stdin ? 'stdin' : argv.file}; use -f ${IMPORT_FORMATS.join('|')}`);
    const context = contextFromArgs(argv.context);
    const name = stdin ? 'stdin' : argv.file;
    let bytes: Buffer;
    if (stdin) bytes = await readStdin(argv.io);
    else {
      try {
        bytes = readFileSync(argv.file.startsWith('/') ? argv.file : `${argv.io.cwd}/${argv.file}`);
      } catch (err) {
        throw new UsageError(`cannot read ${argv.file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
      }
    }
    // An import file is text: bytes that are not UTF-8 are refused, never read with replacement characters.
    const text = decodeUtf8Exact(bytes);
    if (text === undefined) throw new ValidationError(`${name} is not valid UTF-8 text (binary values go one at a time: put NAME @file)`, { path: name });
    const records = await parseImportFile(text, format, name);
    await withStore(argv, async (store) => {
      const report = await importCredentials(store, records, {
        context,
        ...(argv.force === true ? { force: true } : {}),
        ...(argv.comment === undefined ? {} : { comment: argv.comment }),
      });
      const out = argv.io.stdout;
      for (const w of report.written) out.write(`stored ${displayText(w.id)} version ${w.version}\n`);
      for (const s of report.skipped) out.write(`skipped ${displayText(s.id)}${s.line === undefined ? '' : ` (line ${s.line})`}: ${displayText(s.reason)}\n`);
      out.write(`imported ${report.written.length} of ${records.length} credential(s) from ${displayText(name)}; skipped ${report.skipped.length}\n`);
      const failed = report.skipped.filter((s) => s.code !== undefined).length;
      if (failed > 0) throw new ValidationError(`${failed} credential(s) from ${name} could not be imported (listed above)`);
    });
  },
};
