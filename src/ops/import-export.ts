/**
 * Moving secrets in and out of a store as files: `exportCredentials` reads (the CLI formats the result with
 * the same formatters as `getall -f`), `parseImportFile` reads json / yaml / csv / dotenv into records, and
 * `importCredentials` writes each record as a new version and reports what it wrote and what it skipped.
 *
 * Parse errors say where (line, row) and never quote the file: an import file is full of secrets.
 */
import { AccessDeniedError, CredstashError, ValidationError } from '../core/errors.js';
import { validateWriteId } from '../core/names.js';
import type { CredentialStore } from '../core/store.js';
import type { CredentialValue, EncryptionContext, GetAllResult, JsonObject, StoredCredential } from '../core/types.js';
import { assertJsonDepth, MAX_YAML_ALIASES } from '../core/value.js';
import { valuesEqual } from './values.js';

export const IMPORT_FORMATS = ['json', 'yaml', 'csv', 'dotenv'] as const;
/** A file format `parseImportFile` reads. */
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

/** One credential read from an import file. `line` is where it starts (1-based), for the report. */
export interface ImportRecord {
  id: string;
  value: CredentialValue;
  line?: number;
}

/** Options of {@link exportCredentials}. */
export interface ExportOptions {
  pattern?: string;
  context?: EncryptionContext;
  /** Export what can be read and list the rest in `skipped` (default: fail on the first unreadable one). */
  skipErrors?: boolean;
}

/**
 * The newest version of every (matching) credential, decrypted: one `getAllCredentials` call.
 *
 * @example
 * ```ts
 * const { credentials } = await exportCredentials(store, { pattern: 'myapp.*', context: { env: 'prod' } });
 * const backup = Object.fromEntries(credentials.map((c) => [c.id, c.value]));
 * ```
 * @throws PartialResultError when a credential cannot be read and `skipErrors` is not set; ValidationError
 *   for a bad context; the store's errors
 */
export async function exportCredentials(store: CredentialStore, opts: ExportOptions = {}): Promise<GetAllResult> {
  return store.getAllCredentials({
    ...(opts.pattern === undefined ? {} : { pattern: opts.pattern }),
    ...(opts.context === undefined ? {} : { context: opts.context }),
    ...(opts.skipErrors === true ? { skipErrors: true } : {}),
  });
}

/**
 * `.json` / `.yaml` / `.yml` / `.csv` / `.env` (and `*.env`, `.env.*`) -> format; undefined when unknown.
 *
 * @example
 * ```ts
 * formatFromFileName('secrets/.env.production'); // 'dotenv'
 * ```
 */
export function formatFromFileName(file: string): ImportFormat | undefined {
  const base = file.split(/[\\/]/).pop()?.toLowerCase() ?? '';
  if (base.endsWith('.json')) return 'json';
  if (base.endsWith('.yaml') || base.endsWith('.yml')) return 'yaml';
  if (base.endsWith('.csv')) return 'csv';
  if (base === '.env' || base.endsWith('.env') || base.startsWith('.env.') || base.endsWith('.dotenv')) return 'dotenv';
  return undefined;
}

/**
 * Parse an import file. json and yaml: a mapping `id: value` (a value is a string or, for a structured
 * credential, an object), exactly what `getall -f json|yaml` and `export` write and Python credstash's
 * `putall` reads. csv: `id,value` rows without a header (Python credstash's `getall -f csv`). dotenv:
 * `NAME=value` lines, optionally `export NAME=value`, values in POSIX shell quoting (what `env` and
 * `getall -f dotenv` write); the id is NAME as written.
 *
 * @example
 * ```ts
 * const records = await parseImportFile('DB_PASSWORD=s3cr3t\nexport API_KEY="k-123"\n', 'dotenv', '.env');
 * // [{ id: 'DB_PASSWORD', value: 's3cr3t', line: 1 }, { id: 'API_KEY', value: 'k-123', line: 2 }]
 * ```
 * @throws ValidationError naming the file and the line or row, never the content
 */
export async function parseImportFile(text: string, format: ImportFormat, file = 'import file'): Promise<ImportRecord[]> {
  switch (format) {
    case 'json': {
      let data: unknown;
      try {
        data = JSON.parse(text);
      } catch {
        // JSON.parse's message quotes the input
        throw new ValidationError(`${file} is not valid JSON`, { path: file });
      }
      assertTreeDepth(data, file);
      return fromMapping(data, file, 'a JSON object of id -> value');
    }
    case 'yaml': {
      // yaml ships CommonJS: in a code-split ESM bundle its namespace may carry only `default`.
      const mod = (await import('yaml')) as unknown as { default?: typeof import('yaml') } & typeof import('yaml');
      const { parseDocument } = mod.default ?? mod;
      const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
      const first = doc.errors[0];
      if (first !== undefined) {
        // The YAML error message carries a snippet of the source: report only the line.
        const at = first.pos[0];
        const line = first.linePos?.[0]?.line ?? (Number.isSafeInteger(at) ? text.slice(0, at).split('\n').length : undefined);
        throw new ValidationError(`${file} is not valid YAML${line === undefined ? '' : ` (line ${line})`}`, { path: file });
      }
      let data: unknown;
      try {
        data = doc.toJS({ maxAliasCount: MAX_YAML_ALIASES });
      } catch (err) {
        // yaml throws a ReferenceError for an alias bomb ("billion laughs"); its message is not ours to print.
        const why = err instanceof ReferenceError ? `more than ${MAX_YAML_ALIASES} alias expansions` : 'nested too deep';
        throw new ValidationError(`${file} is not valid YAML (${why})`, { path: file });
      }
      assertTreeDepth(data, file);
      return fromMapping(data, file, 'a YAML mapping of id -> value');
    }
    case 'csv':
      return parseCsv(text, file);
    case 'dotenv':
      return parseDotenv(text, file);
    default:
      throw new ValidationError(`unknown import format; use one of ${IMPORT_FORMATS.join(', ')}`);
  }
}

function assertTreeDepth(data: unknown, file: string): void {
  try {
    assertJsonDepth(data, file);
  } catch (err) {
    if (err instanceof ValidationError) throw new ValidationError(err.message, { path: file });
    throw err;
  }
}

function fromMapping(data: unknown, file: string, expected: string): ImportRecord[] {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new ValidationError(`${file} must hold ${expected}`, { path: file });
  const out: ImportRecord[] = [];
  for (const [id, v] of Object.entries(data as Record<string, unknown>)) {
    if (typeof v === 'string') out.push({ id, value: v });
    else if (v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date)) out.push({ id, value: v as JsonObject });
    else throw new ValidationError(`${file}: the value of "${safeId(id)}" must be a string or an object (quote it if it is a number or a boolean)`, { path: file });
  }
  return out;
}

/** RFC 4180 as Python's csv module writes it: `"` quotes, `""` escapes, fields may span lines. */
function parseCsv(text: string, file: string): ImportRecord[] {
  const rows: Array<{ fields: string[]; line: number }> = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  let wasQuoted = false;
  let line = 1;
  let rowLine = 1;
  const endRow = (): void => {
    fields.push(field);
    if (!(fields.length === 1 && fields[0] === '' && !wasQuoted)) rows.push({ fields, line: rowLine });
    fields = [];
    field = '';
    wasQuoted = false;
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else {
        if (ch === '\n') line++;
        field += ch;
      }
      continue;
    }
    if (ch === '"' && field === '') {
      quoted = true;
      wasQuoted = true;
    } else if (ch === ',') {
      fields.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      endRow();
      line++;
      rowLine = line;
    } else if (ch === '"') {
      throw new ValidationError(`${file} row at line ${line}: a quote inside an unquoted field`, { path: file });
    } else field += ch;
  }
  if (quoted) throw new ValidationError(`${file} row at line ${rowLine}: a quoted field is not closed`, { path: file });
  if (field !== '' || fields.length > 0 || wasQuoted) endRow();
  return rows.map((r) => {
    if (r.fields.length !== 2) throw new ValidationError(`${file} row at line ${r.line}: expected 2 fields (id,value), found ${r.fields.length}`, { path: file });
    return { id: r.fields[0] as string, value: r.fields[1] as string, line: r.line };
  });
}

/**
 * dotenv as POSIX shell assignments: `'...'` is literal (so `'\''` is a quote), `"..."` honours `\\ \" \$ \``
 * and a backslash-newline, unquoted text ends at whitespace and `\x` is `x`. `#` starts a comment between
 * assignments. No expansion of `$VAR`: a `$` outside single quotes is an error rather than a silent guess.
 */
function parseDotenv(text: string, file: string): ImportRecord[] {
  const out: ImportRecord[] = [];
  let i = 0;
  let line = 1;
  const n = text.length;
  const fail = (what: string, at = line): never => {
    throw new ValidationError(`${file} line ${at}: ${what}`, { path: file });
  };
  while (i < n) {
    const ch = text[i] as string;
    if (ch === '\n') { line++; i++; continue; }
    if (ch === ' ' || ch === '\t' || ch === '\r') { i++; continue; }
    if (ch === '#') { while (i < n && text[i] !== '\n') i++; continue; }
    const start = line;
    const m = /^(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_.-]*)=/.exec(text.slice(i, i + 4096));
    if (m === null) fail('expected NAME=value');
    const id = (m as RegExpExecArray)[1] as string;
    i += (m as RegExpExecArray)[0].length;
    let value = '';
    while (i < n) {
      const c = text[i] as string;
      if (c === ' ' || c === '\t' || c === '\r' || c === '\n') break;
      if (c === "'") {
        const end = text.indexOf("'", i + 1);
        if (end < 0) fail('a single-quoted value is not closed', start);
        const part = text.slice(i + 1, end);
        line += part.split('\n').length - 1;
        value += part;
        i = end + 1;
      } else if (c === '"') {
        i++;
        for (;;) {
          if (i >= n) fail('a double-quoted value is not closed', start);
          const d = text[i] as string;
          if (d === '"') { i++; break; }
          if (d === '\\' && i + 1 < n) {
            const e = text[i + 1] as string;
            if (e === '\n') { line++; i += 2; continue; }
            if ('\\"$`'.includes(e)) { value += e; i += 2; continue; }
          }
          if (d === '$' || d === '`') fail('a $ or ` inside double quotes would be expanded by a shell; use single quotes', start);
          if (d === '\n') line++;
          value += d;
          i++;
        }
      } else if (c === '\\') {
        if (i + 1 < n && text[i + 1] !== '\n') value += text[i + 1];
        else line++;
        i += 2;
      } else if (c === '$' || c === '`') {
        fail('an unquoted $ or ` would be expanded by a shell; use single quotes', start);
      } else if (c === '#' && value === '') {
        break;
      } else {
        value += c;
        i++;
      }
    }
    // Only blanks or a comment may follow an assignment on its line.
    while (i < n && (text[i] === ' ' || text[i] === '\t' || text[i] === '\r')) i++;
    if (i < n && text[i] !== '\n' && text[i] !== '#') fail('only one NAME=value per line', line);
    out.push({ id, value, line: start });
  }
  return out;
}

/** Options of {@link importCredentials}: applied to every record. */
export interface ImportOptions {
  context?: EncryptionContext;
  comment?: string;
  /** Write even when the newest version already holds the same value (default: skip it as unchanged). */
  force?: boolean;
}

/** What an import wrote (id and new version) and what it skipped, and why. */
export interface ImportReport {
  written: Array<{ id: string; version: number }>;
  /** `reason` is value-free: `unchanged`, `duplicate id in the file`, or an error code and message. */
  skipped: Array<{ id: string; reason: string; code?: string; line?: number }>;
}

/**
 * Write each record as a new version (`autoVersion`), in file order. A record whose value equals the
 * newest stored version is skipped as unchanged (so re-running an import writes nothing twice), unless
 * `force`. If the caller may not read (a writer-only role: access denied), the value is written.
 * Errors for one record do not stop the others; they are reported, value-free.
 *
 * @example
 * ```ts
 * const report = await importCredentials(store, await parseImportFile(text, 'json', 'backup.json'), { comment: 'restored' });
 * for (const s of report.skipped) console.warn(`${s.id}: ${s.reason}`);
 * ```
 * @throws no CredstashError: each record's typed error is reported in `skipped`; only an unexpected
 *   non-CredstashError from the store is rethrown
 */
export async function importCredentials(store: CredentialStore, records: readonly ImportRecord[], opts: ImportOptions = {}): Promise<ImportReport> {
  const report: ImportReport = { written: [], skipped: [] };
  const seen = new Set<string>();
  const context = opts.context ?? {};
  for (const r of records) {
    const where = r.line === undefined ? {} : { line: r.line };
    if (seen.has(r.id)) {
      report.skipped.push({ id: r.id, reason: 'duplicate id in the file (the first one was used)', ...where });
      continue;
    }
    seen.add(r.id);
    try {
      validateWriteId(r.id);
      if (opts.force !== true) {
        let current: StoredCredential | undefined;
        try {
          current = await store.getCredential(r.id, { context });
        } catch (err) {
          if (!(err instanceof CredstashError && err.code === AccessDeniedError.code)) throw err;
        }
        if (current !== undefined && valuesEqual(current.value, r.value)) {
          report.skipped.push({ id: r.id, reason: `unchanged (version ${current.version} holds the same value)`, ...where });
          continue;
        }
      }
      const put = await store.storeCredential(r.id, r.value, {
        autoVersion: true,
        context,
        ...(opts.comment === undefined ? {} : { comment: opts.comment }),
      });
      report.written.push({ id: r.id, version: put.version });
    } catch (err) {
      if (!(err instanceof CredstashError)) throw err;
      report.skipped.push({ id: r.id, reason: err.message, code: err.code, ...where });
    }
  }
  return report;
}

/** Ids are not secret, but keep report lines one line and bounded. */
function safeId(id: string): string {
  const one = id.replace(/[\u0000-\u001f]/g, '?');
  return one.length > 80 ? `${one.slice(0, 77)}...` : one;
}
