/**
 * Every shell block of README.md, infra/README.md and docs/*.md runs as written, as a new user would run
 * it: in order per file, in a fresh HOME and working directory per file, with `credstash` on PATH (a shim
 * for bin/credstash), under `bash -e -o pipefail`, so a block passes only if every line of it succeeds.
 *
 * A block says what it needs in an HTML comment on the line before its fence (invisible when rendered):
 *
 * - no comment: the local tier (no AWS at all: no credentials, no region, no endpoint);
 * - `<!-- doc-test: dynamodb -->`: against dynalite and the KMS fixture, a fresh pair per file, reached
 *   through AWS_ENDPOINT_URL_DYNAMODB / _KMS with fake credentials, the table `credential-store` already
 *   created (as `credstash setup` or infra/credstash.yaml leave it);
 * - `<!-- doc-test: skip (reason) -->`: not run (a real AWS account, the whole test suite, an install);
 *   the reason is required and shows up in the name of the skipped test;
 * - `; given: COMMAND` after the tier: a shell command run first, in the same folder, for what the text
 *   around the block presumes already exists (the program that `exec` starts, an item written by Python
 *   credstash). It is visible to anyone reading the Markdown source.
 *
 * A fenced block without a language whose first line runs a command, or a marker this test does not
 * understand, fails the test: a command block cannot escape it by being left untagged. Synopses and
 * output are ```text blocks.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FAKE_AWS_ENV, startAwsStack, type AwsStack } from '../../fixtures/aws-stack.js';
import { BIN, cleanEnv, ROOT, runCli } from '../../helpers/cli.js';

const SHELL_LANGS = new Set(['sh', 'bash', 'shell', 'console']);
/** A first line like this makes an untagged block a command block. */
const COMMAND_LINE = /^(\$ )?(credstash|\.\/bin\/credstash|npm|npx|node|aws|eval|printf)(\s|$)/;
const MARKER = /^<!--\s*doc-test:\s*(.*?)\s*-->$/;

type Tier = 'local' | 'dynamodb';

interface Block {
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  lang: string;
  body: string;
  tier: Tier | 'skip';
  skipReason?: string;
  given?: string;
}

/** The Markdown files whose blocks are checked, relative to the repository root. */
export function docFiles(): string[] {
  const docs = readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`);
  return ['README.md', 'infra/README.md', ...docs];
}

/**
 * The fenced blocks of one Markdown file that this test runs or skips, with their markers.
 * @throws Error naming file and line for an untagged command block or a marker it cannot read
 */
export function shellBlocks(file: string, text: string): Block[] {
  const lines = text.split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i] as string);
    if (open === null) continue;
    const lang = open[1] ?? '';
    let end = i + 1;
    while (end < lines.length && !/^```\s*$/.test(lines[end] as string)) end++;
    if (end >= lines.length) throw new Error(`${file}:${i + 1}: fenced block never closed`);
    const body = lines.slice(i + 1, end).join('\n');
    let before = i - 1;
    while (before >= 0 && (lines[before] as string).trim() === '') before--;
    const marker = before >= 0 ? MARKER.exec((lines[before] as string).trim()) : null;
    const at = `${file}:${i + 1}`;
    if (SHELL_LANGS.has(lang)) {
      blocks.push({ file, line: i + 1, lang, body, ...parseMarker(marker?.[1], at) });
    } else {
      if (marker !== null) throw new Error(`${at}: a doc-test marker on a \`\`\`${lang} block (only shell blocks run)`);
      const first = body.split('\n').find((l) => l.trim() !== '') ?? '';
      if (lang === '' && COMMAND_LINE.test(first.trim())) {
        throw new Error(`${at}: a command block without a language: make it \`\`\`sh (it then runs here) or \`\`\`text (a synopsis)`);
      }
    }
    i = end;
  }
  return blocks;
}

function parseMarker(marker: string | undefined, at: string): Pick<Block, 'tier' | 'skipReason' | 'given'> {
  if (marker === undefined) return { tier: 'local' };
  const [head = '', ...rest] = marker.split(/;\s*given:\s*/);
  const given = rest.length === 0 ? undefined : rest.join('; given: ');
  if (given !== undefined && given.trim() === '') throw new Error(`${at}: doc-test "given:" without a command`);
  const tier = head.trim();
  const skip = /^skip\s*\((.+)\)$/.exec(tier);
  if (skip !== null) return { tier: 'skip', skipReason: (skip[1] as string).trim() };
  if (tier.startsWith('skip')) throw new Error(`${at}: doc-test skip needs a reason: <!-- doc-test: skip (why) -->`);
  if (tier !== 'local' && tier !== 'dynamodb') throw new Error(`${at}: unknown doc-test tier "${tier}" (local, dynamodb, skip (reason))`);
  return { tier, ...(given === undefined ? {} : { given }) };
}

interface Workspace {
  root: string;
  home: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
}

/** A fresh HOME, working directory and PATH with `credstash` on it. */
function workspace(tierEnv: (home: string, path: string) => NodeJS.ProcessEnv): Workspace {
  const root = mkdtempSync(join(tmpdir(), 'credstash-doc-'));
  const home = join(root, 'home');
  const cwd = join(root, 'work');
  const shim = join(root, 'bin');
  for (const d of [home, cwd, shim]) mkdirSync(d, { recursive: true });
  writeFileSync(join(shim, 'credstash'), `#!/bin/sh\nexec '${process.execPath}' '${BIN}' "$@"\n`);
  chmodSync(join(shim, 'credstash'), 0o755);
  return { root, home, cwd, env: tierEnv(home, `${shim}:${process.env.PATH ?? '/usr/bin:/bin'}`) };
}

interface BashResult {
  code: number | null;
  output: string;
}

/** Run a block under `bash -e -o pipefail`; on failure, the output names the command that failed. */
function runBlock(script: string, ws: Workspace): Promise<BashResult> {
  const wrapped = `trap 'echo "doc-test: this command failed (exit $?): $BASH_COMMAND" >&2' ERR\n${script}\n`;
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['--norc', '--noprofile', '-e', '-o', 'pipefail', '-c', wrapped], { cwd: ws.cwd, env: ws.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 50_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

const scanned = docFiles().map((file) => {
  try {
    return { file, blocks: shellBlocks(file, readFileSync(join(ROOT, file), 'utf8')) };
  } catch (err) {
    return { file, blocks: [] as Block[], error: (err as Error).message };
  }
});
const files = scanned.filter((f) => f.error === undefined);

describe('the doc blocks are all accounted for', () => {
  it('every Markdown file is read without an untagged command block or an unknown marker', () => {
    expect(scanned.flatMap((f) => (f.error === undefined ? [] : [f.error]))).toEqual([]);
    expect(files.find((f) => f.file === 'README.md')?.blocks.length).toBeGreaterThanOrEqual(3);
    expect(files.flatMap((f) => f.blocks).filter((b) => b.tier !== 'skip').length).toBeGreaterThanOrEqual(8);
  });

  it('rejects an untagged command block, a skip without a reason and an unknown tier', () => {
    expect(() => shellBlocks('x.md', 'text\n\n```\ncredstash get x\n```\n')).toThrow(/x\.md:3: a command block without a language/);
    expect(() => shellBlocks('x.md', '<!-- doc-test: skip -->\n```sh\ncredstash get x\n```\n')).toThrow(/skip needs a reason/);
    expect(() => shellBlocks('x.md', '<!-- doc-test: dynamdb -->\n```sh\ncredstash get x\n```\n')).toThrow(/unknown doc-test tier "dynamdb"/);
    expect(() => shellBlocks('x.md', '<!-- doc-test: local -->\n```toml\na = 1\n```\n')).toThrow(/only shell blocks run/);
    expect(shellBlocks('x.md', '<!-- doc-test: dynamodb; given: touch f -->\n\n```sh\nls f\n```\n```text\ncredstash get [X]\n```\n')).toEqual([
      { file: 'x.md', line: 3, lang: 'sh', body: 'ls f', tier: 'dynamodb', given: 'touch f' },
    ]);
  });
});

for (const { file, blocks } of files) {
  if (blocks.length === 0) continue;
  describe(file, () => {
    const spaces = new Map<Tier, Workspace>();
    let stack: AwsStack | undefined;

    async function space(tier: Tier): Promise<Workspace> {
      const have = spaces.get(tier);
      if (have !== undefined) return have;
      let ws: Workspace;
      if (tier === 'local') ws = workspace((home, path) => cleanEnv(home, { PATH: path }));
      else {
        stack = await startAwsStack();
        const endpoints = { AWS_ENDPOINT_URL_DYNAMODB: stack.dynamodb.endpoint, AWS_ENDPOINT_URL_KMS: stack.kms.endpoint };
        ws = workspace((home, path) => cleanEnv(home, { ...FAKE_AWS_ENV, ...endpoints, PATH: path }));
        // the table exists, as `credstash setup` or infra/credstash.yaml leave it
        const setup = await runCli(['setup'], { cwd: ws.home, env: ws.env });
        expect(setup.code, setup.stderr).toBe(0);
      }
      spaces.set(tier, ws);
      return ws;
    }

    afterAll(async () => {
      await stack?.close();
      for (const ws of spaces.values()) rmSync(ws.root, { recursive: true, force: true });
    });
    for (const block of blocks) {
      const name = `${file}:${block.line} (${block.tier === 'skip' ? `skipped: ${block.skipReason ?? ''}` : block.tier})`;
      if (block.tier === 'skip') {
        it.skip(name, () => undefined);
        continue;
      }
      const tier = block.tier;
      it(name, async () => {
        const ws = await space(tier);
        if (block.given !== undefined) {
          const given = await runBlock(block.given, ws);
          expect(given.code, `given: ${block.given}\n${given.output}`).toBe(0);
        }
        const r = await runBlock(block.body, ws);
        expect(r.code, `${file}:${block.line}\n${block.body}\n--- output ---\n${r.output}`).toBe(0);
      });
    }
  });
}
