/**
 * Untrusted text shown to a person: credential names, comments, context values, paths, and error messages
 * that quote them. Anyone who can add an item to a table chooses its name and comment, so a name holding
 * `ESC ] ...` or `ESC [ 2 J` could rewrite the terminal, retitle the window, or hide a line; a U+202E could
 * show a name backwards. displayText() escapes every character a terminal acts on instead of printing:
 * C0 controls (newline and tab included: a line must stay one line), DEL, C1 controls, the bidi controls
 * (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069) and the line/paragraph separators U+2028/U+2029,
 * as `\xHH` or `\uHHHH`.
 *
 * The rule: human-readable output (list, keys, delete, prune, put/putall/import/migrate reports, warnings,
 * every `credstash:` line on stderr) goes through displayText, on a terminal or not. Data output is exact and
 * never escaped: a value from `get`, the json/yaml/csv/dotenv formats, `list --json` (JSON escapes control
 * characters itself), `env`.
 */

const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * @example
 * ```ts
 * displayText('db\u001b[2Jpass'); // 'db\\x1b[2Jpass'
 * ```
 */
export function displayText(s: string): string {
  return s.replace(UNSAFE, (c) => {
    const n = c.charCodeAt(0);
    return n < 0x100 ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
  });
}
