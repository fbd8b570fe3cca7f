/**
 * Which credstash.toml is used, how it was found, and reading it: --config > CREDSTASH_CONFIG >
 * ./credstash.toml > $XDG_CONFIG_HOME/credstash/credstash.toml. A config file is read only when nobody but
 * the user (or root) owns or may change it (src/core/file-trust.ts). Also the path rules every config
 * path follows (`~` expansion, relative to a base folder) and Python credstash's `~/.credstash`.
 */
import { closeSync, fstatSync, lstatSync, openSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { ConfigError } from '../core/errors.js';
import { expandTilde, homeDir } from '../core/paths.js';
import { assertTrustedFile } from '../core/file-trust.js';
import { CONFIG_FILE_NAME, ENV } from './defaults.js';
import { parseConfigText, type ConfigFile } from './schema.js';

/** How the config file in use was found (`credstash config` says it). */
export type ConfigFileSource = 'flag' | 'env' | 'cwd' | 'user';

/** --config > CREDSTASH_CONFIG > ./credstash.toml > $XDG_CONFIG_HOME/credstash/credstash.toml; undefined when none. */
export function findConfigFile(cwd: string, env: NodeJS.ProcessEnv, explicit: string | undefined, home = homeDir(env)): string | undefined {
  return locateConfigFile(cwd, env, explicit, home)?.file;
}

/**
 * {@link findConfigFile}, and which rule found the file.
 * @throws ConfigError when --config or CREDSTASH_CONFIG names something that is not a file
 */
export function locateConfigFile(cwd: string, env: NodeJS.ProcessEnv, explicit: string | undefined, home = homeDir(env)): { file: string; source: ConfigFileSource } | undefined {
  const named = nonEmpty(explicit) ?? nonEmpty(env[ENV.config]);
  if (named !== undefined) {
    const p = resolvePath(named, cwd, home);
    const source = nonEmpty(explicit) !== undefined ? 'flag' : 'env';
    if (!isFile(p)) {
      throw new ConfigError(`config file ${p} (from ${source === 'flag' ? '--config' : ENV.config}) does not exist or is not a file`, { path: p });
    }
    return { file: p, source };
  }
  const local = join(cwd, CONFIG_FILE_NAME);
  if (isFile(local)) return { file: local, source: 'cwd' };
  const user = userConfigFile(env, home);
  return isFile(user) ? { file: user, source: 'user' } : undefined;
}

/** `$XDG_CONFIG_HOME/credstash/credstash.toml`, else `~/.config/credstash/credstash.toml`. */
export function userConfigFile(env: NodeJS.ProcessEnv = process.env, home = homeDir(env)): string {
  const xdg = nonEmpty(env.XDG_CONFIG_HOME);
  const base = xdg !== undefined && isAbsolute(xdg) ? xdg : join(home, '.config');
  return join(base, 'credstash', CONFIG_FILE_NAME);
}

/**
 * Read, parse and validate one credstash.toml.
 * @throws ConfigError: unreadable or untrusted file, TOML syntax error (with line and column), or schema
 *   problems (each with its key path and line); the file's content is never quoted
 */
export function readConfigFile(file: string): ConfigFile {
  let text: string;
  let fd: number | undefined;
  try {
    // A symlink is followed, but only one of ours (or root's): in a shared folder, someone else's link could
    // point at another of our own config files.
    const link = lstatSync(file);
    if (link.isSymbolicLink()) assertTrustedFile(link, file, 'config file (a symbolic link)');
    fd = openSync(file, 'r');
    // Checked on the descriptor that is then read: the file cannot be swapped between check and read.
    assertTrustedFile(fstatSync(fd), file, 'config file');
    text = readFileSync(fd, 'utf8');
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new ConfigError(`cannot read config file ${file} (${code})`, { path: file, cause: err });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  return parseConfigText(text, file);
}

/** `~` and `~/x` expand to the home folder; relative paths resolve against `base`. */
export function resolvePath(p: string, base: string, home: string): string {
  return resolve(base, expandTilde(p, home));
}

/** $HOME when set and not blank, else the OS's idea of the home folder (the one rule, core/paths.ts). */
export { homeDir };

/** Python credstash's `~/.credstash` JSON (`{"kms-region": "..."}`), written by `setup --save-kms-region`. */
export function savedSettingsFile(home: string): string {
  return join(home, '.credstash');
}

/**
 * The `kms-region` saved in `~/.credstash`, as Python credstash reads it; undefined when there is none.
 * @throws ConfigError when the file exists but is not JSON
 */
export function readSavedKmsRegion(home: string): string | undefined {
  let text: string;
  // Asked first without an exception: most homes have no such file, and a failed read builds an error.
  if (!isFile(savedSettingsFile(home))) return undefined;
  try {
    text = readFileSync(savedSettingsFile(home), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const v = (JSON.parse(text) as Record<string, unknown>)['kms-region'];
    return typeof v === 'string' && v !== '' ? v : undefined;
  } catch {
    throw new ConfigError(`${savedSettingsFile(home)} is not valid JSON (it holds the saved KMS region; fix or delete it)`, { path: savedSettingsFile(home) });
  }
}

function isFile(p: string): boolean {
  try {
    return statSync(p, { throwIfNoEntry: false })?.isFile() ?? false;
  } catch {
    return false;
  }
}

/** `s`, or undefined when it is unset or blank (an empty CREDSTASH_* variable is not set). */
export function nonEmpty(s: string | undefined): string | undefined {
  return s === undefined || s.trim() === '' ? undefined : s;
}
