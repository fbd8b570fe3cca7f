/**
 * Python credstash's command line is argparse; scripts depend on what argparse makes of their arguments.
 * This module reads argv the way argparse does, before yargs sees it, and hands yargs a canonical vector
 * that yargs cannot misread:
 *
 * - the first `--` ends the options: everything after it is positional (`put NAME -- -s3cr3t env=prod`);
 * - `-` alone, a negative number (`-5`, `-.5`) and a token with a space that is not an option (`'- item'`)
 *   are positional; anything else starting with `-` is an option, and an option that is not known is an
 *   error (argparse: "unrecognized arguments"), never a value split into short flags;
 * - `-cVALUE`, `-c=VALUE`, `--comment=VALUE`, grouped flags `-aP`, and unique prefixes of long options
 *   (`--comm`) mean what they mean to argparse;
 * - an option that takes a value takes the next token only if that token is not itself an option
 *   (argparse: "expected one argument"); `-c -` is the comment `-`.
 *
 * Every positional or option value that starts with `-` reaches yargs behind {@link ESCAPE} and is given
 * back verbatim by {@link unescapeArgv}, so a credential may be named `-` and `-` reads stdin only where a
 * command reads a value from it (`put NAME -`, `putall -`, `--json -`).
 *
 * Errors never quote what was typed (it may be a secret given in the wrong place): they name the command,
 * the problem and the argument's position.
 */
import type { Argv } from 'yargs';
import type { GlobalArgs } from './context.js';
import { UsageError } from './errors.js';

/** Prefix that hides a token from yargs' option parsing; removed again before a handler runs. */
export const ESCAPE = '\u0000';

/** One option as argparse would know it. */
export interface OptionSpec {
  /** The yargs key (`comment`), given to yargs as `--comment`. */
  readonly key: string;
  readonly takesValue: boolean;
  /** `nargs='*'`: every following non-option token (setup --tags). */
  readonly array: boolean;
  /** `nargs='?'`: takes the next token if it is not an option, else no value (put --generate [POLICY]). */
  readonly optionalValue?: boolean;
  /** `action='append'`: one value per occurrence, every occurrence kept (`diff -v 1 -v 3`, `rollback --label a --label b`). */
  readonly repeatable?: boolean;
  readonly choices?: readonly string[];
  /** How to name it in a message: `-c/--comment`. */
  readonly label: string;
  /** Every spelling: `-c`, `--comment`. */
  readonly names: readonly string[];
}

/** The options of one parser level (the global one, or one command with the global options it accepts). */
export type OptionTable = ReadonlyMap<string, OptionSpec>;

interface YargsOptionConfig {
  alias?: string | readonly string[];
  type?: string;
  array?: boolean;
  choices?: readonly unknown[];
  /** Not a yargs key (yargs ignores it): the option's value may be left out, as argparse's `nargs='?'`. */
  optionalValue?: boolean;
  /**
   * Not a yargs key: with `array: true`, the option takes one value per occurrence (argparse's
   * `action='append'`) instead of every following token, so `-v 1 -v 3 env=prod` leaves `env=prod` positional.
   */
  repeatable?: boolean;
}

/**
 * Record the `.option()` calls a yargs builder makes, without yargs: a stand-in that accepts any method
 * and returns itself. Used on a command module's builder (the global options come from global-flags.ts).
 */
export function recordOptions(build: (y: Argv<GlobalArgs>) => unknown): OptionSpec[] {
  const specs: OptionSpec[] = [];
  const add = (key: string, cfg: YargsOptionConfig = {}): void => {
    const aliases = cfg.alias === undefined ? [] : typeof cfg.alias === 'string' ? [cfg.alias] : [...cfg.alias];
    const names = [key, ...aliases].map((n) => (n.length === 1 ? `-${n}` : `--${n}`));
    const label = [...names.filter((n) => n.length === 2), ...names.filter((n) => n.length > 2)].join('/');
    const choices = cfg.choices?.map(String);
    specs.push({
      key,
      takesValue: cfg.type !== 'boolean',
      array: cfg.array === true && cfg.repeatable !== true,
      ...(cfg.optionalValue === true ? { optionalValue: true } : {}),
      ...(cfg.repeatable === true ? { repeatable: true } : {}),
      ...(choices === undefined ? {} : { choices }),
      label,
      names,
    });
  };
  const stub: unknown = new Proxy(function () {}, {
    get: (_t, prop) => {
      if (prop === 'option' || prop === 'options') {
        return (key: string | Record<string, YargsOptionConfig>, cfg?: YargsOptionConfig) => {
          if (typeof key === 'string') add(key, cfg);
          else for (const [k, c] of Object.entries(key)) add(k, c);
          return stub;
        };
      }
      return () => stub;
    },
  });
  // The stand-in answers every Argv method a builder calls; only `option(s)` records anything.
  build(stub as Argv<GlobalArgs>);
  return specs;
}

/** Index option specs by every spelling (`-c`, `--comment`); later tables override earlier ones. */
export function optionTable(...groups: ReadonlyArray<ReadonlyArray<OptionSpec>>): Map<string, OptionSpec> {
  const table = new Map<string, OptionSpec>();
  for (const group of groups) {
    for (const spec of group) {
      for (const name of spec.names) table.set(name, spec);
    }
  }
  return table;
}

/** `1st`, `2nd`, `3rd`, `4th`, ... `11th`, `21st`. */
export function ordinal(n: number): string {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${suffix}`;
}

const NEGATIVE_NUMBER = /^-\d+$|^-\d*\.\d+$/;

type Token =
  | { kind: 'positional'; text: string; at: number }
  | { kind: 'option'; spec: OptionSpec; values: string[]; at: number };

export interface ParsedSection {
  tokens: Token[];
  /** Index (into the section) just past the last token read; for the global section, the command word. */
  end: number;
}

/**
 * Read a section of argv as argparse would. With `stopAtPositional`, stop at the first positional (the
 * global level: that token is the command). `offset` is the section's position in the user's argv, for
 * messages. `where` names the command in messages (`put`; none for the global options).
 */
export function parseSection(args: readonly string[], table: OptionTable, opts: { offset: number; where?: string; stopAtPositional?: boolean }): ParsedSection {
  const tokens: Token[] = [];
  const at = (i: number): string => `${ordinal(opts.offset + i + 1)} argument`;
  const fail = (problem: string, i: number): never => {
    throw new UsageError(`${opts.where === undefined ? '' : `${opts.where}: `}${problem} (${at(i)})`);
  };
  const longNames = [...table.keys()].filter((n) => n.startsWith('--'));
  /** argparse's _parse_optional: the option a token names, with its attached value; undefined = positional. */
  const optionOf = (tok: string, i: number): { spec: OptionSpec; attached?: string; rest?: string } | undefined => {
    if (!tok.startsWith('-') || tok === '-') return undefined;
    const exact = table.get(tok);
    if (exact !== undefined) return { spec: exact };
    const eq = tok.indexOf('=');
    if (eq > 0) {
      const named = table.get(tok.slice(0, eq));
      if (named !== undefined) return { spec: named, attached: tok.slice(eq + 1) };
    }
    if (tok.startsWith('--')) {
      const prefix = eq > 0 ? tok.slice(0, eq) : tok;
      const matches = [...new Set(longNames.filter((n) => n.startsWith(prefix)).map((n) => table.get(n) as OptionSpec))];
      if (matches.length > 1) fail('ambiguous option', i);
      const only = matches[0];
      if (only !== undefined) return eq > 0 ? { spec: only, attached: tok.slice(eq + 1) } : { spec: only };
    } else {
      const short = table.get(tok.slice(0, 2));
      if (short !== undefined) return short.takesValue ? { spec: short, attached: tok.slice(2) } : { spec: short, rest: tok.slice(2) };
    }
    if (NEGATIVE_NUMBER.test(tok) || tok.includes(' ')) return undefined;
    return fail('unknown option', i);
  };
  const isOption = (i: number): boolean => {
    const tok = args[i] as string;
    if (tok === '--') return true;
    try {
      return optionOf(tok, i) !== undefined;
    } catch {
      return true; // unknown options are options too (argparse's 'O'); reported where they stand
    }
  };

  /** The values of a value-taking option from the tokens after `i`; returns the index of the last one read. */
  const takeValues = (spec: OptionSpec, i: number): number => {
    const values: string[] = [];
    const from = i;
    while (i + 1 < args.length && !isOption(i + 1)) {
      i++;
      checkChoice(spec, args[i] as string, i);
      values.push(args[i] as string);
      if (!spec.array) break;
    }
    if (values.length === 0 && !spec.array && spec.optionalValue !== true) fail(`${spec.label} expects a value`, from);
    tokens.push({ kind: 'option', spec, values, at: from });
    return i;
  };

  let i = 0;
  for (; i < args.length; i++) {
    const tok = args[i] as string;
    if (tok === '--') {
      if (opts.stopAtPositional === true) {
        // `credstash -- get NAME`: the command and everything after it are positional
        i++;
        break;
      }
      for (let j = i + 1; j < args.length; j++) tokens.push({ kind: 'positional', text: args[j] as string, at: j });
      i = args.length;
      break;
    }
    const found = optionOf(tok, i);
    if (found === undefined) {
      if (opts.stopAtPositional === true) break;
      tokens.push({ kind: 'positional', text: tok, at: i });
      continue;
    }
    const { spec, attached, rest } = found;
    if (rest !== undefined) {
      // Grouped short flags (`-aP`, `-ac x`, `-acx`): each character is a short option; the first one that
      // takes a value takes the rest of the token, or the next token.
      tokens.push({ kind: 'option', spec, values: [], at: i });
      let chars = rest;
      while (chars !== '') {
        const next = table.get(`-${chars[0]}`);
        if (next === undefined) return fail('unknown option', i);
        chars = chars.slice(1);
        if (!next.takesValue) {
          tokens.push({ kind: 'option', spec: next, values: [], at: i });
        } else if (chars !== '') {
          checkChoice(next, chars, i);
          tokens.push({ kind: 'option', spec: next, values: [chars], at: i });
          chars = '';
        } else {
          i = takeValues(next, i);
        }
      }
      continue;
    }
    if (!spec.takesValue) {
      if (attached !== undefined) fail(`${spec.label} takes no value`, i);
      tokens.push({ kind: 'option', spec, values: [], at: i });
    } else if (attached !== undefined) {
      checkChoice(spec, attached, i);
      tokens.push({ kind: 'option', spec, values: [attached], at: i });
    } else {
      i = takeValues(spec, i);
    }
  }
  return { tokens, end: i };

  function checkChoice(spec: OptionSpec, value: string, pos: number): void {
    if (spec.choices !== undefined && !spec.choices.includes(value)) fail(`${spec.label} must be one of ${spec.choices.join(', ')}`, pos);
  }
}

/** The positionals a yargs command string declares: `put <credential> [value] [context..]`. */
export function declaredPositionals(command: string): { required: string[]; max: number } {
  const words = command.split(' ').slice(1);
  // Without its brackets and dots (`<credential>` -> `credential`), by split/join, not a regular
  // expression: this runs on every cold `get` (core/chars.ts).
  const required = words.filter((w) => w.startsWith('<')).map((w) => w.split('<').join('').split('>').join('').split('.').join(''));
  const variadic = words.some((w) => w.endsWith('..]') || w.endsWith('..>'));
  return { required, max: variadic ? Number.POSITIVE_INFINITY : words.length };
}

/** A value yargs must not parse as an option: hidden behind ESCAPE when it starts with `-`. */
export function shield(text: string): string {
  return text.startsWith('-') ? `${ESCAPE}${text}` : text;
}

/**
 * Turn parsed tokens back into argv for yargs: positionals first, then `--key value...` per option. An
 * option given twice is the last one given, as in argparse (yargs would make `-c a -c b` an array, which
 * reached the store as a comment that is not a string); options that take a list (`--tags`) or may be
 * repeated (`diff -v 1 -v 3`) add up.
 */
export function canonicalArgs(tokens: readonly Token[]): string[] {
  const out: string[] = [];
  for (const t of tokens) if (t.kind === 'positional') out.push(shield(t.text));
  const options = tokens.filter((t): t is Extract<Token, { kind: 'option' }> => t.kind === 'option');
  options.forEach((t, i) => {
    if (!t.spec.array && t.spec.repeatable !== true && options.slice(i + 1).some((later) => later.spec.key === t.spec.key)) return;
    out.push(`--${t.spec.key}`, ...t.values.map(shield));
  });
  return out;
}

/** Undo {@link shield} on every string yargs produced (positionals, option values, `_`). */
export function unescapeArgv(argv: Record<string, unknown>): void {
  const un = (v: unknown): unknown => (typeof v === 'string' && v.startsWith(ESCAPE) ? v.slice(ESCAPE.length) : Array.isArray(v) ? v.map(un) : v);
  for (const k of Object.keys(argv)) {
    if (k === 'io' || k === '$0') continue;
    argv[k] = un(argv[k]);
  }
}
