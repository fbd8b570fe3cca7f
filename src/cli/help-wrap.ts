/**
 * Word wrapping for `credstash --help`. yargs 17 lays its help out with cliui, whose ESM entry (the one an
 * ESM bundle gets) wraps by cutting every `width` characters, in the middle of words (`expo` / `rt NAME`).
 * esbuild.config.mjs gives the CLI bundle a cliui entry that uses {@link wrapWords} instead; the rest of
 * cliui and yargs is unchanged. (yargs 18 wraps by words, but loads string-width, whose Intl.Segmenter and
 * emoji expressions cost every command's cold start tens of milliseconds.)
 */

const width = (s: string): number => [...s].length;

/**
 * Wrap `text` to lines of at most `columns` characters, breaking only at spaces; a word longer than a line
 * is cut (there is no other way to fit it). Existing line breaks are kept; spaces at a break are dropped.
 * Widths count code points, as cliui's ESM entry does.
 * @param text the text of one help column
 * @param columns the column width; 0 or less leaves the text as it is
 */
export function wrapWords(text: string, columns: number): string {
  if (!(columns > 0)) return text;
  return text
    .split('\n')
    .map((line) => wrapLine(line, columns))
    .join('\n');
}

function wrapLine(line: string, columns: number): string {
  const lines: string[] = [];
  let current = '';
  for (const word of line.split(' ')) {
    if (word === '') continue;
    let rest = word;
    if (current !== '' && width(current) + 1 + width(rest) <= columns) {
      current += ` ${rest}`;
      continue;
    }
    if (current !== '') lines.push(current);
    current = '';
    // a word that does not fit on a line of its own is cut into line-sized pieces
    while (width(rest) > columns) {
      const chars = [...rest];
      lines.push(chars.slice(0, columns).join(''));
      rest = chars.slice(columns).join('');
    }
    current = rest;
  }
  lines.push(current);
  return lines.join('\n');
}
