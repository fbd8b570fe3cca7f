/**
 * Rotators by name: the built-in ones (postgres, mysql, redis, command) and those a library user registers.
 * The built-ins load no driver until a step runs.
 */
import { ConfigError } from '../core/errors.js';
import { commandRotator } from './command.js';
import { mysqlRotator } from './mysql.js';
import { postgresRotator } from './postgres.js';
import { redisRotator } from './redis.js';
import { ROTATION_STRATEGIES, type Rotator } from './types.js';

const BUILTIN: readonly Rotator[] = [postgresRotator, mysqlRotator, redisRotator, commandRotator];
const rotators = new Map<string, Rotator>(BUILTIN.map((r) => [r.name, r]));

/**
 * Add a custom rotator. Its name must be new (a built-in or an already registered name is refused, so that a
 * policy's `rotator = "postgres"` always means the built-in one).
 *
 * @example
 * ```ts
 * registerRotator({ name: 'ldap', strategies: ['single'], pending: (i, pw) => ({ ...i.current, password: pw }), set, test, revert });
 * ```
 * @throws ConfigError for a taken or malformed name, or an unknown strategy
 */
export function registerRotator(rotator: Rotator): void {
  if (typeof rotator?.name !== 'string' || !/^[a-z][a-z0-9_-]{0,63}$/.test(rotator.name)) {
    throw new ConfigError('registerRotator: a rotator name is 1-64 lower-case letters, digits, "-" or "_", starting with a letter');
  }
  if (rotators.has(rotator.name)) {
    if (rotators.get(rotator.name) === rotator) return;
    throw new ConfigError(`registerRotator: a rotator named "${rotator.name}" is already registered; choose another name`);
  }
  if (!Array.isArray(rotator.strategies) || rotator.strategies.length === 0 || !rotator.strategies.every((s) => ROTATION_STRATEGIES.includes(s))) {
    throw new ConfigError(`registerRotator: rotator "${rotator.name}" must list its strategies, each one of ${ROTATION_STRATEGIES.join(', ')}`);
  }
  for (const m of ['pending', 'set', 'test', 'revert'] as const) {
    if (typeof rotator[m] !== 'function') throw new ConfigError(`registerRotator: rotator "${rotator.name}" has no ${m} function`);
  }
  rotators.set(rotator.name, rotator);
}

/** The rotator of that name. @throws ConfigError naming the known rotators */
export function getRotator(name: string): Rotator {
  const r = rotators.get(name);
  if (r === undefined) throw new ConfigError(`unknown rotator "${name}"; rotators are ${[...rotators.keys()].join(', ')} (register a custom one with registerRotator)`, { path: 'rotator' });
  return r;
}

/** The names of every rotator, built-in first. */
export function rotatorNames(): string[] {
  return [...rotators.keys()];
}
