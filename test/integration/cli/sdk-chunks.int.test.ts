import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DIST } from '../../helpers/cli.js';

// The envelope tier imports the SDK through src/stores/dynamodb/aws-{dynamodb,kms}.ts, which name the
// commands it sends, so that esbuild drops the other commands of each client from the CLI bundle (a
// dynamic import() of the whole package kept all of them in the chunk `credstash get` loads).
interface Meta {
  outputs: Record<string, { entryPoint?: string; inputs: Record<string, unknown>; imports: Array<{ path: string; kind: string }> }>;
}

/** Input files of the chunk built from `entry` and of every chunk it imports statically. */
function inputsLoadedWith(meta: Meta, entry: string): string[] {
  const start = Object.keys(meta.outputs).find((o) => meta.outputs[o]?.entryPoint === entry);
  expect(start, `no chunk for ${entry}`).toBeDefined();
  const seen = new Set<string>();
  const todo = [start as string];
  while (todo.length > 0) {
    const o = todo.pop() as string;
    if (seen.has(o) || meta.outputs[o] === undefined) continue;
    seen.add(o);
    for (const i of meta.outputs[o].imports) if (i.kind === 'import-statement') todo.push(i.path);
  }
  return [...seen].flatMap((o) => Object.keys(meta.outputs[o]?.inputs ?? {}));
}

const commandsIn = (inputs: string[], pkg: string): string[] =>
  inputs.flatMap((i) => new RegExp(`${pkg}/dist-es/commands/(\\w+)Command\\.js$`).exec(i)?.[1] ?? []).sort();

describe('SDK code in the chunks the DynamoDB tier loads', () => {
  const meta = JSON.parse(readFileSync(join(DIST, 'cli-meta.json'), 'utf8')) as Meta;

  it('the DynamoDB chunk holds only the commands the tier sends', () => {
    const cmds = commandsIn(inputsLoadedWith(meta, 'src/stores/dynamodb/aws-dynamodb.ts'), 'client-dynamodb');
    // DescribeEndpoints: the client's endpoint discovery middleware imports it.
    expect(cmds).toEqual(['CreateTable', 'DeleteItem', 'DescribeEndpoints', 'DescribeTable', 'GetItem', 'PutItem', 'Query', 'Scan', 'TagResource']);
  });

  it('the KMS chunk holds only Decrypt and GenerateDataKey', () => {
    expect(commandsIn(inputsLoadedWith(meta, 'src/stores/dynamodb/aws-kms.ts'), 'client-kms')).toEqual(['Decrypt', 'GenerateDataKey']);
  });
});
