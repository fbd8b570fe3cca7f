#!/usr/bin/env node
// Integration figures (cache, chain, references; BENCHMARKS.md). Uses the built library (dist/lib; `npm run build` first).
//   - cached get p50/p95 (withCache over a store, warm hit; target p50 <= 20 µs)
//   - chain of three stores vs a direct get that the first store answers (target: <= 5% added), with the
//     local keystore (a real tier: Fernet decrypt) as the first store; and, as the worst case, an in-memory
//     first store whose own get costs almost nothing, so that the chain's fixed cost shows
// Prints one JSON object and writes bench/results/integrations.json.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { importTs } from '../test/fixtures/load-ts.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
process.chdir(root);
const lib = (p) => pathToFileURL(join(root, 'dist/lib', p)).href;
for (const p of ['index.js', 'stores/local/index.js', 'stores/env/index.js']) {
  if (!existsSync(join(root, 'dist/lib', p))) {
    console.error(`bench/integrations.mjs: dist/lib/${p} is missing; run \`npm run build\` first`);
    process.exit(1);
  }
}
const { withCache, ChainStore } = await import(lib('index.js'));
const { LocalStore } = await import(lib('stores/local/index.js'));
const { EnvStore } = await import(lib('stores/env/index.js'));
const { MemoryStore } = await importTs('test/fixtures/memory-store.ts');
const { generateFernetKey } = await importTs('src/crypto/fernet.ts');

const N = Number(process.env.BENCH_RUNS ?? 20000);
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const us = (ns) => Math.round((Number(ns) / 1000) * 100) / 100;

async function sample(fn, n) {
  for (let i = 0; i < Math.min(2000, n); i++) await fn(); // warm-up (JIT, caches)
  const out = new Array(n);
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await fn();
    out[i] = Number(process.hrtime.bigint() - t);
  }
  return out;
}

/** Interleave rounds of a and b so that machine noise hits both alike; return p50s in ns. */
async function compare(a, b, n, rounds = 5) {
  const sa = [];
  const sb = [];
  for (let r = 0; r < rounds; r++) {
    sa.push(...(await sample(a, Math.floor(n / rounds))));
    sb.push(...(await sample(b, Math.floor(n / rounds))));
  }
  return { a: pct(sa, 50), b: pct(sb, 50), a95: pct(sa, 95), b95: pct(sb, 95) };
}

// Cached get.
const mem = new MemoryStore('bench');
await mem.storeCredential('app.db', { user: 'u', password: 'p' }, { context: { env: 'prod' } });
const cached = withCache(mem, { maxAge: 3600 });
await cached.getCredential('app.db', { context: { env: 'prod' } });
const cachedSamples = await sample(() => cached.getCredential('app.db', { context: { env: 'prod' } }), N);
const cachedNoCtx = withCache(mem, { maxAge: 3600 });
await mem.storeCredential('plain', 'v');
const cachedPlain = await sample(() => cachedNoCtx.getCredential('plain'), N);

// Chain of three, first store answers: local keystore (real tier).
const dir = mkdtempSync(join(tmpdir(), 'credstash-bench-int-'));
const key = generateFernetKey();
const local = new LocalStore({ path: join(dir, 'keystore.json'), fernetKeys: [key] });
await local.setup?.();
await local.storeCredential('app.db', 'secret-value');
const chainLocal = new ChainStore([local, new MemoryStore('second'), new EnvStore({ env: {} })]);
const localCmp = await compare(() => local.getCredential('app.db'), () => chainLocal.getCredential('app.db'), Math.min(N, 10000));

// Worst case: an in-memory first store.
const first = new MemoryStore('first');
await first.storeCredential('app.db', 'v');
const chainMem = new ChainStore([first, new MemoryStore('second'), new EnvStore({ env: {} })]);
const memCmp = await compare(() => first.getCredential('app.db'), () => chainMem.getCredential('app.db'), N);
await local.close();
rmSync(dir, { recursive: true, force: true });

const overhead = (c) => Math.round(((Number(c.b) - Number(c.a)) / Number(c.a)) * 1000) / 10;
const figures = {
  runs: N,
  cachedGetP50Us: us(pct(cachedSamples, 50)),
  cachedGetP95Us: us(pct(cachedSamples, 95)),
  cachedGetNoContextP50Us: us(pct(cachedPlain, 50)),
  cachedGetTargetUs: 20,
  chainLocalFirst: { directP50Us: us(localCmp.a), chainOf3P50Us: us(localCmp.b), overheadPercent: overhead(localCmp), targetPercent: 5 },
  chainMemoryFirstWorstCase: { directP50Us: us(memCmp.a), chainOf3P50Us: us(memCmp.b), overheadPercent: overhead(memCmp), addedUs: us(memCmp.b - memCmp.a) },
  node: process.version,
};
figures.meetsTargets = figures.cachedGetP50Us <= 20 && figures.chainLocalFirst.overheadPercent <= 5;
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/integrations.json', `${JSON.stringify(figures, null, 2)}\n`);
console.log(JSON.stringify(figures, null, 2));
