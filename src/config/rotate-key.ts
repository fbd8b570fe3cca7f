/**
 * `credstash rotate-key`, config half: put a new Fernet key FIRST into `[fernet] keys` of credstash.toml,
 * keeping every older key, as one atomic rewrite (temp 0600 + fsync + rename + fsync the folder). The file
 * is edited as text (one insertion after `keys = [`), so comments and layout survive; the result is parsed
 * again and must hold exactly [new, ...old] before it replaces the original.
 */
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../core/atomic-file.js';
import { ConfigError } from '../core/errors.js';
import { locateKey, parseConfigText } from './load.js';

/**
 * @returns the new key list as written (new first)
 * @throws ConfigError when the file has no `[fernet] keys` list this edit can extend, or cannot be written
 */
export function addFirstFernetKey(file: string, newKey: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { path: file, cause: err });
  }
  const old = parseConfigText(text, file).fernet?.keys;
  if (old === undefined || old.length === 0) {
    throw new ConfigError(`${file} has no [fernet] keys to rotate; run \`credstash init\` first`, { path: 'fernet.keys' });
  }
  const line = locateKey(text, ['fernet', 'keys']);
  const lines = text.split('\n');
  const at = line === undefined ? -1 : line - 1;
  const m = at < 0 ? null : /^(\s*(?:fernet\s*\.\s*)?keys\s*=\s*\[)/.exec(lines[at] ?? '');
  if (m === null) {
    throw new ConfigError(`${file}: fernet.keys is not a list this command can extend; put the new key first by hand`, { path: 'fernet.keys' });
  }
  lines[at] = `${m[1]}"${newKey}", ${(lines[at] ?? '').slice(m[1]?.length ?? 0).replace(/^\s+/, '')}`;
  const next = lines.join('\n');
  const check = parseConfigText(next, file).fernet?.keys;
  if (check === undefined || check.length !== old.length + 1 || check[0] !== newKey || check.slice(1).some((k, i) => k !== old[i])) {
    throw new ConfigError(`${file}: fernet.keys could not be extended safely; put the new key first by hand`, { path: 'fernet.keys' });
  }
  writeAtomic(file, next);
  return check;
}

function writeAtomic(file: string, text: string): void {
  try {
    writeFileAtomic(file, text);
  } catch (err) {
    throw new ConfigError(`cannot write ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { path: file, cause: err });
  }
}
