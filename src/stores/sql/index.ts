import { ConfigError } from '../../core/errors.js';
import { checkStoreConfigKeys, type StoreFactoryContext } from '../../core/factory.js';
import { fernetKeysFrom } from '../fernet-codec.js';
import { parseEngineConfig } from './sql-dialects.js';
import { SqlStore } from './sql-store.js';

export { SqlStore, SQL_MAX_VALUE_BYTES } from './sql-store.js';
export type { SqlStoreOptions } from './sql-store.js';
export { DEFAULT_TABLE, validateTableName } from './sql-schema.js';
export { parseEngineConfig, describeEngine } from './sql-dialects.js';
export type { EngineConfig, EngineName } from './sql-dialects.js';

/**
 * Factory for `[credential_store] type = "sql"`. Config keys: `table` (default `xt_credentials`) and
 * `engine = { name = "sqlite" | "postgres" | "mysql", config = { path } | { host, port, user, password, database } | { url } }`.
 * Nothing connects until the first operation.
 * @throws ConfigError naming the bad key
 */
export function createSqlStore(config: Record<string, unknown>, ctx: Pick<StoreFactoryContext, 'baseDir' | 'fernetKeys' | 'env'>): SqlStore {
  checkStoreConfigKeys('sql', config, ['table', 'engine']);
  const engine = parseEngineConfig(config.engine, ctx.baseDir, ctx.env);
  return new SqlStore({ engine, table: config.table as string | undefined, fernetKeys: fernetKeysFrom(ctx) });
}
