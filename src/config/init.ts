/**
 * `credstash init`: write a new credstash.toml with a fresh Fernet key and the local keystore as the store.
 * The file holds a key, so it is written 0600, atomically (temp + fsync + rename, or link for the
 * no-overwrite case so that two racing inits cannot both win), under the key-list lock that `rotate-key`
 * takes (./config-lock.ts), and a warning goes out when it sits in a git work tree without being ignored.
 * Every folder it creates (the config file's, the keystore's) is 0700 whatever the umask.
 *
 * A new key must never silently orphan what is already stored:
 * - `--force` over an existing file keeps that file's Fernet keys after the new one (so everything they
 *   encrypted still opens) and first copies the old file to `credstash.toml.<time>.bak` (0600);
 * - when the keystore the new file points at already holds versions that none of the new file's keys opens
 *   (typically: credstash.toml was deleted), init refuses and writes nothing, unless `allowUnreadable`.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync, type Stats } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { writeFileAtomic } from '../core/atomic-file.js';
import { ConfigError } from '../core/errors.js';
import { mkdirPrivate } from '../core/private-dir.js';
import { generateFernetKey, MultiFernet } from '../crypto/fernet.js';
import { parseKeystore } from '../stores/local/local-keystore-file.js';
import { withConfigLock } from './config-lock.js';
import { CONFIG_FILE_NAME, DEFAULT_LOCAL_KEYSTORE_PATH } from './defaults.js';
import { homeDir, resolvePath } from './discover.js';
import { parseConfigText } from './schema.js';

export interface InitOptions {
  /** Config file to write, or a folder to write credstash.toml into (an existing folder, or a path ending in `/`). Default ./credstash.toml. */
  path?: string;
  /** Replace an existing file (its keys are kept after the new one, and it is backed up first). */
  force?: boolean;
  /** Write the new key even though the keystore holds versions no key of the new file opens (they stay unreadable). */
  allowUnreadable?: boolean;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

export interface InitResult {
  file: string;
  keystore: string;
  /** Keys carried over from the replaced file (after the new first key). */
  keptKeys: number;
  /** Where the replaced file was copied (0600), when one was replaced. */
  backup?: string;
  /** One line each, for stderr (e.g. the file is not ignored by git). */
  warnings: string[];
}

/** A new Fernet key: 32 random bytes, url-safe base64 with padding (44 characters); the one generator. */
export { generateFernetKey } from '../crypto/fernet.js';

/** The file `init` writes: `keys` (the first encrypts) and the local keystore at `keystorePath`. */
export function initConfigText(fernetKeys: string | readonly string[], keystorePath = DEFAULT_LOCAL_KEYSTORE_PATH): string {
  const keys = typeof fernetKeys === 'string' ? [fernetKeys] : fernetKeys;
  return [
    '# credstash-ts configuration (docs/config.md).',
    '# This file holds the Fernet key that encrypts the local keystore: keep it private and out of version control.',
    '',
    '[fernet]',
    '# The first key encrypts; keys after it still decrypt (credstash rotate-key adds a new first key).',
    `keys = [${keys.map((k) => `"${k}"`).join(', ')}]`,
    '',
    '[credential_store]',
    'type = "local"',
    '',
    '[credential_store.config]',
    `path = ${JSON.stringify(keystorePath)}`,
    '',
  ].join('\n');
}

/** `--path`: a trailing separator (or a final `.` / `..`) names a folder, as does an existing folder. */
export function initTarget(path: string | undefined, cwd: string, env: NodeJS.ProcessEnv): string {
  if (path === undefined) return join(cwd, CONFIG_FILE_NAME);
  const abs = resolvePath(path, cwd, homeDir(env));
  const folder = /[/\\]$/.test(path) || path.endsWith(sep) || /(^|[/\\])\.\.?$/.test(path) || path === '~' || statOf(abs)?.isDirectory() === true;
  return folder ? join(abs, CONFIG_FILE_NAME) : abs;
}

/**
 * @throws ConfigError when the file exists and `force` is not set, when the keystore holds versions the new
 *   key list cannot open (without `allowUnreadable`), or when a folder or the file cannot be written
 */
export async function initConfig(opts: InitOptions = {}): Promise<InitResult> {
  const cwd = opts.cwd ?? process.cwd();
  const env = opts.env ?? process.env;
  const file = initTarget(opts.path, cwd, env);
  const dir = dirname(file);
  if (opts.force !== true && statOf(file) !== undefined) throw exists(file);
  privateDir(dir);
  const keystore = resolve(dir, DEFAULT_LOCAL_KEYSTORE_PATH);
  return withConfigLock(file, { purpose: 'init', timeoutMs: 30_000 }, (lock) => {
    const old = statOf(file) === undefined ? undefined : readOld(file);
    if (old !== undefined && opts.force !== true) throw exists(file);
    const keys = [generateFernetKey(), ...(old?.keys ?? [])].filter((k, i, all) => all.indexOf(k) === i);
    const unreadable = unreadableVersions(keystore, keys);
    if (unreadable > 0 && opts.allowUnreadable !== true) {
      throw new ConfigError(
        `${keystore} already holds ${unreadable} credential version(s) that no key of the new ${basename(file)} could read ` +
          `(they were written under a Fernet key that is not in it${old === undefined ? '; was credstash.toml deleted? restore it from a backup' : ''}). ` +
          'Nothing was written. To start a new key anyway (those versions stay unreadable until their key is added back to [fernet] keys), pass --allow-unreadable',
        { path: keystore },
      );
    }
    privateDir(dirname(keystore));
    let backup: string | undefined;
    if (old !== undefined) {
      backup = `${file}.${new Date().toISOString().replace(/[:.]/g, '-')}.bak`;
      writeAtomic(backup, old.bytes, false);
    }
    lock.assertHeld();
    writeAtomic(file, initConfigText(keys), old !== undefined);
    const warnings: string[] = [];
    if (unreadable > 0) {
      warnings.push(`warning: ${unreadable} credential version(s) in ${keystore} cannot be read with the keys in ${file}`);
    }
    if (isTrackedByGit(file)) {
      warnings.push(`warning: ${file} holds a Fernet key and is inside a git work tree but not ignored; add "${basename(file)}" to .gitignore`);
    }
    if (backup !== undefined && isTrackedByGit(backup)) {
      warnings.push(`warning: the backup ${backup} holds Fernet keys and is inside a git work tree but not ignored; add "${basename(file)}.*.bak" to .gitignore`);
    }
    const out: InitResult = { file, keystore, keptKeys: keys.length - 1, warnings };
    if (backup !== undefined) out.backup = backup;
    return out;
  });
}

/** stat, with "a parent is not a folder" as "does not exist" (creating the folder then says ENOTDIR). */
function statOf(p: string): Stats | undefined {
  try {
    return statSync(p, { throwIfNoEntry: false });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    if (code === 'ENOTDIR') return undefined;
    throw new ConfigError(`cannot read ${p} (${code})`, { path: p, cause: err });
  }
}

function exists(file: string): ConfigError {
  return new ConfigError(`${file} already exists; use --force to replace it (its Fernet keys are kept after the new one, and the old file is backed up)`, { path: file });
}

function privateDir(dir: string): void {
  try {
    mkdirPrivate(dir);
  } catch (err) {
    throw new ConfigError(`cannot create folder ${dir} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { path: dir, cause: err });
  }
}

/** The replaced file: its bytes (for the backup) and its Fernet keys, when it parses. */
function readOld(file: string): { bytes: Buffer; keys: string[] } {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new ConfigError(`cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { path: file, cause: err });
  }
  let keys: string[] = [];
  try {
    keys = [...(parseConfigText(bytes.toString('utf8'), file).fernet?.keys ?? [])];
    new MultiFernet(keys.length > 0 ? keys : [generateFernetKey()]); // every kept key must parse
  } catch {
    keys = []; // a broken file (the usual reason for --force): nothing to keep, but it is still backed up
  }
  return { bytes, keys };
}

/** How many versions in the keystore no key of `keys` opens (0 when there is no keystore). */
function unreadableVersions(keystore: string, keys: readonly string[]): number {
  let text: string;
  try {
    text = readFileSync(keystore, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw new ConfigError(`cannot read ${keystore} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { path: keystore, cause: err });
  }
  const data = parseKeystore(text, keystore); // a foreign or corrupt file: CorruptStoreError, nothing written
  const fernet = new MultiFernet(keys);
  let n = 0;
  for (const versions of data.entries.values()) {
    for (const e of versions.values()) {
      try {
        fernet.keyIndexOf(e.token);
      } catch {
        n++;
      }
    }
  }
  return n;
}

/** Atomic 0600 write; without `replace`, link instead of rename so that two racing inits cannot both win. */
function writeAtomic(file: string, data: string | Uint8Array, replace: boolean): void {
  try {
    writeFileAtomic(file, data, { replace });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    if (code === 'EEXIST') throw exists(file);
    throw new ConfigError(`cannot write ${file} (${code})`, { path: file, cause: err });
  }
}

/**
 * True when `file` is inside a git work tree and `git check-ignore` does not ignore it. No git installed,
 * or not a work tree: false (no warning).
 */
export function isTrackedByGit(file: string): boolean {
  const cwd = dirname(file);
  try {
    const inside = execFileSync('git', ['rev-parse', '--is-inside-work-tree'], { cwd, stdio: ['ignore', 'pipe', 'ignore'], encoding: 'utf8' });
    if (inside.trim() !== 'true') return false;
  } catch {
    return false;
  }
  try {
    execFileSync('git', ['check-ignore', '-q', '--', basename(file)], { cwd, stdio: 'ignore' });
    return false; // exit 0: ignored
  } catch (err) {
    return (err as { status?: number }).status === 1; // 1: not ignored; 128: error -> no warning
  }
}
