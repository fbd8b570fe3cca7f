/**
 * Generated values (`credstash put NAME --generate [POLICY]`): random strings drawn from a policy — a length,
 * character classes, characters to leave out, and whether every class must appear.
 *
 * Uniformity: every character is an index drawn by `crypto.randomInt(alphabet.length)`, which rejects the
 * random words that would make a modulo biased, so each character of the alphabet is equally likely. When
 * every class must appear (`require-each`), a value missing a class is thrown away whole and drawn again;
 * no position is "fixed up", so the result is uniform over the set of values that contain every class.
 * The chance that a draw is kept is computed exactly beforehand (inclusion-exclusion over the classes), and a
 * policy under which fewer than one draw in a thousand would be kept is refused, so generation always ends.
 *
 * Values are printable ASCII only. Nothing here logs, and no error quotes more of a policy than the name
 * of the setting it is about.
 */
import { randomInt } from 'node:crypto';
import { ValidationError } from './errors.js';

/** The character classes a policy combines. `hex` is `0-9a-f` (it overlaps `digit` and `lower`). */
export type CharClass = 'upper' | 'lower' | 'digit' | 'symbol' | 'hex';

/** Every class, in the order a policy is written back ({@link formatGeneratePolicy}). */
export const CHAR_CLASSES: readonly CharClass[] = ['upper', 'lower', 'digit', 'symbol', 'hex'];

/** The characters of each class; `symbol` is every ASCII punctuation character unless a policy names fewer. */
export const CHAR_CLASS_CHARS: Readonly<Record<CharClass, string>> = {
  upper: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ',
  lower: 'abcdefghijklmnopqrstuvwxyz',
  digit: '0123456789',
  symbol: '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~',
  hex: '0123456789abcdef',
};

/** A generation policy. Build one by hand, from a preset ({@link presetPolicy}) or from text ({@link parseGeneratePolicy}). */
export interface GeneratePolicy {
  /** Characters in the value, 1 to {@link MAX_GENERATE_LENGTH}. */
  length: number;
  /** The classes whose characters make up the alphabet (their union), at least one. */
  classes: readonly CharClass[];
  /** The characters of the `symbol` class (a subset of ASCII punctuation); default all 32. */
  symbols?: string;
  /** Characters never used, whatever class they are in. */
  exclude?: string;
  /** Every class must appear at least once (the value is drawn again, whole, until it does). */
  requireEach?: boolean;
}

/** Options of {@link generateValue}. */
export interface GenerateOptions {
  /**
   * The source of indexes: an integer in `[0, max)`, uniformly. Default `crypto.randomInt`. Exists so that a
   * test can run the generator against a deliberately biased source and see its statistical check fail.
   */
  randomInt?: (max: number) => number;
}

/** The presets of `--generate`; see {@link presetPolicy} for what each one is. */
export const GENERATE_PRESETS = ['postgres', 'mysql', 'redis', 'alnum', 'hex', 'base64url'] as const;
export type GeneratePreset = (typeof GENERATE_PRESETS)[number];

/** The preset `--generate` uses when it is given no policy. */
export const DEFAULT_GENERATE_PRESET: GeneratePreset = 'alnum';

/** The longest value a policy may ask for. */
export const MAX_GENERATE_LENGTH = 1024;

/** A policy whose draws would be kept less often than this (require-each) is refused. */
const MIN_ACCEPTANCE = 1e-3;

/**
 * The symbols of the server presets: `-`, `_` and `.` are unreserved in URLs (RFC 3986: never
 * percent-encoded in `postgres://user:pass@host`), and mean nothing to SQL string literals, libpq's
 * `key=value` strings, `.pgpass` (`:` and `\`), option files (`#`, quotes, `\`), shell double quotes
 * (`$`, backquote, `\`, `!`), JDBC/ODBC strings (`;`, `&`, `=`, braces) or Redis ACL rules (space, `>`, `<`, `#`).
 */
const SERVER_SYMBOLS = '-_.';

const PRESETS: Readonly<Record<GeneratePreset, GeneratePolicy>> = {
  // Each class is required: servers with a password-complexity plugin (MariaDB simple_password_check,
  // MySQL validate_password, PostgreSQL passwordcheck) ask for letters of both cases, digits and a symbol.
  postgres: { length: 32, classes: ['upper', 'lower', 'digit', 'symbol'], symbols: SERVER_SYMBOLS, requireEach: true },
  // 32: MySQL's replication passwords (CHANGE MASTER TO MASTER_PASSWORD) are at most 32 characters.
  mysql: { length: 32, classes: ['upper', 'lower', 'digit', 'symbol'], symbols: SERVER_SYMBOLS, requireEach: true },
  redis: { length: 40, classes: ['upper', 'lower', 'digit', 'symbol'], symbols: SERVER_SYMBOLS, requireEach: true },
  alnum: { length: 32, classes: ['upper', 'lower', 'digit'], requireEach: false },
  hex: { length: 64, classes: ['hex'], requireEach: false },
  base64url: { length: 43, classes: ['upper', 'lower', 'digit', 'symbol'], symbols: '-_', requireEach: false },
};

/**
 * A preset's policy (a fresh copy).
 *
 * | preset | length | alphabet | require-each |
 * |---|---|---|---|
 * | postgres, mysql | 32 | A-Z a-z 0-9 `-_.` | yes |
 * | redis | 40 | A-Z a-z 0-9 `-_.` | yes |
 * | alnum | 32 | A-Z a-z 0-9 | no |
 * | hex | 64 | 0-9 a-f | no |
 * | base64url | 43 | A-Z a-z 0-9 `-_` | no |
 *
 * @example
 * ```ts
 * const policy = { ...presetPolicy('postgres'), length: 48 };
 * ```
 * @throws ValidationError for a name that is not a preset
 */
export function presetPolicy(name: GeneratePreset): GeneratePolicy {
  if (!(GENERATE_PRESETS as readonly string[]).includes(name)) throw new ValidationError(`generate policy: unknown preset; presets are ${GENERATE_PRESETS.join(', ')}`);
  const p = PRESETS[name];
  return { ...p, classes: [...p.classes] };
}

/** A policy checked and expanded: the alphabet (no duplicates) and each class's characters within it. */
interface ResolvedPolicy {
  length: number;
  alphabet: string;
  /** The characters of each class after `exclude` (for require-each). */
  classSets: string[];
  requireEach: boolean;
}

function fail(problem: string): never {
  throw new ValidationError(`generate policy: ${problem}`);
}

function resolvePolicy(policy: GeneratePolicy): ResolvedPolicy {
  if (policy === null || typeof policy !== 'object') fail('must be an object');
  const { length, symbols, exclude, requireEach } = policy;
  const classes: readonly CharClass[] = policy.classes;
  if (!Number.isSafeInteger(length) || length < 1 || length > MAX_GENERATE_LENGTH) fail(`len must be an integer from 1 to ${MAX_GENERATE_LENGTH}`);
  if (!Array.isArray(policy.classes) || classes.length === 0) fail(`classes must name at least one of ${CHAR_CLASSES.join(', ')}`);
  for (const c of classes) if (!CHAR_CLASSES.includes(c)) fail(`classes: unknown class; classes are ${CHAR_CLASSES.join(', ')}`);
  if (new Set(classes).size !== classes.length) fail('classes: a class is named twice');
  if (symbols !== undefined) {
    if (typeof symbols !== 'string' || symbols === '') fail('symbols must name at least one character');
    for (const ch of symbols) if (!CHAR_CLASS_CHARS.symbol.includes(ch)) fail('symbols must be ASCII punctuation characters');
  }
  if (exclude !== undefined && typeof exclude !== 'string') fail('exclude must be a string');
  if (requireEach !== undefined && typeof requireEach !== 'boolean') fail('require-each must be true or false');
  const excluded = new Set(exclude ?? '');
  const classSets = classes.map((c: CharClass) => {
    const base = c === 'symbol' && symbols !== undefined ? symbols : CHAR_CLASS_CHARS[c];
    const set = [...new Set(base)].filter((ch) => !excluded.has(ch)).join('');
    if (set === '') fail(`exclude leaves class "${c}" empty`);
    return set;
  });
  const alphabet = [...new Set(classSets.join(''))].join('');
  const resolved = { length, alphabet, classSets, requireEach: requireEach === true };
  if (resolved.requireEach) {
    if (length < classes.length) fail('require-each needs len to be at least the number of classes');
    if (acceptance(resolved) < MIN_ACCEPTANCE) fail('require-each is too unlikely to be met at this len (use a longer len or fewer classes)');
  }
  return resolved;
}

/**
 * The probability that `length` uniform draws from the alphabet hit every class (inclusion-exclusion over
 * the sets of classes missed: a draw that misses the classes in S avoids their union).
 */
function acceptance(r: ResolvedPolicy): number {
  if (!r.requireEach) return 1;
  const n = r.alphabet.length;
  const k = r.classSets.length;
  let p = 0;
  for (let mask = 0; mask < 1 << k; mask++) {
    const missed = new Set<string>();
    let size = 0;
    for (let i = 0; i < k; i++) {
      if ((mask & (1 << i)) === 0) continue;
      size++;
      for (const ch of r.classSets[i] as string) missed.add(ch);
    }
    p += (size % 2 === 0 ? 1 : -1) * ((n - missed.size) / n) ** r.length;
  }
  return Math.min(1, Math.max(0, p));
}

/**
 * The alphabet a policy draws from (each character once, in class order), after `exclude`.
 *
 * @example
 * ```ts
 * policyAlphabet(parseGeneratePolicy('hex')); // '0123456789abcdef'
 * ```
 * @throws ValidationError for an invalid policy
 */
export function policyAlphabet(policy: GeneratePolicy): string {
  return resolvePolicy(policy).alphabet;
}

/**
 * The entropy of a generated value in bits: log2 of the number of values the policy allows, every one
 * equally likely (length × log2(alphabet), less what require-each rules out).
 *
 * @example
 * ```ts
 * Math.floor(policyEntropyBits(presetPolicy('alnum'))); // 190
 * ```
 * @throws ValidationError for an invalid policy
 */
export function policyEntropyBits(policy: GeneratePolicy): number {
  const r = resolvePolicy(policy);
  return r.length * Math.log2(r.alphabet.length) + Math.log2(acceptance(r));
}

/**
 * A random value under `policy` (a policy object, or policy text as {@link parseGeneratePolicy} reads it):
 * uniform over every value the policy allows.
 *
 * @example
 * ```ts
 * const password = generateValue(parseGeneratePolicy('postgres'));
 * await store.storeCredential('myapp.db.prod', password, { autoVersion: true, context: { env: 'prod' } });
 * ```
 * @throws ValidationError for an invalid policy, or a `randomInt` option that returns something other
 *   than an integer in `[0, max)`
 */
export function generateValue(policy: GeneratePolicy | string, opts: GenerateOptions = {}): string {
  const r = resolvePolicy(typeof policy === 'string' ? parseGeneratePolicy(policy) : policy);
  const draw = opts.randomInt ?? ((max: number) => randomInt(max));
  const n = r.alphabet.length;
  // With acceptance >= 1e-3, a million draws all rejected has probability below e^-1000.
  for (let attempt = 0; attempt < 1_000_000; attempt++) {
    let out = '';
    for (let i = 0; i < r.length; i++) {
      const idx = draw(n);
      if (!Number.isInteger(idx) || idx < 0 || idx >= n) throw new ValidationError('generate: randomInt returned an index out of range');
      out += r.alphabet[idx];
    }
    if (!r.requireEach || r.classSets.every((set) => hasAny(out, set))) return out;
  }
  throw new ValidationError('generate: no value met require-each (the random source is not uniform)');
}

function hasAny(value: string, set: string): boolean {
  for (const ch of value) if (set.includes(ch)) return true;
  return false;
}

const SETTING_NAME = /^[a-z][a-z0-9-]{0,23}$/;

/** The name of a setting as typed, for a message: only when it looks like a setting name (never a value). */
function nameOf(key: string, item: number): string {
  return SETTING_NAME.test(key) ? `"${key}" (item ${item})` : `(item ${item})`;
}

interface RawItem {
  key: string;
  value?: string;
  item: number;
}

/** Split `a=1,b="x,y",c` into items; in a value, `\` takes the next character as it is, and `"..."` quotes. */
function splitItems(text: string): RawItem[] {
  const items: RawItem[] = [];
  let i = 0;
  for (let item = 1; ; item++) {
    let key = '';
    while (i < text.length && text[i] !== '=' && text[i] !== ',') key += text[i++];
    key = key.trim();
    if (key === '') fail(`empty setting (item ${item})`);
    let value: string | undefined;
    if (text[i] === '=') {
      i++;
      value = '';
      if (text[i] === '"') {
        i++;
        let closed = false;
        while (i < text.length) {
          const ch = text[i++] as string;
          if (ch === '"') {
            closed = true;
            break;
          }
          if (ch === '\\') {
            if (i >= text.length) break;
            value += text[i++];
          } else value += ch;
        }
        if (!closed) fail(`unterminated quote in ${nameOf(key, item)}`);
        if (i < text.length && text[i] !== ',') fail(`a quoted value must be followed by "," (item ${item})`);
      } else {
        while (i < text.length && text[i] !== ',') {
          const ch = text[i++] as string;
          if (ch === '\\') {
            if (i >= text.length) fail(`a trailing "\\" escapes nothing (item ${item})`);
            value += text[i++];
          } else value += ch;
        }
      }
    }
    items.push(value === undefined ? { key, item } : { key, value, item });
    if (i >= text.length) return items;
    i++; // the comma
    if (i >= text.length) fail(`empty setting (item ${item + 1})`);
  }
}

function parseLength(text: string, where: string): number {
  const t = text.trim();
  if (!/^\d{1,5}$/.test(t)) fail(`${where} must be an integer from 1 to ${MAX_GENERATE_LENGTH}`);
  const n = Number(t);
  if (n < 1 || n > MAX_GENERATE_LENGTH) fail(`${where} must be an integer from 1 to ${MAX_GENERATE_LENGTH}`);
  return n;
}

/**
 * Read policy text: an optional preset first (`postgres`, `alnum:40` for another length), then settings
 * separated by commas, each overriding the preset's (no preset: `alnum`'s):
 *
 * - `len=N` (or `length=N`): 1 to 1024 characters;
 * - `classes=upper+lower+digit+symbol` (any of upper, lower, digit, symbol, hex, joined by `+`);
 * - `symbols=CHARS`: the characters of the symbol class (ASCII punctuation; default all 32);
 * - `exclude=CHARS`: characters never used;
 * - `require-each` (or `require-each=yes|no`): every class appears at least once.
 *
 * In a value, `\` takes the next character literally, and a value may be double-quoted (`exclude="\",'"`)
 * to hold commas. Errors name the setting and its position, never its value.
 *
 * @example
 * ```ts
 * parseGeneratePolicy('len=24,classes=upper+lower+digit+symbol,exclude="\\"\'\\\\`",require-each');
 * ```
 * @throws ValidationError naming the problem in one line
 */
export function parseGeneratePolicy(text: string): GeneratePolicy {
  if (typeof text !== 'string') fail('must be text');
  if (text.trim() === '') fail(`is empty; give a preset (${GENERATE_PRESETS.join(', ')}) or settings such as len=32`);
  if (text.length > 4096) fail('is too long');
  const items = splitItems(text);
  let base: GeneratePolicy = presetPolicy(DEFAULT_GENERATE_PRESET);
  const seen = new Set<string>();
  items.forEach((raw, index) => {
    const { key, value, item } = raw;
    if (index === 0 && value === undefined) {
      const colon = key.indexOf(':');
      const name = colon < 0 ? key : key.slice(0, colon);
      if ((GENERATE_PRESETS as readonly string[]).includes(name)) {
        base = presetPolicy(name as GeneratePreset);
        if (colon >= 0) {
          base.length = parseLength(key.slice(colon + 1), `the length after "${name}:"`);
          seen.add('len');
        }
        return;
      }
    }
    const setting = key === 'length' ? 'len' : key;
    if (value === undefined && (GENERATE_PRESETS as readonly string[]).includes(key.split(':')[0] as string)) fail(`a preset must be the first item (item ${item})`);
    if (seen.has(setting)) fail(`${nameOf(key, item)} is given twice`);
    seen.add(setting);
    switch (setting) {
      case 'len':
        if (value === undefined) fail(`len needs a value: len=N (item ${item})`);
        base.length = parseLength(value, 'len');
        break;
      case 'classes': {
        if (value === undefined || value.trim() === '') fail(`classes needs a value: classes=upper+lower (item ${item})`);
        const names = value.split('+').map((s) => s.trim());
        for (const n of names) if (!(CHAR_CLASSES as readonly string[]).includes(n)) fail(`classes: unknown class ${nameOf(n, item)}; classes are ${CHAR_CLASSES.join(', ')}`);
        base.classes = names as CharClass[];
        break;
      }
      case 'symbols':
        if (value === undefined) fail(`symbols needs a value: symbols=CHARS (item ${item})`);
        base.symbols = value;
        break;
      case 'exclude':
        if (value === undefined) fail(`exclude needs a value: exclude=CHARS (item ${item})`);
        if (value === '') delete base.exclude;
        else base.exclude = value;
        break;
      case 'require-each':
        if (value === undefined || value === 'yes' || value === 'true') base.requireEach = true;
        else if (value === 'no' || value === 'false') base.requireEach = false;
        else fail(`require-each takes yes or no (item ${item})`);
        break;
      default:
        if (index === 0 && value === undefined) fail(`unknown preset or setting ${nameOf(key, item)}; presets are ${GENERATE_PRESETS.join(', ')}`);
        fail(`unknown setting ${nameOf(key, item)}; settings are len, classes, symbols, exclude, require-each`);
    }
  });
  // A symbols= that the classes do not use would be silently ignored.
  if (base.symbols !== undefined && !base.classes.includes('symbol')) {
    if (seen.has('symbols')) fail('symbols is given but classes has no "symbol"');
    delete base.symbols;
  }
  resolvePolicy(base);
  return base;
}

function quote(chars: string): string {
  return `"${chars.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/**
 * Policy text that {@link parseGeneratePolicy} reads back as the same policy (every setting spelled out):
 * for storing a policy beside a credential, or showing one.
 *
 * @example
 * ```ts
 * formatGeneratePolicy(presetPolicy('base64url')); // 'len=43,classes=upper+lower+digit+symbol,symbols="-_"'
 * ```
 * @throws ValidationError for an invalid policy
 */
export function formatGeneratePolicy(policy: GeneratePolicy): string {
  resolvePolicy(policy);
  const parts = [`len=${policy.length}`, `classes=${policy.classes.join('+')}`];
  if (policy.symbols !== undefined && policy.classes.includes('symbol')) parts.push(`symbols=${quote(policy.symbols)}`);
  if (policy.exclude !== undefined && policy.exclude !== '') parts.push(`exclude=${quote(policy.exclude)}`);
  if (policy.requireEach === true) parts.push('require-each');
  return parts.join(',');
}
