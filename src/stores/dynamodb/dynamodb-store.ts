/**
 * The envelope tier: credentials in a DynamoDB table (Python credstash's layout), each version's value
 * encrypted under its own KMS data key. AES-256-GCM by default, Python credstash's AES-CTR + HMAC items
 * read always and written on request (docs/FORMAT.md).
 *
 * Requests per operation (design.md §4, measured in bench/dynamodb.mjs):
 * get latest = 1 Query + 1 Decrypt; get version = 1 GetItem + 1 Decrypt; put -a = 1 Query + 1 GenerateDataKey
 * + 1 PutItem; getall of N = Scan pages + N Decrypts (bounded concurrency), never a Query per name.
 */
import type { DynamoDBClient, QueryCommandInput } from '@aws-sdk/client-dynamodb';
import type { KMSClient } from '@aws-sdk/client-kms';
import { CredstashError, ValidationError } from '../../core/errors.js';
import { BaseStore, compareIds, mapConcurrent, type ResolvedReadOptions, type ResolvedWriteOptions, type SetupCapable } from '../../core/store.js';
import { matchesGlob } from '../../core/names.js';
import type {
  CredentialSummary,
  CredentialValue,
  EncryptionContext,
  GetAllOptions,
  GetAllResult,
  SetupOptions,
  SetupResult,
  StoreCapabilities,
  StoredCredential,
} from '../../core/types.js';
import { displayVersion, padVersion, versionNumber } from '../../core/version.js';
import { DEFAULT_LEGACY_DIGEST, isLegacyDigest, LEGACY_DIGESTS, type LegacyDigest } from '../../crypto/legacy-ctr-hmac.js';
import { AwsClients } from './dynamodb-clients.js';
import { mapAwsError, type AwsErrorContext } from './dynamodb-errors.js';
import {
  assertLegacyText,
  buildGcmItem,
  buildLegacyItem,
  checkMetadata,
  GCM_DATA_KEY_BYTES,
  itemFormat,
  LEGACY_DATA_KEY_BYTES,
  MAX_VALUE_BYTES,
  openItem,
  wrappedKey,
  type Item,
} from './dynamodb-item-codec.js';
import { setupTable } from './dynamodb-setup.js';

export const DEFAULT_TABLE = 'credential-store';
export const DEFAULT_KMS_KEY = 'alias/credstash';
export const DEFAULT_DYNAMODB_GETALL_CONCURRENCY = 32;

export type DynamoDBWriteFormat = 'aes-gcm' | 'legacy';

export interface DynamoDBStoreOptions {
  /** Table name (default `credential-store`). */
  table?: string;
  /** DynamoDB region (default: the SDK chain, AWS_REGION / profile). */
  region?: string;
  /** KMS region (default: `region`). */
  kmsRegion?: string;
  /** KMS key id, ARN or alias for new versions (default `alias/credstash`). */
  kmsKey?: string;
  endpointUrl?: string;
  kmsEndpointUrl?: string;
  /** Shared-config profile for both clients. */
  profile?: string;
  /** Role to assume (STS AssumeRole, session name AssumeRoleCredstashSession1). */
  roleArn?: string;
  /** Write format (default `aes-gcm`); `legacy` writes items Python credstash reads. */
  format?: DynamoDBWriteFormat;
  /** HMAC digest of legacy writes (default SHA256). */
  digest?: LegacyDigest;
  /** Parallel Decrypts in getAll (default 32). */
  getallConcurrency?: number;
  /** SDK retry attempts (default: the SDK's). */
  maxAttempts?: number;
  /** Per-request timeout of both clients in ms (default 10 000); the SDK itself sets none. */
  requestTimeoutMs?: number;
  /** Injected clients (Lambda reuse, tests). Otherwise each is built once on first use. */
  dynamodb?: DynamoDBClient;
  kms?: KMSClient;
}

/**
 * @example
 * ```ts
 * const store = new DynamoDBStore({ table: 'credential-store', region: 'eu-west-1' });
 * await store.storeCredential('myapp.db.prod', 'n3w', { autoVersion: true, context: { env: 'prod' } });
 * ```
 */
export class DynamoDBStore extends BaseStore implements SetupCapable {
  readonly kind = 'dynamodb';
  readonly description: string;
  readonly capabilities: StoreCapabilities = { write: true, delete: true, context: true, versions: true };
  protected readonly maxValueBytes = MAX_VALUE_BYTES;

  readonly table: string;
  readonly #kmsKey: string;
  readonly #format: DynamoDBWriteFormat;
  readonly #digest: LegacyDigest;
  readonly #concurrency: number;
  readonly #clients: AwsClients;
  readonly #endpoints: { dynamodb?: string; kms?: string };

  constructor(opts: DynamoDBStoreOptions = {}) {
    super();
    this.table = opts.table ?? DEFAULT_TABLE;
    if (this.table.length < 3 || this.table.length > 255 || !/^[A-Za-z0-9_.-]+$/.test(this.table)) {
      throw new ValidationError('dynamodb table name must be 3 to 255 characters of letters, digits, _ . -');
    }
    this.description = `dynamodb table "${this.table}"`;
    this.#kmsKey = opts.kmsKey ?? DEFAULT_KMS_KEY;
    this.#format = parseFormat(opts.format ?? 'aes-gcm');
    this.#digest = parseDigest(opts.digest ?? DEFAULT_LEGACY_DIGEST);
    this.#concurrency = opts.getallConcurrency ?? DEFAULT_DYNAMODB_GETALL_CONCURRENCY;
    if (!Number.isSafeInteger(this.#concurrency) || this.#concurrency < 1) throw new ValidationError('getall concurrency must be a positive integer');
    this.#clients = new AwsClients(opts, { store: this.description, table: this.table });
    // For messages only ("could not reach DynamoDB at <url>"): the option, else the SDK's own variables
    // (service-specific first), unless a client was injected (it carries its own endpoint).
    this.#endpoints = {
      dynamodb: opts.endpointUrl ?? (opts.dynamodb === undefined ? envEndpoint('DYNAMODB') : undefined),
      kms: opts.kmsEndpointUrl ?? (opts.kms === undefined ? envEndpoint('KMS') : undefined),
    };
  }

  /**
   * The AWS caller identity once known without asking: with `roleArn`, the assumed-role ARN STS returned
   * (read by the audit log, src/audit). Undefined otherwise; this never makes an STS call of its own.
   */
  get callerIdentity(): string | undefined {
    return this.#clients.callerIdentity;
  }

  protected async _get(id: string, opts: ResolvedReadOptions): Promise<StoredCredential | undefined> {
    // Load and build the KMS client while the DynamoDB module loads and its request is in flight (cold
    // start). A failure here is not lost: #open awaits the same promise and reports it.
    this.#clients.kms().catch(() => undefined);
    const { client, mod } = await this.#clients.dynamodb();
    let item: Item | undefined;
    if (opts.version !== undefined) {
      const out = await this.#call('dynamodb', 'GetItem', { credentialId: id, version: displayVersion(opts.version) }, () =>
        client.send(new mod.GetItemCommand({ TableName: this.table, Key: key(id, opts.version as string), ConsistentRead: true })),
      );
      item = out.Item;
    } else {
      const out = await this.#call('dynamodb', 'Query', { credentialId: id }, () => client.send(new mod.QueryCommand(this.#latestQuery(id))));
      item = out.Items?.[0];
    }
    return item === undefined ? undefined : this.#open(id, item, opts.context);
  }

  protected async _put(id: string, value: CredentialValue, opts: ResolvedWriteOptions): Promise<void> {
    const format = opts.format === undefined ? this.#format : parseFormat(opts.format);
    const digest = opts.digest === undefined ? this.#digest : parseDigest(opts.digest);
    const paddedVersion = padVersion(opts.version);
    const version = String(opts.version);
    checkMetadata(id, this.description, opts.comment, opts.definition);
    if (format === 'legacy') assertLegacyText(id, value, this.description);
    const keyId = opts.keyId ?? this.#kmsKey;
    const kms = await this.#clients.kms();
    const generated = await this.#call('kms', 'GenerateDataKey', { credentialId: id, version, keyId }, () =>
      kms.client.send(
        new kms.mod.GenerateDataKeyCommand({
          KeyId: keyId,
          NumberOfBytes: format === 'legacy' ? LEGACY_DATA_KEY_BYTES : GCM_DATA_KEY_BYTES,
          EncryptionContext: { ...opts.context },
        }),
      ),
    );
    const dataKey = generated.Plaintext;
    const blob = generated.CiphertextBlob;
    let item: Item;
    try {
      if (dataKey === undefined || blob === undefined) {
        throw new CredstashError('ERR_KMS', `KMS GenerateDataKey returned no data key for credential "${id}"`, { credentialId: id, store: this.description });
      }
      const common = { name: id, paddedVersion, value, dataKey, wrappedKey: blob, comment: opts.comment, definition: opts.definition };
      item = format === 'legacy' ? buildLegacyItem({ ...common, digest }) : buildGcmItem(common);
    } finally {
      dataKey?.fill(0);
    }
    const { client, mod } = await this.#clients.dynamodb();
    await this.#call('dynamodb', 'PutItem', { credentialId: id, version }, () =>
      client.send(
        new mod.PutItemCommand({
          TableName: this.table,
          Item: item,
          // Versions are immutable: never overwrite (credstash-format.md §5).
          ConditionExpression: 'attribute_not_exists(#n)',
          ExpressionAttributeNames: { '#n': 'name' },
        }),
      ),
    );
  }

  protected async _highestVersion(id: string): Promise<number> {
    const { client, mod } = await this.#clients.dynamodb();
    const out = await this.#call('dynamodb', 'Query', { credentialId: id }, () =>
      client.send(new mod.QueryCommand({ ...this.#latestQuery(id), ProjectionExpression: '#v', ExpressionAttributeNames: { '#n': 'name', '#v': 'version' } })),
    );
    const stored = out.Items?.[0]?.version?.S;
    if (stored === undefined) return 0;
    const n = versionNumber(stored);
    if (n === undefined) {
      throw new ValidationError(
        `cannot add the next version of credential "${id}": its newest stored version "${displayVersion(stored)}" is not an integer; pass -v with a new integer version`,
        { credentialId: id, store: this.description },
      );
    }
    return n;
  }

  protected async _delete(id: string, version: string | undefined): Promise<string[]> {
    const { client, mod } = await this.#clients.dynamodb();
    if (version !== undefined) {
      const out = await this.#call('dynamodb', 'DeleteItem', { credentialId: id, version: displayVersion(version) }, () =>
        client.send(new mod.DeleteItemCommand({ TableName: this.table, Key: key(id, version), ReturnValues: 'ALL_OLD' })),
      );
      return out.Attributes === undefined ? [] : [displayVersion(version)];
    }
    const stored: string[] = [];
    let start: Item | undefined;
    do {
      const input: QueryCommandInput = {
        TableName: this.table,
        KeyConditionExpression: '#n = :n',
        ExpressionAttributeNames: { '#n': 'name', '#v': 'version' },
        ExpressionAttributeValues: { ':n': { S: id } },
        ProjectionExpression: '#v',
        ConsistentRead: true,
        ExclusiveStartKey: start,
      };
      const out = await this.#call('dynamodb', 'Query', { credentialId: id }, () => client.send(new mod.QueryCommand(input)));
      for (const it of out.Items ?? []) if (it.version?.S !== undefined) stored.push(it.version.S);
      start = out.LastEvaluatedKey;
    } while (start !== undefined);
    await mapConcurrent(stored, 8, (v) =>
      this.#call('dynamodb', 'DeleteItem', { credentialId: id, version: displayVersion(v) }, () =>
        client.send(new mod.DeleteItemCommand({ TableName: this.table, Key: key(id, v) })),
      ),
    );
    return stored.map(displayVersion);
  }

  protected async _list(): Promise<CredentialSummary[]> {
    const items = await this.#scan(true);
    const out: CredentialSummary[] = [];
    for (const it of items) {
      const id = it.name?.S;
      const v = it.version?.S;
      if (id === undefined || v === undefined) continue;
      const s: CredentialSummary = { id, version: displayVersion(v) };
      if (it.comment?.S !== undefined) s.comment = it.comment.S;
      out.push(s);
    }
    return out;
  }

  protected override async _exists(id: string, version: string | undefined): Promise<boolean> {
    const { client, mod } = await this.#clients.dynamodb();
    if (version !== undefined) {
      const out = await this.#call('dynamodb', 'GetItem', { credentialId: id, version: displayVersion(version) }, () =>
        client.send(
          new mod.GetItemCommand({ TableName: this.table, Key: key(id, version), ConsistentRead: true, ProjectionExpression: '#v', ExpressionAttributeNames: { '#v': 'version' } }),
        ),
      );
      return out.Item !== undefined;
    }
    const out = await this.#call('dynamodb', 'Query', { credentialId: id }, () =>
      client.send(new mod.QueryCommand({ ...this.#latestQuery(id), ProjectionExpression: '#v', ExpressionAttributeNames: { '#n': 'name', '#v': 'version' } })),
    );
    return (out.Items?.length ?? 0) > 0;
  }

  /**
   * One Scan (all pages) returns the full items; the newest version of each name (or the requested one) is
   * picked from them and decrypted with bounded concurrency: never a Query per name.
   */
  override async getAllCredentials(opts: GetAllOptions = {}): Promise<GetAllResult> {
    const resolved = this.resolveRead({ version: opts.version, context: opts.context });
    const concurrency = opts.concurrency ?? this.#concurrency;
    if (!Number.isSafeInteger(concurrency) || concurrency < 1) throw new ValidationError('concurrency must be a positive integer');
    const items = await this.wrap(() => this.#scan(false));
    const chosen = new Map<string, Item>();
    for (const it of items) {
      const id = it.name?.S;
      const v = it.version?.S;
      if (id === undefined || v === undefined || !matchesGlob(opts.pattern, id)) continue;
      if (resolved.version !== undefined) {
        if (v === resolved.version) chosen.set(id, it);
        continue;
      }
      // Newest = the greatest range key, the same order `get` uses (DynamoDB sorts S keys by bytes).
      const prev = chosen.get(id)?.version?.S;
      if (prev === undefined || Buffer.compare(Buffer.from(v), Buffer.from(prev)) > 0) chosen.set(id, it);
    }
    const ids = [...chosen.keys()].sort(compareIds);
    const results = await mapConcurrent(ids, concurrency, async (id): Promise<StoredCredential | Error> => {
      try {
        return await this.#open(id, chosen.get(id) as Item, resolved.context);
      } catch (err) {
        return err as Error;
      }
    });
    return this.collectGetAll(ids, results, opts.skipErrors === true);
  }

  /** Create the table (idempotent). See dynamodb-setup.ts. */
  async setup(opts: SetupOptions = {}): Promise<SetupResult> {
    const { client, mod } = await this.#clients.dynamodb();
    const region = await this.#clients.regionOf('dynamodb');
    return setupTable(
      { client, mod, table: this.table, region, call: (operation, fn) => this.#call('dynamodb', operation, {}, fn) },
      opts,
    );
  }

  override async close(): Promise<void> {
    this.#clients.close();
  }

  #latestQuery(id: string): QueryCommandInput {
    return {
      TableName: this.table,
      KeyConditionExpression: '#n = :n',
      ExpressionAttributeNames: { '#n': 'name' },
      ExpressionAttributeValues: { ':n': { S: id } },
      Limit: 1,
      ScanIndexForward: false,
      ConsistentRead: true,
    };
  }

  async #scan(summaryOnly: boolean): Promise<Item[]> {
    const { client, mod } = await this.#clients.dynamodb();
    const items: Item[] = [];
    let start: Item | undefined;
    do {
      const out = await this.#call('dynamodb', 'Scan', {}, () =>
        client.send(
          new mod.ScanCommand({
            TableName: this.table,
            ConsistentRead: true,
            ExclusiveStartKey: start,
            ...(summaryOnly ? { ProjectionExpression: '#n, #v, #c', ExpressionAttributeNames: { '#n': 'name', '#v': 'version', '#c': 'comment' } } : {}),
          }),
        ),
      );
      if (out.Items !== undefined) items.push(...out.Items);
      start = out.LastEvaluatedKey;
    } while (start !== undefined);
    return items;
  }

  /** KMS Decrypt of the item's data key with the caller's context, then the format's decryption. */
  async #open(id: string, item: Item, context: EncryptionContext): Promise<StoredCredential> {
    const where = { credentialId: id, store: this.description };
    itemFormat(item, where); // an unreadable algorithm fails before KMS is asked
    const blob = wrappedKey(item, where);
    const version = displayVersion(item.version?.S ?? '');
    const kms = await this.#clients.kms();
    const out = await this.#call('kms', 'Decrypt', { credentialId: id, version }, () =>
      kms.client.send(new kms.mod.DecryptCommand({ CiphertextBlob: blob, EncryptionContext: { ...context } })),
    );
    if (out.Plaintext === undefined) {
      throw new CredstashError('ERR_KMS', `KMS Decrypt returned no data key for credential "${id}" version ${version}`, where);
    }
    return openItem(item, out.Plaintext, where);
  }

  /** Run one SDK call; map its error at the edge (style.md §7). */
  async #call<T>(service: 'dynamodb' | 'kms', operation: string, ctx: Partial<AwsErrorContext>, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw mapAwsError(err, {
        ...ctx,
        service,
        operation,
        store: this.description,
        table: this.table,
        region: await this.#clients.regionOf(service),
        endpoint: this.#endpoints[service],
        keyId: ctx.keyId,
      });
    }
  }
}

function key(id: string, paddedVersion: string): Item {
  return { name: { S: id }, version: { S: paddedVersion } };
}

function parseFormat(f: string): DynamoDBWriteFormat {
  if (f === 'aes-gcm' || f === 'gcm' || f === 'aes-256-gcm') return 'aes-gcm';
  if (f === 'legacy' || f === 'aes-ctr-legacy') return 'legacy';
  throw new ValidationError(`dynamodb write format must be "aes-gcm" or "legacy"`);
}

function parseDigest(d: string): LegacyDigest {
  const up = d.toUpperCase();
  if (!isLegacyDigest(up)) throw new ValidationError(`digest must be one of ${LEGACY_DIGESTS.join(', ')}`);
  return up;
}

/** AWS_ENDPOINT_URL_<SERVICE>, else AWS_ENDPOINT_URL, as the SDK reads them; none when AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is set. */
function envEndpoint(service: 'DYNAMODB' | 'KMS', env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS === 'true') return undefined;
  const v = env[`AWS_ENDPOINT_URL_${service}`] ?? env.AWS_ENDPOINT_URL;
  return v === undefined || v === '' ? undefined : v;
}
