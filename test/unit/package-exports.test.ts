import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// package.json points library users at dist/types (declarations, `esbuild.config.mjs --types` =
// `tsc -p tsconfig.build.json`) and dist/lib (esbuild). Both mirror src/: check every path names a real
// source file, so that a renamed entry cannot leave "types" pointing at nothing.
const root = fileURLToPath(new URL('../..', import.meta.url));
const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as {
  types: string;
  main: string;
  scripts: Record<string, string>;
  exports: Record<string, string | { types: string; default: string }>;
};
const buildConfig = JSON.parse(readFileSync(`${root}tsconfig.build.json`, 'utf8')) as { compilerOptions: Record<string, unknown> };
const buildScript = readFileSync(`${root}esbuild.config.mjs`, 'utf8');

const entries = Object.entries(pkg.exports).filter((e): e is [string, { types: string; default: string }] => typeof e[1] === 'object');

describe('package.json entry points', () => {
  it('tsconfig.build.json writes declarations of src/ into dist/types', () => {
    expect(buildConfig.compilerOptions).toMatchObject({ rootDir: 'src', outDir: 'dist/types', emitDeclarationOnly: true, declaration: true });
  });

  it('build and prepare emit the declarations; the test setup does not', () => {
    expect(pkg.scripts.build).toBe('node esbuild.config.mjs --types');
    expect(pkg.scripts.prepare).toBe('node esbuild.config.mjs --types');
    expect(readFileSync(`${root}test/global-setup.ts`, 'utf8')).not.toContain('--types');
  });

  it.each(entries)('%s: types and default are the dist twins of one source file', (_name, entry) => {
    // `default`, not `import`: require() of the ESM entry (Node >= 20.19) must find it too
    expect(Object.keys(entry)).toEqual(['types', 'default']);
    const t = /^\.\/dist\/types\/(.+)\.d\.ts$/.exec(entry.types)?.[1];
    const j = /^\.\/dist\/lib\/(.+)\.js$/.exec(entry.default)?.[1];
    expect(t).toBeDefined();
    expect(j).toBe(t);
    expect(existsSync(`${root}src/${t}.ts`)).toBe(true);
    expect(buildScript).toContain(`'src/${t}.ts'`); // a dist/lib entry point of esbuild.config.mjs
  });

  it('the top-level types and main are the "." entry', () => {
    const dot = pkg.exports['.'] as { types: string; default: string };
    expect(pkg.types).toBe(dot.types);
    expect(pkg.main).toBe(dot.default);
  });
});

/** Every `import { ... } from 'credstash-ts[/entry]'` in README.md and docs/ (code blocks and examples). */
function documentedImports(): Array<{ file: string; entry: string; names: string[] }> {
  const files = ['README.md', ...readdirSync(`${root}docs`).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
  const out: Array<{ file: string; entry: string; names: string[] }> = [];
  for (const file of files) {
    const text = readFileSync(`${root}${file}`, 'utf8');
    for (const m of text.matchAll(/import\s*\{([^}]*)\}\s*from\s*'(credstash-ts(?:\/[a-z]+)?)'/g)) {
      const names = (m[1] ?? '').split(',').map((n) => n.trim()).filter((n) => n !== '' && !n.startsWith('type '));
      out.push({ file, entry: `.${(m[2] ?? '').slice('credstash-ts'.length)}`, names: names.map((n) => n.split(/\s+as\s+/)[0] as string) });
    }
  }
  return out;
}

describe('what the docs show as library API is exported', () => {
  const imports = documentedImports();
  it('the docs import the package (at least README, config, dynamodb)', () => {
    expect(imports.map((i) => i.file)).toEqual(expect.arrayContaining(['README.md', 'docs/config.md', 'docs/dynamodb.md']));
  });
  it.each(imports.map((i) => [`${i.file}: ${i.entry}`, i] as const))('%s', async (_label, i) => {
    const entry = pkg.exports[i.entry];
    expect(entry, `package.json exports ${i.entry}`).toBeTypeOf('object');
    const src = /^\.\/dist\/types\/(.+)\.d\.ts$/.exec((entry as { types: string }).types)?.[1];
    const mod = (await import(`${root}src/${src}.ts`)) as Record<string, unknown>;
    for (const name of i.names) expect(mod[name], `${name} from credstash-ts${i.entry.slice(1)}`).toBeDefined();
  });
});
