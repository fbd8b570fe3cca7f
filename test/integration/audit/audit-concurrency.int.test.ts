import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
let dir: string;
let bundle: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'credstash-audit-mp-'));
  bundle = join(dir, 'audit.mjs');
  // Bundle the real sink for the child processes (they run plain node, not vitest).
  await build({ entryPoints: [join(root, 'src/audit/index.ts')], bundle: true, platform: 'node', format: 'esm', outfile: bundle, logLevel: 'error' });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(script: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code) => resolve(code ?? -1));
  });
}

describe('audit log written by concurrent processes', () => {
  it('keeps every line whole: 6 processes x 300 records, short and 3 KB ids interleaved', async () => {
    const log = join(dir, 'logs', 'audit.jsonl');
    const worker = join(dir, 'worker.mjs');
    writeFileSync(
      worker,
      `import { fileAuditSink } from ${JSON.stringify(bundle)};
const [log, who, n] = process.argv.slice(2);
const sink = fileAuditSink(log);
await Promise.all(Array.from({ length: Number(n) }, (_, i) =>
  sink({ time: new Date().toISOString(), action: 'get', id: who + '-' + i + '-' + (i % 3 === 0 ? 'x'.repeat(3000) : 'y'), store: 's', outcome: 'ok', pid: process.pid })));
await sink.close();
`,
    );
    const workers = ['a', 'b', 'c', 'd', 'e', 'f'];
    const codes = await Promise.all(workers.map((w) => run(worker, [log, w, '300'])));
    expect(codes).toEqual(workers.map(() => 0));
    const text = readFileSync(log, 'utf8');
    const lines = text.split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(workers.length * 300);
    const seen = new Set<string>();
    for (const l of lines) {
      const rec = JSON.parse(l) as { id: string };
      seen.add(rec.id.split('-').slice(0, 2).join('-'));
    }
    for (const w of workers) for (let i = 0; i < 300; i++) expect(seen.has(`${w}-${i}`)).toBe(true);
  });
});
