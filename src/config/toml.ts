/**
 * credstash.toml as text: TOML parsing with messages that never quote the file (it holds Fernet keys),
 * and a line locator that turns a key path into the line it is written on, for messages that name the
 * file, the line and the key path (`/p/credstash.toml line 4: credential_store.type: is required`).
 */
import { parse as parseToml, TomlError } from 'smol-toml';
import { ConfigError } from '../core/errors.js';

/**
 * Parse TOML text into plain tables. `file` is used in messages only.
 * @throws ConfigError naming the file, line and column of a syntax error; never a quote of the text
 */
export function parseTomlText(text: string, file: string): unknown {
  try {
    return parseToml(text);
  } catch (err) {
    if (err instanceof TomlError) {
      // The first line of smol-toml's message is a generic reason; the rest is a code block quoting the
      // file, which may hold a Fernet key. Keep the reason only when it is plain words.
      const reason = /^Invalid TOML document: ([a-zA-Z ,()'-]{1,80})$/.exec(err.message.split('\n')[0] ?? '')?.[1];
      throw new ConfigError(`${file} line ${err.line}, column ${err.column}: invalid TOML${reason === undefined ? '' : ` (${reason.replace(/'.*$/, '').trim()})`}`, { path: file });
    }
    throw new ConfigError(`${file}: invalid TOML`, { path: file });
  }
}

/** `credentials[0].credential_type`, `credential_store.config.path`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else {
      const s = String(seg);
      const safe = /^[A-Za-z0-9_-]+$/.test(s) ? s : JSON.stringify(s.length > 40 ? `${s.slice(0, 37)}...` : s);
      out += out === '' ? safe : `.${safe}`;
    }
  }
  return out === '' ? '(top level)' : out;
}

/** The start of a message about a place in a config file: `<file>: ` or `<file> line <n>: `; empty without a file. */
export function where(file: string | undefined, line?: number): string {
  if (file === undefined) return '';
  return line === undefined ? `${file}: ` : `${file} line ${line}: `;
}

/**
 * Best-effort line of a key path in TOML text: tracks `[table]` / `[[array]]` headers and `a.b = ` keys.
 * Exact match first, else the deepest line whose path is a prefix of the wanted one (the table that
 * misses a required key, or the inline table holding the bad key). Reads structure only, never values.
 */
export function locateKey(text: string, path: readonly PropertyKey[]): number | undefined {
  const want = path.map(String);
  const arrays = new Map<string, number>();
  let table: string[] = [];
  let best: { line: number; depth: number } | undefined;
  const consider = (full: string[], line: number): boolean => {
    if (full.length > want.length || !full.every((seg, i) => seg === want[i])) return false;
    if (full.length === want.length) return true;
    if (best === undefined || full.length > best.depth) best = { line, depth: full.length };
    return false;
  };
  const lines = text.split(/\r?\n/);
  let inMultiline = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (inMultiline) {
      if ((line.match(/"""|'''/g) ?? []).length % 2 === 1) inMultiline = false;
      continue;
    }
    const header = /^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$/.exec(line);
    if (header !== null) {
      const keys = splitKey(header[2] ?? '');
      if (header[1] === '[[') {
        const name = keys.join('.');
        const idx = arrays.get(name) ?? 0;
        arrays.set(name, idx + 1);
        table = [...keys, String(idx)];
      } else {
        table = resolveArrayPrefix(keys, arrays);
      }
      if (consider(table, i + 1)) return i + 1;
      continue;
    }
    const kv = /^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*=/.exec(line);
    if (kv !== null) {
      if ((line.match(/"""|'''/g) ?? []).length % 2 === 1) inMultiline = true;
      if (consider([...table, ...splitKey(kv[1] ?? '')], i + 1)) return i + 1;
    }
  }
  return best?.line;
}

/** `[credentials.metadata]` after `[[credentials]]` refers to the latest array element. */
function resolveArrayPrefix(keys: string[], arrays: Map<string, number>): string[] {
  const out: string[] = [];
  for (let i = 0; i < keys.length; i++) {
    out.push(keys[i] ?? '');
    const n = arrays.get(keys.slice(0, i + 1).join('.'));
    if (n !== undefined && i < keys.length - 1) out.push(String(n - 1));
  }
  return out;
}

function splitKey(key: string): string[] {
  const out: string[] = [];
  const re = /\s*("([^"]*)"|'([^']*)'|([A-Za-z0-9_-]+))\s*(\.|$)/gy;
  let m: RegExpExecArray | null;
  while ((m = re.exec(key)) !== null && m[0] !== '') out.push(m[2] ?? m[3] ?? m[4] ?? '');
  return out;
}
