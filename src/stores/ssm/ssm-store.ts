/**
 * AWS Systems Manager Parameter Store tier (docs/stores.md#ssm).
 *
 * Credential `app.db` is the SecureString parameter `<prefix>app.db` (default prefix `/credstash/credentials/`).
 * Versions are SSM's own: SSM assigns them (1, 2, ...) and keeps the newest 100. Consequences, decided here:
 * - `autoVersion` = PutParameter with Overwrite=true; the version returned is the one SSM assigned.
 * - an explicit version 1 = PutParameter with Overwrite=false (atomic create; an existing parameter is a
 *   VersionConflictError). An explicit version N > 1 must be the next one: N <= current is a
 *   VersionConflictError, N > current + 1 is an UnsupportedOperationError (SSM cannot skip numbers).
 * - deleting one version is an UnsupportedOperationError (SSM deletes a parameter with all its versions).
 * - encryption context (on any read or write), binary values and the empty string are UnsupportedOperationErrors.
 * - values (core/string-values.ts): a JSON object is written as its compact JSON; text as is, except text that
 *   would read back as structured (compact JSON-object text) or starts with `credstash:text:`, which is written
 *   behind that marker. So a text value comes back as the same text, byte for byte, and only a value stored as
 *   structured comes back structured; values written before the marker existed read as they always did,
 *   except text that is not the exact compact JSON of an object, which now stays text instead of being altered.
 * - definitions are parameter tags (`credstash:name`, `credstash:credential_type`, `credstash:description`,
 *   `credstash:meta:<key>`); comments are the per-version Description, sent on every write (empty without a
 *   comment: SSM keeps the previous Description when a PutParameter has none).
 * - the client is built by the session every AWS tier shares (stores/aws/aws-clients.ts): region (no us-east-1
 *   fallback: SSM is not a Python credstash tier, and parameters are regional), endpoint, `profile`,
 *   `role_arn` (STS AssumeRole), a request timeout (SSM's SDK sets none), proxy, the SDK's bounded retries.
 *   Failures that are not SSM's own answer (no answer, credentials, region, throttling, access denied) are
 *   mapped as DynamoDB's (ssm-errors.ts, stores/aws/aws-errors.ts): the same message apart from the service.
 * - the version lifecycle (docs/lifecycle.md, "How each tier keeps it"): labels are SSM's own parameter labels
 *   (LabelParameterVersion / UnlabelParameterVersion, read through `name:label`); history is
 *   GetParameterHistory without decryption (LastModifiedDate, LastModifiedUser, Description, Labels, the size
 *   of the encrypted value); an expiry is written twice in the one PutParameter of the version: in the value,
 *   as `credstash:expires:<ISO 8601>:` before the encoded value (encrypted by KMS with it, so `get` knows it
 *   without another request), and in the version's Description, `credstash:expires:<ISO 8601>` before the
 *   comment (read by history and `check --expiring` without decrypting). SSM parameter policies are not used:
 *   their Expiration deletes the parameter, and nothing may be deleted because it expired.
 */
import {
  AddTagsToResourceCommand,
  DeleteParameterCommand,
  DescribeParametersCommand,
  GetParameterCommand,
  GetParameterHistoryCommand,
  GetParametersByPathCommand,
  LabelParameterVersionCommand,
  ListTagsForResourceCommand,
  PutParameterCommand,
  UnlabelParameterVersionCommand,
  SSMClient,
  type ParameterHistory,
  type ParameterMetadata,
  type PutParameterCommandInput,
  type SSMClientConfig,
  type Tag,
} from '@aws-sdk/client-ssm';
import {
  CredentialNotFoundError,
  CredstashError,
  LabelConflictError,
  UnsupportedOperationError,
  ValidationError,
  ValueTooLargeError,
  VersionConflictError,
} from '../../core/errors.js';
import { withLifecycle, type VersionMeta } from '../../core/lifecycle.js';
import { matchesGlob } from '../../core/names.js';
import {
  BaseStore,
  compareSummaries,
  mapConcurrent,
  type ListHookOptions,
  type ResolvedNextWriteOptions,
  type ResolvedReadOptions,
  type ResolvedWriteOptions,
  type VersionRecord,
  type VersionsHookOptions,
} from '../../core/store.js';
import { decodeStringValue, encodeStringValue, TEXT_MARKER } from '../../core/string-values.js';
import type {
  CredentialDefinition,
  CredentialSummary,
  CredentialValue,
  JsonValue,
  StoreCapabilities,
  StoredCredential,
} from '../../core/types.js';
import { CREDENTIAL_TYPES } from '../../core/types.js';
import { valueByteLength } from '../../core/value.js';
import { padVersion, versionNumber } from '../../core/version.js';
import { loadConfig, loadSharedConfigFiles, NODE_REGION_CONFIG_FILE_OPTIONS, NODE_REGION_CONFIG_OPTIONS } from '@smithy/core/config';
import { AwsSession, type AwsStsModule } from '../aws/aws-clients.js';
import { awsErrorName, envEndpoint } from '../aws/aws-transport.js';
import { mapSsmError } from './ssm-errors.js';

export const DEFAULT_SSM_PREFIX = '/credstash/credentials/';
export type SSMTier = 'Standard' | 'Advanced' | 'Intelligent-Tiering';

export interface SSMStoreOptions {
  /** Parameter name prefix; must start and end with `/` (default `/credstash/credentials/`). */
  prefix?: string;
  /** KMS key id, ARN or alias for SecureString (default: SSM's `alias/aws/ssm`). */
  kmsKeyId?: string;
  region?: string;
  endpoint?: string;
  /** Parameter tier: Standard (4 KB values, default), Advanced or Intelligent-Tiering (8 KB). */
  tier?: SSMTier;
  /** An SSM client to use (reused as is); otherwise one is built on first use and kept. */
  client?: SSMClient;
  /** Extra SSMClient settings for the client built here (they win over the ones below). */
  clientConfig?: SSMClientConfig;
  /** SDK attempts per request, retries included (default: the SDK's, 3). */
  maxAttempts?: number;
  /** Per-request timeout in ms (default 10 000; connection timeout the smaller of this and 3 000). */
  requestTimeoutMs?: number;
  /** Shared-config profile (default: AWS_PROFILE); a profile in neither shared file is an error naming it. */
  profile?: string;
  /** Assume this role through STS (session name AssumeRoleCredstashSession1) for every call. */
  roleArn?: string;
  /** Asked for the code of an MFA device (`mfa_serial` of an assume-role profile); the CLI prompts on a terminal. */
  mfaCodeProvider?: (mfaSerial: string) => Promise<string>;
  /** Parallel GetParameterHistory calls when listing every version (default 4). */
  listConcurrency?: number;
}

/** The subset of a ResolvedReadOptions the tier needs, plus the SSM-specific read of tags. */
const TAG_PREFIX = 'credstash:';
const TAG_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

/**
 * An expiry kept with a version: in the value (`credstash:expires:<ISO>:` + the encoded value) and in the
 * Description (`credstash:expires:<ISO>`, then a space and the comment if there is one).
 */
export const EXPIRY_MARKER = 'credstash:expires:';
const VALUE_EXPIRY = /^credstash:expires:([0-9+-][0-9T:.Z+-]{9,31}):/;
const DESCRIPTION_EXPIRY = /^credstash:expires:([0-9+-][0-9T:.Z+-]{9,31})(?: ([\s\S]*))?$/;

/** SSM's label rules beyond credstash's own: no label may start with `aws` or `ssm` (any case), at most 100 characters. */
function ssmLabelProblem(label: string): string | undefined {
  if (/^(aws|ssm)/i.test(label)) return 'ssm labels cannot begin with "aws" or "ssm"';
  if (label.length > 100) return 'ssm labels are at most 100 characters';
  return undefined;
}

export class SSMStore extends BaseStore {
  readonly kind = 'ssm';
  readonly description: string;
  readonly capabilities: StoreCapabilities = { write: true, delete: true, context: false, versions: true, labels: true, history: true, expiry: true };
  protected readonly maxValueBytes: number;
  readonly prefix: string;
  readonly #opts: SSMStoreOptions;
  /** For messages only: the configured endpoint, else the SDK's variables (unless a client was injected). */
  readonly #endpoint: string | undefined;
  readonly #session: AwsSession;
  #client?: SSMClient;

  constructor(opts: SSMStoreOptions = {}) {
    super();
    const prefix = opts.prefix ?? DEFAULT_SSM_PREFIX;
    if (!/^\/([A-Za-z0-9_.\-/]*\/)?$/.test(prefix) || prefix.includes('//')) {
      throw new ValidationError('ssm prefix must start and end with "/" and contain only letters, digits, _ . - /');
    }
    this.prefix = prefix;
    this.#opts = opts;
    this.#endpoint = opts.endpoint ?? (opts.client === undefined ? envEndpoint('SSM') : undefined);
    const tier = opts.tier ?? 'Standard';
    this.maxValueBytes = tier === 'Standard' ? 4096 : 8192;
    this.description = `ssm parameters ${prefix}*${opts.region === undefined ? '' : ` in ${opts.region}`}`;
    // No fallback region: with none configured anywhere, "no AWS region configured" (see the file comment).
    this.#session = new AwsSession(opts, {
      store: this.description,
      regionChain: async () => ({ loadConfig, loadSharedConfigFiles, NODE_REGION_CONFIG_OPTIONS, NODE_REGION_CONFIG_FILE_OPTIONS }),
      sts: async () => (await import('@aws-sdk/client-sts')) as unknown as AwsStsModule,
    });
  }

  #ssm(): SSMClient {
    if (this.#client !== undefined) return this.#client;
    // Region, endpoint, profile, role, timeouts, proxy and retries as every AWS tier builds its clients.
    this.#client = this.#opts.client ?? new SSMClient({
      ...(this.#session.clientConfig(this.#opts.endpoint === undefined ? {} : { endpoint: this.#opts.endpoint }) as SSMClientConfig),
      ...this.#opts.clientConfig,
    });
    return this.#client;
  }

  /** Destroy the client this store built (an injected one belongs to the caller). */
  protected override async _close(): Promise<void> {
    if (this.#client !== undefined && this.#opts.client === undefined) this.#client.destroy();
    this.#client = undefined;
  }

  /** Parameter name of a credential id. @throws ValidationError for characters SSM does not allow */
  parameterName(id: string): string {
    if (!/^[A-Za-z0-9_.\-/]+$/.test(id) || id.startsWith('/') || id.endsWith('/') || id.includes('//')) {
      throw new ValidationError(`credential id "${id}" cannot be an ssm parameter name (letters, digits, _ . - and inner / only)`, { credentialId: id });
    }
    const name = this.prefix + id;
    if (name.length > 1011) throw new ValidationError(`ssm parameter name for credential "${id}" is longer than 1011 characters`, { credentialId: id });
    return name;
  }

  protected async _get(id: string, opts: ResolvedReadOptions): Promise<StoredCredential | undefined> {
    let name = this.parameterName(id);
    if (opts.version !== undefined) {
      const n = versionNumber(opts.version);
      if (n === undefined || n < 1) return undefined;
      name = `${name}:${n}`;
    }
    return this.#read(id, name);
  }

  /** One decrypted GetParameter of `name` (`name`, `name:N` or `name:label`) as a credential with its lifecycle facts. */
  async #read(id: string, name: string): Promise<StoredCredential | undefined> {
    try {
      const out = await this.#ssm().send(new GetParameterCommand({ Name: name, WithDecryption: true }));
      const p = out.Parameter;
      if (p?.Value === undefined || p.Version === undefined) return undefined;
      return credentialOf(id, p.Version, p.Value, p.LastModifiedDate);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw await this.#fail(err, 'GetParameter', id);
    }
  }

  protected override async _exists(id: string, version: string | undefined): Promise<boolean> {
    let name = this.parameterName(id);
    if (version !== undefined) {
      const n = versionNumber(version);
      if (n === undefined || n < 1) return false;
      name = `${name}:${n}`;
    }
    try {
      await this.#ssm().send(new GetParameterCommand({ Name: name, WithDecryption: false }));
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw await this.#fail(err, 'GetParameter', id);
    }
  }

  protected async _highestVersion(id: string): Promise<number> {
    try {
      const out = await this.#ssm().send(new GetParameterCommand({ Name: this.parameterName(id), WithDecryption: false }));
      return out.Parameter?.Version ?? 0;
    } catch (err) {
      if (isNotFound(err)) return 0;
      throw await this.#fail(err, 'GetParameter', id);
    }
  }

  /** `autoVersion`: PutParameter with Overwrite=true; SSM assigns the next version and says which. */
  protected override async _putNext(id: string, value: CredentialValue, opts: ResolvedNextWriteOptions): Promise<number> {
    const text = this.#encode(id, value, opts.meta.expiresAt);
    return this.#write(id, text, { ...opts, version: 0 }, true);
  }

  /**
   * An explicit version: 1 creates the parameter (Overwrite=false, atomic); N > 1 must be the next one SSM
   * will assign (N <= current: VersionConflictError; N > current + 1: SSM cannot skip numbers).
   */
  protected async _put(id: string, value: CredentialValue, opts: ResolvedWriteOptions): Promise<void> {
    this.parameterName(id);
    const text = this.#encode(id, value, opts.meta.expiresAt);
    const wanted = opts.version;
    if (wanted > 1) {
      const highest = await this._highestVersion(id);
      if (wanted <= highest) throw new VersionConflictError({ credentialId: id, store: this.description, version: wanted, highest });
      if (wanted > highest + 1) {
        throw new UnsupportedOperationError(this.description, `explicit version ${wanted} for credential "${id}" (ssm assigns versions; the next one is ${highest + 1})`);
      }
    }
    await this.#write(id, text, opts, wanted > 1);
  }

  /**
   * The parameter value: text or compact JSON, text behind the marker when it would read as structured or as an
   * expiry envelope; with an expiry, `credstash:expires:<ISO>:` in front. What is stored counts against the limit.
   */
  #encode(id: string, value: CredentialValue, expiresAt: string | undefined): string {
    if (value instanceof Uint8Array) throw new UnsupportedOperationError(this.description, 'binary values');
    if (typeof value !== 'string' && (value === null || typeof value !== 'object' || Array.isArray(value))) {
      throw new ValidationError('credential value must be a string, bytes, or a JSON object');
    }
    if (value === '') throw new UnsupportedOperationError(this.description, 'empty values');
    let text = encodeStringValue(value);
    if (text === value && value.startsWith(EXPIRY_MARKER)) text = TEXT_MARKER + value;
    if (expiresAt === undefined) return text;
    text = `${EXPIRY_MARKER}${expiresAt}:${text}`;
    const size = Buffer.byteLength(text, 'utf8');
    if (size > this.maxValueBytes) throw new ValueTooLargeError({ credentialId: id, store: this.description, size, limit: this.maxValueBytes });
    return text;
  }

  /** SSM's limit is on what is stored: a text behind the marker counts the marker. */
  protected override _storedSize(value: CredentialValue): number {
    const size = valueByteLength(value); // the checks every tier makes on a value (text UTF-8 can hold, JSON depth)
    if (typeof value !== 'string' || value === '') return size;
    const text = encodeStringValue(value);
    return Buffer.byteLength(text === value && value.startsWith(EXPIRY_MARKER) ? TEXT_MARKER + value : text, 'utf8');
  }

  /** One PutParameter; Overwrite=false creates (version 1) atomically with its tags. Returns SSM's version. */
  async #write(id: string, text: string, opts: ResolvedWriteOptions, overwrite: boolean): Promise<number> {
    const name = this.parameterName(id);
    const tags = opts.definition === undefined ? [] : definitionTags(id, opts.definition);
    const description = descriptionOf(opts.comment, opts.meta.expiresAt);
    const input: PutParameterCommandInput = {
      Name: name,
      Value: text,
      Type: 'SecureString',
      Overwrite: overwrite,
      Tier: this.#opts.tier ?? 'Standard',
      ...(opts.keyId ?? this.#opts.kmsKeyId ? { KeyId: opts.keyId ?? this.#opts.kmsKeyId } : {}),
      // Always sent: with no Description, SSM keeps the previous version's on the new version.
      Description: description,
      // SSM refuses Tags together with Overwrite=true; they are added separately below.
      ...(!overwrite && tags.length > 0 ? { Tags: tags } : {}),
    };
    let version: number;
    try {
      const out = await this.#ssm().send(new PutParameterCommand(input));
      version = out.Version ?? 1;
    } catch (err) {
      if (awsErrorName(err) === 'ParameterAlreadyExists') {
        throw new VersionConflictError({ credentialId: id, store: this.description, version: opts.version > 0 ? opts.version : 1, cause: err });
      }
      if (awsErrorName(err) === 'ParameterMaxVersionLimitExceeded') {
        // SSM keeps 100 versions and deletes the oldest on a write, except when a label is on it.
        throw new ValidationError(
          `credential "${id}" has 100 versions in ${this.description} and the oldest, which ssm would delete to make room, has a label; move that label to a newer version (credstash label) and store again`,
          { credentialId: id, store: this.description, cause: err },
        );
      }
      throw await this.#fail(err, 'PutParameter', id);
    }
    if (overwrite && tags.length > 0) {
      try {
        await this.#ssm().send(new AddTagsToResourceCommand({ ResourceType: 'Parameter', ResourceId: name, Tags: tags }));
      } catch (err) {
        throw await this.#fail(err, 'AddTagsToResource', id);
      }
    }
    return version;
  }

  /** The definition kept in the parameter's tags, or undefined when it has none. */
  async getDefinition(id: string): Promise<CredentialDefinition | undefined> {
    const name = this.parameterName(id);
    return this.wrap(async () => {
      try {
        const out = await this.#ssm().send(new ListTagsForResourceCommand({ ResourceType: 'Parameter', ResourceId: name }));
        return tagsToDefinition(id, out.TagList ?? []);
      } catch (err) {
        if (isNotFound(err) || awsErrorName(err) === 'InvalidResourceId') return undefined;
        throw await this.#fail(err, 'ListTagsForResource', id);
      }
    }, id);
  }

  protected async _delete(id: string, version: string | undefined): Promise<string[]> {
    if (version !== undefined) {
      throw new UnsupportedOperationError(this.description, 'deleting a single version (ssm deletes a parameter with all its versions)');
    }
    const name = this.parameterName(id);
    const versions = await this.#history(id, name);
    if (versions.length === 0) return [];
    try {
      await this.#ssm().send(new DeleteParameterCommand({ Name: name }));
    } catch (err) {
      if (isNotFound(err)) return [];
      throw await this.#fail(err, 'DeleteParameter', id);
    }
    return versions.map((v) => v.version);
  }

  /**
   * The newest version of every parameter under the prefix is one DescribeParameters listing (paginated);
   * every version needs one GetParameterHistory per matching parameter on top. Nothing decrypted.
   */
  protected async _list(opts: ListHookOptions): Promise<CredentialSummary[]> {
    const params = await this.#describe();
    if (opts.latestOnly) return params.map((p) => ({ id: p.id, version: p.version, ...(p.comment === undefined ? {} : { comment: p.comment }) }));
    const wanted = params.filter((p) => matchesGlob(opts.pattern, p.id));
    const lists = await mapConcurrent(wanted, this.#opts.listConcurrency ?? 4, (p) => this.#history(p.id, this.prefix + p.id));
    return lists.flat();
  }

  /** Newest versions in bulk: GetParametersByPath (recursive, decrypted, paginated) instead of one call per id. */
  protected override async _getAll(ids: string[], opts: ResolvedReadOptions & { concurrency: number }): Promise<Array<StoredCredential | Error | undefined>> {
    if (opts.version !== undefined) return super._getAll(ids, opts);
    const byName = new Map<string, StoredCredential>();
    let next: string | undefined;
    try {
      do {
        const out = await this.#ssm().send(new GetParametersByPathCommand({
          Path: this.#path(),
          Recursive: true,
          WithDecryption: true,
          MaxResults: 10,
          ...(next === undefined ? {} : { NextToken: next }),
        }));
        for (const p of out.Parameters ?? []) {
          if (p.Name === undefined || p.Value === undefined || p.Version === undefined || !p.Name.startsWith(this.prefix)) continue;
          const id = p.Name.slice(this.prefix.length);
          byName.set(id, credentialOf(id, p.Version, p.Value, p.LastModifiedDate));
        }
        next = out.NextToken;
      } while (next !== undefined);
    } catch (err) {
      throw await this.#fail(err, 'GetParametersByPath');
    }
    return ids.map((id) => byName.get(id));
  }

  #path(): string {
    return this.prefix === '/' ? '/' : this.prefix.slice(0, -1);
  }

  async #describe(): Promise<VersionRecord[]> {
    const out: VersionRecord[] = [];
    let next: string | undefined;
    try {
      do {
        const res = await this.#ssm().send(new DescribeParametersCommand({
          ParameterFilters: [{ Key: 'Path', Option: 'Recursive', Values: [this.#path()] }],
          MaxResults: 50,
          ...(next === undefined ? {} : { NextToken: next }),
        }));
        for (const p of res.Parameters ?? []) {
          const s = summaryOf(this.prefix, p);
          if (s !== undefined) out.push(s);
        }
        next = res.NextToken;
      } while (next !== undefined);
    } catch (err) {
      throw await this.#fail(err, 'DescribeParameters');
    }
    return out;
  }

  async #history(id: string, name: string): Promise<CredentialSummary[]> {
    return (await this.#historyRecords(id, name)).map(({ id: i, version, comment }) => ({ id: i, version, ...(comment === undefined ? {} : { comment }) }));
  }

  /**
   * Every version SSM keeps of a parameter, from GetParameterHistory without decryption (pages of 50, so 100
   * versions are 2 requests): the facts of each version and the labels on it (padded version -> labels).
   */
  async #historyRecords(id: string, name: string, labels?: Map<string, string[]>): Promise<VersionRecord[]> {
    const out: VersionRecord[] = [];
    let next: string | undefined;
    try {
      do {
        const res = await this.#ssm().send(new GetParameterHistoryCommand({
          Name: name,
          WithDecryption: false,
          MaxResults: 50,
          ...(next === undefined ? {} : { NextToken: next }),
        }));
        for (const h of res.Parameters ?? []) {
          if (h.Version === undefined) continue;
          out.push(historyRecord(id, h));
          if (labels !== undefined && h.Labels !== undefined && h.Labels.length > 0) labels.set(padVersion(h.Version), [...h.Labels]);
        }
        next = res.NextToken;
      } while (next !== undefined);
    } catch (err) {
      if (isNotFound(err)) return [];
      throw await this.#fail(err, 'GetParameterHistory', id);
    }
    return out.sort(compareSummaries);
  }

  // ---- Lifecycle: history, native labels ----

  /**
   * Versions with their facts, never decrypted: one credential = its GetParameterHistory; the newest of each
   * = the DescribeParameters listing (no size there); every version = the listing plus one history each.
   */
  protected override async _versions(opts: VersionsHookOptions): Promise<VersionRecord[]> {
    if (opts.id !== undefined) return this.#historyRecords(opts.id, this.parameterName(opts.id));
    const params = await this.#describe();
    if (opts.latestOnly) return params;
    const wanted = params.filter((p) => matchesGlob(opts.pattern, p.id));
    const lists = await mapConcurrent(wanted, this.#opts.listConcurrency ?? 4, (p) => this.#historyRecords(p.id, this.prefix + p.id));
    return lists.flat();
  }

  /** A read through a native label: one GetParameter of `name:label` (a label SSM could not hold reads as absent, with no request). */
  protected override async _getByLabel(id: string, label: string): Promise<StoredCredential | undefined> {
    const name = this.parameterName(id);
    if (ssmLabelProblem(label) !== undefined) return undefined;
    return this.#read(id, `${name}:${label}`);
  }

  /**
   * Labels (id -> label -> padded version): one credential = its GetParameterHistory (SSM returns labels only
   * there); every matching credential = the DescribeParameters listing plus one history each.
   */
  protected override async _nativeLabels(id: string | undefined, pattern: string | undefined): Promise<Map<string, Record<string, string>>> {
    const ids = id !== undefined ? [id] : (await this.#describe()).map((p) => p.id).filter((i) => matchesGlob(pattern, i));
    const out = new Map<string, Record<string, string>>();
    await mapConcurrent(ids, this.#opts.listConcurrency ?? 4, async (i) => {
      const byVersion = new Map<string, string[]>();
      await this.#historyRecords(i, this.parameterName(i), byVersion);
      const labels: Record<string, string> = {};
      for (const [v, names] of byVersion) for (const n of names) labels[n] = v;
      if (Object.keys(labels).length > 0 || id !== undefined) out.set(i, labels);
    });
    return out;
  }

  /**
   * Move a label with one LabelParameterVersion (SSM moves it atomically from whichever version had it), or
   * remove it: GetParameter of `name:label` for the version it is on, then UnlabelParameterVersion of exactly
   * that version, so a label moved in between is a LabelConflictError rather than a removal of the new target.
   */
  protected override async _moveNativeLabel(id: string, label: string, paddedVersion: string | undefined): Promise<void> {
    const name = this.parameterName(id);
    const problem = ssmLabelProblem(label);
    if (problem !== undefined) throw new ValidationError(`label "${label}" cannot be an ssm parameter label: ${problem}; choose another name`, { credentialId: id });
    if (paddedVersion !== undefined) {
      const n = versionNumber(paddedVersion) ?? 0;
      let invalid: string[];
      try {
        const out = await this.#ssm().send(new LabelParameterVersionCommand({ Name: name, ParameterVersion: n, Labels: [label] }));
        invalid = out.InvalidLabels ?? [];
      } catch (err) {
        throw await this.#labelFail(err, 'LabelParameterVersion', id, label, n);
      }
      if (invalid.includes(label)) throw new ValidationError(`ssm refused label "${label}" of credential "${id}" in ${this.description} (InvalidLabels: ssm labels cannot begin with a digit, "aws" or "ssm"); choose another name`, { credentialId: id });
      return;
    }
    let version: number | undefined;
    try {
      const out = await this.#ssm().send(new GetParameterCommand({ Name: `${name}:${label}`, WithDecryption: false }));
      version = out.Parameter?.Version;
    } catch (err) {
      if (!isNotFound(err)) throw await this.#fail(err, 'GetParameter', id);
    }
    if (version === undefined) throw new CredentialNotFoundError({ credentialId: id, store: this.description, label });
    let invalid: string[];
    try {
      const out = await this.#ssm().send(new UnlabelParameterVersionCommand({ Name: name, ParameterVersion: version, Labels: [label] }));
      invalid = out.InvalidLabels ?? [];
    } catch (err) {
      throw await this.#labelFail(err, 'UnlabelParameterVersion', id, label, version);
    }
    // SSM lists a label that is not on that version (any more) as invalid: another writer moved or removed it.
    if (invalid.includes(label)) throw new LabelConflictError({ credentialId: id, store: this.description, label });
  }

  /** SSM's answers to a label call as typed errors: the 10-label limit, a version SSM no longer keeps, a concurrent update. */
  async #labelFail(err: unknown, operation: string, id: string, label: string, version: number): Promise<CredstashError> {
    switch (awsErrorName(err)) {
      case 'ParameterVersionLabelLimitExceeded':
        return new ValidationError(
          `version ${version} of credential "${id}" in ${this.description} already has 10 labels, ssm's limit per version; remove one (credstash unlabel) or label another version`,
          { credentialId: id },
        );
      case 'ParameterNotFound':
        return new CredentialNotFoundError({ credentialId: id, store: this.description });
      case 'ParameterVersionNotFound':
        return new CredentialNotFoundError({ credentialId: id, store: this.description, version });
      case 'TooManyUpdates':
        return new LabelConflictError({ credentialId: id, store: this.description, label });
      default:
        return this.#fail(err, operation, id);
    }
  }

  /** The region for messages: the configured one, else the client's; undefined when it cannot be resolved. */
  async #regionForMessages(): Promise<string | undefined> {
    try {
      const r = this.#ssm().config.region;
      return typeof r === 'function' ? await r() : r;
    } catch {
      return undefined;
    }
  }

  /**
   * Any failure of one SSM call as a typed error naming SSM, the operation and the endpoint or region, mapped
   * here at the tier edge (ssm-errors.ts); no credentials because the named profile does not exist says that.
   */
  async #fail(err: unknown, operation: string, credentialId?: string): Promise<CredstashError> {
    if (err instanceof CredstashError) return err;
    const region = await this.#regionForMessages();
    const profile = this.#session.profile;
    return this.#session.explain(mapSsmError(err, {
      operation,
      store: this.description,
      ...(credentialId === undefined ? {} : { credentialId }),
      ...(region === undefined ? {} : { region }),
      ...(this.#endpoint === undefined ? {} : { endpoint: this.#endpoint }),
      ...(profile === undefined ? {} : { profile }),
    }));
  }
}

function isNotFound(err: unknown): boolean {
  const n = awsErrorName(err);
  return n === 'ParameterNotFound' || n === 'ParameterVersionNotFound';
}

function summaryOf(prefix: string, p: ParameterMetadata): VersionRecord | undefined {
  if (p.Name === undefined || p.Version === undefined || !p.Name.startsWith(prefix)) return undefined;
  return factsOf({ id: p.Name.slice(prefix.length), version: String(p.Version) }, p.Description, p.LastModifiedDate, p.LastModifiedUser);
}

function historyRecord(id: string, h: ParameterHistory): VersionRecord {
  const r = factsOf({ id, version: String(h.Version) }, h.Description, h.LastModifiedDate, h.LastModifiedUser);
  // Without decryption a SecureString's Value is its encrypted form: its size is what SSM holds.
  if (h.Value !== undefined) r.size = Buffer.byteLength(h.Value, 'utf8');
  return r;
}

/** Comment and expiry from a Description, created time and writer from SSM's own fields. */
function factsOf(r: VersionRecord, description: string | undefined, modified: Date | undefined, user: string | undefined): VersionRecord {
  const { comment, expiresAt } = parseDescription(description);
  if (comment !== undefined) r.comment = comment;
  if (expiresAt !== undefined) r.expiresAt = expiresAt;
  if (modified instanceof Date && !Number.isNaN(modified.getTime())) r.createdAt = modified.toISOString();
  if (user !== undefined && user !== '') r.writtenBy = user;
  return r;
}

/** The Description a version is written with: the comment, behind the expiry when there is one. */
export function descriptionOf(comment: string | undefined, expiresAt: string | undefined): string {
  if (comment !== undefined && comment.startsWith(EXPIRY_MARKER)) {
    throw new ValidationError(`an ssm comment cannot begin with "${EXPIRY_MARKER}" (the tier keeps expiry times there)`);
  }
  const text = expiresAt === undefined ? (comment ?? '') : `${EXPIRY_MARKER}${expiresAt}${comment === undefined || comment === '' ? '' : ` ${comment}`}`;
  if (text.length > 1024) {
    throw new ValidationError(`ssm comments (parameter descriptions) are at most 1024 characters${expiresAt === undefined ? '' : `, ${1024 - EXPIRY_MARKER.length - expiresAt.length - 1} with an expiry`}`);
  }
  return text;
}

/** A Description as comment and expiry (an expiry that is not a date is left in the comment). */
export function parseDescription(description: string | undefined): { comment?: string; expiresAt?: string } {
  if (description === undefined || description === '') return {};
  const m = DESCRIPTION_EXPIRY.exec(description);
  if (m === null || Number.isNaN(Date.parse(m[1] as string))) return { comment: description };
  const out: { comment?: string; expiresAt?: string } = { expiresAt: new Date(m[1] as string).toISOString() };
  if (m[2] !== undefined && m[2] !== '') out.comment = m[2];
  return out;
}

/** A stored value as the value and its expiry (`credstash:expires:<ISO>:` in front), see EXPIRY_MARKER. */
export function decodeSsmStored(raw: string): { value: CredentialValue; expiresAt?: string } {
  const m = VALUE_EXPIRY.exec(raw);
  if (m === null || Number.isNaN(Date.parse(m[1] as string))) return { value: decodeStringValue(raw) };
  return { value: decodeStringValue(raw.slice(m[0].length)), expiresAt: new Date(m[1] as string).toISOString() };
}

function credentialOf(id: string, version: number, raw: string, modified: Date | undefined): StoredCredential {
  const { value, expiresAt } = decodeSsmStored(raw);
  const meta: VersionMeta = {};
  if (expiresAt !== undefined) meta.expiresAt = expiresAt;
  if (modified instanceof Date && !Number.isNaN(modified.getTime())) meta.createdAt = modified.toISOString();
  return withLifecycle({ id, version: String(version), value }, meta);
}

/**
 * A parameter value as a credential: text behind the `credstash:text:` marker, a structured credential when the
 * value is exactly the compact JSON of an object, otherwise the text itself (core/string-values.ts).
 */
export function decodeSsmValue(raw: string): CredentialValue {
  return decodeSsmStored(raw).value;
}

/** Definition -> tags. Tag values have SSM's charset and 256 characters; say which field does not fit. */
export function definitionTags(id: string, def: CredentialDefinition): Tag[] {
  const tags: Tag[] = [];
  const add = (key: string, value: string, field: string): void => {
    if (value.length > 256 || !TAG_VALUE.test(value)) {
      throw new ValidationError(`definition ${field} of credential "${id}" does not fit an ssm tag (at most 256 letters, digits, spaces and _ . : / = + - @)`, { credentialId: id });
    }
    tags.push({ Key: TAG_PREFIX + key, Value: value });
  };
  if (def.name !== undefined) add('name', def.name, 'name');
  if (def.credential_type !== undefined) add('credential_type', def.credential_type, 'credential_type');
  if (def.description !== undefined) add('description', def.description, 'description');
  for (const [k, v] of Object.entries(def.metadata ?? {})) {
    if (typeof v !== 'string') throw new ValidationError(`definition metadata "${k}" of credential "${id}" must be a string to be an ssm tag`, { credentialId: id });
    if (!/^[A-Za-z0-9_.:/=+\-@]{1,100}$/.test(k)) throw new ValidationError(`definition metadata key of credential "${id}" does not fit an ssm tag key`, { credentialId: id });
    add(`meta:${k}`, v, `metadata "${k}"`);
  }
  return tags;
}

export function tagsToDefinition(id: string, tags: readonly Tag[]): CredentialDefinition | undefined {
  const def: CredentialDefinition = { id };
  // A Map, then Object.fromEntries: `obj[key] =` with a tag named credstash:meta:__proto__ would set the
  // prototype instead of adding the pair, and the key would vanish.
  const metadata = new Map<string, JsonValue>();
  let any = false;
  for (const t of tags) {
    if (t.Key === undefined || t.Value === undefined || !t.Key.startsWith(TAG_PREFIX)) continue;
    const k = t.Key.slice(TAG_PREFIX.length);
    any = true;
    if (k === 'name') def.name = t.Value;
    else if (k === 'description') def.description = t.Value;
    else if (k === 'credential_type' && (CREDENTIAL_TYPES as readonly string[]).includes(t.Value)) def.credential_type = t.Value as CredentialDefinition['credential_type'];
    else if (k.startsWith('meta:')) metadata.set(k.slice(5), t.Value);
  }
  if (metadata.size > 0) def.metadata = Object.fromEntries(metadata);
  return any ? def : undefined;
}
