/**
 * The envelope tier: credentials in a DynamoDB table (Python credstash's layout), each version's value
 * encrypted under its own KMS data key. AES-256-GCM and Python credstash's AES-CTR + HMAC items are both read
 * always; new versions follow the table by default (`format = "auto"`, see {@link DynamoDBStoreOptions.format}),
 * so a table Python credstash readers use keeps getting items they can read (docs/FORMAT.md).
 *
 * Requests per operation (they must not grow; measured in bench/dynamodb.mjs):
 * get latest = 1 Query + 1 Decrypt; get version = 1 GetItem + 1 Decrypt; put -a = 1 Query + 1 GenerateDataKey
 * + 1 PutItem; getall of N = Scan pages + N Decrypts (bounded concurrency), never a Query per name. With the
 * `auto` write format, a write whose name has no version the store has just read (a new name under `put -a`,
 * any `put -v N`) samples the table once with a `Scan` of `Limit 1`, remembered for the store's lifetime.
 * The version lifecycle (docs/FORMAT.md §8): get --label = 1 GetItem of the lifecycle table + 1 GetItem + 1
 * Decrypt; history = 1 Query (projected) + 1 GetItem of the lifecycle table, no KMS; get, put and list never
 * touch the lifecycle table.
 */
import { randomUUID } from 'node:crypto';
import type { DynamoDBClient, QueryCommandInput } from '@aws-sdk/client-dynamodb';
import type { KMSClient } from '@aws-sdk/client-kms';
import { withAtRest } from '../../core/at-rest.js';
import { isDigits, isNameChars } from '../../core/chars.js';
import { AwsConfigError, CredentialNotFoundError, CredstashError, IntegrityError, KmsError, StoreUnavailableError, ValidationError } from '../../core/errors.js';
import { decodeCompanion, encodeCompanion, osWriterIdentity, withLifecycle, type CompanionDoc, type CompanionLabel, type CompanionRecord, type VersionMeta } from '../../core/lifecycle.js';
import {
  BaseStore,
  compareIds,
  mapConcurrent,
  type BulkRead,
  type ReadAllHookOptions,
  type ResolvedReadOptions,
  type ResolvedWriteOptions,
  type SetupCapable,
  type VersionRecord,
  type VersionsHookOptions,
} from '../../core/store.js';
import { matchesGlob } from '../../core/names.js';
import type {
  CredentialSummary,
  CredentialValue,
  EncryptionContext,
  SetupOptions,
  SetupResult,
  StoreCapabilities,
  StoredCredential,
} from '../../core/types.js';
import { displayVersion, PAD_LEN, padVersion, storedVersionForms, versionMagnitude } from '../../core/version.js';
import { DEFAULT_LEGACY_DIGEST, isLegacyDigest, LEGACY_DIGESTS, type LegacyDigest } from '../../crypto/legacy-ctr-hmac.js';
import { AwsClients } from './dynamodb-clients.js';
import { awsErrorName, envEndpoint } from '../aws/aws-transport.js';
import { mapAwsError, type AwsErrorContext } from './dynamodb-errors.js';
import type { LightClients } from './dynamodb-light.js';
import {
  assertLegacyText,
  buildGcmItem,
  buildLegacyItem,
  checkMetadata,
  GCM_DATA_KEY_BYTES,
  itemFormat,
  type ItemFormat,
  LEGACY_DATA_KEY_BYTES,
  MAX_VALUE_BYTES,
  openItem,
  wrappedKey,
  type Item,
} from './dynamodb-item-codec.js';
import {
  labelProof,
  lifecycleAttributes,
  lifecycleTableName,
  openState,
  sealState,
  sizeAttribute,
  stateContext,
  stateWrappedKey,
  verifiedLifecycle,
  verifyLabelProof,
  VERSION_PROJECTION,
  versionRecord,
} from './dynamodb-lifecycle.js';
import { setupTable } from './dynamodb-setup.js';

export const DEFAULT_TABLE = 'credential-store';
export const DEFAULT_KMS_KEY = 'alias/credstash';
export const DEFAULT_DYNAMODB_GETALL_CONCURRENCY = 32;

/**
 * Write format of new versions: `aes-gcm` (alias `gcm`), `legacy` (Python credstash's AES-CTR + HMAC,
 * alias `aes-ctr-legacy`), or `auto`, which follows the table (see {@link DynamoDBStoreOptions.format}).
 */
export type DynamoDBWriteFormat = 'aes-gcm' | 'gcm' | 'legacy' | 'aes-ctr-legacy' | 'auto';

/** Notices for a person (the CLI prints them on stderr when it is a terminal); never hold a value. */
export type DynamoDBNotice = (message: string) => void;

/** The upgrade path named in the notice an `auto` legacy write gives. */
export const LEGACY_UPGRADE_HINT = 'once every reader (Python credstash, nodecredstash) is upgraded, set format = "gcm" and run `credstash migrate --reencrypt`';

export interface DynamoDBStoreOptions {
  /** Table name (default `credential-store`). */
  table?: string;
  /**
   * The companion table of labels and lifecycle state (default `<table>-lifecycle`), created by `setup`. Only
   * lifecycle operations (labels, `get --label`, history's labels, rotation state) use it; get, put and list
   * never do, and Python credstash never sees it.
   */
  lifecycleTable?: string;
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
  /**
   * Write format of new versions (default `auto`).
   * - `auto`: follow the table. A name whose newest version is legacy gets a legacy version (the Query of an
   *   auto-versioned write reads that item anyway); any other write takes the format of the table, sampled once
   *   per store with one `Scan` of `Limit 1`: legacy when that item is legacy, AES-GCM when it is AES-GCM or the
   *   table is empty. A table Python credstash filled so stays readable by Python credstash and nodecredstash
   *   (which cannot read AES-GCM items, and whose `getall` fails on the whole table once one exists), and a
   *   table credstash-ts created is AES-GCM from the start. A binary or JSON value that would have to be legacy
   *   is refused (legacy items hold text only): pass `gcm` for it.
   * - `gcm` / `aes-gcm`: always AES-256-GCM; `legacy`: always Python credstash's format.
   * With `digest` set and no format, `legacy` (a digest exists only there).
   */
  format?: DynamoDBWriteFormat;
  /** HMAC digest of legacy writes (default SHA256). Without `format`, implies `legacy`. */
  digest?: LegacyDigest;
  /**
   * Told once per store when an `auto` write chose the legacy format (with the upgrade path) and when no AWS
   * region is configured anywhere and us-east-1 is used, as Python credstash does. The CLI prints these on
   * stderr when it is a terminal.
   */
  onNotice?: DynamoDBNotice;
  /**
   * Asked for the code of the MFA device of an assume-role profile (`mfa_serial`); the CLI prompts for it when
   * stdin is a terminal. Asked once: both clients then share one credentials provider.
   */
  mfaCodeProvider?: (mfaSerial: string) => Promise<string>;
  /** Parallel Decrypts in getAll (default 32). */
  getallConcurrency?: number;
  /** SDK retry attempts (default: the SDK's). */
  maxAttempts?: number;
  /** Per-request timeout of both clients in ms (default 10 000); the SDK itself sets none. */
  requestTimeoutMs?: number;
  /**
   * Send `get`'s requests (Query or GetItem, then KMS Decrypt) without the AWS SDK when the session allows
   * it: credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN), no profile, role,
   * shared config file, proxy or CA bundle (dynamodb-light.ts). The same requests, results and errors; a
   * process that runs one command starts much faster (the CLI sets it). Default off, so that SDK client
   * mocks and middleware see every request of a library user's store.
   */
  light?: boolean;
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
  readonly capabilities: StoreCapabilities = { write: true, delete: true, context: true, versions: true, formats: true, labels: true, history: true, expiry: true };
  protected readonly maxValueBytes = MAX_VALUE_BYTES;

  readonly table: string;
  /** The companion table of labels and lifecycle state (docs/FORMAT.md §8). */
  readonly lifecycleTable: string;
  /** Ids whose versions were just deleted: the kernel's label clean-up that follows may find no companion table. */
  readonly #justDeleted = new Set<string>();
  /**
   * The wrapped data key the last `_exists` of one version read (one slot): a label move checks that the
   * version exists, then makes its proof with that version's key; the slot saves the second GetItem.
   */
  #existsKey: { id: string; padded: string; item: Item } | undefined;
  readonly #kmsKey: string;
  readonly #format: WriteFormat;
  readonly #digest: LegacyDigest;
  readonly #notice: DynamoDBNotice | undefined;
  #legacyNoticeGiven = false;
  /** The table's sampled format (one Scan of Limit 1), for the store's lifetime. */
  #tableFormat?: Promise<ItemFormat>;
  /** Newest stored format of names whose auto-versioned write is in progress (read by _highestVersion's Query). */
  readonly #newestFormat = new Map<string, ItemFormat | 'none'>();
  readonly #concurrency: number;
  readonly #clients: AwsClients;
  readonly #endpoints: { dynamodb?: string; kms?: string };
  readonly #profile: string | undefined;

  constructor(opts: DynamoDBStoreOptions = {}) {
    super();
    this.table = opts.table ?? DEFAULT_TABLE;
    if (this.table.length < 3 || this.table.length > 255 || !isNameChars(this.table)) {
      throw new ValidationError('dynamodb table name must be 3 to 255 characters of letters, digits, _ . -');
    }
    this.description = `dynamodb table "${this.table}"`;
    this.lifecycleTable = opts.lifecycleTable ?? lifecycleTableName(this.table);
    if (this.lifecycleTable.length < 3 || this.lifecycleTable.length > 255 || !isNameChars(this.lifecycleTable) || this.lifecycleTable === this.table) {
      throw new ValidationError('dynamodb lifecycle table name must be 3 to 255 characters of letters, digits, _ . - and differ from the table');
    }
    this.#kmsKey = opts.kmsKey ?? DEFAULT_KMS_KEY;
    this.#format = resolveFormat(opts.format, opts.digest);
    this.#digest = parseDigest(opts.digest ?? DEFAULT_LEGACY_DIGEST);
    this.#notice = opts.onNotice;
    this.#concurrency = opts.getallConcurrency ?? DEFAULT_DYNAMODB_GETALL_CONCURRENCY;
    if (!Number.isSafeInteger(this.#concurrency) || this.#concurrency < 1) throw new ValidationError('getall concurrency must be a positive integer');
    this.#profile = opts.profile;
    this.#clients = new AwsClients(opts, { store: this.description, table: this.table, notice: opts.onNotice });
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
    const light = this.#clients.light;
    if (light !== undefined) return this.#lightGet(light, id, opts);
    // Load and build the KMS client while the DynamoDB module loads and its request is in flight (cold
    // start). A failure here is not lost: #open awaits the same promise and reports it.
    this.#clients.kms().catch(() => undefined);
    const { client, mod } = await this.#clients.dynamodb();
    let item: Item | undefined;
    if (opts.version !== undefined) {
      // The padded key first (one GetItem, as Python credstash); only when it is not there, the version as an
      // older client stored it unpadded (`1`, `v5`), so that what `list` prints can always be read back.
      for (const stored of storedVersionForms(opts.version)) {
        const out = await this.#call('dynamodb', 'GetItem', { credentialId: id, version: displayVersion(stored) }, () =>
          client.send(new mod.GetItemCommand({ TableName: this.table, Key: key(id, stored), ConsistentRead: true })),
        );
        item = out.Item;
        if (item !== undefined) break;
      }
    } else {
      const out = await this.#call('dynamodb', 'Query', { credentialId: id }, () => client.send(new mod.QueryCommand(this.#latestQuery(id))));
      item = out.Items?.[0];
    }
    return item === undefined ? undefined : this.#open(id, item, opts.context, undefined, opts.label);
  }

  /** _get without the SDK: the same requests (dynamodb-light.ts), the same item codec and error mapping. */
  async #lightGet(light: LightClients, id: string, opts: ResolvedReadOptions): Promise<StoredCredential | undefined> {
    const region = light.regions.dynamodb;
    let item: Item | undefined;
    if (opts.version !== undefined) {
      for (const stored of storedVersionForms(opts.version)) {
        const out = await this.#call('dynamodb', 'GetItem', { credentialId: id, version: displayVersion(stored), region }, () =>
          light.getItem({ TableName: this.table, Key: key(id, stored), ConsistentRead: true }),
        );
        item = out.Item;
        if (item !== undefined) break;
      }
    } else {
      const out = await this.#call('dynamodb', 'Query', { credentialId: id, region }, () => light.query(this.#latestQuery(id)));
      item = out.Items?.[0];
    }
    return item === undefined ? undefined : this.#open(id, item, opts.context, light, opts.label);
  }

  protected async _put(id: string, value: CredentialValue, opts: ResolvedWriteOptions): Promise<void> {
    // The newest format _highestVersion's Query just saw for this name (auto-versioned writes only).
    const seen = this.#newestFormat.get(id);
    this.#newestFormat.delete(id);
    const digest = opts.digest === undefined ? this.#digest : parseDigest(opts.digest);
    const paddedVersion = padVersion(opts.version);
    const version = String(opts.version);
    checkMetadata(id, this.description, opts.comment, opts.definition);
    const wanted = opts.format === undefined && opts.digest === undefined ? this.#format : resolveFormat(opts.format, opts.digest);
    const format = wanted === 'auto' ? await this.#autoFormat(id, value, seen) : wanted;
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
        throw new CredstashError(KmsError.code, `KMS GenerateDataKey returned no data key for credential "${id}"`, { credentialId: id, store: this.description });
      }
      // The lifecycle attributes first: the expiry's MAC needs the data key, which building the item zeroes.
      // The writer is the assumed role once the SDK has resolved it (it has, for GenerateDataKey), else user@host.
      const writtenBy = this.#clients.callerIdentity ?? opts.meta.writtenBy;
      const lifecycle = lifecycleAttributes({ id, paddedVersion, dataKey, meta: { ...opts.meta, ...(writtenBy === undefined ? {} : { writtenBy }) } });
      const common = { name: id, paddedVersion, value, dataKey, wrappedKey: blob, comment: opts.comment, definition: opts.definition };
      item =
        format === 'legacy'
          ? buildLegacyItem({ ...common, digest })
          : buildGcmItem({ ...common, ...(opts.meta.expiresAt === undefined ? {} : { expiresAt: opts.meta.expiresAt }) });
      // Extra attributes Python credstash and nodecredstash ignore (docs/FORMAT.md §8).
      Object.assign(item, lifecycle, sizeAttribute(item));
    } finally {
      dataKey?.fill(0);
    }
    const { client, mod } = await this.#clients.dynamodb();
    await this.#call('dynamodb', 'PutItem', { credentialId: id, version }, () =>
      client.send(
        new mod.PutItemCommand({
          TableName: this.table,
          Item: item,
          // Versions are immutable: never overwrite (docs/FORMAT.md §2, §5).
          ConditionExpression: 'attribute_not_exists(#n)',
          ExpressionAttributeNames: { '#n': 'name' },
        }),
      ),
    );
  }

  protected async _highestVersion(id: string): Promise<number> {
    const { client, mod } = await this.#clients.dynamodb();
    // The algorithm rides along (no extra request): an `auto` write follows the name's newest format.
    const out = await this.#call('dynamodb', 'Query', { credentialId: id }, () =>
      client.send(
        new mod.QueryCommand({ ...this.#latestQuery(id), ProjectionExpression: '#v, #a', ExpressionAttributeNames: { '#n': 'name', '#v': 'version', '#a': 'algorithm' } }),
      ),
    );
    const newest = out.Items?.[0];
    const stored = newest?.version?.S;
    this.#newestFormat.set(id, newest === undefined ? 'none' : sampledFormat(newest));
    if (stored === undefined) return 0;
    // An older client's unpadded version sorts after every padded one ("2" > "0000000000000000003"), so a new
    // padded version would never be the newest that `get` (Python's Query) returns: refuse, instead of
    // racing for a number forever or storing a version nobody reads by default.
    if (isDigits(stored) && stored.length < PAD_LEN) {
      throw new ValidationError(
        `cannot add the next version of credential "${id}": its newest stored version "${stored}" was written unpadded by an older client, ` +
          `and a padded version would sort below it (get would keep returning "${stored}"); store the value under a new name, or delete the unpadded versions first`,
        { credentialId: id, store: this.description },
      );
    }
    // An integer beyond MAX_VERSION (another client's) is Infinity: put -a then refuses instead of writing below it.
    const n = versionMagnitude(stored);
    if (n === undefined) {
      throw new ValidationError(
        `cannot add the next version of credential "${id}": its newest stored version "${displayVersion(stored)}" is not an integer; pass -v with a new integer version`,
        { credentialId: id, store: this.description },
      );
    }
    return n;
  }

  protected async _delete(id: string, version: string | undefined): Promise<{ deleted: string[]; stored: string[] }> {
    const { client, mod } = await this.#clients.dynamodb();
    if (version !== undefined) {
      // As _get: the padded key, then the unpadded form an older client may have stored.
      for (const stored of storedVersionForms(version)) {
        const out = await this.#call('dynamodb', 'DeleteItem', { credentialId: id, version: displayVersion(stored) }, () =>
          client.send(new mod.DeleteItemCommand({ TableName: this.table, Key: key(id, stored), ReturnValues: 'ALL_OLD' })),
        );
        if (out.Attributes !== undefined) {
          this.#justDeleted.add(id);
          return { deleted: [displayVersion(stored)], stored: [stored] };
        }
      }
      return { deleted: [], stored: [] };
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
    if (stored.length > 0) this.#justDeleted.add(id);
    return { deleted: stored.map(displayVersion), stored };
  }

  protected async _list(): Promise<CredentialSummary[]> {
    const items = await this.#scan(true);
    const out: CredentialSummary[] = [];
    for (const it of items) {
      const id = it.name?.S;
      const v = it.version?.S;
      if (id === undefined || v === undefined) continue;
      const s: CredentialSummary = { id, version: displayVersion(v) };
      if (v !== padVersion(s.version)) s.storedVersion = v;
      if (it.comment?.S !== undefined) s.comment = it.comment.S;
      out.push(s);
    }
    return out;
  }

  protected override async _exists(id: string, version: string | undefined): Promise<boolean> {
    const { client, mod } = await this.#clients.dynamodb();
    if (version !== undefined) {
      for (const stored of storedVersionForms(version)) {
        // The wrapped key rides along (not secret, a few hundred bytes) for a label proof that may follow.
        const out = await this.#call('dynamodb', 'GetItem', { credentialId: id, version: displayVersion(stored) }, () =>
          client.send(
            new mod.GetItemCommand({
              TableName: this.table,
              Key: key(id, stored),
              ConsistentRead: true,
              ProjectionExpression: '#v, #k',
              ExpressionAttributeNames: { '#v': 'version', '#k': 'key' },
            }),
          ),
        );
        if (out.Item !== undefined) {
          this.#existsKey = { id, padded: version, item: out.Item };
          return true;
        }
      }
      return false;
    }
    const out = await this.#call('dynamodb', 'Query', { credentialId: id }, () =>
      client.send(new mod.QueryCommand({ ...this.#latestQuery(id), ProjectionExpression: '#v', ExpressionAttributeNames: { '#n': 'name', '#v': 'version' } })),
    );
    return (out.Items?.length ?? 0) > 0;
  }

  /**
   * One Scan (all pages) returns the full items; the newest version of each name (or the requested one) is
   * picked from them and decrypted with bounded concurrency: never a Query per name. (The bulk read hook:
   * BaseStore validated the options and filters, sorts and reports the outcome.)
   */
  protected override async _readAll(resolved: ReadAllHookOptions): Promise<BulkRead> {
    const concurrency = resolved.concurrency ?? this.#concurrency;
    const items = await this.#scan(false);
    const chosen = new Map<string, Item>();
    // With -v: every matching name must have that version (a missing one is reported, not left out); the
    // padded key wins over an unpadded twin, as in _get.
    const forms = resolved.version === undefined ? [] : storedVersionForms(resolved.version);
    const names = new Set<string>();
    for (const it of items) {
      const id = it.name?.S;
      const v = it.version?.S;
      if (id === undefined || v === undefined || !matchesGlob(resolved.pattern, id)) continue;
      names.add(id);
      if (resolved.version !== undefined) {
        const rank = forms.indexOf(v);
        const prevRank = forms.indexOf(chosen.get(id)?.version?.S ?? '');
        if (rank >= 0 && (prevRank < 0 || rank < prevRank)) chosen.set(id, it);
        continue;
      }
      // Newest = the greatest range key, the same order `get` uses (DynamoDB sorts S keys by bytes).
      const prev = chosen.get(id)?.version?.S;
      if (prev === undefined || Buffer.compare(Buffer.from(v), Buffer.from(prev)) > 0) chosen.set(id, it);
    }
    const ids = [...names].sort(compareIds);
    const results = await mapConcurrent(ids, concurrency, async (id): Promise<StoredCredential | Error | undefined> => {
      const item = chosen.get(id);
      if (item === undefined) return undefined;
      try {
        return await this.#open(id, item, resolved.context);
      } catch (err) {
        return err as Error;
      }
    });
    return { ids, results };
  }

  // ---- Lifecycle hooks: labels, history, expiry, sealed state (docs/lifecycle.md, docs/FORMAT.md §8) ----

  /** The assumed role once the SDK has resolved it, else `user@host`; never a request of its own. */
  protected override _writerIdentity(): string | undefined {
    return this.#clients.callerIdentity ?? osWriterIdentity();
  }

  /**
   * History (`id`): one Query on the name, every page; otherwise the listing's Scan. Both project only the
   * listing and lifecycle attributes (never `contents` or `key`); nothing is decrypted.
   */
  protected override async _versions(opts: VersionsHookOptions): Promise<VersionRecord[]> {
    const { client, mod } = await this.#clients.dynamodb();
    const id = opts.id;
    const out: VersionRecord[] = [];
    let start: Item | undefined;
    do {
      const page =
        id === undefined
          ? await this.#call('dynamodb', 'Scan', {}, () =>
              client.send(new mod.ScanCommand({ TableName: this.table, ConsistentRead: true, ExclusiveStartKey: start, ...VERSION_PROJECTION })),
            )
          : await this.#call('dynamodb', 'Query', { credentialId: id }, () =>
              client.send(
                new mod.QueryCommand({
                  TableName: this.table,
                  KeyConditionExpression: '#n = :n',
                  ExpressionAttributeValues: { ':n': { S: id } },
                  ConsistentRead: true,
                  ExclusiveStartKey: start,
                  ...VERSION_PROJECTION,
                }),
              ),
            );
      for (const it of page.Items ?? []) {
        const r = versionRecord(it);
        if (r !== undefined) out.push(r);
      }
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return out;
  }

  /**
   * The companion item of `id` in the lifecycle table (one consistent GetItem). A missing lifecycle table is
   * an error naming `credstash setup`, except for the label clean-up right after a delete (no table, no labels).
   */
  protected override async _readCompanion(id: string): Promise<CompanionRecord | undefined> {
    const afterDelete = this.#justDeleted.delete(id);
    const input = { TableName: this.lifecycleTable, Key: { name: { S: id } }, ConsistentRead: true };
    // `get --label` from the CLI: the label's read goes the way the version's read will (without the SDK).
    const light = this.#clients.light;
    const read =
      light === undefined
        ? async (): Promise<{ Item?: Item }> => {
            const { client, mod } = await this.#clients.dynamodb();
            return client.send(new mod.GetItemCommand(input));
          }
        : () => light.getItem(input);
    const out: { Item?: Item } = await this.#lifecycleCall('GetItem', id, read, afterDelete ? () => ({}) : undefined);
    const item = out.Item;
    if (item === undefined) return undefined;
    const where = `dynamodb table "${this.lifecycleTable}" item "${id}"`;
    const doc = item.doc?.S;
    const rev = item.rev?.S;
    if (doc === undefined || rev === undefined) throw new ValidationError(`${where}: the lifecycle record has no doc or rev attribute`, { credentialId: id, store: this.description });
    return { doc: decodeCompanion(doc, where), rev };
  }

  /**
   * Compare-and-set on the `rev` attribute: PutItem (or, for an empty document, DeleteItem) with
   * `attribute_not_exists(name)` for the first write and `rev = :expected` after; each write sets a new random
   * `rev`, so a record deleted and created again never matches an old revision.
   */
  protected override async _writeCompanion(id: string, doc: CompanionDoc, expectedRev: string | undefined): Promise<boolean> {
    const empty = Object.keys(doc.labels).length === 0 && Object.keys(doc.state).length === 0;
    const condition: { ConditionExpression: string; ExpressionAttributeNames: Record<string, string>; ExpressionAttributeValues?: Record<string, { S: string }> } =
      expectedRev === undefined
        ? { ConditionExpression: 'attribute_not_exists(#n)', ExpressionAttributeNames: { '#n': 'name' } }
        : { ConditionExpression: '#r = :r', ExpressionAttributeNames: { '#r': 'rev' }, ExpressionAttributeValues: { ':r': { S: expectedRev } } };
    const { client, mod } = await this.#clients.dynamodb();
    return this.#lifecycleCall(empty ? 'DeleteItem' : 'PutItem', id, async () => {
      try {
        if (empty) {
          await client.send(new mod.DeleteItemCommand({ TableName: this.lifecycleTable, Key: { name: { S: id } }, ...condition }));
        } else {
          const item: Item = { name: { S: id }, doc: { S: encodeCompanion(doc) }, rev: { S: randomUUID() } };
          await client.send(new mod.PutItemCommand({ TableName: this.lifecycleTable, Item: item, ...condition }));
        }
        return true;
      } catch (err) {
        if (awsErrorName(err) === 'ConditionalCheckFailedException') return false;
        throw err;
      }
    });
  }

  /** Every companion item (one Scan of the lifecycle table, every page); none when that table does not exist. */
  protected override async _listCompanions(): Promise<Array<{ id: string; doc: CompanionDoc }>> {
    const { client, mod } = await this.#clients.dynamodb();
    const out: Array<{ id: string; doc: CompanionDoc }> = [];
    let start: Item | undefined;
    do {
      const page = await this.#lifecycleCall(
        'Scan',
        undefined,
        () => client.send(new mod.ScanCommand({ TableName: this.lifecycleTable, ConsistentRead: true, ExclusiveStartKey: start })),
        () => ({ Items: [], LastEvaluatedKey: undefined, $metadata: {} }),
      );
      for (const it of page.Items ?? []) {
        const id = it.name?.S;
        const doc = it.doc?.S;
        if (id !== undefined && doc !== undefined) out.push({ id, doc: decodeCompanion(doc, `dynamodb table "${this.lifecycleTable}" item "${id}"`) });
      }
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return out;
  }

  /**
   * HMAC under HKDF(that version's KMS data key, "credstash-ts label") of labelProofInput: the version's `key`
   * (from the `_exists` read the kernel just made, else one GetItem) and one Decrypt with the caller's context. Whoever moves a label must
   * be able to read the version; a reader through the label then verifies it with the Decrypt it makes anyway.
   */
  protected override async _labelProof(id: string, label: string, paddedVersion: string, context: EncryptionContext): Promise<string> {
    const { client, mod } = await this.#clients.dynamodb();
    const seen = this.#existsKey;
    this.#existsKey = undefined;
    let item: Item | undefined = seen !== undefined && seen.id === id && seen.padded === paddedVersion ? seen.item : undefined;
    for (const stored of item === undefined ? storedVersionForms(paddedVersion) : []) {
      const out = await this.#call('dynamodb', 'GetItem', { credentialId: id, version: displayVersion(stored) }, () =>
        client.send(
          new mod.GetItemCommand({
            TableName: this.table,
            Key: key(id, stored),
            ConsistentRead: true,
            ProjectionExpression: '#k, #v',
            ExpressionAttributeNames: { '#k': 'key', '#v': 'version' },
          }),
        ),
      );
      item = out.Item;
      if (item !== undefined) break;
    }
    const version = displayVersion(paddedVersion);
    if (item === undefined) throw new CredentialNotFoundError({ credentialId: id, store: this.description, version });
    const dataKey = await this.#decryptDataKey(id, version, wrappedKey(item, { credentialId: id, store: this.description }), context);
    try {
      return labelProof(dataKey, id, label, paddedVersion);
    } finally {
      dataKey.fill(0);
    }
  }

  /**
   * AES-256-GCM under a fresh KMS data key generated with the caller's context plus
   * `credstash-ts:purpose=lifecycle-state` (so the blob's key can never be Decrypted as a value's), bound to
   * the table, id and state key.
   */
  protected override async _sealState(id: string, stateKey: string, plaintext: Uint8Array, context: EncryptionContext): Promise<string> {
    const kms = await this.#clients.kms();
    const keyId = this.#kmsKey;
    const gen = await this.#call('kms', 'GenerateDataKey', { credentialId: id, keyId }, () =>
      kms.client.send(new kms.mod.GenerateDataKeyCommand({ KeyId: keyId, NumberOfBytes: GCM_DATA_KEY_BYTES, EncryptionContext: stateContext(context) })),
    );
    if (gen.Plaintext === undefined || gen.CiphertextBlob === undefined) {
      gen.Plaintext?.fill(0);
      throw new CredstashError(KmsError.code, `KMS GenerateDataKey returned no data key for the lifecycle state of credential "${id}"`, { credentialId: id, store: this.description });
    }
    return sealState({ table: this.table, id, key: stateKey, plaintext, dataKey: gen.Plaintext, wrappedKey: gen.CiphertextBlob });
  }

  protected override async _openState(id: string, stateKey: string, sealed: string, context: EncryptionContext): Promise<Uint8Array> {
    const where = { credentialId: id, store: this.description };
    const dataKey = await this.#decryptDataKey(id, undefined, stateWrappedKey(sealed, where), stateContext(context));
    return openState({ table: this.table, id, key: stateKey, sealed, dataKey }, where);
  }

  /** KMS Decrypt of a wrapped data key (SDK client). */
  async #decryptDataKey(id: string, version: string | undefined, blob: Uint8Array, context: EncryptionContext): Promise<Uint8Array> {
    const kms = await this.#clients.kms();
    const out = await this.#call('kms', 'Decrypt', { credentialId: id, ...(version === undefined ? {} : { version }) }, () =>
      kms.client.send(new kms.mod.DecryptCommand({ CiphertextBlob: blob, EncryptionContext: { ...context } })),
    );
    if (out.Plaintext === undefined) {
      throw new CredstashError(KmsError.code, `KMS Decrypt returned no data key for credential "${id}"`, { credentialId: id, store: this.description });
    }
    return out.Plaintext;
  }

  /**
   * One request on the lifecycle table. Its absence (ResourceNotFoundException) is an error naming the table
   * and `credstash setup`, or `onMissing()`'s answer where no table simply means nothing stored.
   */
  async #lifecycleCall<T>(operation: string, id: string | undefined, fn: () => Promise<T>, onMissing?: () => T): Promise<T> {
    const missing = Symbol('missing');
    const out = await this.#call('dynamodb', operation, id === undefined ? {} : { credentialId: id }, async (): Promise<T | typeof missing> => {
      try {
        return await fn();
      } catch (err) {
        if (awsErrorName(err) !== 'ResourceNotFoundException') throw err;
        if (onMissing !== undefined) return missing;
        const region = await this.#clients.regionOf('dynamodb');
        throw new StoreUnavailableError(
          `the lifecycle table "${this.lifecycleTable}" of ${this.description} does not exist${region === undefined ? '' : ` in ${region}`} (labels and rotation state are kept there); run \`credstash setup\` to create it`,
          { store: this.description, ...(id === undefined ? {} : { credentialId: id }), cause: err },
        );
      }
    });
    return out === missing ? (onMissing as () => T)() : (out as T);
  }

  /**
   * Create the table and its lifecycle table (both idempotent, the same billing and tags). The message is
   * the table's, with the lifecycle table named when this call created it. See dynamodb-setup.ts.
   */
  async setup(opts: SetupOptions = {}): Promise<SetupResult> {
    const { client, mod } = await this.#clients.dynamodb();
    const region = await this.#clients.regionOf('dynamodb');
    const call = <T>(operation: string, fn: () => Promise<T>): Promise<T> => this.#call('dynamodb', operation, {}, fn);
    const main = await setupTable({ client, mod, table: this.table, region, call }, opts);
    const lifecycle = await setupTable({ client, mod, table: this.lifecycleTable, hashOnly: true, region, call }, opts);
    if (!lifecycle.created) return main;
    return { created: true, message: `${main.message}; created its lifecycle table "${this.lifecycleTable}" (labels and rotation state)` };
  }

  /** Release both SDK clients this store built. */
  protected override async _close(): Promise<void> {
    this.#clients.close();
  }

  /**
   * `auto`: the name's newest format when the auto-versioning Query saw one, else the table's (sampled once).
   * A value legacy items cannot hold is refused rather than written as AES-GCM into a legacy table.
   */
  async #autoFormat(id: string, value: CredentialValue, seen: ItemFormat | 'none' | undefined): Promise<'aes-gcm' | 'legacy'> {
    let why: string;
    let format: ItemFormat;
    if (seen !== undefined && seen !== 'none') {
      format = seen;
      why = `the newest version of credential "${id}" is in the legacy format`;
    } else {
      format = await this.#sampleTable();
      why = `${this.description} holds legacy items`;
    }
    if (format === 'gcm') return 'aes-gcm';
    if (typeof value !== 'string') {
      throw new ValidationError(
        `credential "${id}" has a ${value instanceof Uint8Array ? 'binary' : 'JSON'} value, which the legacy format cannot hold, and ${why} ` +
          `(format "auto" keeps such tables readable by Python credstash); pass --format gcm (format = "gcm") to store it as AES-GCM`,
        { credentialId: id, store: this.description },
      );
    }
    if (!this.#legacyNoticeGiven) {
      this.#legacyNoticeGiven = true;
      this.#notice?.(`wrote the legacy (Python credstash) format because ${why}; ${LEGACY_UPGRADE_HINT}`);
    }
    return 'legacy';
  }

  /** One Scan of Limit 1: the format of the first item (legacy or AES-GCM), AES-GCM for an empty table. */
  #sampleTable(): Promise<ItemFormat> {
    return (this.#tableFormat ??= (async () => {
      const { client, mod } = await this.#clients.dynamodb();
      const out = await this.#call('dynamodb', 'Scan', {}, () =>
        client.send(
          new mod.ScanCommand({ TableName: this.table, Limit: 1, ProjectionExpression: '#n, #a', ExpressionAttributeNames: { '#n': 'name', '#a': 'algorithm' } }),
        ),
      );
      const first = out.Items?.[0];
      return first === undefined ? 'gcm' : sampledFormat(first);
    })().catch((err: unknown) => {
      this.#tableFormat = undefined;
      throw err;
    }));
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
  async #open(
    id: string,
    item: Item,
    context: EncryptionContext,
    light?: LightClients,
    label?: { name: string; target: CompanionLabel },
  ): Promise<StoredCredential> {
    const where = { credentialId: id, store: this.description };
    const format = itemFormat(item, where); // an unreadable algorithm fails before KMS is asked
    const blob = wrappedKey(item, where);
    const version = displayVersion(item.version?.S ?? '');
    const out =
      light === undefined
        ? await (async () => {
            const kms = await this.#clients.kms();
            return this.#call('kms', 'Decrypt', { credentialId: id, version }, () =>
              kms.client.send(new kms.mod.DecryptCommand({ CiphertextBlob: blob, EncryptionContext: { ...context } })),
            );
          })()
        : await this.#call('kms', 'Decrypt', { credentialId: id, version, region: light.regions.kms }, () =>
            light.decrypt({ CiphertextBlob: blob, EncryptionContext: { ...context } }),
          );
    if (out.Plaintext === undefined) {
      throw new CredstashError(KmsError.code, `KMS Decrypt returned no data key for credential "${id}" version ${version}`, where);
    }
    // The lifecycle checks under the same data key, before anything is returned (docs/FORMAT.md §8): a read
    // through a label verifies the label's proof for the version read, and an expiry its MAC.
    const dataKey = out.Plaintext;
    let meta: VersionMeta;
    try {
      if (label !== undefined && !verifyLabelProof(dataKey, id, label.name, label.target.v, label.target.proof)) {
        throw new IntegrityError({ credentialId: id, store: this.description, version });
      }
      meta = verifiedLifecycle(item, dataKey, where);
    } catch (err) {
      dataKey.fill(0);
      throw err;
    }
    // openItem decrypts by `format`, so its success establishes it: a GCM tag, or a legacy HMAC under a data
    // key of that format's size, verified. The `algorithm` attribute alone proves nothing.
    const atRest = format === 'gcm' ? 'aes-gcm' : 'legacy';
    // Re-encryption targets AES-GCM unless the config asks for legacy (`auto` keeps legacy only for plain writes).
    const cred = withAtRest(openItem(item, dataKey, where), { format: atRest, preferred: this.#format === 'legacy' ? 'legacy' : 'aes-gcm' });
    return withLifecycle(cred, meta);
  }

  /** Run one SDK call; map its error by `name` here, at the tier edge. */
  async #call<T>(service: 'dynamodb' | 'kms', operation: string, ctx: Partial<AwsErrorContext>, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      const mapped = mapAwsError(err, {
        ...ctx,
        service,
        operation,
        store: this.description,
        table: this.table,
        // The light path knows its region; asking the SDK client for it would load the SDK.
        region: ctx.region ?? (await this.#clients.regionOf(service)),
        endpoint: this.#endpoints[service],
        keyId: ctx.keyId,
        profile: this.#profile,
      });
      // No credentials because the named profile does not exist: say that (as the aws cli does).
      if (mapped instanceof AwsConfigError && /^no AWS credentials found/.test(mapped.message)) throw (await this.#clients.missingProfile()) ?? mapped;
      throw mapped;
    }
  }
}

function key(id: string, paddedVersion: string): Item {
  return { name: { S: id }, version: { S: paddedVersion } };
}

type WriteFormat = 'aes-gcm' | 'legacy' | 'auto';

/** A format name → its canonical form; a digest without a format means legacy (a digest exists only there). */
function resolveFormat(f: string | undefined, digest: string | undefined): WriteFormat {
  if (f === undefined) return digest === undefined ? 'auto' : 'legacy';
  const canonical = parseFormat(f);
  if (canonical === 'aes-gcm' && digest !== undefined) {
    throw new ValidationError('a digest applies only to the legacy format; drop the digest or use format "legacy"');
  }
  return canonical;
}

function parseFormat(f: string): WriteFormat {
  const lower = f.toLowerCase();
  if (lower === 'aes-gcm' || lower === 'gcm' || lower === 'aes-256-gcm') return 'aes-gcm';
  if (lower === 'legacy' || lower === 'aes-ctr-legacy') return 'legacy';
  if (lower === 'auto') return 'auto';
  throw new ValidationError('dynamodb write format must be "gcm", "legacy" or "auto"');
}

/** Legacy when the item has no algorithm (or Python's own name for it), else AES-GCM. */
function sampledFormat(item: Item): ItemFormat {
  const alg = item.algorithm?.S;
  return alg === undefined || alg === 'aes-ctr-legacy' ? 'legacy' : 'gcm';
}

function parseDigest(d: string): LegacyDigest {
  const up = d.toUpperCase();
  if (!isLegacyDigest(up)) throw new ValidationError(`digest must be one of ${LEGACY_DIGESTS.join(', ')}`);
  return up;
}
