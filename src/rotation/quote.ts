/**
 * Quoting for the statements the SQL rotators send. PostgreSQL's ALTER ROLE and MySQL's ALTER USER take no
 * bind parameters, so names and passwords are written into the statement: identifiers and literals quoted
 * here, pure functions, tested on their own (test/unit/rotation/quote.test.ts).
 */

/** A NUL cannot be sent in either server's statement text; callers refuse it before quoting. */
function noNul(s: string): string {
  if (s.includes('\u0000')) throw new RangeError('a NUL character cannot be quoted');
  return s;
}

/** A PostgreSQL identifier: `"name"`, with `"` doubled (case kept: `App` stays `App`). */
export function pgIdent(name: string): string {
  return `"${noNul(name).replace(/"/g, '""')}"`;
}

/**
 * A PostgreSQL string literal that means the same whatever `standard_conforming_strings` is: an escape
 * string `E'...'` when the text has a backslash (each doubled), a plain `'...'` otherwise; `'` is doubled.
 */
export function pgLiteral(text: string): string {
  const s = noNul(text).replace(/'/g, "''");
  return s.includes('\\') ? `E'${s.replace(/\\/g, '\\\\')}'` : `'${s}'`;
}

/**
 * A MySQL/MariaDB string literal: `'` doubled, and `\` doubled unless the session's sql_mode has
 * NO_BACKSLASH_ESCAPES (then a backslash is an ordinary character and doubling it would change the text).
 */
export function mysqlLiteral(text: string, noBackslashEscapes: boolean): string {
  const s = noNul(text).replace(/'/g, "''");
  return `'${noBackslashEscapes ? s : s.replace(/\\/g, '\\\\')}'`;
}

/** A MySQL/MariaDB identifier (a database, a role without host): backquoted, `` ` `` doubled. */
export function mysqlIdent(name: string): string {
  return `\`${noNul(name).replace(/`/g, '``')}\``;
}

/** A MySQL/MariaDB account `'user'@'host'`. */
export function mysqlAccount(user: string, host: string, noBackslashEscapes: boolean): string {
  return `${mysqlLiteral(user, noBackslashEscapes)}@${mysqlLiteral(host, noBackslashEscapes)}`;
}
