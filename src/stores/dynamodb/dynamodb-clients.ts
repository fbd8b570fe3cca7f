/**
 * Lazy AWS clients for the envelope tier (clients are injected, never reached for): an injected client is used as is; otherwise each
 * client is built once, on first use, from the SDK's own configuration chain plus credstash's options
 * (region, KMS region, endpoints, profile, assume-role). Nothing from the AWS SDK loads until a request is made.
 */
import type { DynamoDBClient, DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import type { KMSClient, KMSClientConfig } from '@aws-sdk/client-kms';
import { AwsConfigError } from '../../core/errors.js';
import { configuredRegion, DEFAULT_REQUEST_TIMEOUT_MS, requestHandlerOptions } from '../aws/aws-transport.js';
import { withNetworkAgents } from '../aws/aws-network-env.js';
import { mapAwsError, sanitizeAwsText } from './dynamodb-errors.js';

// The SDK through two re-export modules that name what the store uses: a dynamic import() of the whole
// package kept every command, paginator, waiter and error class in the CLI bundle's chunk (esbuild cannot
// tree-shake a dynamically imported namespace); the named re-exports halve the chunks `credstash get` loads.
export type DynamoDBModule = typeof import('./aws-dynamodb.js');
export type KMSModule = typeof import('./aws-kms.js');
type CredentialsOption = DynamoDBClientConfig['credentials'];

/** Python credstash's session name for `-n/--arn` (docs/FORMAT.md §7). */
export const ASSUME_ROLE_SESSION_NAME = 'AssumeRoleCredstashSession1';

/** Default per-request timeout of both clients (the one every AWS tier uses). */
export { DEFAULT_REQUEST_TIMEOUT_MS };

/** The region Python credstash (boto) uses when none is configured anywhere. */
export const FALLBACK_REGION = 'us-east-1';

/** The SDK's region chain, re-exported by both client modules (loaded with the client, no extra chunk). */
type RegionChain = Pick<DynamoDBModule, 'loadConfig' | 'loadSharedConfigFiles' | 'NODE_REGION_CONFIG_OPTIONS' | 'NODE_REGION_CONFIG_FILE_OPTIONS'>;

export interface AwsClientOptions {
  region?: string;
  kmsRegion?: string;
  endpointUrl?: string;
  kmsEndpointUrl?: string;
  profile?: string;
  roleArn?: string;
  /** SDK retry attempts (default: the SDK's, 3). */
  maxAttempts?: number;
  /**
   * Per-request timeout in ms (default 10 000; connection timeout is the smaller of this and 3 000). The SDK
   * sets none, so a silent endpoint would hang `credstash get` at boot forever (test/adversarial/faults.test.ts).
   */
  requestTimeoutMs?: number;
  /**
   * Asked for the code of an MFA device (`mfa_serial` of an assume-role profile); the CLI prompts when stdin is
   * a terminal. Without it such a profile fails with the SDK's reason. With it both clients share one
   * credentials provider, so the code is asked for once.
   */
  mfaCodeProvider?: (mfaSerial: string) => Promise<string>;
  dynamodb?: DynamoDBClient;
  kms?: KMSClient;
}

export class AwsClients {
  readonly #opts: AwsClientOptions;
  readonly #store: string;
  readonly #table: string;
  readonly #notice: ((message: string) => void) | undefined;
  #regionChain?: Promise<string>;
  #ddb?: Promise<{ client: DynamoDBClient; mod: DynamoDBModule }>;
  #kms?: Promise<{ client: KMSClient; mod: KMSModule }>;
  #credentials?: CredentialsOption;
  #callerArn?: string;
  readonly #built: Array<{ destroy(): void }> = [];

  constructor(opts: AwsClientOptions, where: { store: string; table: string; notice?: (message: string) => void }) {
    this.#opts = opts;
    this.#store = where.store;
    this.#table = where.table;
    this.#notice = where.notice;
  }

  dynamodb(): Promise<{ client: DynamoDBClient; mod: DynamoDBModule }> {
    return (this.#ddb ??= (async () => {
      const mod = await import('./aws-dynamodb.js');
      if (this.#opts.dynamodb !== undefined) return { client: this.#opts.dynamodb, mod };
      const config: DynamoDBClientConfig = {};
      config.region = this.#region() ?? (() => this.#regionFromChain(mod));
      if (this.#opts.endpointUrl !== undefined) config.endpoint = this.#opts.endpointUrl;
      if (this.#opts.profile !== undefined) config.profile = this.#opts.profile;
      if (this.#opts.maxAttempts !== undefined) config.maxAttempts = this.#opts.maxAttempts;
      config.requestHandler = withNetworkAgents(this.#timeouts()) as DynamoDBClientConfig['requestHandler'];
      const credentials = this.#assumeRoleCredentials();
      if (credentials !== undefined) config.credentials = credentials;
      else if (this.#opts.mfaCodeProvider !== undefined) Object.assign(config, { mfaCodeProvider: this.#opts.mfaCodeProvider });
      const client = new mod.DynamoDBClient(config);
      this.#built.push(client);
      return { client, mod };
    })());
  }

  kms(): Promise<{ client: KMSClient; mod: KMSModule }> {
    return (this.#kms ??= (async () => {
      const mod = await import('./aws-kms.js');
      if (this.#opts.kms !== undefined) return { client: this.#opts.kms, mod };
      const config: KMSClientConfig = {};
      // KMS region: --kms-region, else the table's region (docs/FORMAT.md §7).
      config.region = this.#opts.kmsRegion ?? this.#region() ?? (() => this.#regionFromChain(mod));
      if (this.#opts.kmsEndpointUrl !== undefined) config.endpoint = this.#opts.kmsEndpointUrl;
      if (this.#opts.profile !== undefined) config.profile = this.#opts.profile;
      if (this.#opts.maxAttempts !== undefined) config.maxAttempts = this.#opts.maxAttempts;
      config.requestHandler = withNetworkAgents(this.#timeouts()) as KMSClientConfig['requestHandler'];
      const credentials = this.#assumeRoleCredentials();
      if (credentials !== undefined) config.credentials = credentials;
      else if (this.#opts.mfaCodeProvider !== undefined && this.#opts.dynamodb === undefined) {
        // One MFA prompt: the KMS client uses the DynamoDB client's (memoized) credentials provider.
        config.credentials = async (props) => {
          const shared = (await this.dynamodb()).client.config.credentials as (p?: unknown) => Promise<Awaited<ReturnType<NonNullable<KMSClient['config']['credentials']>>>>;
          return shared(props);
        };
      }
      const client = new mod.KMSClient(config);
      this.#built.push(client);
      return { client, mod };
    })());
  }

  /**
   * The configured region; else, when AWS_REGION is unset or empty, boto's AWS_DEFAULT_REGION, which Python
   * credstash users set and the JS SDK does not read. Undefined leaves the SDK's own chain (AWS_REGION, profile).
   */
  #region(): string | undefined {
    return configuredRegion(this.#opts.region);
  }

  /**
   * The SDK's own chain (AWS_REGION, then the profile's `region` in the shared config), else us-east-1 as
   * Python credstash (boto) does, with a notice. A named profile that is in neither shared file is an error
   * naming it (as the aws cli says), not a silent fall back. Resolved once for both clients.
   */
  #regionFromChain(chain: RegionChain): Promise<string> {
    return (this.#regionChain ??= (async () => {
      const profile = this.#opts.profile ?? nonEmpty(process.env.AWS_PROFILE);
      try {
        return await chain.loadConfig(chain.NODE_REGION_CONFIG_OPTIONS, { ...chain.NODE_REGION_CONFIG_FILE_OPTIONS, ...(profile === undefined ? {} : { profile }) })();
      } catch (err) {
        if (!/region is missing/i.test(err instanceof Error ? err.message : '')) throw err;
      }
      const missing = await this.#missingProfile(chain);
      if (missing !== undefined) throw missing;
      this.#notice?.(`no AWS region configured; using ${FALLBACK_REGION} as Python credstash does (pass -r/--region or set AWS_REGION to choose)`);
      return FALLBACK_REGION;
    })().catch((err: unknown) => {
      this.#regionChain = undefined;
      throw err;
    }));
  }

  #timeouts(): ReturnType<typeof requestHandlerOptions> {
    return requestHandlerOptions(this.#opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS);
  }

  /**
   * When the credentials could not be resolved: the named profile (option or AWS_PROFILE) that is in neither
   * shared file, as the aws cli reports it ("The config profile (x) could not be found"), instead of the SDK
   * chain's generic "could not load credentials". Reads the files through the SDK's own cache.
   */
  async missingProfile(): Promise<AwsConfigError | undefined> {
    try {
      return await this.#missingProfile(await import('./aws-dynamodb.js'));
    } catch {
      return undefined;
    }
  }

  async #missingProfile(chain: RegionChain): Promise<AwsConfigError | undefined> {
    const profile = this.#opts.profile ?? nonEmpty(process.env.AWS_PROFILE);
    if (profile === undefined || this.#opts.roleArn !== undefined) return undefined;
    const files = await chain.loadSharedConfigFiles({ ignoreCache: false });
    if (Object.hasOwn(files.configFile, profile) || Object.hasOwn(files.credentialsFile, profile)) return undefined;
    return new AwsConfigError(
      `the AWS profile "${sanitizeAwsText(profile, 64)}" could not be found in the shared config or credentials file (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE); check -p/--profile or AWS_PROFILE`,
      { store: this.#store },
    );
  }

  /** The resolved region of a client, for messages; undefined when it cannot be resolved. */
  async regionOf(service: 'dynamodb' | 'kms'): Promise<string | undefined> {
    try {
      const { client } = service === 'dynamodb' ? await this.dynamodb() : await this.kms();
      const r = client.config.region;
      return typeof r === 'function' ? await r() : r;
    } catch {
      return undefined;
    }
  }

  /**
   * The caller's AWS identity when it is already known without an extra call: the assumed-role ARN STS
   * returned for `roleArn` (`arn:aws:sts::<account>:assumed-role/<role>/AssumeRoleCredstashSession1`).
   * Undefined before the first request and when no role is assumed (no GetCallerIdentity call is ever made).
   */
  get callerIdentity(): string | undefined {
    return this.#callerArn;
  }

  /** Destroy the clients this object built (injected clients belong to the caller). */
  close(): void {
    for (const c of this.#built.splice(0)) c.destroy();
    this.#ddb = undefined;
    this.#kms = undefined;
  }

  /**
   * `-n/--arn`: STS AssumeRole with Python credstash's session name; one provider shared by both clients,
   * refreshed five minutes before the temporary credentials expire.
   */
  #assumeRoleCredentials(): CredentialsOption {
    const roleArn = this.#opts.roleArn;
    if (roleArn === undefined) return undefined;
    if (this.#credentials !== undefined) return this.#credentials;
    let cached: { accessKeyId: string; secretAccessKey: string; sessionToken?: string; expiration?: Date } | undefined;
    let pending: Promise<NonNullable<typeof cached>> | undefined;
    const fetchOnce = async (): Promise<NonNullable<typeof cached>> => {
      const sts = await import('@aws-sdk/client-sts');
      const config: ConstructorParameters<typeof sts.STSClient>[0] = {};
      const region = this.#region() ?? this.#opts.kmsRegion;
      config.region = region ?? (async () => this.#regionFromChain(await import('./aws-kms.js')));
      if (this.#opts.profile !== undefined) config.profile = this.#opts.profile;
      // The same timeouts, proxy and CA bundle as the DynamoDB and KMS clients.
      config.requestHandler = withNetworkAgents(this.#timeouts()) as typeof config.requestHandler;
      const client = new sts.STSClient(config);
      try {
        const out = await client.send(new sts.AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: ASSUME_ROLE_SESSION_NAME }));
        const c = out.Credentials;
        if (c?.AccessKeyId === undefined || c.SecretAccessKey === undefined) throw Object.assign(new Error('no credentials'), { name: 'AssumeRoleEmpty' });
        const arn = out.AssumedRoleUser?.Arn;
        if (typeof arn === 'string' && arn.length > 0) this.#callerArn = arn;
        return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration: c.Expiration };
      } catch (err) {
        throw mapAwsError(err, { service: 'sts', operation: 'AssumeRole', store: this.#store, table: this.#table, profile: this.#opts.profile });
      } finally {
        client.destroy();
      }
    };
    const provider = async (): Promise<NonNullable<typeof cached>> => {
      if (cached !== undefined && (cached.expiration === undefined || cached.expiration.getTime() - Date.now() > 5 * 60_000)) return cached;
      pending ??= fetchOnce().finally(() => {
        pending = undefined;
      });
      cached = await pending;
      return cached;
    };
    this.#credentials = provider;
    return provider;
  }
}

function nonEmpty(s: string | undefined): string | undefined {
  return s === undefined || s === '' ? undefined : s;
}
