/**
 * The rotators: what changes a password where it is used (docs/rotation.md "Rotators and strategies").
 * This layer depends on core only (and on the SQL driver loader, for pg and mysql2); it knows no store.
 */
export type { Rotator, RotatorInput, RotationStep, RotationStrategy } from './types.js';
export { ROTATION_STRATEGIES } from './types.js';
export { RotationStepError } from '../core/errors.js';
export { getRotator, registerRotator, rotatorNames } from './registry.js';
export { postgresRotator } from './postgres.js';
export { mysqlRotator } from './mysql.js';
export { redisRotator } from './redis.js';
export { commandRotator } from './command.js';
