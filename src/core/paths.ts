/**
 * The one `~` rule for every path a user writes (store config paths, `--*-file` options, config file
 * references): `~` and `~/...` are the home folder (HOME when set and not empty, else the OS's), anything else
 * is left as written; relative paths then resolve against the folder they are relative to. `~user` is not
 * expanded (a path, as the shell would not expand it inside quotes either).
 */
import { isAbsolute, join, resolve } from 'node:path';

/**
 * The home folder: `env.HOME` when set and not blank, else `os.homedir()`.
 *
 * @example
 * ```ts
 * homeDir({ HOME: '/home/ops' }); // '/home/ops'
 * ```
 */
export function homeDir(env: NodeJS.ProcessEnv = process.env): string {
  const home = env.HOME;
  // node:os only when HOME says nothing: loading it costs every cold start a fraction of a millisecond.
  return home !== undefined && home.trim() !== '' ? home : process.getBuiltinModule('node:os').homedir();
}

/**
 * `~` and `~/x` to the home folder; any other path unchanged.
 *
 * @example
 * ```ts
 * expandHome('~/.credstash/keys', { HOME: '/home/ops' }); // '/home/ops/.credstash/keys'
 * ```
 */
export function expandHome(path: string, env: NodeJS.ProcessEnv = process.env): string {
  return path === '~' || path.startsWith('~/') ? expandTilde(path, homeDir(env)) : path;
}

/**
 * {@link expandHome} with the home folder given (a caller that resolved it once).
 *
 * @example
 * ```ts
 * expandTilde('~/x', '/home/ops'); // '/home/ops/x'
 * ```
 */
export function expandTilde(path: string, home: string): string {
  if (path === '~') return home;
  if (path.startsWith('~/')) return join(home, path.slice(2));
  return path;
}

/**
 * An absolute path: `~` expanded, then a relative path resolved against `baseDir`.
 *
 * @example
 * ```ts
 * resolveUserPath('creds.db', '/srv/app');  // '/srv/app/creds.db'
 * resolveUserPath('~/creds.db', '/srv/app', { HOME: '/home/ops' }); // '/home/ops/creds.db'
 * ```
 */
export function resolveUserPath(path: string, baseDir: string, env: NodeJS.ProcessEnv = process.env): string {
  const expanded = expandHome(path, env);
  return isAbsolute(expanded) ? resolve(expanded) : resolve(baseDir, expanded);
}
