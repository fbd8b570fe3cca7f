/**
 * `credstash rotate-key`, config half: put a new Fernet key FIRST into `[fernet] keys` of credstash.toml,
 * keeping every older key, as one atomic rewrite (temp 0600 + fsync + rename + fsync the folder). The file
 * is edited as text (one insertion after `keys = [`), so comments and layout survive; the result is parsed
 * again and must hold exactly [new, ...old] before it replaces the original. Callers hold the key-list lock
 * (./config-lock.ts) across this edit and the re-encryption that follows, so two rotators never both
 * extend the same old list.
 */
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../core/atomic-file.js';
import { ConfigError } from '../core/errors.js';
import { parseConfigText } from './schema.js';
import { locateKey } from './toml.js';

/**
 * @param beforeWrite called just before the rename (the caller checks it still holds its lock)
 * @returns the new key list as written (new first)
 * @throws ConfigError when the file has no `[fernet] keys` list this edit can extend, or cannot be written
 */
export function addFirstFernetKey(file: string, newKey: string, beforeWrite?: () => void): string[] {
  const text = readText(file);
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
  beforeWrite?.();
  writeAtomic(file, next);
  return check;
}

/**
 * `[fernet] keys` as the file on disk holds them now (never a copy loaded earlier).
 * @throws ConfigError when the file cannot be read or lists no key
 */
export function readFernetKeysFromDisk(file: string): string[] {
  const keys = parseConfigText(readText(file), file).fernet?.keys;
  if (keys === undefined || keys.length === 0) {
    throw new ConfigError(`${file} has no [fernet] keys; run \`credstash init\` first`, { path: 'fernet.keys' });
  }
  return [...keys];
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { path: file, cause: err });
  }
}

function writeAtomic(file: string, text: string): void {
  try {
    writeFileAtomic(file, text);
  } catch (err) {
    throw new ConfigError(`cannot write ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { path: file, cause: err });
  }
}
