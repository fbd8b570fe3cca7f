/**
 * `credstash init`: write a new credstash.toml with a fresh Fernet key and the local keystore as the store.
 * The file holds a key, so it is written 0600, atomically (temp + fsync + rename, or link for the
 * no-overwrite case so that two racing inits cannot both win), and a warning goes out when it sits in a git
 * work tree without being ignored. The keystore folder is created 0700.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { writeFileAtomic } from '../core/atomic-file.js';
import { ConfigError } from '../core/errors.js';
import { CONFIG_FILE_NAME, DEFAULT_LOCAL_KEYSTORE_PATH } from './defaults.js';
import { homeDir, resolvePath } from './load.js';

export interface InitOptions {
  /** Config file to write, or a folder to write credstash.toml into (default: ./credstash.toml). */
  path?: string;
  force?: boolean;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

export interface InitResult {
  file: string;
  keystore: string;
  /** One line each, for stderr (e.g. the file is not ignored by git). */
  warnings: string[];
}

/** A new Fernet key: 32 random bytes, url-safe base64 with padding (44 characters). */
export function generateFernetKey(): string {
  return randomBytes(32).toString('base64url') + '=';
}

export function initConfigText(fernetKey: string, keystorePath = DEFAULT_LOCAL_KEYSTORE_PATH): string {
  return [
    '# credstash-ts configuration (docs/config.md).',
    '# This file holds the Fernet key that encrypts the local keystore: keep it private and out of version control.',
    '',
    '[fernet]',
    '# The first key encrypts; keys after it still decrypt (credstash rotate-key adds a new first key).',
    `keys = ["${fernetKey}"]`,
    '',
    '[credential_store]',
    'type = "local"',
    '',
    '[credential_store.config]',
    `path = ${JSON.stringify(keystorePath)}`,
    '',
  ].join('\n');
}

/**
 * @throws ConfigError when the file exists and `force` is not set, or it cannot be written
 */
export function initConfig(opts: InitOptions = {}): InitResult {
  const cwd = opts.cwd ?? process.cwd();
  const env = opts.env ?? process.env;
  let file = opts.path === undefined ? join(cwd, CONFIG_FILE_NAME) : resolvePath(opts.path, cwd, homeDir(env));
  if (statSync(file, { throwIfNoEntry: false })?.isDirectory() === true) file = join(file, CONFIG_FILE_NAME);
  const dir = dirname(file);
  if (opts.force !== true && statSync(file, { throwIfNoEntry: false }) !== undefined) {
    throw new ConfigError(`${file} already exists; use --force to replace it (its Fernet key would be lost)`, { path: file });
  }
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new ConfigError(`cannot create folder ${dir} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { path: dir, cause: err });
  }
  const keystore = resolve(dir, DEFAULT_LOCAL_KEYSTORE_PATH);
  const storeDir = dirname(keystore);
  try {
    const existed = statSync(storeDir, { throwIfNoEntry: false }) !== undefined;
    mkdirSync(storeDir, { recursive: true, mode: 0o700 });
    if (!existed) chmodSync(storeDir, 0o700); // mkdir's mode is masked by the umask
  } catch (err) {
    throw new ConfigError(`cannot create folder ${storeDir} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { path: storeDir, cause: err });
  }
  writeAtomic(file, initConfigText(generateFernetKey()), opts.force === true);
  const warnings: string[] = [];
  if (isTrackedByGit(file)) {
    warnings.push(`warning: ${file} holds a Fernet key and is inside a git work tree but not ignored; add "${basename(file)}" to .gitignore`);
  }
  return { file, keystore, warnings };
}

/** Atomic 0600 write; without `replace`, link instead of rename so that two racing inits cannot both win. */
function writeAtomic(file: string, text: string, replace: boolean): void {
  try {
    writeFileAtomic(file, text, { replace });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    if (code === 'EEXIST') throw new ConfigError(`${file} already exists; use --force to replace it (its Fernet key would be lost)`, { path: file });
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
