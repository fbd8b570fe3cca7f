// Builds dist/ (or the folder given as --outdir=DIR) with esbuild:
//  - dist/cli/: the CLI bundle (ESM, code-split so that AWS SDK clients and SQL drivers sit in chunks that
//    load only when a command needs them; measured cold start in BENCHMARKS.md). Native drivers stay external.
//  - dist/lib/: the library, one file per entry, dependencies external (users dedupe their own SDK clients).
//  - dist/types/ (only with --types): the library's declarations, `tsc -p tsconfig.build.json`, which
//    package.json "types"/"exports" point at. `npm run build` and prepare (`npm ci`, `npm pack`) pass
//    --types; the test global setup does not (it rebuilds before every test run and must stay fast).
// Runs from `npm ci` (prepare) and from the test global setup, which builds into a folder of its own run
// (--outdir=.tmp/test-build/N/dist), so a build here never has to spare files another process is running.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { build } from 'esbuild';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { dirname } from 'node:path';

const root = fileURLToPath(new URL('.', import.meta.url));
const quiet = process.argv.includes('--quiet');
const types = process.argv.includes('--types');
const outArg = process.argv.find((a) => a.startsWith('--outdir='));
const out = outArg === undefined ? 'dist' : outArg.slice('--outdir='.length);
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
// A dynamic import() stays as it is: a CommonJS wrapper behind import() would yield only `default`
// (`const { openSync } = await import('node:fs')` got undefined). The one on the DynamoDB path, the SDK
// HTTP handler's `await import("node:http")` (it reads `.default ?? module`), is rewritten to
// process.getBuiltinModule; test/integration/cli/cold-start.int.test.ts fails if that stops matching.
// Only the CLI bundle: the library leaves its imports to the user's own bundler.
const builtinsByRequire = {
  name: 'builtins-by-require',
  setup(b) {
    const names = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
    const importers = new Map();
    const idOf = (importer) => importers.get(importer) ?? importers.set(importer, importers.size).get(importer);
    // No `.` in the path: esbuild would read an importer's `.mjs` as "this module is ESM".
    b.onResolve({ filter: /^(node:)?[a-z_/]+$/ }, (args) =>
      args.kind === 'import-statement' && names.has(args.path) ? { path: `${args.path.replace(/^node:/, '')}?${idOf(args.importer)}`, namespace: 'builtin-by-require' } : undefined);
    b.onLoad({ filter: /[\\/]@smithy[\\/]node-http-handler[\\/]dist-es[\\/]node-http-handler\.js$/ }, async (args) => ({
      contents: (await readFile(args.path, 'utf8')).replace('await import("node:http")', 'process.getBuiltinModule("node:http")'),
      loader: 'js',
    }));
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
if (cliEntries.length > 0) {
  rmSync(`${out}/cli`, { recursive: true, force: true });
  const result = await build({
    ...common,
    entryPoints: cliEntries,
    outdir: `${out}/cli`,
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
  writeFileSync(`${out}/cli-meta.json`, JSON.stringify(result.metafile));
}

// dist/cli/fast.cjs: the CLI's fast path (src/cli/fast-path.ts), main.ts as one CommonJS file holding only
// what a plain `get` (DynamoDB without the SDK, the local keystore) and `--version` load. Every other
// dynamic import() becomes a module that throws NeedsFullCli, on which bin/credstash runs the command line
// with the build above. CommonJS: on Node 20 an ES module entry alone costs about 8 ms of a cold start.
// Node built-ins stay plain require() calls (no ES module facades to build).
const FAST_PATH_MODULES = new Set(['src/cli/commands/get.ts', 'src/cli/load-config.ts', 'src/stores/dynamodb/index.ts', 'src/stores/local/index.ts']
  .map((p) => `${root}${p}`));
const fullCliOnly = {
  name: 'full-cli-only',
  setup(b) {
    b.onResolve({ filter: /.*/ }, async (args) => {
      if (args.kind !== 'dynamic-import' || args.pluginData === 'full-cli-only') return undefined;
      const r = await b.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: 'full-cli-only' });
      if (r.errors.length > 0 || FAST_PATH_MODULES.has(r.path)) return r.errors.length > 0 ? undefined : { path: r.path };
      return { path: args.path, namespace: 'full-cli-only' };
    });
    // import() of a file by path (a custom store module): esbuild cannot bundle it, and bin/credstash compiles
    // fast.cjs with no dynamic-import callback, so the fast path hands such a command line over instead.
    b.onLoad({ filter: /[\\/]src[\\/]core[\\/]import-file\.ts$/ }, () => ({
      contents: `import { NeedsFullCli } from ${JSON.stringify(`${root}src/cli/fast-path.ts`)};\nexport const importFile = async () => { throw new NeedsFullCli('a store module'); };`,
      resolveDir: root,
      loader: 'js',
    }));
    // Each module the fast path loads lazily notes that it was loaded (fast-path.ts, loadedModules): bin/credstash
    // keeps a code cache of fast.cjs and makes it again when a run loaded a module the cache was not made with
    // (the first run on the local keystore, say, and a later one on DynamoDB), so the cache holds both.
    b.onLoad({ filter: /\.ts$/ }, async (args) => {
      if (!FAST_PATH_MODULES.has(args.path)) return undefined;
      const name = args.path.slice(root.length);
      return {
        contents: `${await readFile(args.path, 'utf8')}\nimport { noteLoaded as __noteLoaded } from ${JSON.stringify(`${root}src/cli/fast-path.ts`)};\n__noteLoaded(${JSON.stringify(name)});\n`,
        loader: 'ts',
        resolveDir: dirname(args.path),
      };
    });
    b.onLoad({ filter: /.*/, namespace: 'full-cli-only' }, (args) => ({
      contents: `import { NeedsFullCli } from ${JSON.stringify(`${root}src/cli/fast-path.ts`)};\nthrow new NeedsFullCli(${JSON.stringify(args.path)});`,
      resolveDir: root,
      loader: 'js',
    }));
  },
};
if (existsSync('src/cli/fast-main.ts')) {
  const fast = await build({
    ...common,
    format: 'cjs',
    entryPoints: ['src/cli/fast-main.ts'],
    outfile: `${out}/cli/fast.cjs`,
    minify: true,
    external,
    plugins: [fullCliOnly, cliuiWordWrap],
    mainFields: ['module', 'main'],
    metafile: true,
    define: { __CREDSTASH_VERSION__: JSON.stringify(packageVersion) },
  });
  writeFileSync(`${out}/cli-fast-meta.json`, JSON.stringify(fast.metafile));
  // The first line names the build: the SHA-256 of the rest of the file. bin/credstash looks its code cache up
  // by it (with the file's size and time), so that it need not hash 170 KB on every start.
  const code = readFileSync(`${out}/cli/fast.cjs`);
  writeFileSync(`${out}/cli/fast.cjs`, Buffer.concat([Buffer.from(`// build ${createHash('sha256').update(code).digest('hex')}\n`), code]));
}

const libEntries = ['src/index.ts', 'src/stores/dynamodb/index.ts', 'src/stores/local/index.ts', 'src/stores/sql/index.ts',
  'src/stores/ssm/index.ts', 'src/stores/vault/index.ts', 'src/stores/env/index.ts', 'src/config/index.ts'].filter((p) => existsSync(p));
rmSync(`${out}/lib`, { recursive: true, force: true });
await build({
  ...common,
  entryPoints: libEntries,
  outdir: `${out}/lib`,
  outbase: 'src',
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  packages: 'external',
});

if (types) {
  // Declarations only (tsconfig.build.json: rootDir src, emitDeclarationOnly). A clean folder, so that a
  // removed source file leaves no stale .d.ts behind.
  rmSync(`${out}/types`, { recursive: true, force: true });
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', `${out}/types`], { stdio: 'inherit' });
  if (r.status !== 0) {
    process.stderr.write(`build: tsc -p tsconfig.build.json failed (${r.status ?? r.signal})\n`);
    process.exit(1);
  }
  if (!quiet) process.stdout.write(`\n  ${out}/types/  declarations (tsc -p tsconfig.build.json)\n`);
}
