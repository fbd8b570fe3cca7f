/**
 * Credential definitions (`[[credentials]]` in credstash.toml, or `WriteOptions.definition`): what a
 * credential is, stored with it, never secret. A structured value is checked against its type's required
 * fields before it is stored (docs/fernet.md §Definitions).
 */
import { ValidationError } from './errors.js';
import { CREDENTIAL_TYPES } from './types.js';
import type { CredentialDefinition, CredentialType, CredentialValue, JsonValue } from './types.js';

/**
 * Fields a structured value of each type must carry (present, not null, not the empty string).
 * `database`: user and password are what every driver needs; host, port and database are optional because
 * they often live in the application's own config (and an embedded database has no host).
 */
export const REQUIRED_FIELDS: Readonly<Record<CredentialType, readonly string[]>> = Object.freeze({
  aws: Object.freeze(['aws_access_key_id', 'aws_secret_access_key']),
  database: Object.freeze(['user', 'password']),
  api_key: Object.freeze(['api_key']),
  oauth: Object.freeze(['client_id', 'client_secret']),
  basic_auth: Object.freeze(['username', 'password']),
  certificate: Object.freeze(['certificate', 'private_key']),
  custom: Object.freeze([]),
});

export function isCredentialType(s: unknown): s is CredentialType {
  return typeof s === 'string' && (CREDENTIAL_TYPES as readonly string[]).includes(s);
}

/**
 * Check a definition's shape and return a clean copy (only the known fields).
 *
 * @example
 * ```ts
 * validateDefinition({ id: 'db_prod', credential_type: 'database', owner: 'x' }); // { id: 'db_prod', credential_type: 'database' }
 * validateDefinition({ id: 'db_prod', credential_type: 'db' }, 'credentials[2]');  // ValidationError: credentials[2].credential_type must be one of ...
 * ```
 * @throws ValidationError naming the bad field (`where` prefixes it, e.g. `credentials[2]`)
 */
export function validateDefinition(def: unknown, where = 'definition'): CredentialDefinition {
  if (def === null || typeof def !== 'object' || Array.isArray(def)) throw new ValidationError(`${where} must be an object`);
  const d = def as Record<string, unknown>;
  if (typeof d.id !== 'string' || d.id.length === 0) throw new ValidationError(`${where}.id must be a non-empty string`);
  const out: CredentialDefinition = { id: d.id };
  for (const field of ['name', 'description'] as const) {
    const v = d[field];
    if (v === undefined) continue;
    if (typeof v !== 'string') throw new ValidationError(`${where}.${field} must be a string`);
    out[field] = v;
  }
  if (d.credential_type !== undefined) {
    if (!isCredentialType(d.credential_type)) {
      throw new ValidationError(`${where}.credential_type must be one of ${CREDENTIAL_TYPES.join(', ')}`);
    }
    out.credential_type = d.credential_type;
  }
  if (d.metadata !== undefined) {
    if (d.metadata === null || typeof d.metadata !== 'object' || Array.isArray(d.metadata)) {
      throw new ValidationError(`${where}.metadata must be a table of key/value pairs`);
    }
    out.metadata = JSON.parse(JSON.stringify(d.metadata)) as Record<string, JsonValue>;
  }
  return out;
}

/**
 * Check a value against its definition before it is stored: the definition must describe this id, and a
 * typed credential must be a JSON object carrying its type's required fields.
 *
 * @example
 * ```ts
 * checkCredentialValue('aws.ci', { aws_access_key_id: 'AKIA…' }, { id: 'aws.ci', credential_type: 'aws' });
 * // ValidationError: credential "aws.ci" of type aws is missing field "aws_secret_access_key"
 * ```
 * @throws ValidationError naming the missing field, never a value
 */
export function checkCredentialValue(id: string, value: CredentialValue, definition: CredentialDefinition | undefined): CredentialDefinition | undefined {
  if (definition === undefined) return undefined;
  const def = validateDefinition(definition);
  if (def.id !== id) throw new ValidationError(`definition for "${def.id}" cannot be stored with credential "${id}"`, { credentialId: id });
  const type = def.credential_type;
  if (type === undefined) return def;
  const required = REQUIRED_FIELDS[type];
  if (required.length === 0) return def;
  if (typeof value === 'string' || value instanceof Uint8Array) {
    throw new ValidationError(
      `credential "${id}" of type ${type} must be a JSON object with the fields ${required.join(', ')}; store it with --json`,
      { credentialId: id },
    );
  }
  for (const field of required) {
    const v = Object.prototype.hasOwnProperty.call(value, field) ? value[field] : undefined;
    if (v === undefined || v === null || v === '') {
      throw new ValidationError(`credential "${id}" of type ${type} is missing field "${field}"`, { credentialId: id });
    }
  }
  return def;
}
