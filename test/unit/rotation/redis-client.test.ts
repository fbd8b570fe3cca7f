/** The RESP2 parser and encoder of the redis rotator's client (src/rotation/redis-client.ts). */
import { describe, expect, it } from 'vitest';
import { encodeCommand, parseResp, RespError } from '../../../src/rotation/redis-client.js';
import { CANARY, expectNoLeak } from '../../helpers/no-leak.js';

describe('RESP2', () => {
  it('encodes a command as an array of bulk strings, byte lengths for UTF-8', () => {
    expect(encodeCommand(['AUTH', 'u', 'pä ss']).toString()).toBe('*3\r\n$4\r\nAUTH\r\n$1\r\nu\r\n$6\r\npä ss\r\n');
  });

  it('parses simple strings, integers, bulk strings (also with CRLF inside), nulls and nested arrays', () => {
    expect(parseResp(Buffer.from('+OK\r\n'))).toEqual({ value: 'OK', end: 5 });
    expect(parseResp(Buffer.from(':42\r\n'))?.value).toBe(42);
    expect(parseResp(Buffer.from('$4\r\na\r\nb\r\n'))?.value).toBe('a\r\nb');
    expect(parseResp(Buffer.from('$-1\r\n'))?.value).toBeNull();
    expect(parseResp(Buffer.from('*2\r\n$9\r\npasswords\r\n*1\r\n$2\r\nab\r\n'))?.value).toEqual(['passwords', ['ab']]);
  });

  it('asks for more bytes on every truncated reply', () => {
    const full = Buffer.from('*2\r\n$9\r\npasswords\r\n*1\r\n$2\r\nab\r\n');
    for (let i = 0; i < full.length; i++) expect(parseResp(full.subarray(0, i))).toBeUndefined();
  });

  it('keeps only the first word of an error reply (Redis may quote the command, a password in it)', () => {
    const v = parseResp(Buffer.from(`-ERR Error in ACL SETUSER modifier '>${CANARY}': Syntax error\r\n`))?.value;
    expect(v).toBeInstanceOf(RespError);
    expect((v as RespError).code).toBe('ERR');
    expectNoLeak(v, CANARY);
    expect((parseResp(Buffer.from('-WRONGPASS invalid username-password pair\r\n'))?.value as RespError).code).toBe('WRONGPASS');
  });

  it('refuses a reply that is not RESP', () => {
    expect(() => parseResp(Buffer.from('HTTP/1.1 400\r\n'))).toThrow(RespError);
  });
});
