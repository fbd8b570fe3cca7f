/**
 * `credstash diff NAME -v A -v B [key=value ...]`: two versions of a credential; `credstash diff --against
 * STORE [--store STORE] [PATTERN] [key=value ...]`: the newest versions of two stores (STORE: a config file
 * or TYPE:key=value,..., as `migrate --from/--to`; `--store` defaults to the configured store). Values are
 * never printed unless `--show-values`; a store diff decrypts only names present on both sides
 * (src/ops/diff.ts). Exit status as diff(1): 0 same, 1 different, 2 trouble (a usage error, a store error, a
 * name that could not be read).
 *
 * Text output: a first line saying whether the versions differ, then one line per field of a structured
 * value (`+ added`, `- removed`, `~ changed`); for stores, `< NAME` (only in --store), `> NAME` (only in
 * --against), `~ NAME` (newest values differ), then a summary line.
 */
import { ValidationError } from '../../core/errors.js';
import type { CredentialStore } from '../../core/store.js';
import type { CredentialValue, JsonValue } from '../../core/types.js';
import { diffStores, diffVersions, type FieldChange, type ValueDiff } from '../../ops/diff.js';
import { contextFromArgs, openCliStore, readVersionArg, type GlobalArgs } from '../context.js';
import { ExitStatus, Trouble, UsageError } from '../errors.js';
import { pythonJson } from '../output/json.js';
import { displayText } from '../output/terminal.js';
import { openStoreSpec } from '../store-spec.js';
import type { CommandImpl } from './index.js';

interface DiffArgs extends GlobalArgs {
  credential?: string;
  context?: string[];
  version?: string[];
  store?: string;
  against?: string;
  showValues?: boolean;
  json?: boolean;
}

export const diffCommand: CommandImpl<DiffArgs> = {
  builder: (y) =>
    y
      .positional('credential', { type: 'string', describe: 'the credential (-v A -v B), or with --against a glob of names (default: every name)' })
      .positional('context', { type: 'string', array: true, describe: 'encryption context the values were stored with: key=value' })
      .option('version', { alias: 'v', type: 'string', array: true, repeatable: true, describe: 'a version to compare; give it twice: -v 3 -v 4', requiresArg: true })
      .option('store', { type: 'string', describe: 'the first store: a config file or TYPE:key=value,... (default: the configured store)', requiresArg: true })
      .option('against', { type: 'string', describe: 'compare the newest versions of --store with this store (same forms)', requiresArg: true })
      .option('show-values', { type: 'boolean', describe: 'print the values that differ (default: only what differs, never a value)' })
      .option('json', { type: 'boolean', describe: 'print the comparison as JSON' }),
  handler: async (argv) => {
    let different: boolean;
    try {
      different = await runDiff(argv);
    } catch (err) {
      throw new Trouble(err);
    }
    if (different) throw new ExitStatus(1);
  },
};

/** Print the comparison; true when something differs. */
async function runDiff(argv: DiffArgs): Promise<boolean> {
  const context = contextFromArgs(argv.context);
  const versions = (argv.version ?? []).map((v) => readVersionArg(v) as string);
  const showValues = argv.showValues === true;
  const opened: CredentialStore[] = [];
  const open = async (spec: string | undefined, flag: string): Promise<CredentialStore> => {
    const s = spec === undefined ? (await openCliStore(argv)).store : await openStoreSpec(spec, argv, flag);
    opened.push(s);
    return s;
  };
  if (argv.against === undefined) {
    if (argv.credential === undefined || versions.length !== 2) throw new UsageError('diff: give a credential and two versions (diff NAME -v 3 -v 4), or --against STORE to compare two stores');
  } else if (versions.length > 0) throw new UsageError('diff: -v compares two versions of one credential; a diff of stores (--against) compares the newest versions');
  try {
    const first = await open(argv.store, '--store');
    if (argv.against === undefined) {
      const d = await diffVersions(first, argv.credential as string, { a: versions[0] as string, b: versions[1] as string, context, showValues });
      if (argv.json === true) {
        argv.io.stdout.write(`${pythonJson({ name: d.id, versions: [...d.versions], ...valueDiffJson(d) })}\n`);
      } else {
        const name = displayText(d.id);
        const [a, b] = d.versions.map(displayText);
        argv.io.stdout.write(`${name}: versions ${a} and ${b} ${d.same ? 'are the same' : `differ${how(d)}`}\n${d.same ? '' : detailLines(d)}`);
      }
      return !d.same;
    }
    const second = await open(argv.against, '--against');
    const d = await diffStores(first, second, { context, showValues, ...(argv.credential === undefined ? {} : { pattern: argv.credential }) });
    if (argv.json === true) {
      argv.io.stdout.write(
        `${pythonJson({
          onlyInFirst: d.onlyInFirst,
          onlyInSecond: d.onlyInSecond,
          different: d.different.map((x) => ({ name: x.id, ...valueDiffJson(x.diff) })),
          same: d.same,
          failed: d.failed.map((f) => ({ name: f.id, side: f.side, code: f.code, message: f.message })),
        })}\n`,
      );
    } else {
      const lines = [
        ...d.onlyInFirst.map((id) => ({ id, text: `< ${displayText(id)}\n` })),
        ...d.onlyInSecond.map((id) => ({ id, text: `> ${displayText(id)}\n` })),
        ...d.different.map((x) => ({ id: x.id, text: `~ ${displayText(x.id)}${how(x.diff)}\n${detailLines(x.diff, '    ')}` })),
      ].sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
      argv.io.stdout.write(lines.map((l) => l.text).join(''));
      argv.io.stdout.write(
        `${displayText(first.description)} vs ${displayText(second.description)}: ${d.onlyInFirst.length} only in the first, ${d.onlyInSecond.length} only in the second, ${d.different.length} differ, ${d.same.length} same${d.failed.length === 0 ? '' : `, ${d.failed.length} could not be compared`}\n`,
      );
    }
    for (const f of d.failed) argv.io.stderr.write(`credstash: ${displayText(f.id)} (${f.side === 'first' ? '--store' : '--against'}): ${displayText(f.message)}\n`);
    if (d.failed.length > 0) throw new ValidationError(`${d.failed.length} name(s) could not be compared (listed above); the others are compared above`);
    return d.onlyInFirst.length + d.onlyInSecond.length + d.different.length > 0;
  } finally {
    for (const s of opened) await s.close();
  }
}

/** `: 1 field added, 2 fields changed`, ` (text)`, ` (structured -> text)`. */
function how(d: ValueDiff): string {
  if (d.kinds[0] !== d.kinds[1]) return ` (${d.kinds[0]} -> ${d.kinds[1]})`;
  if (d.fields === undefined) return ` (${d.kinds[0]})`;
  const n = (c: FieldChange['change']): number => (d.fields ?? []).filter((f) => f.change === c).length;
  const parts = (['added', 'removed', 'changed'] as const).filter((c) => n(c) > 0).map((c) => `${n(c)} field${n(c) === 1 ? '' : 's'} ${c}`);
  return `: ${parts.join(', ')}`;
}

/** The lines under the first: one per field; with --show-values, the values (`<` first, `>` second). */
function detailLines(d: ValueDiff, indent = ''): string {
  if (d.fields !== undefined) {
    const mark = { added: '+', removed: '-', changed: '~' } as const;
    return d.fields
      .map((f) => {
        const values = f.change === 'added' ? `: ${show(f.to)}` : f.change === 'removed' ? `: ${show(f.from)}` : `: ${show(f.from)} -> ${show(f.to)}`;
        return `${indent}${mark[f.change]} ${displayText(f.path)}${'from' in f || 'to' in f ? values : ''}\n`;
      })
      .join('');
  }
  if (d.from === undefined || d.to === undefined) return '';
  return `${indent}< ${showValue(d.from)}\n${indent}> ${showValue(d.to)}\n`;
}

function show(v: JsonValue | undefined): string {
  return displayText(JSON.stringify(v ?? null));
}

function showValue(v: CredentialValue): string {
  return v instanceof Uint8Array ? `base64:${Buffer.from(v).toString('base64')}` : show(v);
}

function jsonValue(v: CredentialValue): JsonValue {
  return v instanceof Uint8Array ? { base64: Buffer.from(v).toString('base64') } : v;
}

function valueDiffJson(d: ValueDiff): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = { same: d.same, kinds: [...d.kinds] };
  if (d.fields !== undefined) {
    out.fields = d.fields.map((f) => {
      const o: Record<string, JsonValue> = { path: f.path, change: f.change };
      if ('from' in f) o.from = f.from ?? null;
      if ('to' in f) o.to = f.to ?? null;
      return o;
    });
  }
  if (d.from !== undefined) out.from = jsonValue(d.from);
  if (d.to !== undefined) out.to = jsonValue(d.to);
  return out;
}
