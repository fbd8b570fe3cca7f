/**
 * `--allow-env NAME` (repeatable), shared by every command that turns credentials into variable names: exec,
 * env, and the dotenv format of get, getall and export. A credential that maps to a protected name
 * (src/ops/env-names.ts: LD_PRELOAD, NODE_OPTIONS, PATH, ...) is refused unless its variable is named here.
 */
import { SHELL_IDENTIFIER } from '../ops/env-names.js';
import { UsageError } from './errors.js';

export { ALLOW_ENV_OPTION } from './env-option-spec.js';

/** The `--allow-env` names; each must be a variable name as credstash builds it (upper case, `_`). */
export function allowEnvArg(v: unknown): string[] {
  if (v === undefined) return [];
  const names = (Array.isArray(v) ? v : [v]).map(String);
  for (const n of names) {
    if (!SHELL_IDENTIFIER.test(n) || n !== n.toUpperCase()) {
      throw new UsageError('--allow-env takes a variable name as credstash builds it: upper-case letters, digits and _');
    }
  }
  return names;
}
