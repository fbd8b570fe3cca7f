#!/usr/bin/env node
// What a user installs: the package as `npm pack` makes it, installed with default npm settings into an
// empty project, once alone ("DynamoDB only": the SQL packages are optional peers, so none of them comes
// along) and once with every SQL peer (kysely, better-sqlite3, pg, mysql2). Reports the number of packages
// in node_modules, their size on disk (apparent bytes of every file) and the install time; --prefer-offline,
// so that a warm npm cache measures the install, not the network. Whether better-sqlite3's native addon was
// built is reported as well: npm runs its install script (prebuild-install or a node-gyp build) only where
// the npm configuration allows it.
// Prints one JSON object and writes bench/results/install-size.json.
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
process.chdir(root);
const work = mkdtempSync(join(tmpdir(), 'credstash-install-size-'));
const PEERS = ['kysely', 'better-sqlite3', 'pg', 'mysql2'];

try {
  const packed = JSON.parse(execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
  const tarball = join(work, packed[0].filename);

  /** Every package folder under node_modules (scoped ones included, nested node_modules too). */
  const packages = (nm) => {
    let n = 0;
    if (!existsSync(nm)) return 0;
    for (const e of readdirSync(nm, { withFileTypes: true })) {
      if (!e.isDirectory() || e.name.startsWith('.')) continue;
      if (e.name.startsWith('@')) {
        for (const s of readdirSync(join(nm, e.name), { withFileTypes: true })) if (s.isDirectory()) n += 1 + packages(join(nm, e.name, s.name, 'node_modules'));
      } else n += 1 + packages(join(nm, e.name, 'node_modules'));
    }
    return n;
  };
  const bytes = (p) => {
    const st = lstatSync(p);
    if (!st.isDirectory()) return st.size;
    let sum = 0;
    for (const e of readdirSync(p)) sum += bytes(join(p, e));
    return sum;
  };

  const install = (name, extra) => {
    const dir = join(work, name);
    mkdirSync(dir);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `install-${name}`, version: '1.0.0', private: true }));
    const t0 = performance.now();
    execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', tarball, ...extra], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
    const seconds = (performance.now() - t0) / 1000;
    const nm = join(dir, 'node_modules');
    return {
      packages: packages(nm),
      megabytes: Number((bytes(nm) / 1e6).toFixed(1)),
      install_seconds: Number(seconds.toFixed(1)),
      sql_peers_installed: PEERS.filter((p) => existsSync(join(nm, p))),
      better_sqlite3_addon_built: existsSync(join(nm, 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node')),
    };
  };

  const result = {
    npm: execFileSync('npm', ['--version'], { encoding: 'utf8' }).trim(),
    node: process.version,
    tarball_kb: Math.round(packed[0].size / 1024),
    tarball_files: packed[0].entryCount,
    dynamodb_only: install('dynamodb-only', []),
    with_sql_drivers: install('with-sql', PEERS),
  };
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/install-size.json', `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
