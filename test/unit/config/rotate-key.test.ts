import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../src/config/schema.js';
import { addFirstFernetKey } from '../../../src/config/rotate-key.js';
import { generateFernetKey } from '../../../src/crypto/fernet.js';
import { expectNoLeak } from '../../helpers/no-leak.js';

const dir = mkdtempSync(join(tmpdir(), 'credstash-rotcfg-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const [A, B, NEW] = [generateFernetKey(), generateFernetKey(), generateFernetKey()];

function write(text: string, mode = 0o644): string {
  const file = join(dir, `c${++n}.toml`);
  writeFileSync(file, text, { mode });
  return file;
}

describe('addFirstFernetKey', () => {
  const layouts: Array<[string, string]> = [
    ['a one-line list', `# top comment\n[fernet]\nkeys = ["${A}"] # trailing comment\n\n[credential_store]\ntype = "local"\n`],
    ['a multi-line list', `[fernet]\n# keys below\nkeys = [\n  "${A}",\n  "${B}",\n]\n`],
    ['a dotted top-level key', `fernet.keys = ["${A}", "${B}"]\n`],
  ];
  for (const [what, text] of layouts) {
    it(`puts the new key first in ${what}, keeps the others and every other line, and leaves the file 0600`, () => {
      const file = write(text);
      const old = parseConfigText(text, file).fernet?.keys as string[];
      expect(addFirstFernetKey(file, NEW)).toEqual([NEW, ...old]);
      const after = readFileSync(file, 'utf8');
      expect(parseConfigText(after, file).fernet?.keys).toEqual([NEW, ...old]);
      expect(after.split('\n').filter((l) => !l.includes(NEW))).toEqual(text.split('\n').filter((l) => !/keys\s*=/.test(l)));
      expect(statSync(file).mode & 0o777).toBe(0o600);
    });
  }

  it('refuses a file without keys and an inline fernet table, leaving the file as it was and naming no key', () => {
    for (const text of ['[credential_store]\ntype = "local"\n', `fernet = { keys = ["${A}"] }\n`]) {
      const file = write(text);
      let err: unknown;
      try {
        addFirstFernetKey(file, NEW);
      } catch (e) {
        err = e;
      }
      expect(err).toMatchObject({ code: 'ERR_CONFIG', path: 'fernet.keys' });
      expectNoLeak(err, NEW, A);
      expect(readFileSync(file, 'utf8')).toBe(text);
    }
  });
});
