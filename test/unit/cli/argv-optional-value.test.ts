import { describe, expect, it } from 'vitest';
import { canonicalArgs, optionTable, parseSection, recordOptions } from '../../../src/cli/argv.js';
import { putCommand } from '../../../src/cli/commands/put.js';
import { UsageError } from '../../../src/cli/errors.js';

// An option whose value may be left out (argparse's nargs='?'), as `put --generate [POLICY]` is: it takes
// the next token unless that token is an option, and stands alone at the end or before another option.
const table = optionTable(recordOptions(putCommand.builder as never));
const parse = (args: string[]): string[] => canonicalArgs(parseSection(args, table, { offset: 1, where: 'put' }).tokens);

describe('an option with an optional value (put --generate [POLICY])', () => {
  it('is recorded as such from the yargs builder; other value options still need their value', () => {
    expect(table.get('--generate')).toMatchObject({ takesValue: true, optionalValue: true });
    expect(table.get('--comment')?.optionalValue).toBeUndefined();
    expect(() => parse(['NAME', '-c'])).toThrow(new UsageError('put: -c/--comment expects a value (3rd argument)'));
  });

  it('takes the next token when it is not an option', () => {
    expect(parse(['NAME', '--generate', 'postgres', 'env=prod'])).toEqual(['NAME', 'env=prod', '--generate', 'postgres']);
    expect(parse(['NAME', '--generate=alnum:40'])).toEqual(['NAME', '--generate', 'alnum:40']);
    expect(parse(['NAME', '--gen', 'hex'])).toEqual(['NAME', '--generate', 'hex']);
  });

  it('stands alone at the end, before another option, or before --', () => {
    expect(parse(['NAME', '--generate'])).toEqual(['NAME', '--generate']);
    expect(parse(['NAME', '--generate', '-a'])).toEqual(['NAME', '--generate', '--autoversion']);
    expect(parse(['NAME', 'env=prod', '--generate', '--print'])).toEqual(['NAME', 'env=prod', '--generate', '--print']);
    expect(parse(['NAME', '--generate', '--', 'env=prod'])).toEqual(['NAME', 'env=prod', '--generate']);
  });
});
