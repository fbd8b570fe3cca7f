/**
 * Values are verbatim: bytes in = bytes out. Input that is not valid UTF-8 (from `@file` or `-`) is stored
 * as bytes, and `get` writes exactly those bytes; valid UTF-8 is text, byte for byte (a leading BOM, CR LF,
 * NUL all kept). Formats that hold only text refuse bytes with a clear error instead of a silent U+FFFD:
 * putall and import files (JSON/YAML/CSV/dotenv are text), Python credstash's legacy DynamoDB items, SSM.
 * Through the real CLI on every writable tier (SSM in-process, on the client mock).
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeValue, encodeValue } from '../../src/core/value.js';
import { runCliInProcess } from '../helpers/cli-in-process.js';
import { CANARY } from '../helpers/no-leak.js';
import { FakeSsm } from '../unit/stores/ssm/fake-ssm.js';
import { cliBuilt, expectCleanFailure, expectNoStackTrace, runCliBytes, type CliResult } from '../helpers/cli.js';
import { cliTiers, type CliProject, type CliTier } from '../helpers/tiers.js';

interface RawResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/** The CLI as a child process with bytes on stdin and stdout kept as bytes. */
async function runRaw(p: CliProject, args: string[], input: Buffer = Buffer.alloc(0)): Promise<RawResult> {
  const r = await runCliBytes([...p.flags, ...args], { cwd: p.dir, env: p.env, input });
  return { code: r.code, stdout: r.stdoutBytes, stderr: r.stderr };
}

const asText = (r: RawResult): CliResult => ({ code: r.code, stdout: r.stdout.toString('latin1'), stderr: r.stderr });

/** Not UTF-8: a lone continuation byte, an overlong lead, 0xff, NUL, a truncated sequence at the end. */
const INVALID = Buffer.from([0x80, 0x41, 0x00, 0xc0, 0xaf, 0xff, 0xfe, 0x0a, 0x0d, 0x0a, 0xe2, 0x82]);
const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
/** Valid UTF-8 that a lenient reader changes: a leading BOM (TextDecoder strips it), CR LF, NUL, a 4-byte character. */
const BOM_TEXT = Buffer.from(`\ufeff${CANARY} é 😀\r\n\u0000end\n`, 'utf8');

describe.skipIf(!cliBuilt())(`values are verbatim through the CLI${cliBuilt() ? '' : ' (skipped: the CLI build is missing; the test setup builds it)'}`, () => {
  for (const tier of cliTiers()) {
    it.skipIf(tier.skip !== undefined)(`${tier.name}: put @file and put - store bytes and text byte for byte; get writes them back exactly${tier.skip ?? ''}`, async () => {
      const p = await tier.project();
      for (const [label, bytes, binary] of [
        ['invalid', INVALID, true],
        ['all256', ALL_BYTES, true],
        ['bom', BOM_TEXT, false],
      ] as const) {
        const file = join(p.dir, `${label}.in`);
        writeFileSync(file, bytes, { mode: 0o600 });
        const viaFile = await runRaw(p, ['put', `${label}.file`, `@${file}`]);
        expect(viaFile.code, viaFile.stderr).toBe(0);
        const viaStdin = await runRaw(p, ['put', `${label}.stdin`, '-'], bytes);
        expect(viaStdin.code, viaStdin.stderr).toBe(0);
        for (const id of [`${label}.file`, `${label}.stdin`]) {
          // bytes come back with nothing added; text keeps `get`'s newline unless -n (Python credstash)
          const got = await runRaw(p, ['get', id]);
          expect(got.code, got.stderr).toBe(0);
          expect(got.stdout.equals(binary ? bytes : Buffer.concat([bytes, Buffer.from('\n')])), `${id}: get`).toBe(true);
          const raw = await runRaw(p, ['get', '-n', id]);
          expect(raw.stdout.equals(bytes), `${id}: get -n`).toBe(true);
          const stored = (await p.open().getCredential(id, { required: true })).value;
          if (binary) expect(Buffer.from(stored as Uint8Array).equals(bytes)).toBe(true);
          else expect(stored).toBe(bytes.toString('utf8'));
        }
      }
    }, 180_000);

    it.skipIf(tier.skip !== undefined)(`${tier.name}: putall and import keep text byte for byte (BOM, CR LF, escapes) and refuse a file that is not UTF-8, storing nothing${tier.skip ?? ''}`, async () => {
      const p = await tier.project();
      const values: Record<string, string> = { 'pa.bom': `\ufeff${CANARY}`, 'pa.crlf': 'a\r\nb\r\n', 'pa.nul': 'x\u0000y', 'pa.astral': '😀\u2028' };
      const json = join(p.dir, 'all.json');
      writeFileSync(json, JSON.stringify(values), { mode: 0o600 });
      const putall = await runRaw(p, ['putall', `@${json}`]);
      expect(putall.code, putall.stderr).toBe(0);
      const imported: Record<string, string> = { 'im.bom': `\ufeff${CANARY}-i`, 'im.crlf': 'c\r\nd' };
      const imp = join(p.dir, 'import.json');
      writeFileSync(imp, JSON.stringify(imported), { mode: 0o600 });
      const im = await runRaw(p, ['import', imp]);
      expect(im.code, im.stderr).toBe(0);
      const yaml = join(p.dir, 'import.yaml');
      writeFileSync(yaml, `im.yaml: "\\ufeff${CANARY}-y\\r\\n"\n`, { mode: 0o600 });
      expect((await runRaw(p, ['import', yaml])).code).toBe(0);
      const expected: Array<[string, string]> = [...Object.entries(values), ...Object.entries(imported), ['im.yaml', `\ufeff${CANARY}-y\r\n`]];
      for (const [id, v] of expected) {
        const got = await runRaw(p, ['get', '-n', id]);
        expect(got.stdout.equals(Buffer.from(v, 'utf8')), id).toBe(true);
      }

      // not UTF-8: refused as a whole, one clear line, nothing stored, nothing echoed
      const bad = Buffer.concat([Buffer.from(`{"pa.bad": "${CANARY}`), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
      const badJson = join(p.dir, 'bad.json');
      writeFileSync(badJson, bad, { mode: 0o600 });
      for (const args of [['putall', `@${badJson}`], ['putall', '-'], ['import', badJson], ['import', '-', '-f', 'json']]) {
        const r = await runRaw(p, args, bad);
        expectCleanFailure(asText(r), /not valid UTF-8/);
        expect(r.stderr).not.toContain(CANARY);
      }
      const json2 = await runRaw(p, ['put', 'pa.json', '--json', '-'], bad);
      expectCleanFailure(asText(json2), /not valid UTF-8/);
      expect(await p.open().credentialExists('pa.bad')).toBe(false);
      expect(await p.open().credentialExists('pa.json')).toBe(false);
    }, 180_000);
  }

  it('dynamodb: the legacy (Python credstash) item format refuses bytes with a clear error and stores nothing', async () => {
    const tier = cliTiers().find((t) => t.name.startsWith('dynamodb')) as CliTier;
    const p = await tier.project();
    const file = join(p.dir, 'bin.in');
    writeFileSync(file, INVALID, { mode: 0o600 });
    for (const [args, input] of [
      [['put', 'leg.file', `@${file}`, '--legacy'], undefined],
      [['put', 'leg.stdin', '-', '--legacy'], INVALID],
    ] as const) {
      const r = await runRaw(p, [...args], input);
      expectCleanFailure(asText(r), /legacy credstash format holds only text.*binary/);
    }
    expect(await p.open().credentialExists('leg.file')).toBe(false);
    expect(await p.open().credentialExists('leg.stdin')).toBe(false);
    // text still goes in the legacy format, BOM and all
    const ok = await runRaw(p, ['put', 'leg.text', '-', '--legacy'], BOM_TEXT);
    expect(ok.code, ok.stderr).toBe(0);
    expect((await runRaw(p, ['get', '-n', 'leg.text'])).stdout.equals(BOM_TEXT)).toBe(true);
  }, 120_000);
});

describe('SSM refuses bytes (it holds text only) through the CLI', () => {
  const ssm = mockClient(SSMClient);
  const dir = mkdtempSync(join(tmpdir(), 'credstash-verbatim-ssm-'));
  chmodSync(dir, 0o700);
  afterAll(() => {
    ssm.restore();
    rmSync(dir, { recursive: true, force: true });
  });

  it('put @file / put - of bytes that are not UTF-8 is UnsupportedOperationError, with no PutParameter', async () => {
    ssm.reset();
    new FakeSsm().install(ssm);
    writeFileSync(join(dir, 'credstash.toml'), '[credential_store]\ntype = "ssm"\n[credential_store.config]\nregion = "us-east-1"\n', { mode: 0o600 });
    writeFileSync(join(dir, 'bin.in'), INVALID, { mode: 0o600 });
    const env = { HOME: dir, AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y', AWS_REGION: 'us-east-1' };
    const viaFile = await runCliInProcess(['put', 'ssm.bin', `@${join(dir, 'bin.in')}`], { cwd: dir, env });
    expect(viaFile.code, viaFile.stderr).toBe(1);
    expect(viaFile.stderr).toMatch(/^credstash: .*does not support binary values\n$/);
    expectNoStackTrace(viaFile.stderr);
    expect(ssm.commandCalls(PutParameterCommand)).toHaveLength(0);
    // text with a BOM is text, and is stored
    const text = await runCliInProcess(['put', 'ssm.text', '-'], { cwd: dir, env, stdin: `\ufeff${CANARY}` });
    expect(text.code, text.stderr).toBe(0);
    const put = ssm.commandCalls(PutParameterCommand);
    expect(put).toHaveLength(1);
    expect(put[0]?.args[0].input.Value).toBe(`\ufeff${CANARY}`);
  });
});

describe('value codec: exact bytes', () => {
  it('text keeps a leading BOM through encode/decode; bytes claimed as text that are not UTF-8 come back as bytes', () => {
    const { kind, bytes } = encodeValue('\ufeffabc');
    expect(decodeValue(kind, bytes, 'x')).toBe('\ufeffabc');
    const back = decodeValue('text', INVALID, 'x');
    expect(back).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(back as Uint8Array).equals(INVALID)).toBe(true);
  });

  it('a string with a lone surrogate (no UTF-8 form) is refused, never stored as U+FFFD', () => {
    for (const s of ['a\ud800b', '\udfff', `${CANARY}\ud83d`]) {
      expect(() => encodeValue(s)).toThrow(/lone UTF-16 surrogate/);
      try {
        encodeValue(s);
      } catch (err) {
        expect((err as Error).message).not.toContain(CANARY);
      }
    }
    expect(encodeValue('😀').bytes.equals(Buffer.from('f09f9880', 'hex'))).toBe(true);
  });
});
