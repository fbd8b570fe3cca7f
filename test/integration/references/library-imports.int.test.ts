/**
 * Importing the library must not load SQL drivers, SSM or yargs (each is imported lazily by the tier or the CLI that needs it). A fresh node
 * process imports dist/lib (this run's build, made by the global setup) with a module.register() resolve hook that logs every
 * module URL it resolves, so the assertion is about what was really loaded.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { DIST } from '../../helpers/cli.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'credstash-imports-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Run `code` (ESM) in a fresh process and return every module URL it resolved. */
function loadedBy(code: string): string[] {
  const log = join(dir, `log-${Math.random().toString(36).slice(2)}.txt`);
  const hooks = join(dir, 'hooks.mjs');
  writeFileSync(hooks, `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  appendFileSync(${JSON.stringify(log)}, r.url + '\\n');
  return r;
}
`);
  const register = join(dir, 'register.mjs');
  writeFileSync(register, `import { register } from 'node:module'; register(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
  writeFileSync(log, '');
  const r = spawnSync(process.execPath, ['--import', pathToFileURL(register).href, '--input-type=module', '-e', code], { cwd: root, encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } });
  expect(r.stderr.replace(/\(node:\d+\) Warning: NodeVersionSupportWarning[\s\S]*$/, '')).toBe('');
  expect(r.status).toBe(0);
  return readFileSync(log, 'utf8').split('\n').filter((l) => l !== '');
}

const lib = (p: string): string => JSON.stringify(pathToFileURL(join(DIST, 'lib', p)).href);
const heavy = (urls: string[], re: RegExp): string[] => urls.filter((u) => re.test(u));

describe('library imports', () => {
  it('importing dist/lib/index.js loads no SQL driver, no AWS SDK client, no yargs', () => {
    const urls = loadedBy(`const m = await import(${lib('index.js')}); if (typeof m.withCache !== 'function' || typeof m.resolveCredentialReferences !== 'function') process.exit(3);`);
    expect(urls.some((u) => u.endsWith('/dist/lib/index.js'))).toBe(true);
    expect(heavy(urls, /node_modules\/(better-sqlite3|pg|mysql2|kysely|yargs)\//)).toEqual([]);
    expect(heavy(urls, /node_modules\/@aws-sdk\//)).toEqual([]);
  });

  it('opening an env or chain store through the registry still loads no SDK or driver', () => {
    const urls = loadedBy(`const m = await import(${lib('index.js')});
const s = await m.openStore({ type: 'chain', config: { stores: [{ type: 'env' }] } }, { env: { CREDSTASH_CREDENTIAL_X: 'v' } });
const c = m.withCache(s); const got = await c.getCredential('x'); if (got?.value !== 'v') process.exit(3);`);
    expect(heavy(urls, /node_modules\/(better-sqlite3|pg|mysql2|kysely|yargs|@aws-sdk)\//)).toEqual([]);
  });

  it('the ssm subpath does load @aws-sdk/client-ssm (the check above can fail)', () => {
    const urls = loadedBy(`await import(${lib('stores/ssm/index.js')});`);
    expect(heavy(urls, /node_modules\/@aws-sdk\/client-ssm\//).length).toBeGreaterThan(0);
  });
});
