/**
 * "Did you mean" for a mistyped command word. The word typed is shown back only when it is a near miss of
 * a command: short, lower-case letters and dashes, and at most two edits away (one for a command of three
 * letters or fewer) or the start of exactly one command. Anything else may be a secret typed in the wrong place (`credstash s3cr3t`), so the
 * message then names its position, never its text.
 */

/** A word that may be printed back: it looks like a command word, not like a value. */
const COMMAND_LIKE = /^[a-z][a-z-]{0,19}$/;

/**
 * Edit distance with adjacent transpositions (optimal string alignment): `gte` -> `get` is one edit.
 */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = d[i] as number[];
      const up = d[i - 1] as number[];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min((up[j] as number) + 1, (row[j - 1] as number) + 1, (up[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, ((d[i - 2] as number[])[j - 2] as number) + 1);
      row[j] = best;
    }
  }
  return (d[a.length] as number[])[b.length] as number;
}

/**
 * The command `word` is most likely a typo of, or undefined when it is not a near miss of any (or does not
 * look like a command word at all, so must not be printed).
 * @param word what was typed where the command belongs
 * @param names the command names, in the order ties are decided
 */
export function suggestCommand(word: string, names: readonly string[]): string | undefined {
  if (!COMMAND_LIKE.test(word) || names.includes(word)) return undefined;
  let best: { name: string; distance: number } | undefined;
  for (const name of names) {
    const distance = editDistance(word, name);
    const allowed = name.length <= 3 ? 1 : 2;
    if (distance === 0 || distance > allowed) continue;
    if (best === undefined || distance < best.distance) best = { name, distance };
  }
  if (best !== undefined) return best.name;
  // `rotate` for rotate-key: the start of exactly one command
  const starts = word.length >= 3 ? names.filter((n) => n.startsWith(word) && n !== word) : [];
  return starts.length === 1 ? starts[0] : undefined;
}

/**
 * The usage error's text for an unknown command word at `position` (`1st argument`): with the word and a
 * suggestion when it is a near miss of a command, else the position only.
 */
export function unknownCommandMessage(word: string, position: string, names: readonly string[]): string {
  const suggestion = suggestCommand(word, names);
  if (suggestion === undefined) return `unknown command (${position})`;
  return `unknown command "${word}" (${position}); did you mean "${suggestion}"?`;
}
