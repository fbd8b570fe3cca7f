/**
 * `credstash render FILE [context..] [-o OUT] [--format toml|json|yaml]`: print FILE (TOML, JSON or YAML,
 * by extension or --from; `-` reads stdin and needs --from, as `import -` needs -f) with every
 * `${credential:...}` reference resolved from the configured store (docs/references.md). `-o` writes OUT atomically with mode 0600 (it holds secrets). `key=value` pairs are
 * the encryption context for references that carry none of their own.
 */
import { readFileSync } from 'node:fs';
import { basename, extname, resolve } from 'node:path';
import { ConfigError, CredstashError, ValidationError } from '../../core/errors.js';
import { assertJsonDepth, decodeUtf8Exact, MAX_YAML_ALIASES } from '../../core/value.js';
import { contextFromArgs, isStdinArg, readStdin, withStore, type CliIO, type GlobalArgs } from '../context.js';
import { UsageError } from '../errors.js';
import { writeSecretFile } from '../secret-file.js';
import type { CommandImpl } from './index.js';

const FORMATS = ['toml', 'json', 'yaml'] as const;
type Format = (typeof FORMATS)[number];

interface RenderArgs extends GlobalArgs {
  file: string;
  context?: string[];
  output?: string;
  format?: Format;
  from?: Format;
  recursive?: boolean;
}

export const renderCommand: CommandImpl<RenderArgs> = {
  builder: (y) =>
    y
      .positional('file', { type: 'string', describe: 'the file to render (.toml, .json, .yaml/.yml; - for stdin, with --from)', demandOption: true })
      .positional('context', { type: 'string', array: true, describe: 'encryption context for references without their own: key=value' })
      .option('output', { alias: 'o', type: 'string', describe: 'write to this file (atomically, mode 0600) instead of stdout', requiresArg: true })
      .option('format', { alias: 'f', choices: FORMATS, describe: 'output format (default: the input format)' })
      .option('from', { choices: FORMATS, describe: 'input format (default: from the file extension)' })
      .option('recursive', { type: 'boolean', describe: 'also resolve references inside resolved values (cycles are errors)' }),
  handler: async (argv) => {
    const stdin = isStdinArg(argv.file);
    const file = stdin ? 'stdin' : resolve(argv.io.cwd, argv.file);
    if (stdin && argv.from === undefined) throw new UsageError(`cannot tell the format of stdin; use --from ${FORMATS.join('|')}`);
    const from = argv.from ?? formatOf(file);
    const context = contextFromArgs(argv.context);
    const tree = await parseFile(file, from, stdin ? argv.io : undefined);
    const { resolveCredentialReferences } = await import('../../references/resolve.js');
    await withStore(argv, async (store) => {
      const resolved = await resolveCredentialReferences(tree, store, { context, recursive: argv.recursive === true });
      const text = await serialize(resolved, argv.format ?? from, file);
      if (argv.output === undefined) argv.io.stdout.write(text);
      else await writeSecretFile(resolve(argv.io.cwd, argv.output), text, { overwrite: true });
    });
  },
};

function formatOf(file: string): Format {
  const ext = extname(file).toLowerCase();
  if (ext === '.toml') return 'toml';
  if (ext === '.json') return 'json';
  if (ext === '.yaml' || ext === '.yml') return 'yaml';
  throw new UsageError(`cannot tell the format of ${basename(file)} from its extension; pass --from toml|json|yaml`);
}

/**
 * Parse errors give the line where the parser knows it, never the content (a template may hold secrets).
 * With `stdin`, the template is read from it and `file` is only the name used in messages.
 */
async function parseFile(file: string, format: Format, stdin?: CliIO): Promise<unknown> {
  let bytes: Buffer;
  if (stdin !== undefined) bytes = await readStdin(stdin);
  else {
    try {
      bytes = readFileSync(file);
    } catch (err) {
      throw new ConfigError(`cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { path: file, cause: err });
    }
  }
  // A template is text: bytes that are not UTF-8 are refused, never rendered with replacement characters.
  const text = decodeUtf8Exact(bytes);
  if (text === undefined) throw new ValidationError(`${file}: not valid UTF-8 text`, { path: file });
  let tree: unknown;
  try {
    if (format === 'json') tree = JSON.parse(text) as unknown;
    else if (format === 'toml') tree = (await import('smol-toml')).parse(text);
    else tree = (await loadYaml()).parse(text, { maxAliasCount: MAX_YAML_ALIASES }) as unknown;
  } catch (err) {
    const e = err as { line?: unknown; linePos?: Array<{ line?: unknown }> };
    const line = typeof e.line === 'number' ? e.line : typeof e.linePos?.[0]?.line === 'number' ? e.linePos[0].line : undefined;
    throw new ValidationError(`${file}${line === undefined ? '' : ` line ${String(line)}`}: not valid ${format.toUpperCase()}`, { path: file });
  }
  // Resolution and output walk the tree recursively: refuse a deeper one here, with a one-line error.
  try {
    assertJsonDepth(tree, file);
  } catch (err) {
    if (err instanceof ValidationError) throw new ValidationError(err.message, { path: file });
    throw err;
  }
  return tree;
}

/** yaml ships CommonJS; in the code-split bundle its namespace may carry only `default`. */
async function loadYaml(): Promise<Pick<typeof import('yaml'), 'parse' | 'stringify'>> {
  const mod = (await import('yaml')) as unknown as { default?: Pick<typeof import('yaml'), 'parse' | 'stringify'> } & Pick<typeof import('yaml'), 'parse' | 'stringify'>;
  return mod.default ?? mod;
}

async function serialize(tree: unknown, format: Format, file: string): Promise<string> {
  try {
    if (format === 'json') return `${JSON.stringify(tree, null, 2)}\n`;
    if (format === 'yaml') return (await loadYaml()).stringify(tree);
    if (tree === null || typeof tree !== 'object' || Array.isArray(tree)) {
      throw new ValidationError(`${file}: TOML output needs a table at the top level; use --format json or yaml`, { path: file });
    }
    return (await import('smol-toml')).stringify(tree as Record<string, unknown>);
  } catch (err) {
    if (err instanceof CredstashError) throw err;
    throw new ValidationError(`${file}: the rendered tree cannot be written as ${format.toUpperCase()} (${err instanceof Error ? err.name : 'error'}); try another --format`, { path: file });
  }
}
