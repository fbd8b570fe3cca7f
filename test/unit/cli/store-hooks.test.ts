/** The hooks a store gets from the CLI: the MFA prompt is offered only on a terminal, told without creating stdin. */
import { describe, expect, it } from 'vitest';
import { storeHooks, type CliIO } from '../../../src/cli/context.js';

function io(stdinIsTTY: boolean | undefined, stdinTTY = false): CliIO {
  return {
    stdout: { write: () => true },
    stderr: { write: () => true },
    get stdin(): CliIO['stdin'] {
      if (stdinIsTTY !== undefined) throw new Error('stdin was created');
      return { isTTY: stdinTTY } as unknown as CliIO['stdin'];
    },
    ...(stdinIsTTY === undefined ? {} : { stdinIsTTY }),
    env: {},
    cwd: '/',
  };
}

describe('storeHooks', () => {
  it('offers an MFA code prompt when stdin is a terminal, read from stdinIsTTY without touching stdin', () => {
    expect(typeof storeHooks(io(true)).mfaCodeProvider).toBe('function');
    expect(storeHooks(io(false)).mfaCodeProvider).toBeUndefined();
  });

  it('falls back to stdin.isTTY for an injected IO', () => {
    expect(typeof storeHooks(io(undefined, true)).mfaCodeProvider).toBe('function');
    expect(storeHooks(io(undefined, false)).mfaCodeProvider).toBeUndefined();
  });
});
