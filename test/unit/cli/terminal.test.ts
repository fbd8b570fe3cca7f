import { describe, expect, it } from 'vitest';
import { debugTrace, reportError } from '../../../src/cli/errors.js';
import { displayText } from '../../../src/cli/output/terminal.js';
import { CredentialNotFoundError, StoreUnavailableError } from '../../../src/core/errors.js';
import { CANARY, expectNoLeak } from '../../helpers/no-leak.js';

describe('displayText', () => {
  it('escapes C0 (newline and tab too), DEL, C1 and bidi controls, and nothing else', () => {
    expect(displayText('a\u001b]0;t\u0007b')).toBe('a\\x1b]0;t\\x07b');
    expect(displayText('l1\nl2\r\t')).toBe('l1\\x0al2\\x0d\\x09');
    expect(displayText('\u007f\u0080\u009b\u009f')).toBe('\\x7f\\x80\\x9b\\x9f');
    expect(displayText('\u202a\u202e\u2066\u2069\u200e\u200f\u061c\u2028\u2029')).toBe('\\u202a\\u202e\\u2066\\u2069\\u200e\\u200f\\u061c\\u2028\\u2029');
    const kept = 'plain ascii !"#$%&\'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~ é ü 😀 中文 \u00a0';
    expect(displayText(kept)).toBe(kept);
  });

  it('leaves no character a terminal acts on, for every code point below U+3000', () => {
    let all = '';
    for (let i = 0; i < 0x3000; i++) if (i < 0xd800 || i > 0xdfff) all += String.fromCharCode(i);
    expect(displayText(all)).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/);
  });
});

describe('reportError', () => {
  const capture = (): { text: () => string; write: (s: string) => void } => {
    let t = '';
    return { text: () => t, write: (s: string) => void (t += s) };
  };

  it('escapes control characters in a message that quotes a name', () => {
    const sink = capture();
    expect(reportError(new CredentialNotFoundError({ credentialId: 'x\u001b[2J\u009b\u202e', store: 's' }), sink, {})).toBe(1);
    expect(sink.text()).not.toMatch(/[\u001b\u009b\u202e]/);
    expect(sink.text()).toContain('x\\x1b[2J\\x9b\\u202e');
    expect(sink.text().split('\n')).toHaveLength(2);
  });

  it('CREDSTASH_DEBUG=1 prints the whole cause chain with frames, and no message that credstash did not write', () => {
    const root = Object.assign(new Error(`connect ECONNREFUSED ${CANARY}`), { code: 'ECONNREFUSED' });
    const middle = new TypeError(`Unexpected token in JSON at position 3: "${CANARY}"`, { cause: root });
    const top = new StoreUnavailableError('cannot reach the store', { store: 's', cause: middle });
    const sink = capture();
    expect(reportError(top, sink, { CREDSTASH_DEBUG: '1' })).toBe(1);
    const out = sink.text();
    expect(out).toMatch(/^credstash: cannot reach the store\nStoreUnavailableError: cannot reach the store\n(\s+at .+\n)+caused by: TypeError \(message withheld: it may quote input\)\n(\s+at .+\n)+caused by: Error \[ECONNREFUSED\] \(message withheld: it may quote input\)\n(\s+at .+\n)+$/);
    expectNoLeak(out, CANARY);
  });

  it('walks the errors of an AggregateError (e.g. every failed connection attempt)', () => {
    const agg = new AggregateError([Object.assign(new Error(CANARY), { code: 'ECONNREFUSED' }), new RangeError(CANARY)], CANARY);
    const top = new StoreUnavailableError('cannot reach the store', { store: 's', cause: agg });
    const out = debugTrace(top);
    expect(out).toContain('caused by: AggregateError (message withheld: it may quote input)\n');
    expect(out).toContain('caused by (1 of 2): Error [ECONNREFUSED] (message withheld: it may quote input)\n');
    expect(out).toContain('caused by (2 of 2): RangeError (message withheld: it may quote input)\n');
    expectNoLeak(out, CANARY);
  });

  it('stops at a cycle in the cause chain', () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    (a as Error & { cause?: unknown }).cause = b;
    expect(debugTrace(b).match(/caused by/g)).toHaveLength(1);
  });

  it('an unexpected error keeps its message out even with CREDSTASH_DEBUG=1', () => {
    const sink = capture();
    reportError(new TypeError(`boom ${CANARY}`), sink, { CREDSTASH_DEBUG: '1' });
    expect(sink.text()).toMatch(/^credstash: unexpected error \(TypeError\)\nTypeError \(message withheld: it may quote input\)\n\s+at /);
    expectNoLeak(sink.text(), CANARY);
  });
});
