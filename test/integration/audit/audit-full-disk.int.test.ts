/**
 * The audit log on a full disk, through the real CLI: the file-size limit (RLIMIT_FSIZE, `ulimit -f`) makes the
 * log's writes fail at a chosen size, as ENOSPC would. A put whose "started" line cannot be written is refused
 * and stores nothing; a put whose outcome line alone fails has stored its version, exits 0 and says so on
 * stderr (so that a script does not retry it and add a version); a retry on the full log stores nothing.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, cleanEnv, runCli, type CliResult } from '../../helpers/cli.js';
import { CANARY } from '../../helpers/no-leak.js';

const dir = mkdtempSync(join(tmpdir(), 'credstash-audit-full-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const LIMIT_BLOCKS = 64; // bash's ulimit -f counts 1024-byte blocks
const LIMIT = LIMIT_BLOCKS * 1024;

/** bin/credstash with every file it writes limited to LIMIT bytes. */
function runLimited(args: string[], env: NodeJS.ProcessEnv, input = ''): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', 'ulimit -f "$0" && exec "$@"', String(LIMIT_BLOCKS), process.execPath, BIN, ...args], { cwd: dir, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

/** Fill `path` with whole JSON lines to exactly `size` bytes. */
function fill(path: string, size: number): void {
  const line = `{"filler":"${'x'.repeat(100)}"}\n`;
  let text = line.repeat(Math.floor(size / line.length) - 1);
  const rest = size - text.length;
  text += `{"filler":"${'y'.repeat(rest - 14)}"}\n`;
  expect(text.length).toBe(size);
  writeFileSync(path, text, { mode: 0o600 });
}

describe('audit log on a full disk (CLI, local keystore)', () => {
  it('refuses a put whose "started" line cannot be written; reports a put whose outcome line alone failed as stored (exit 0); a retry stores nothing', async () => {
    const env = cleanEnv(dir);
    expect((await runCli(['init'], { cwd: dir, env })).code).toBe(0);
    const log = join(dir, 'audit.jsonl');
    const withLog = { ...env, CREDSTASH_AUDIT_LOG: log };
    // The length of a "started" line for an id of this length, in this environment.
    const measure = join(dir, 'measure.jsonl');
    expect((await runCli(['put', '-a', 'fd.aaa', '-'], { cwd: dir, env: { ...env, CREDSTASH_AUDIT_LOG: measure }, input: 'x' })).code).toBe(0);
    const started = readFileSync(measure, 'utf8').split('\n')[0]!;
    expect(JSON.parse(started)).toMatchObject({ action: 'put', outcome: 'started' });
    const startedBytes = Buffer.byteLength(started) + 1;

    // 1. Not even the "started" line fits: refused, nothing stored.
    fill(log, LIMIT - startedBytes + 40);
    const refused = await runLimited(['put', '-a', 'fd.bbb', '-'], withLog, CANARY);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(new RegExp(`^credstash: audit log "${log.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}" could not record put of credential "fd.bbb" \\((ENOSPC|EFBIG)\\); the put was refused and nothing was written\\n$`));
    expect((await runCli(['list'], { cwd: dir, env })).stdout).not.toContain('fd.bbb');

    // 2. The "started" line fits, the outcome line does not: the version is stored, exit 0, a warning says so.
    fill(log, LIMIT - startedBytes - 40);
    const stored = await runLimited(['put', '-a', 'fd.bbb', '-'], withLog, CANARY);
    expect(stored.stderr).toMatch(/^credstash: warning: audit log ".*" could not record the outcome of put of credential "fd\.bbb" \((ENOSPC|EFBIG)\); version 1 WAS stored; its "started" record is in the log\. Do not retry it\n$/);
    expect(stored.code).toBe(0);
    expect(`${stored.stdout}${stored.stderr}`).not.toContain(CANARY);
    const lines = readFileSync(log, 'utf8').split('\n');
    expect(lines.some((l) => l.includes('"id":"fd.bbb"') && l.includes('"outcome":"started"'))).toBe(true);
    expect(statSync(log).size).toBeLessThanOrEqual(LIMIT);
    expect((await runCli(['get', 'fd.bbb'], { cwd: dir, env })).stdout).toBe(`${CANARY}\n`);

    // 3. A retry on the full log is refused: still one version.
    const retry = await runLimited(['put', '-a', 'fd.bbb', '-'], withLog, `${CANARY}-again`);
    expect(retry.code).toBe(1);
    expect(retry.stderr).toMatch(/the put was refused and nothing was written\n$/);
    const list = await runCli(['list'], { cwd: dir, env });
    expect(list.stdout.split('\n').filter((l) => l.includes('fd.bbb'))).toHaveLength(1);
  });
});
