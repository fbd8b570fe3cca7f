/** Real processes moving one label at once (test/fixtures/label-mover.mjs over the test run's build). */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startLineChild, until } from './child-lines.js';

const MOVER = fileURLToPath(new URL('../fixtures/label-mover.mjs', import.meta.url));

export interface MoveOutcome {
  /** `done` with the version moved to, or `conflict`. */
  outcome: 'done' | 'conflict';
  version: string;
  /** Where the label was before this move (done only; `-` when it did not exist). */
  previous?: string;
}

/**
 * The moves that were done, in the order they happened, if they form one chain of compare-and-sets from
 * `start` (each move's previous is the version the one before it set); undefined when they do not (two moves
 * from the same state both succeeded: a lost update). Needs distinct target versions, none equal to `start`.
 */
export function moveChain(results: MoveOutcome[], start: string): string[] | undefined {
  const from = new Map<string, string>();
  for (const r of results) {
    if (r.outcome !== 'done') continue;
    if (from.has(r.previous ?? '-')) return undefined;
    from.set(r.previous ?? '-', r.version);
  }
  const chain: string[] = [];
  for (let at = from.get(start); at !== undefined; at = from.get(at)) chain.push(at);
  return chain.length === from.size ? chain : undefined;
}

/**
 * Start one process per version in `versions`, each moving `label` of `id` to its version; release them
 * together (a go file) and wait. Every process must end with done or conflict (anything else fails).
 */
export async function raceLabelMovers(
  target: { kind: 'local'; path: string } | { kind: 'sql'; engine: object; table: string },
  key: string,
  id: string,
  label: string,
  versions: number[],
  goFile: string,
): Promise<MoveOutcome[]> {
  const where = target.kind === 'local' ? target.path : JSON.stringify(target.engine);
  const table = target.kind === 'local' ? '-' : target.table;
  const procs = versions.map((v) => startLineChild(MOVER, [target.kind, where, table, key, id, label, String(v), goFile]));
  const explain = (): string => procs.map((p) => `[${p.lines.join(',')}] ${p.stderr()}`).join('\n');
  await until(() => procs.every((p) => p.lines.includes('ready')), explain, 60_000, 5);
  writeFileSync(goFile, '');
  const codes = await Promise.all(procs.map((p) => p.exited));
  if (codes.some((c) => c !== 0)) throw new Error(`a label mover failed: ${explain()}`);
  return procs.map((p, i) => {
    const last = p.lines.at(-1) ?? '';
    if (last === 'conflict') return { outcome: 'conflict', version: String(versions[i]) };
    const m = /^done (\S+) (\S+)$/.exec(last);
    if (m === null) throw new Error(`a label mover said neither done nor conflict: ${explain()}`);
    return { outcome: 'done', version: m[1] as string, previous: m[2] as string };
  });
}
