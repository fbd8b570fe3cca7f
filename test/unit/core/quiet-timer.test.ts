import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { quietTimer } from '../../../src/core/quiet-timer.js';

const SOURCE = fileURLToPath(new URL('../../../src/core/quiet-timer.ts', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(['v8', 'timers'] as const)('quietTimer (%s)', (via) => {
  it('fires once, no sooner than asked', async () => {
    const t0 = performance.now();
    const fired: number[] = [];
    quietTimer(30, () => fired.push(performance.now() - t0), via);
    await sleep(10);
    expect(fired).toEqual([]);
    await expect.poll(() => fired.length, { timeout: 2_000, interval: 5 }).toBe(1);
    expect(fired[0]).toBeGreaterThanOrEqual(29);
    await sleep(50);
    expect(fired.length).toBe(1);
  });

  it('does not fire once cancelled; cancelling again, or after it fired, changes nothing', async () => {
    let fired = 0;
    const cancel = quietTimer(20, () => fired++, via);
    cancel();
    cancel();
    await sleep(80);
    expect(fired).toBe(0);
    const late = quietTimer(5, () => fired++, via);
    await expect.poll(() => fired, { timeout: 2_000, interval: 5 }).toBe(1);
    late();
    await sleep(20);
    expect(fired).toBe(1);
  });

  it('a delay under 1 ms (0, negative, NaN) fires a moment later, never synchronously', async () => {
    const fired: string[] = [];
    for (const ms of [0, -5, Number.NaN]) quietTimer(ms, () => fired.push(String(ms)), via);
    expect(fired).toEqual([]);
    await expect.poll(() => fired.length, { timeout: 2_000, interval: 5 }).toBe(3);
  });

  it('an infinite delay never fires and can be cancelled', async () => {
    let fired = 0;
    const cancel = quietTimer(Infinity, () => fired++, via);
    await sleep(30);
    cancel();
    expect(fired).toBe(0);
  });
});

describe('quietTimer keeps nothing alive', () => {
  const dir = mkdtempSync(join(tmpdir(), 'credstash-quiet-timer-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  buildSync({ entryPoints: [SOURCE], outfile: join(dir, 'quiet-timer.mjs'), format: 'esm', platform: 'node', bundle: true, logLevel: 'silent' });

  // A script beside the bundle; `staticImport: false` imports it after the script's first lines have run.
  const run = (body: string, staticImport = true): { out: string; ms: number } => {
    const file = join(dir, `run-${Math.random().toString(36).slice(2)}.mjs`);
    const lines = staticImport ? ["import { quietTimer } from './quiet-timer.mjs';", body] : [body.split('\n').slice(0, 2).join('\n'), "const { quietTimer } = await import('./quiet-timer.mjs');", body.split('\n').slice(2).join('\n')];
    writeFileSync(file, `${lines.join('\n')}\n`);
    const t0 = performance.now();
    const out = execFileSync(process.execPath, [file], { encoding: 'utf8', timeout: 20_000 });
    return { out, ms: performance.now() - t0 };
  };

  it.each(['v8', 'timers'])('%s: a process with nothing else to wait for exits before a 10 s timer fires', (via) => {
    const { out, ms } = run(`quietTimer(10_000, () => console.log('fired'), '${via}');`);
    expect(out).toBe('');
    expect(ms).toBeLessThan(8_000);
  });

  it.each(['v8', 'timers'])('%s: while a socket holds the process, the timer fires (and the socket can be closed from it)', (via) => {
    const { out } = run(
      [
        "const server = (await import('node:net')).createServer().listen(0, '127.0.0.1');",
        `quietTimer(50, () => { console.log('fired'); server.close(); }, '${via}');`,
      ].join('\n'),
    );
    expect(out).toBe('fired\n');
  });

  it("the v8 timer is none of Node's: it fires with setTimeout, setImmediate and clearTimeout gone", () => {
    const { out } = run(
      [
        "const server = (await import('node:net')).createServer().listen(0, '127.0.0.1');",
        "for (const name of ['setTimeout', 'setImmediate', 'clearTimeout']) globalThis[name] = () => { throw new Error(`${name} called`); };",
        "const cancelled = quietTimer(10, () => console.log('cancelled one fired'), 'v8');",
        'cancelled();',
        "quietTimer(40, () => { console.log('fired'); server.close(); }, 'v8');",
      ].join('\n'),
      false,
    );
    expect(out).toBe('fired\n');
  });
});
