import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { MultiFernet, fernetDecrypt, fernetEncrypt, generateFernetKey, parseFernetKey } from '../../../src/crypto/fernet.js';

// Interoperability with Python's `cryptography` Fernet, in both directions, through a real python3 process.
function python(script: string, input: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('python3', ['-c', script], { input, encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}
const available = python('import cryptography.fernet', '').status === 0;

describe.skipIf(!available)(`fernet interop with Python cryptography${available ? '' : ' (skipped: python3 cannot import cryptography)'}`, () => {
  const payloads = ['hello', '', 'héllo ✓ "quoted"\n', 'x'.repeat(1000)];

  it('Python decrypts tokens written here (single key and MultiFernet rotation)', () => {
    const key = generateFernetKey();
    const old = generateFernetKey();
    const tokens = payloads.map((p) => fernetEncrypt(parseFernetKey(key), Buffer.from(p)));
    const rotated = new MultiFernet([key, old]).rotate(new MultiFernet([old]).encrypt(Buffer.from('rotated')));
    const script = `
import sys, json
from cryptography.fernet import Fernet
d = json.load(sys.stdin)
f = Fernet(d["key"].encode())
print(json.dumps([f.decrypt(t.encode()).decode("utf-8") for t in d["tokens"]]))`;
    const r = python(script, JSON.stringify({ key, tokens: [...tokens, rotated] }));
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual([...payloads, 'rotated']);
  });

  it('decrypts tokens Python wrote, under a Python-generated key and as an old key in a key list', () => {
    const script = `
import sys, json
from cryptography.fernet import Fernet
d = json.load(sys.stdin)
key = Fernet.generate_key()
f = Fernet(key)
print(json.dumps({"key": key.decode(), "tokens": [f.encrypt(p.encode("utf-8")).decode() for p in d]}))`;
    const r = python(script, JSON.stringify(payloads));
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as { key: string; tokens: string[] };
    expect(out.tokens.map((t) => fernetDecrypt(parseFernetKey(out.key), t, { ttlSeconds: 600 }).toString('utf8'))).toEqual(payloads);
    const multi = new MultiFernet([generateFernetKey(), out.key]);
    expect(out.tokens.map((t) => multi.decrypt(t).toString('utf8'))).toEqual(payloads);
  });

  it('Python refuses a token of ours with one flipped bit', () => {
    const key = generateFernetKey();
    const raw = Buffer.from(fernetEncrypt(parseFernetKey(key), Buffer.from('v')), 'base64url');
    raw[20] = (raw[20] as number) ^ 1;
    const script = `
import sys, json
from cryptography.fernet import Fernet, InvalidToken
d = json.load(sys.stdin)
try:
    Fernet(d["key"].encode()).decrypt(d["token"].encode()); print("accepted")
except InvalidToken:
    print("refused")`;
    const r = python(script, JSON.stringify({ key, token: raw.toString('base64url').padEnd(Math.ceil(raw.length / 3) * 4, '=') }));
    expect(r.stdout.trim()).toBe('refused');
  });
});
