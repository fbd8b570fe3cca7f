import { describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../../src/core/errors.js';
import { bufferedIO, NeedsFullCli, needsFullCli } from '../../../src/cli/fast-path.js';

describe('fast path: handing a command line to the full build', () => {
  it('a NeedsFullCli is recognised itself and anywhere in a cause chain', () => {
    expect(needsFullCli(new NeedsFullCli('yargs'))).toBe(true);
    const wrapped = new StoreUnavailableError('store "x" failed', { store: 'x', cause: new Error('load', { cause: new NeedsFullCli('./sql/index.js') }) });
    expect(needsFullCli(wrapped)).toBe(true);
  });

  it('any other error, or none, is not', () => {
    expect(needsFullCli(new Error('x', { cause: new Error('y') }))).toBe(false);
    expect(needsFullCli(undefined)).toBe(false);
    expect(needsFullCli('needsFullCli')).toBe(false);
    expect(needsFullCli({ needsFullCli: 'yes' })).toBe(false);
    const loop: { cause?: unknown } = {};
    loop.cause = loop;
    expect(needsFullCli(loop)).toBe(false);
  });

  it('held output reaches the real streams only at flush, in the order written, once', () => {
    const got: string[] = [];
    const out = bufferedIO({ write: (c) => got.push(`out:${Buffer.from(c).toString()}`) }, { write: (c) => got.push(`err:${c}`), isTTY: true });
    out.stderr.write('warning\n');
    out.stdout.write(new Uint8Array([118]));
    out.stdout.write('\n');
    expect(got).toEqual([]);
    expect(out.stderr.isTTY).toBe(true);
    out.flush();
    expect(got).toEqual(['err:warning\n', 'out:v', 'out:\n']);
    out.flush();
    expect(got).toHaveLength(3);
  });

  it('held stderr reports no terminal when the real one is not one', () => {
    expect(bufferedIO({ write: () => true }, { write: () => true }).stderr.isTTY).toBeUndefined();
  });
});
