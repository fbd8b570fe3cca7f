/**
 * Rotators: the parts of a rotation (`credstash rotate NAME`: create -> set -> test -> finish) that change a
 * password where it is used (a PostgreSQL role, a MySQL/MariaDB user, a Redis ACL user, a user program).
 * A rotator knows nothing of stores: the engine reads the credential, keeps the rotation's state beside it,
 * and calls the rotator's steps; each step may be run again after a crash at any point (idempotent).
 */
import type { RotationStep } from '../core/errors.js';
import type { JsonObject, JsonValue } from '../core/types.js';

export type { RotationStep };

/**
 * - `single`: one user, its password replaced (a short window in which clients holding the old one fail).
 * - `alternating`: two users; the one not in use gets the new password and becomes current, the other keeps working.
 * - `dual-password`: one user holding two passwords between set and finish (Redis ACL).
 */
export type RotationStrategy = 'single' | 'alternating' | 'dual-password';

export const ROTATION_STRATEGIES: readonly RotationStrategy[] = ['single', 'alternating', 'dual-password'];

export interface RotatorInput {
  /** The credential's current value, e.g. `{ host, port, user, password, database }`. */
  current: JsonObject;
  /** Credentials allowed to change passwords (`{ host?, port?, user, password }`), resolved by the engine. */
  admin?: JsonObject;
  strategy: RotationStrategy;
  /** The rotator's options from the policy (`users = ["app_a", "app_b"]`, `owner = "app_owner"`, ...). */
  options: Readonly<Record<string, JsonValue>>;
  /** The credential being rotated, for messages only. */
  credentialId?: string;
}

export interface Rotator {
  /** `postgres`, `mysql`, `redis`, `command`, or a custom rotator's name. */
  readonly name: string;
  readonly strategies: readonly RotationStrategy[];
  /** The pending value: `current` with the new password, and for alternating the user not in use. Pure. */
  pending(input: RotatorInput, newPassword: string): JsonObject;
  /** Apply `pending` on the target. Idempotent (may be run again after a crash at any point). */
  set(input: RotatorInput, pending: JsonObject): Promise<void>;
  /** Log in with `pending` for real (a new connection, a trivial query). @throws RotationStepError */
  test(input: RotatorInput, pending: JsonObject): Promise<void>;
  /** After the store holds `pending` as current (Redis removes the old password). Idempotent. */
  finish?(input: RotatorInput, pending: JsonObject): Promise<void>;
  /** Undo `set`: the current credentials work again, `pending` is refused where the strategy allows. Idempotent. */
  revert(input: RotatorInput, pending: JsonObject): Promise<void>;
}
