/**
 * Repeatable options (argparse's `action='append'`): `diff -v 1 -v 3`, `rollback --label a --label b`. Each
 * occurrence takes one value and every occurrence reaches the command; the tokens after it stay positional.
 * Options that are not repeatable keep argparse's "the last one given".
 */
import { describe, expect, it } from 'vitest';
import { prepareArgs } from '../../../src/cli/main.js';

describe('repeatable options', () => {
  it('keep every occurrence, one value each, leaving context pairs positional', async () => {
    expect((await prepareArgs(['diff', 'app.db', '-v', '1', '-v', '3', 'env=prod'])).args).toEqual(['diff', 'app.db', 'env=prod', '--version', '1', '--version', '3']);
    expect((await prepareArgs(['rollback', 'app.db', '--to', '2', '--label', 'current', 'env=prod', '--label', 'stable'])).args).toEqual([
      'rollback', 'app.db', 'env=prod', '--to', '2', '--label', 'current', '--label', 'stable',
    ]);
    expect((await prepareArgs(['diff', 'app.db', '-v1', '--version=3'])).args).toEqual(['diff', 'app.db', '--version', '1', '--version', '3']);
  });

  it('a non-repeatable option given twice is still the last one given', async () => {
    expect((await prepareArgs(['get', 'app.db', '-v', '1', '-v', '2'])).args).toEqual(['get', 'app.db', '--version', '2']);
  });
});
