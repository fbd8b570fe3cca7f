import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Every test run builds its own copy of the package layout under .tmp/test-build/<slot>/: `dist/` (the CLI
 * bundle, the library, the chunk graph, built by `esbuild.config.mjs --outdir`), `bin/credstash` and
 * `bin/package.json` (a copy of the executable, which runs ../dist/cli/fast.cjs or ../dist/cli/main.js) and `package.json` (so that `credstash-ts` resolves to
 * this build through its `exports`). Tests spawn that bin/credstash and import that dist/lib, so they always
 * run the current source, parallel test runs in one work tree never share files, and dist/ is `npm run
 * build`'s alone. The folder's path is in CREDSTASH_TEST_BUILD (test/helpers/cli.ts reads it); the run removes
 * it at the end. Slots are reused (the lowest free one), so paths repeat from run to run and Node's compile
 * cache keeps one entry per file instead of one per run.
 */
export default function setup(): () => void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const dir = claimSlot(join(root, '.tmp', 'test-build'));
  execFileSync(process.execPath, ['esbuild.config.mjs', '--quiet', `--outdir=${join(dir, 'dist')}`], { cwd: root, stdio: 'inherit' });
  mkdirSync(join(dir, 'bin'), { recursive: true });
  copyFileSync(join(root, 'bin', 'credstash'), join(dir, 'bin', 'credstash'));
  copyFileSync(join(root, 'bin', 'package.json'), join(dir, 'bin', 'package.json'));
  copyFileSync(join(root, 'package.json'), join(dir, 'package.json'));
  process.env.CREDSTASH_TEST_BUILD = dir;
  return () => rmSync(dir, { recursive: true, force: true });
}

/** The lowest slot no live test run holds: created with mkdir (atomic), its owner's pid written inside. */
function claimSlot(builds: string): string {
  mkdirSync(builds, { recursive: true });
  for (let n = 0; ; n++) {
    const dir = join(builds, String(n));
    try {
      mkdirSync(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || ownerAlive(dir)) continue;
      rmSync(dir, { recursive: true, force: true }); // a run that died without its teardown
      try {
        mkdirSync(dir);
      } catch {
        continue; // another run took it first
      }
    }
    writeFileSync(join(dir, 'owner'), String(process.pid));
    return dir;
  }
}

function ownerAlive(dir: string): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(join(dir, 'owner'), 'utf8'));
  } catch {
    // just created by a run that has not written its pid yet, unless that was long ago
    return Date.now() - statSync(dir).mtimeMs < 60_000;
  }
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
