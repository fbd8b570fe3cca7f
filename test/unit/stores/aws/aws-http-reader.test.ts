/**
 * The light AWS client's HTTP/1.1 response reader (ResponseParser in aws-json-client.ts): the status line,
 * 1xx interim answers, chunked and Content-Length bodies, a body read to the end of the connection, answers
 * split across reads, and every malformed answer as the SDK names it (SyntaxError, "Deserialization error").
 * Its string-method helpers (and the `aws` partition's region shape) answer exactly as the regular
 * expressions they replace.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hasWord, isAwsPartitionRegion, ResponseParser, statusOf, unbracket } from '../../../../src/stores/aws/aws-json-client.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

/** Feed `parts` in order; the answer once complete (then `end()` if the connection closed). */
function read(parts: string[], ended = false) {
  const p = new ResponseParser();
  for (const part of parts) {
    const a = p.push(b(part));
    if (a !== undefined) return { status: a.status, headers: a.headers, body: a.body.toString('latin1') };
  }
  if (!ended) return undefined;
  const a = p.end();
  return a === undefined ? undefined : { status: a.status, headers: a.headers, body: a.body.toString('latin1') };
}

function failure(parts: string[], ended = false): { name: string; message: string } {
  try {
    read(parts, ended);
  } catch (err) {
    return { name: (err as Error).name, message: (err as Error).message };
  }
  throw new Error('the answer was read');
}

describe('ResponseParser: answers it reads', () => {
  it('a Content-Length body, whole or split anywhere (status, headers in lower case, repeated ones joined)', () => {
    const raw = 'HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\nX-A: 1\r\nx-a: 2\r\nContent-Length: 5\r\n\r\nhello';
    expect(read([raw])).toEqual({ status: 200, headers: { 'content-type': 'application/x-amz-json-1.0', 'x-a': '1, 2', 'content-length': '5' }, body: 'hello' });
    for (let cut = 1; cut < raw.length; cut++) expect(read([raw.slice(0, cut), raw.slice(cut)])?.body).toBe('hello');
    expect(read(['HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel'])).toBeUndefined();
  });

  it('HTTP/1.0 too; the status is the three digits whatever follows', () => {
    expect(read(['HTTP/1.0 400 Bad Request\r\ncontent-length: 2\r\n\r\n{}'])?.status).toBe(400);
    expect(read(['HTTP/1.1 503\r\ncontent-length: 0\r\n\r\n'])?.status).toBe(503);
  });

  it('1xx interim answers are skipped', () => {
    expect(read(['HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\n', 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok'])).toMatchObject({ status: 200, body: 'ok' });
  });

  it('a chunked body (any case, among other codings), split anywhere, chunk extensions ignored', () => {
    const raw = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, CHUNKED\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\n\r\n';
    expect(read([raw])?.body).toBe('abcde');
    for (let cut = 1; cut < raw.length; cut++) expect(read([raw.slice(0, cut), raw.slice(cut)])?.body).toBe('abcde');
  });

  it('"chunked" only as a whole word: otherwise Content-Length, or the body to the end of the connection', () => {
    expect(read(['HTTP/1.1 200 OK\r\nTransfer-Encoding: xchunked\r\ncontent-length: 2\r\n\r\n3\r\nabc'])?.body).toBe('3\r');
    expect(read(['HTTP/1.1 200 OK\r\n\r\nall of it', ' and more'], true)?.body).toBe('all of it and more');
    expect(read(['HTTP/1.1 200 OK\r\n\r\nall of it'])).toBeUndefined();
  });
});

describe('ResponseParser: malformed answers are a SyntaxError "Deserialization error: ..."', () => {
  it.each([
    ['no status line', ['ICY 200 OK\r\n\r\n']],
    ['HTTP/2', ['HTTP/2 200\r\n\r\n']],
    ['HTTP/1.2', ['HTTP/1.2 200 OK\r\n\r\n']],
    ['a two-digit status', ['HTTP/1.1 20 OK\r\n\r\n']],
    ['a status with a letter', ['HTTP/1.1 2x0 OK\r\n\r\n']],
    ['no space after the version', ['HTTP/1.1200 OK\r\n\r\n']],
  ])('%s: not HTTP', (_what, parts) => {
    expect(failure(parts)).toEqual({ name: 'SyntaxError', message: 'Deserialization error: the answer is not HTTP' });
  });

  it.each(['5a', '-1', ' ', '+5', '0x5', '5.0'])('content-length %j', (cl) => {
    expect(failure([`HTTP/1.1 200 OK\r\ncontent-length: ${cl}\r\n\r\nhello`])).toEqual({ name: 'SyntaxError', message: 'Deserialization error: the answer has an invalid content-length' });
  });

  it('the connection ends before the head, inside a chunk, or before the content-length', () => {
    expect(failure(['HTTP/1.1 200 OK\r\ncontent-'], true).message).toBe('Deserialization error: the answer is not HTTP');
    expect(failure(['HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nab'], true).message).toBe('Deserialization error: the answer ended inside a chunk');
    expect(failure(['HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\nab'], true).message).toBe('Deserialization error: the answer ended before its content-length');
    expect(failure(['HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nab\r\n']).message).toBe('Deserialization error: the answer has an invalid chunk');
  });

  it('nothing at all is no answer', () => {
    expect(read([], true)).toBeUndefined();
  });
});

describe('the reader helpers: the same answers as the regular expressions', () => {
  const text = (alphabet: string[]) => fc.oneof(fc.string({ unit: fc.constantFrom(...alphabet), maxLength: 16 }), fc.string({ unit: 'binary', maxLength: 10 }));

  it('statusOf is /^HTTP\\/1\\.[01] (\\d{3})/', () => {
    const lines = fc.oneof(text(['H', 'T', 'P', '/', '1', '.', '0', '2', '9', ' ', 'a']), fc.tuple(fc.constantFrom('HTTP/1.1 ', 'HTTP/1.0 ', 'HTTP/1.2 ', 'HTTP/1.1'), text(['0', '5', '9', ' ', 'x', '\u0660'])).map(([a, c]) => a + c));
    const re = (l: string) => {
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(l);
      return m === null ? undefined : Number(m[1]);
    };
    fc.assert(fc.property(lines, (l) => void expect(statusOf(l)).toBe(re(l))), { numRuns: 3000 });
  });

  it('hasWord(t, "chunked") is /\\bchunked\\b/i on Latin-1 text', () => {
    const latin1 = fc.string({ unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)), maxLength: 12 });
    const values = fc.oneof(fc.tuple(text([' ', ',', 'x', '_', '0', '-', 'é']), fc.constantFrom('chunked', 'CHUNKED', 'Chunked', 'chunk', ''), text([' ', ',', 'x', '_', '9', ';', 'É'])).map((p) => p.join('')), latin1);
    fc.assert(fc.property(values, (v) => void expect(hasWord(v, 'chunked')).toBe(/\bchunked\b/i.test(v))), { numRuns: 3000 });
  });

  it("unbracket is hostname.replace(/^\\[|\\]$/g, '')", () => {
    fc.assert(fc.property(text(['[', ']', ':', '1', 'a', '.']), (h) => void expect(unbracket(h)).toBe(h.replace(/^\[|\]$/g, ''))), { numRuns: 3000 });
    expect([unbracket('[::1]'), unbracket('127.0.0.1'), unbracket('['), unbracket('[]')]).toEqual(['::1', '127.0.0.1', '', '']);
  });

  it('isAwsPartitionRegion is /^(us|eu|ap|sa|ca|me|af|il|mx)-\\w+-\\d+$/', () => {
    const regions = fc.oneof(
      text(['u', 's', 'e', 'a', '-', '1', '_', 'W', 'é']),
      fc.tuple(fc.constantFrom('us', 'eu', 'ap', 'mx', 'cn', 'us-gov', ''), text(['-', 'e', 'a', 's', 't', '_', '1', 'Z', ' ']), text(['-', '1', '9', 'x', '\u0661'])).map((p) => p.join('-')),
    );
    fc.assert(fc.property(regions, (r) => void expect(isAwsPartitionRegion(r)).toBe(/^(us|eu|ap|sa|ca|me|af|il|mx)-\w+-\d+$/.test(r))), { numRuns: 3000 });
    expect(['us-east-1', 'eu-central-2', 'us-gov-west-1', 'cn-north-1', 'us-east-', 'us--1'].map(isAwsPartitionRegion)).toEqual([true, true, false, false, false, false]);
  });
});
