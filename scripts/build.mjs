// Builds dist/ with esbuild:
//  - dist/cli/: the CLI bundle (ESM, code-split so that AWS SDK clients and SQL drivers sit in chunks that
//    load only when a command needs them; measured cold start in BENCHMARKS.md). Native drivers stay external.
//  - dist/lib/: the library, one file per entry, dependencies external (users dedupe their own SDK clients).
// Runs from `npm ci` (prepare) and from the test global setup.
import { build } from 'esbuild';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const quiet = process.argv.includes('--quiet');
process.chdir(root);

const external = ['better-sqlite3', 'pg', 'pg-native', 'mysql2', 'mysql2/promise', 'kysely'];
const common = { bundle: true, platform: 'node', target: 'node20', format: 'esm', sourcemap: false, logLevel: quiet ? 'error' : 'info', legalComments: 'none' };
// Some bundled CommonJS dependencies call require(); give the ESM bundle a real one.
const banner = { js: "import { createRequire as __credstashCreateRequire } from 'node:module'; const require = __credstashCreateRequire(import.meta.url);" };

rmSync('dist/cli', { recursive: true, force: true });
rmSync('dist/lib', { recursive: true, force: true });

const cliEntries = ['src/cli/main.ts'].filter((p) => existsSync(p));
if (cliEntries.length > 0) {
  const result = await build({
    ...common,
    entryPoints: cliEntries,
    outdir: 'dist/cli',
    splitting: true,
    minify: true,
    chunkNames: 'chunks/[name]-[hash]',
    external,
    banner,
    // Prefer the packages' ESM builds (AWS SDK `dist-es`): a dynamic import() of a bundled CommonJS package
    // yields only `default` under code splitting, so `(await import('@aws-sdk/client-dynamodb')).DynamoDBClient`
    // was undefined. ESM builds also tree-shake, which keeps the lazily loaded chunks small.
    mainFields: ['module', 'main'],
    // The chunk graph, for the "no AWS SDK on the local get path" test and the cold-start bench.
    metafile: true,
  });
  writeFileSync('dist/cli/meta.json', JSON.stringify(result.metafile));
}

const libEntries = ['src/index.ts', 'src/stores/dynamodb/index.ts', 'src/stores/local/index.ts', 'src/stores/sql/index.ts',
  'src/stores/ssm/index.ts', 'src/stores/vault/index.ts', 'src/stores/env/index.ts'].filter((p) => existsSync(p));
await build({
  ...common,
  entryPoints: libEntries,
  outdir: 'dist/lib',
  outbase: 'src',
  splitting: true,
  packages: 'external',
});
