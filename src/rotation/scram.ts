/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores for a password (RFC 5802 / RFC 7677, the form of
 * `pg_authid.rolpassword`): `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`. The postgres rotator
 * sends this verifier in `ALTER ROLE ... PASSWORD '...'` instead of the password, as psql's `\password`
 * does: the password itself then never appears in a statement, so neither in the server's log
 * (`log_statement`), `pg_stat_statements` nor an error that quotes the statement.
 *
 * PostgreSQL applies SASLprep to the password first; for printable ASCII that is the identity, so only such
 * passwords are hashed here ({@link canHashLocally}); any other is sent as a literal for the server to hash.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';

/** PostgreSQL's default (`scram_iterations`, 4096 up to and including 15). */
export const SCRAM_ITERATIONS = 4096;

/** Printable ASCII only: SASLprep leaves it unchanged, so the client-side hash equals the server's. */
export function canHashLocally(password: string): boolean {
  return /^[\x20-\x7e]+$/.test(password);
}

export function scramVerifier(password: string, salt: Buffer = randomBytes(16), iterations = SCRAM_ITERATIONS): string {
  const salted = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, 32, 'sha256');
  try {
    const clientKey = createHmac('sha256', salted).update('Client Key').digest();
    const storedKey = createHash('sha256').update(clientKey).digest('base64');
    const serverKey = createHmac('sha256', salted).update('Server Key').digest('base64');
    return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey}:${serverKey}`;
  } finally {
    salted.fill(0);
  }
}
