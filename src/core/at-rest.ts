/**
 * How a version was found encrypted at rest, attached by the tier that decrypted it
 * ({@link StoredCredential.atRest}). Only decryption establishes it: a stored label (DynamoDB's `algorithm`
 * attribute, a comment, a listing field) is never enough on its own, because whoever can write the table can
 * write those without any key. `migrate --reencrypt` decides from it which versions are already done.
 */
import type { AtRestFormat, StoredCredential } from './types.js';

/**
 * Attach the at-rest format to a credential a tier has just decrypted. Not enumerable: it describes the
 * stored copy, not the credential, so it stays out of JSON output, spreads and equality checks.
 * @returns `cred` itself
 */
export function withAtRest<T extends StoredCredential>(cred: T, atRest: AtRestFormat): T {
  Object.defineProperty(cred, 'atRest', { value: Object.freeze({ ...atRest }), enumerable: false, writable: false, configurable: false });
  return cred;
}
