import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { StoredCredential } from '../../../src/core/types.js';
import { csvDump } from '../../../src/cli/output/csv.js';
import { dotenvDump, shellQuote } from '../../../src/cli/output/dotenv.js';
import { formatCredentials } from '../../../src/cli/output/index.js';
import { pythonJson } from '../../../src/cli/output/json.js';
import { yamlDump } from '../../../src/cli/output/yaml.js';

// Expected bytes below were produced by CPython 3 (json, csv with lineterminator='\n') and PyYAML 6.0.3
// (`yaml.dump(d, default_flow_style=False)`) on this machine, and pasted here as literals.
const SAMPLE = { b: 'x y', a: '', c: 'true', d: "it's", e: '123', f: '-abc', g: 'a: b', i: 'é', j: '#x', k: 'x #y', l: 'null', m: '😀', n: 'trailing ', o: '@at', p: 'http://x/y?z=1&q', q: '1.5', r: 'yes', h: 'line1\nline2' };

describe('pythonJson', () => {
  it('matches json.dumps(sort_keys=True, indent=4) byte for byte, ensure_ascii included', () => {
    expect(pythonJson(SAMPLE)).toBe(
      '{\n    "a": "",\n    "b": "x y",\n    "c": "true",\n    "d": "it\'s",\n    "e": "123",\n    "f": "-abc",\n    "g": "a: b",\n    "h": "line1\\nline2",\n    "i": "\\u00e9",\n    "j": "#x",\n    "k": "x #y",\n    "l": "null",\n    "m": "\\ud83d\\ude00",\n    "n": "trailing ",\n    "o": "@at",\n    "p": "http://x/y?z=1&q",\n    "q": "1.5",\n    "r": "yes"\n}',
    );
  });

  it('prints {} for an empty result, as Python credstash getall does', () => {
    expect(pythonJson({})).toBe('{}');
  });

  it('nests structured values with the same indentation rules', () => {
    expect(pythonJson({ db: { user: 'u', port: 5432, tls: true, hosts: ['a', 'b'], none: null, empty: [] } })).toBe(
      '{\n    "db": {\n        "empty": [],\n        "hosts": [\n            "a",\n            "b"\n        ],\n        "none": null,\n        "port": 5432,\n        "tls": true,\n        "user": "u"\n    }\n}',
    );
  });

  it('sorts keys by code point like Python, not by UTF-16 unit', () => {
    expect(pythonJson({ '\u{1F600}': '1', '\uFFFF': '2' })).toBe('{\n    "\\uffff": "2",\n    "\\ud83d\\ude00": "1"\n}');
  });
});

describe('csvDump', () => {
  it('quotes like Python csv QUOTE_MINIMAL and ends rows with \\n', () => {
    expect(csvDump({ a: '', c: 'say "hi"', d: 'x,y', h: 'l1\nl2', x: ' sp' })).toBe('a,\nc,"say ""hi"""\nd,"x,y"\nh,"l1\nl2"\nx, sp\n');
  });
});

describe('dotenvDump', () => {
  it('writes sorted NAME=value lines with single-quoted values', () => {
    expect(dotenvDump(new Map([['PLAIN', 'v'], ['APP_DB_PASS', 'x y']]))).toBe("APP_DB_PASS='x y'\nPLAIN='v'\n");
  });

  it('refuses a name that is not a shell identifier (names come from credentialsToEnv)', () => {
    for (const bad of ['A.B', 'x;touch y', '1A', '', 'A B', "A'"]) expect(() => dotenvDump(new Map([[bad, 'v']]))).toThrow('not a shell identifier');
  });

  it('builds names as exec and env do: dots and dashes become _, and two ids giving one name are an error', () => {
    const c = (id: string): StoredCredential => ({ id, version: '1', value: 'v' });
    expect(formatCredentials([c('app.db-pass'), c('x;touch y')], 'dotenv')).toBe("APP_DB_PASS='v'\nX_TOUCH_Y='v'\n");
    expect(() => formatCredentials([c('a.b'), c('a-b')], 'dotenv')).toThrow('credentials "a.b" and "a-b" both map to the environment variable A_B');
    expect(() => formatCredentials([c('ld_preload')], 'dotenv')).toThrow('would set LD_PRELOAD');
    expect(formatCredentials([c('ld_preload')], 'dotenv', { allowEnv: ['LD_PRELOAD'] })).toBe("LD_PRELOAD='v'\n");
  });

  it("escapes an embedded ' as '\\'' so that a shell reads the value back exactly", () => {
    expect(shellQuote("it's")).toBe("'it'\\''s'");
    const values = ["it's", "''", 'a\nb', '$(touch /tmp/x) `x` $HOME \\', ''];
    for (const v of values) {
      const out = execFileSync('sh', ['-c', `eval "$1"; printf '%s' "$V"`, 'sh', `V=${shellQuote(v)}`], { encoding: 'utf8' });
      expect(out).toBe(v);
    }
  });
});

describe('yamlDump', () => {
  it('matches PyYAML for plain words, URLs, reserved words, numbers and quotes', () => {
    const { h: _h, i: _i, m: _m, ...simple } = SAMPLE;
    expect(yamlDump(simple)).toBe(
      "a: ''\nb: x y\nc: 'true'\nd: it's\ne: '123'\nf: -abc\ng: 'a: b'\nj: '#x'\nk: 'x #y'\nl: 'null'\nn: 'trailing '\no: '@at'\np: http://x/y?z=1&q\nq: '1.5'\nr: 'yes'\n",
    );
  });

  it('prints {} for an empty map', () => {
    expect(yamlDump({})).toBe('{}\n');
  });

  it('round-trips any flat string map through a YAML parser', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ minLength: 1 }), fc.string({ unit: 'binary' })), (d) => {
        expect(parseYaml(yamlDump(d))).toEqual(Object.keys(d).length === 0 ? {} : d);
      }),
      { numRuns: 300 },
    );
  });

  it('round-trips nested structured values', () => {
    const v = { db: { user: 'u', port: 5432, hosts: ['a', { x: '1' }], e: {}, n: null } };
    expect(parseYaml(yamlDump(v))).toEqual(v);
  });
  it('escapes DEL and C1 characters, which YAML does not allow raw (PyYAML refuses them) and a terminal acts on', () => {
    const v = { 'k\u009b31m': 'a\u007fb\u0085c\u009f', plain: 'x', z: 'bidi \u202e\u2066 \u2028' };
    const out = yamlDump(v);
    expect(out).not.toMatch(/[\u007f-\u009f\u202e\u2066\u2028]/);
    expect(out).toBe('"k\\u009b31m": "a\\u007fb\\u0085c\\u009f"\nplain: x\nz: "bidi \\u202e\\u2066 \\u2028"\n');
    expect(parseYaml(out)).toEqual(v);
  });
});

describe('formatCredentials', () => {
  const creds: StoredCredential[] = [
    { id: 'txt', version: '1', value: 'v' },
    { id: 'bin', version: '1', value: new Uint8Array([0, 255, 1]) },
    { id: 'obj', version: '2', value: { user: 'u', password: 'p' } },
  ];

  it('prints binary as base64 and structured values as nested JSON', () => {
    expect(formatCredentials(creds, 'json')).toBe('{\n    "bin": "AP8B",\n    "obj": {\n        "password": "p",\n        "user": "u"\n    },\n    "txt": "v"\n}');
  });

  it('prints structured values as compact JSON in csv and dotenv', () => {
    expect(formatCredentials(creds, 'dotenv')).toBe('BIN=\'AP8B\'\nOBJ=\'{"user":"u","password":"p"}\'\nTXT=\'v\'\n');
    expect(formatCredentials(creds, 'csv')).toBe('bin,AP8B\nobj,"{""user"":""u"",""password"":""p""}"\ntxt,v\n');
  });
});
