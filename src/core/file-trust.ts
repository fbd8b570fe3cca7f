/**
 * Which files credstash is willing to take its configuration and code from (docs/SECURITY.md, docs/config.md
 * "Whose files are used"). A credstash.toml decides where `put` sends a plaintext, and its
 * `credential_store.module` is code run with the user's AWS keys, Vault token and Fernet keys in reach; the
 * implicit `./credstash.toml` makes both a matter of which folder one happens to be in. So, as ssh does for
 * its config and keys:
 *
 *  - a config file (found in the working directory or the user folder, or named by --config /
 *    CREDSTASH_CONFIG) must belong to the current user or root and must not be writable by group or others;
 *    it is checked on the open file descriptor it is then read from, so it cannot be swapped in between;
 *  - a store module must satisfy the same rule, and so must every folder on the way to it (both the path as
 *    written and the path its symlinks resolve to): whoever can write a folder can replace what is inside.
 *    A folder writable by others is accepted only when it is sticky (like /tmp) and the entry below it on the
 *    path belongs to the current user or root, because then nobody else may rename or delete that entry.
 *
 * On a platform without uids (Windows) there is no such rule to check.
 */
import { lstatSync, realpathSync, statSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError } from './errors.js';

/** The uid whose files are trusted besides root's; undefined where the OS has no uids. */
export function currentUid(): number | undefined {
  return typeof process.getuid === 'function' ? process.getuid() : undefined;
}

/**
 * Refuse a file that someone other than the current user (or root) owns or may write.
 * @param what how messages name it: `config file`, `credential_store.module`
 * @throws ConfigError naming the file, its owner or mode, and the command that fixes it
 */
export function assertTrustedFile(st: Pick<Stats, 'uid' | 'mode'>, path: string, what: string, uid = currentUid()): void {
  if (uid === undefined) return;
  if (st.uid !== uid && st.uid !== 0) {
    throw new ConfigError(
      `${what} ${path} belongs to uid ${st.uid}, not to you (uid ${uid}) or root; refusing to use it (if you trust it: chown ${uid} ${quote(path)})`,
      { path },
    );
  }
  // A symlink's own mode is always 0777 and means nothing; only its owner can change where it points.
  if ((st.mode & 0o170000) !== 0o120000 && (st.mode & 0o022) !== 0) {
    throw new ConfigError(`${what} ${path} is writable by ${writers(st.mode)} (mode ${mode(st.mode)}); refusing to use it (chmod go-w ${quote(path)})`, { path });
  }
}

/**
 * Refuse a module that is not trusted by {@link assertTrustedFile}, or that lies below a folder someone else
 * could use to replace it. Checks the path as written and the real path (symlinks resolved).
 * @throws ConfigError naming the first offending file or folder and the fix
 */
export function assertTrustedModule(path: string, what: string, uid = currentUid()): void {
  if (uid === undefined) return;
  let real: string;
  try {
    real = realpathSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new ConfigError(`${what}: cannot load ${path} (${code})`, { path, cause: err });
  }
  try {
    assertTrustedFile(statSync(real), real === path ? path : `${path} (${real})`, what, uid);
    for (const p of new Set([resolve(path), real])) assertTrustedFolders(p, what, uid);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new ConfigError(`${what}: cannot check who may change ${path} (${code})`, { path, cause: err });
  }
}

/** Every folder from `path`'s parent up to `/`: not writable by others unless sticky over an entry we own. */
function assertTrustedFolders(path: string, what: string, uid: number): void {
  let child = path;
  // The owner of the entry itself (a symlink's own owner, not its target's): in a sticky folder, that owner
  // may rename or delete it.
  let childOwner = lstatSync(path).uid;
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    const st = statSync(dir);
    const mine = st.uid === uid || st.uid === 0;
    const entryMine = childOwner === uid || childOwner === 0;
    const sticky = (st.mode & 0o1000) !== 0;
    if (!mine) {
      throw new ConfigError(
        `${what} ${path} is inside folder ${dir}, which belongs to uid ${st.uid}, not to you (uid ${uid}) or root; refusing to load it (move the module, or chown ${uid} ${quote(dir)})`,
        { path },
      );
    }
    if ((st.mode & 0o022) !== 0 && !(sticky && entryMine)) {
      throw new ConfigError(
        `${what} ${path} is inside folder ${dir}, which ${writers(st.mode)} can write (mode ${mode(st.mode)}), so ${child} could be replaced; refusing to load it (chmod go-w ${quote(dir)}, or move the module)`,
        { path },
      );
    }
    if (dirname(dir) === dir) return;
    child = dir;
    childOwner = lstatSync(dir).uid;
  }
}

function writers(m: number): string {
  const g = (m & 0o020) !== 0;
  const o = (m & 0o002) !== 0;
  return g && o ? 'group and others' : g ? 'its group' : 'others';
}

function mode(m: number): string {
  return `0${(m & 0o7777).toString(8).padStart(3, '0')}`;
}

/** Shell-quoted for the suggested command (a path with spaces or quotes still pastes as one word). */
function quote(p: string): string {
  return /^[A-Za-z0-9_./:@%+=-]+$/.test(p) ? p : `'${p.replace(/'/g, `'\\''`)}'`;
}
