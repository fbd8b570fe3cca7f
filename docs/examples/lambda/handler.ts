/**
 * A Lambda handler that reads one credential with an encryption context from the DynamoDB tier
 * (docs/stores.md#lambda). Everything expensive happens once per container, at module scope: the store and
 * its SDK clients are built lazily on the first get and reused by every warm invocation; the cache answers
 * repeated gets for CREDSTASH_CACHE_MAX_AGE seconds (default 5). Nothing is written to the filesystem.
 *
 * Environment: CREDSTASH_TABLE (default credential-store), CREDENTIAL_ID, APP_ENV (the context `env=...`).
 * Imports the package as a deployed function does (inside this repository the names resolve to the
 * package itself, dist/lib and dist/types). Bundled and measured by bench/lambda.mjs (esbuild, minified,
 * AWS SDK bundled); run by test/integration/references/lambda-example.int.test.ts.
 */
import { withCache } from 'credstash-ts';
import { DynamoDBStore } from 'credstash-ts/dynamodb';

const store = withCache(new DynamoDBStore({ table: process.env.CREDSTASH_TABLE ?? 'credential-store' }));

export interface HandlerResult {
  statusCode: number;
  body: string;
}

export async function handler(event: { forceFetch?: boolean } = {}): Promise<HandlerResult> {
  const id = process.env.CREDENTIAL_ID ?? 'myapp.db.prod';
  const cred = await store.getCredential(id, {
    context: { env: process.env.APP_ENV ?? 'prod' },
    required: true,
    forceFetch: event.forceFetch === true,
  });
  // Use the secret here (connect to the database, sign a request ...); never return or log it.
  const kind = typeof cred.value === 'string' ? 'text' : cred.value instanceof Uint8Array ? 'binary' : 'structured';
  return { statusCode: 200, body: JSON.stringify({ id: cred.id, version: cred.version, kind }) };
}
