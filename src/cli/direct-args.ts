/**
 * A command's handler argv built straight from the argparse-style tokens (argv.ts), without yargs: for
 * the commands whose builder declares only positionals and options (`get`), yargs would add nothing but
 * its own start-up, about a third of a cold `credstash get` on Node 20 (docs/cli.md, "Cold start").
 *
 * The argv is what yargs gives the handler for the same command line (test/unit/cli/direct-args.test.ts
 * compares the two over the argparse vectors and more): each positional under its declared name (a
 * variadic one as a list), each option under its long name and its camel-case form, booleans `true`,
 * list options accumulated, the last value of any other option, declared defaults, the global flags.
 * Anything this does not know makes it return undefined, and main() hands the command line to yargs:
 * `--help`, a builder that calls anything but `positional` / `option` / `example` (a check, a coercion, a
 * conflict), an option config it does not know, two global flags that exclude each other.
 */
import type { Argv } from 'yargs';
import type { OptionSpec, ParsedSection } from './argv.js';
import type { CliIO, GlobalArgs } from './context.js';
import { GLOBAL_FLAGS } from './global-flags.js';

type Token = ParsedSection['tokens'][number];

interface Declared {
  key: string;
  cfg: Record<string, unknown>;
}

/** Option config keys whose effect this module reproduces (or that only change --help). */
const KNOWN_CONFIG = new Set(['alias', 'type', 'array', 'choices', 'default', 'describe', 'description', 'demandOption', 'requiresArg', 'optionalValue', 'repeatable', 'hidden', 'global']);

/** What a builder declares, or undefined when it does more than declare positionals and options. */
function declarations(build: (y: Argv<GlobalArgs>) => unknown): { positionals: Map<string, Record<string, unknown>>; options: Declared[] } | undefined {
  const positionals = new Map<string, Record<string, unknown>>();
  const options: Declared[] = [];
  let unknown = false;
  const stub: unknown = new Proxy(function () {}, {
    get: (_t, prop) => {
      if (prop === 'positional') {
        return (key: string, cfg: Record<string, unknown> = {}) => {
          positionals.set(key, cfg);
          return stub;
        };
      }
      if (prop === 'option' || prop === 'options') {
        return (key: string | Record<string, Record<string, unknown>>, cfg: Record<string, unknown> = {}) => {
          if (typeof key === 'string') options.push({ key, cfg });
          else for (const [k, c] of Object.entries(key)) options.push({ key: k, cfg: c });
          return stub;
        };
      }
      if (prop === 'example') return () => stub;
      return () => {
        unknown = true;
        return stub;
      };
    },
  });
  build(stub as Argv<GlobalArgs>);
  if (unknown) return undefined;
  for (const cfg of [...positionals.values(), ...options.map((o) => o.cfg)]) {
    if (Object.keys(cfg).some((k) => !KNOWN_CONFIG.has(k))) return undefined;
  }
  return { positionals, options };
}

/** A handler's argv, as yargs shapes it. */
export type DirectArgv = GlobalArgs & { _: Array<string | number>; $0: string } & Record<string, unknown>;

/**
 * yargs' camel-case form of an option name: `allow-env` -> `allowEnv` (each `-` before a lower-case letter
 * dropped and the letter upper-cased, as `s.replace(/-([a-z])/g, ...)`). A loop: this runs on every cold
 * `get`, where a regular expression costs its compilation (core/chars.ts).
 * @internal exported for its unit tests
 */
export function camel(s: string): string {
  if (!s.includes('-')) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i + 1);
    if (s[i] === '-' && c >= 97 && c <= 122) {
      out += String.fromCharCode(c - 32);
      i++;
    } else out += s[i];
  }
  return out;
}

/**
 * A positional of a yargs command string: `<name>` or `[name]`, variadic with `..` before the closing
 * bracket (`[context..]`); undefined for anything else. As `/^[<[]([^\]>.]+)(\.\.)?[\]>]$/`.
 * @internal exported for its unit tests
 */
export function positionalWord(word: string): { key: string; variadic: boolean } | undefined {
  if (word.length < 3 || (word[0] !== '<' && word[0] !== '[') || (!word.endsWith(']') && !word.endsWith('>'))) return undefined;
  const inner = word.slice(1, -1);
  const variadic = inner.endsWith('..');
  const key = variadic ? inner.slice(0, -2) : inner;
  if (key === '' || key.includes(']') || key.includes('>') || key.includes('.')) return undefined;
  return { key, variadic };
}

/**
 * The handler argv for `tokens` (global and command options, positionals, as prepareArgs read them), or
 * undefined when yargs must build it (see the file comment).
 * @param command the yargs command string (`get <credential> [context..]`)
 */
export function directArgs(
  command: string,
  builder: ((y: Argv<GlobalArgs>) => unknown) | undefined,
  tokens: readonly Token[],
  io: CliIO,
): DirectArgv | undefined {
  if (builder === undefined) return undefined;
  const declared = declarations(builder);
  if (declared === undefined) return undefined;
  const words = command.split(' ');
  const name = words[0] ?? '';
  const argv: Record<string, unknown> = { _: [name], $0: 'credstash', io };
  const aliases = new Map<string, string[]>();
  for (const f of GLOBAL_FLAGS) aliases.set(f.name, f.alias === undefined ? [] : [f.alias]);
  for (const { key, cfg } of declared.options) aliases.set(key, cfg.alias === undefined ? [] : typeof cfg.alias === 'string' ? [cfg.alias] : [...(cfg.alias as string[])]);
  const set = (key: string, v: unknown): void => {
    for (const k of new Set([key, camel(key), ...(aliases.get(key) ?? [])])) argv[k] = v;
  };
  // Defaults first; what was typed overrides them.
  for (const { key, cfg } of declared.options) if (cfg.default !== undefined) set(key, cfg.default);
  const byKey = new Map<string, Declared>(declared.options.map((o) => [o.key, o]));
  const given = new Set<string>();
  const lists = new Map<string, string[]>();
  const positionals: string[] = [];
  for (const t of tokens) {
    if (t.kind === 'positional') {
      positionals.push(t.text);
      continue;
    }
    const spec: OptionSpec = t.spec;
    const own = byKey.get(spec.key);
    if (own === undefined && !aliases.has(spec.key)) return undefined; // --help, --version, anything else
    given.add(spec.key);
    if (!spec.takesValue) set(spec.key, true);
    else if (own?.cfg.array === true) lists.set(spec.key, [...(lists.get(spec.key) ?? []), ...t.values]);
    else set(spec.key, t.values[t.values.length - 1]);
  }
  for (const [k, v] of lists) set(k, v);
  // The global flags that exclude each other: yargs words that message.
  if (given.has('profile') && given.has('arn')) return undefined;
  // Positionals in declaration order; a variadic one (`[context..]`) takes the rest, as a list.
  let i = 0;
  for (const word of words.slice(1)) {
    const m = positionalWord(word);
    if (m === undefined) return undefined;
    const key = m.key;
    if (m.variadic) {
      set(key, positionals.slice(i));
      i = positionals.length;
    } else if (i < positionals.length) {
      set(key, positionals[i]);
      i++;
    }
  }
  if (i < positionals.length) return undefined;
  return argv as DirectArgv;
}
