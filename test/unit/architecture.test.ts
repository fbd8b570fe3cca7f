/**
 * The layer rules of docs/ARCHITECTURE.md, checked on the import lines of src/ (static and dynamic):
 * each layer imports only from the layers below it, tiers never import each other, and nothing that a
 * Lambda or `credstash get` on the local tier loads eagerly pulls in an AWS SDK, a SQL driver or yargs.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const src = join(root, 'src');

interface Edge {
  from: string; // path relative to src/, e.g. stores/local/local-store.ts
  to: string; // relative path under src/ (for project files) or a package specifier
  dynamic: boolean;
  /** A file of this project (a relative import), as opposed to node:* or a package. */
  local: boolean;
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s(?:[^;'"]|'[^']*'(?!;)|"[^"]*"(?!;))*?from\s+['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

const edges: Edge[] = walk(src).flatMap((file) => {
  const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const from = relative(src, file);
  return [...text.matchAll(IMPORT)].map((m) => {
    const spec = (m[1] ?? m[2]) as string;
    const to = spec.startsWith('.') ? relative(src, normalize(join(dirname(file), spec))).replace(/\.js$/, '.ts') : spec;
    return { from, to, dynamic: m[2] !== undefined, local: spec.startsWith('.') };
  });
});

const under = (p: string, folder: string): boolean => p === `${folder}.ts` || p.startsWith(`${folder}/`);
const projectEdges = edges.filter((e) => e.local);
const TIERS = ['dynamodb', 'local', 'sql', 'ssm', 'vault', 'env', 'chain', 'cache'];
const tierOf = (p: string): string | undefined => TIERS.find((t) => under(p, `stores/${t}`));

function violations(pred: (e: Edge) => boolean): string[] {
  return projectEdges.filter(pred).map((e) => `${e.from} -> ${e.to}${e.dynamic ? ' (dynamic)' : ''}`);
}

describe('architecture: layer rules of docs/ARCHITECTURE.md', () => {
  it('finds the import lines it checks (the scanner itself works)', () => {
    expect(edges.some((e) => e.from === 'index.ts' && e.to === 'core/errors.ts')).toBe(true);
    expect(edges.some((e) => e.from === 'stores/registry.ts' && e.dynamic && e.to === 'stores/local/index.ts')).toBe(true);
  });

  it('core imports only node:* and core', () => {
    expect(violations((e) => under(e.from, 'core') && !under(e.to, 'core'))).toEqual([]);
    expect(edges.filter((e) => under(e.from, 'core') && !e.to.startsWith('node:') && !under(e.to, 'core')).map((e) => e.to)).toEqual([]);
  });

  it('crypto imports only node:*, core and crypto (pure functions, no I/O, no AWS)', () => {
    expect(edges.filter((e) => under(e.from, 'crypto') && !(e.to === 'node:crypto' || (e.local && (under(e.to, 'core') || under(e.to, 'crypto')))))).toEqual([]);
  });

  it('references, ops, audit and the chain/cache wrappers depend on core, never on a tier, config or the CLI', () => {
    const low = ['references', 'ops', 'audit', 'stores/cache', 'stores/chain'];
    expect(
      violations((e) => low.some((l) => under(e.from, l)) && !low.some((l) => under(e.to, l) && under(e.from, l)) && !under(e.to, 'core') && e.to !== 'stores/registry.ts'),
    ).toEqual([]);
  });

  it('a tier never imports another tier, the CLI, config, references or the public index', () => {
    expect(
      violations((e) => {
        const t = tierOf(e.from);
        if (t === undefined) return false;
        const other = tierOf(e.to);
        return (other !== undefined && other !== t) || ['cli', 'config', 'references', 'ops', 'audit', 'index'].some((l) => under(e.to, l));
      }),
    ).toEqual([]);
  });

  it('rotation (rotators and engine) imports only node:*, core, references, itself and the SQL driver loader: no store tier, registry, config (but the Lambda handler, lazily) or CLI', () => {
    const allowed = (e: Edge): boolean =>
      e.to.startsWith('node:') || (e.local && (['core', 'rotation', 'references'].some((l) => under(e.to, l)) || e.to === 'stores/sql/sql-packages.ts'));
    // the scheduled-rotation Lambda handler opens the configured store as the CLI does: config, loaded lazily
    const handlerOpensConfig = (e: Edge): boolean => e.from === 'rotation/lambda.ts' && e.to === 'config/index.ts' && e.dynamic;
    expect(edges.filter((e) => under(e.from, 'rotation') && !allowed(e) && !handlerOpensConfig(e)).map((e) => `${e.from} -> ${e.to}${e.dynamic ? ' (dynamic)' : ''}`)).toEqual([]);
    // the loader it may use imports only core: the rotators pull in no store through it
    expect(edges.filter((e) => e.from === 'stores/sql/sql-packages.ts' && e.local && !under(e.to, 'core'))).toEqual([]);
    expect(edges.some((e) => e.from === 'rotation/postgres.ts' && e.to === 'stores/sql/sql-packages.ts')).toBe(true);
    // no store, reference, op or audit layer depends on the rotators
    expect(violations((e) => under(e.to, 'rotation') && ['core', 'crypto', 'stores', 'references', 'ops', 'audit'].some((l) => under(e.from, l)))).toEqual([]);
  });

  it('nothing but the CLI imports the CLI', () => {
    expect(violations((e) => under(e.to, 'cli') && !under(e.from, 'cli'))).toEqual([]);
  });

  it('CLI commands never import a tier folder or crypto, and no CLI file imports an AWS SDK', () => {
    expect(violations((e) => under(e.from, 'cli/commands') && (tierOf(e.to) !== undefined || under(e.to, 'crypto')))).toEqual([]);
    expect(edges.filter((e) => under(e.from, 'cli') && e.to.startsWith('@aws-sdk/'))).toEqual([]);
  });

  it('opening a configured store (stores/open.ts) knows no config file and no CLI: core, the registry, references and audit only', () => {
    expect(edges.some((e) => e.from === 'stores/open.ts' && e.to === 'stores/registry.ts')).toBe(true);
    expect(
      edges.filter((e) => e.from === 'stores/open.ts' && !e.to.startsWith('node:') && !(e.local && ['core', 'references', 'audit'].some((l) => under(e.to, l) || e.to === 'stores/registry.ts'))),
    ).toEqual([]);
    // config reads credstash.toml and opens nothing: types only from the registry and the opener (its index
    // re-exports the opener for library users).
    const opening = walk(join(src, 'config'))
      .filter((f) => !f.endsWith('index.ts'))
      .filter((f) => /^\s*import\s+(?!type\s)[^;]*from\s+['"]\.\.\/stores\/(open|registry)\.js['"]|import\(\s*['"]\.\.\/stores\/(open|registry)\.js/m.test(readFileSync(f, 'utf8')))
      .map((f) => relative(src, f));
    expect(opening).toEqual([]);
  });

  it('no tier imports the registry (the factory types are in core/factory.ts): no registry <-> tier import circle', () => {
    expect(violations((e) => tierOf(e.from) !== undefined && e.to === 'stores/registry.ts')).toEqual([]);
    expect(edges.some((e) => tierOf(e.from) === 'env' && e.to === 'core/factory.ts')).toBe(true);
  });

  it('the registry imports every tier lazily (dynamic import only)', () => {
    const eager = edges.filter((e) => e.from === 'stores/registry.ts' && tierOf(e.to) !== undefined && !e.dynamic);
    expect(eager).toEqual([]);
  });

  it('stores/aws (what the AWS tiers share) imports only core, loads no SDK, and only the dynamodb and ssm tiers import it', () => {
    expect(edges.filter((e) => under(e.from, 'stores/aws') && !e.to.startsWith('node:') && !(e.local && (under(e.to, 'core') || under(e.to, 'stores/aws'))))).toEqual([]);
    expect(violations((e) => under(e.to, 'stores/aws') && !under(e.from, 'stores/aws') && !['dynamodb', 'ssm'].includes(tierOf(e.from) ?? ''))).toEqual([]);
    expect(edges.some((e) => tierOf(e.from) === 'ssm' && under(e.to, 'stores/aws'))).toBe(true);
  });

  it('AWS SDK packages are imported only inside the dynamodb and ssm tiers', () => {
    expect(edges.filter((e) => e.to.startsWith('@aws-sdk/') && !['dynamodb', 'ssm'].includes(tierOf(e.from) ?? ''))).toEqual([]);
  });

  it('SQL drivers are imported only by the sql tier, and only dynamically', () => {
    const drivers = ['better-sqlite3', 'pg', 'mysql2', 'mysql2/promise'];
    expect(edges.filter((e) => drivers.includes(e.to) && (tierOf(e.from) !== 'sql' || !e.dynamic))).toEqual([]);
  });

  it('the public index eagerly imports no tier that loads an SDK or driver (dynamodb, ssm, sql, vault, local)', () => {
    expect(edges.filter((e) => e.from === 'index.ts' && ['dynamodb', 'ssm', 'sql', 'vault', 'local'].includes(tierOf(e.to) ?? '')).map((e) => e.to)).toEqual([]);
    expect(edges.filter((e) => e.from === 'index.ts' && (e.to === 'yargs' || e.to.startsWith('@aws-sdk/')))).toEqual([]);
  });
});

/**
 * The store kernel: BaseStore owns every policy (validation, context, sizes, definitions, required,
 * autoversion, sorting), so a tier implements only the protected `_` hooks. Checked two ways: on the
 * prototypes at runtime (every class under src/stores that extends BaseStore, found by scanning the source,
 * against every method BaseStore's prototype defines without a leading `_`), and on the source (`override`
 * of a name without `_`), so that an override written either way fails here.
 */
describe('architecture: no tier overrides a public method of BaseStore', () => {
  const storeFiles = walk(join(src, 'stores'));
  /** `export class X extends BaseStore` (or extends another tier class) in src/stores, by file. */
  const tierClasses = storeFiles.flatMap((file) =>
    [...readFileSync(file, 'utf8').matchAll(/export\s+(?:abstract\s+)?class\s+(\w+)\s+extends\s+(\w+)/g)]
      .filter((m) => m[2] === 'BaseStore' || /Store$/.test(m[2] as string))
      .map((m) => ({ file, name: m[1] as string })),
  );

  /** BaseStore members that belong to the base: everything on its prototype whose name has no leading `_`. */
  async function baseOwned(): Promise<{ BaseStore: abstract new () => object; names: string[] }> {
    const core = await import('../../src/core/store.js');
    const names = Object.getOwnPropertyNames(core.BaseStore.prototype).filter((n) => n !== 'constructor' && !n.startsWith('_'));
    return { BaseStore: core.BaseStore as unknown as abstract new () => object, names };
  }

  /** Names of `names` that a class (or any class between it and `base`) defines itself. */
  function overrides(cls: abstract new (...a: never[]) => object, base: abstract new () => object, names: readonly string[]): string[] {
    const out: string[] = [];
    for (let proto = cls.prototype as object | null; proto !== null && proto !== base.prototype; proto = Object.getPrototypeOf(proto) as object | null) {
      for (const n of Object.getOwnPropertyNames(proto)) if (names.includes(n)) out.push(`${(proto as { constructor: { name: string } }).constructor.name}.${n}`);
    }
    return out;
  }

  it('knows the public methods of BaseStore from its source and its prototype', async () => {
    const { names } = await baseOwned();
    const text = readFileSync(join(src, 'core', 'store.ts'), 'utf8');
    const body = text.slice(text.indexOf('export abstract class BaseStore'));
    const declared = [...body.matchAll(/^ {2}(?:async\s+)?([a-zA-Z]\w*)\s*[(<]/gm)].map((m) => m[1] as string);
    for (const n of ['getCredential', 'storeCredential', 'deleteCredential', 'listCredentials', 'credentialExists', 'getAllCredentials', 'close']) {
      expect(declared).toContain(n);
      expect(names).toContain(n);
    }
    // The policy helpers are the base's too (a tier calls them, never replaces them).
    for (const n of ['resolveContext', 'resolveRead', 'wrap', 'toStoreError', 'collectGetAll']) expect(names).toContain(n);
  });

  it('finds every tier class (dynamodb, local, sql, ssm, vault, env)', () => {
    expect(tierClasses.map((c) => c.name).sort()).toEqual(expect.arrayContaining(['DynamoDBStore', 'EnvStore', 'LocalStore', 'SSMStore', 'SqlStore', 'VaultStore']));
  });

  it('no tier class defines a BaseStore method without a leading _ (runtime prototypes)', async () => {
    const { BaseStore, names } = await baseOwned();
    const found: string[] = [];
    for (const { file, name } of tierClasses) {
      const mod = (await import(file)) as Record<string, unknown>;
      const cls = mod[name] as (abstract new (...a: never[]) => object) | undefined;
      expect(typeof cls, `${name} is exported by ${relative(src, file)}`).toBe('function');
      expect((cls as { prototype: object }).prototype instanceof BaseStore, `${name} extends BaseStore`).toBe(true);
      found.push(...overrides(cls as abstract new (...a: never[]) => object, BaseStore, names));
    }
    const { MemoryStore } = await import('../fixtures/memory-store.js');
    found.push(...overrides(MemoryStore, BaseStore, names));
    expect(found).toEqual([]);
  });

  it('no file under src/stores writes `override` on a name without a leading _ (source)', () => {
    const files = [...new Set(tierClasses.map((c) => c.file))];
    const bad = files.flatMap((file) =>
      [...readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '').matchAll(/\boverride\s+(?:readonly\s+)?(?:async\s+)?(?:(?:get|set)\s+(?=\w))?(\w+)\s*[(<:;=]/g)]
        .filter((m) => !(m[1] as string).startsWith('_'))
        .map((m) => `${relative(src, file)}: ${m[1] as string}`),
    );
    expect(files.length).toBeGreaterThanOrEqual(6);
    expect(bad).toEqual([]);
  });

  it('the check fails for an override, also one in an intermediate class', async () => {
    const { BaseStore, names } = await baseOwned();
    const { MemoryStore } = await import('../fixtures/memory-store.js');
    class Overriding extends MemoryStore {
      override async listCredentials(): Promise<never[]> {
        return [];
      }
    }
    class Below extends Overriding {}
    class Closing extends MemoryStore {
      override async close(): Promise<void> {}
    }
    expect(overrides(Overriding, BaseStore, names)).toEqual(['Overriding.listCredentials']);
    expect(overrides(Below, BaseStore, names)).toEqual(['Overriding.listCredentials']);
    expect(overrides(Closing, BaseStore, names)).toEqual(['Closing.close']);
  });
});
