/**
 * The one way credstash-ts creates folders for files that hold secrets or decide where secrets go (the
 * config file's folder, the keystore folder, the SQLite folder, the audit log folder, `export -o` /
 * `render -o` targets): every folder it creates is 0700, whatever the umask. `mkdir -p` with the default mode
 * makes 0777 folders under umask 000, where another user can swap the config file for their own; and even
 * `mode: 0o700` is masked by the umask. So each missing component is created on its own and chmod-ed to 0700.
 * Folders that already exist are left as they are (they are not ours to change).
 */
import { closeSync, constants, fchmodSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * Create `dir` and any missing parents, each new one 0700.
 * @returns the folders this call created, outermost first
 * @throws the fs error as it is (ENOTDIR, EACCES, ...); callers wrap it in their own typed error
 */
export function mkdirPrivate(dir: string): string[] {
  const missing: string[] = [];
  let at = resolve(dir);
  for (;;) {
    const st = statSync(at, { throwIfNoEntry: false });
    if (st !== undefined) {
      if (!st.isDirectory()) throw Object.assign(new Error(`not a folder: ${at}`), { code: 'ENOTDIR', path: at });
      break;
    }
    missing.unshift(at);
    const up = dirname(at);
    if (up === at) break;
    at = up;
  }
  const created: string[] = [];
  for (const d of missing) {
    try {
      mkdirSync(d, { mode: 0o700 });
    } catch (err) {
      // Created meanwhile by someone else: use it, but it is not ours to chmod.
      if ((err as NodeJS.ErrnoException).code === 'EEXIST' && statSync(d, { throwIfNoEntry: false })?.isDirectory() === true) continue;
      throw err;
    }
    // Exactly 0700: the umask may have narrowed the mode given to mkdir. On a descriptor opened without
    // following a symlink, so a folder swapped for a symlink meanwhile never lends its mode change to the target.
    const fd = openSync(d, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
    try {
      fchmodSync(fd, 0o700);
    } finally {
      closeSync(fd);
    }
    created.push(d);
  }
  return created;
}
