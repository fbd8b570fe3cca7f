// Builds dist/ with esbuild:
//  - dist/cli/: the CLI bundle (ESM, code-split so that AWS SDK clients and SQL drivers sit in chunks that
//    load only when a command needs them; measured cold start in BENCHMARKS.md). Native drivers stay external.
//  - dist/lib/: the library, one file per entry, dependencies external (users dedupe their own SDK clients).
//  - dist/types/ (only with --types): the library's declarations, `tsc -p tsconfig.build.json`, which
//    package.json "types"/"exports" point at. `npm run build` and prepare (`npm ci`, `npm pack`) pass
//    --types; the test global setup does not (it rebuilds before every test run and must stay fast).
// Runs from `npm ci` (prepare) and from the test global setup.
import { spawnSync } from 'node:child_process';
import { build } from 'esbuild';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname } from 'node:path';

const root = fileURLToPath(new URL('.', import.meta.url));
const quiet = process.argv.includes('--quiet');
const types = process.argv.includes('--types');
process.chdir(root);

const packageVersion = JSON.parse(readFileSync('package.json', 'utf8')).version;
const external = ['better-sqlite3', 'pg', 'pg-native', 'mysql2', 'mysql2/promise', 'kysely'];
const common = { bundle: true, platform: 'node', target: 'node20', format: 'esm', sourcemap: false, logLevel: quiet ? 'error' : 'info', legalComments: 'none' };
// Some bundled CommonJS dependencies call require(); give the ESM bundle a real one. Taken through
// process.getBuiltinModule (Node >= 20.16), not `import ... from 'node:module'`: see builtinsByRequire.
const banner = { js: "const require = process.getBuiltinModule('node:module').createRequire(import.meta.url);" };
// Node built-ins taken with process.getBuiltinModule() instead of an ESM import: an ESM import builds the
// module's facade, which reads every export, lazy getters included. On Node 22 and 24 that made `node:http`
// load undici (its WebSocket / EventSource getters), 15-20 ms of every DynamoDB `credstash get`;
// `node:crypto` (webcrypto), `node:process` and `node:util` cost 2-5 ms more each. Each import becomes a
// tiny CommonJS module whose named imports are property reads at use. One such module per importing file
// (the `?N` in its path), so that it lands in its importer's chunk: one shared module per built-in made
// esbuild split seven more chunks onto the local `get` path, which cost Node 20 more than it saved.
// Only the CLI bundle: the library leaves its imports to the user's own bundler.
const builtinsByRequire = {
  name: 'builtins-by-require',
  setup(b) {
    const names = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
    const importers = new Map();
    const idOf = (importer) => importers.get(importer) ?? importers.set(importer, importers.size).get(importer);
    // No `.` in the path: esbuild would read an importer's `.mjs` as "this module is ESM".
    b.onResolve({ filter: /^(node:)?[a-z_/]+$/ }, (args) =>
      args.kind !== 'require-call' && names.has(args.path) ? { path: `${args.path.replace(/^node:/, '')}?${idOf(args.importer)}`, namespace: 'builtin-by-require' } : undefined);
    b.onLoad({ filter: /.*/, namespace: 'builtin-by-require' }, (args) => ({
      contents: `module.exports = process.getBuiltinModule(${JSON.stringify(`node:${args.path.split('?')[0]}`)});`,
      loader: 'js',
    }));
  },
};

// yargs 17's help layout (cliui) through its ESM entry cuts lines every N characters, in the middle of words;
// the CLI bundle gets an entry that wraps at spaces (src/cli/help-wrap.ts), the rest of cliui unchanged.
const cliuiWordWrap = {
  name: 'cliui-word-wrap',
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/]cliui[\\/]index\.mjs$/ }, (args) => ({
      contents: [
        "import { cliui } from './build/lib/index.js';",
        "import { stripAnsi } from './build/lib/string-utils.js';",
        `import { wrapWords } from ${JSON.stringify(`${root}src/cli/help-wrap.ts`)};`,
        'export default function ui(opts) {',
        '  return cliui(opts, { stringWidth: (s) => [...s].length, stripAnsi, wrap: wrapWords });',
        '}',
      ].join('\n'),
      resolveDir: dirname(args.path),
      loader: 'js',
    }));
  },
};

const cliEntries = ['src/cli/main.ts'].filter((p) => existsSync(p));
// Several test runs share one work tree: build into a staging folder, then install without ever removing
// a chunk that a running `credstash` may still import (chunk names are content hashes, so new chunks never
// overwrite old ones with different code). main.js and the metafile are replaced by rename (atomic).
const stage = `dist/.cli-build-${process.pid}`;
if (cliEntries.length > 0) {
  rmSync(stage, { recursive: true, force: true });
  const result = await build({
    ...common,
    entryPoints: cliEntries,
    outdir: stage,
    splitting: true,
    minify: true,
    chunkNames: 'chunks/[name]-[hash]',
    external,
    banner,
    plugins: [builtinsByRequire, cliuiWordWrap],
    // Prefer the packages' ESM builds (AWS SDK `dist-es`): a dynamic import() of a bundled CommonJS package
    // yields only `default` under code splitting, so `(await import('@aws-sdk/client-dynamodb')).DynamoDBClient`
    // was undefined. ESM builds also tree-shake, which keeps the lazily loaded chunks small.
    mainFields: ['module', 'main'],
    // The chunk graph, for the "no AWS SDK on the local get path" test and the cold-start bench. Written to
    // dist/cli-meta.json, outside dist/cli and left out of the package by package.json "files" (it is build
    // information, a third of the tarball, and no user needs it).
    metafile: true,
    // `credstash --version`, fixed at build time: reading package.json at run time would cost every cold start.
    define: { __CREDSTASH_VERSION__: JSON.stringify(packageVersion) },
  });
  writeFileSync(`${stage}/meta.json`, JSON.stringify(result.metafile).replaceAll(stage, "dist/cli"));
  mkdirSync('dist/cli/chunks', { recursive: true });
  const fresh = new Set(readdirSync(`${stage}/chunks`));
  for (const f of fresh) if (!existsSync(`dist/cli/chunks/${f}`)) renameSync(`${stage}/chunks/${f}`, `dist/cli/chunks/${f}`);
  renameSync(`${stage}/meta.json`, 'dist/cli-meta.json');
  rmSync('dist/cli/meta.json', { force: true }); // where older builds wrote it
  renameSync(`${stage}/main.js`, 'dist/cli/main.js');
  rmSync(stage, { recursive: true, force: true });
  // Drop chunks of older builds once no process started before them can still need them.
  const cutoff = Date.now() - 10 * 60_000;
  for (const f of readdirSync('dist/cli/chunks')) {
    if (!fresh.has(f) && statSync(`dist/cli/chunks/${f}`).mtimeMs < cutoff) rmSync(`dist/cli/chunks/${f}`, { force: true });
  }
}

const libEntries = ['src/index.ts', 'src/stores/dynamodb/index.ts', 'src/stores/local/index.ts', 'src/stores/sql/index.ts',
  'src/stores/ssm/index.ts', 'src/stores/vault/index.ts', 'src/stores/env/index.ts', 'src/config/index.ts'].filter((p) => existsSync(p));
// dist/lib is installed the same way as dist/cli: child processes of a concurrent test run import it.
const libStage = `dist/.lib-build-${process.pid}`;
rmSync(libStage, { recursive: true, force: true });
await build({
  ...common,
  entryPoints: libEntries,
  outdir: libStage,
  outbase: 'src',
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  packages: 'external',
});
installStaged(libStage, 'dist/lib');

/** Move every file of `stage` into `target`: new chunks added (never replaced), entry files renamed over. */
function installStaged(stage, target) {
  const walk = (dir) => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(`${dir}/${e.name}`) : [`${dir}/${e.name}`]));
  const files = walk(stage).map((f) => f.slice(stage.length + 1));
  const fresh = new Set(files);
  for (const rel of files) {
    const dest = `${target}/${rel}`;
    mkdirSync(dest.slice(0, dest.lastIndexOf('/')), { recursive: true });
    if (rel.startsWith('chunks/') && existsSync(dest)) continue;
    renameSync(`${stage}/${rel}`, dest);
  }
  rmSync(stage, { recursive: true, force: true });
  const cutoff = Date.now() - 10 * 60_000;
  if (existsSync(`${target}/chunks`)) {
    for (const f of readdirSync(`${target}/chunks`)) {
      if (!fresh.has(`chunks/${f}`) && statSync(`${target}/chunks/${f}`).mtimeMs < cutoff) rmSync(`${target}/chunks/${f}`, { force: true });
    }
  }
}

if (types) {
  // Declarations only (tsconfig.build.json: rootDir src, emitDeclarationOnly). A clean folder, so that a
  // removed source file leaves no stale .d.ts behind.
  rmSync('dist/types', { recursive: true, force: true });
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  if (r.status !== 0) {
    process.stderr.write(`build: tsc -p tsconfig.build.json failed (${r.status ?? r.signal})\n`);
    process.exit(1);
  }
  if (!quiet) process.stdout.write('\n  dist/types/  declarations (tsc -p tsconfig.build.json)\n');
}
