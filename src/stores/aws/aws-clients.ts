/**
 * The one client builder of every AWS-backed tier (dynamodb, ssm): what goes into an SDK client's
 * configuration besides the service's own settings. Loads no SDK: the tier hands in the modules it already
 * loaded (the SDK's region chain, the STS client for assume-role), so a tier's cold start loads nothing more.
 *
 * For every client built here, the same way in both tiers:
 * - region: the configured one; else boto's AWS_DEFAULT_REGION when AWS_REGION is unset or empty; else the
 *   SDK's chain (AWS_REGION, the profile's `region` in the shared config). With no region anywhere, the tier
 *   decides: the envelope tier uses us-east-1 as Python credstash (boto) does, with a notice; SSM has no
 *   Python-compatible default and fails with "no AWS region configured" (a parameter store in a region the
 *   user never chose would read as "not found"). A named profile that is in neither shared file is an error
 *   naming it, as the aws cli reports it, never a silent fall back.
 * - endpoint: the configured URL; else the SDK's own AWS_ENDPOINT_URL_<SERVICE> / AWS_ENDPOINT_URL.
 * - profile: the configured shared-config profile, else the SDK's AWS_PROFILE.
 * - assume-role (`role_arn`): STS AssumeRole with Python credstash's session name, one provider shared by
 *   every client of the session, refreshed five minutes before the temporary credentials expire.
 * - a request timeout and a connection timeout (the SDK sets none), proxy and CA bundle from the environment,
 *   the SDK's bounded retries (`max_attempts`).
 */
import { AwsConfigError, CredstashError } from '../../core/errors.js';
import { withNetworkAgents } from './aws-network-env.js';
import { mapAwsCommonError } from './aws-errors.js';
import { awsErrorName, configuredRegion, DEFAULT_REQUEST_TIMEOUT_MS, requestHandlerOptions, sanitizeAwsText } from './aws-transport.js';

/** Python credstash's session name for `-n/--arn` / `role_arn` (docs/FORMAT.md §7). */
export const ASSUME_ROLE_SESSION_NAME = 'AssumeRoleCredstashSession1';

/** The region Python credstash (boto) uses when none is configured anywhere (the envelope tier only). */
export const PYTHON_FALLBACK_REGION = 'us-east-1';

/** The notice given when no region is configured anywhere and the tier uses its fallback. */
export function fallbackRegionNotice(region: string): string {
  return `no AWS region configured; using ${region} as Python credstash does (pass -r/--region or set AWS_REGION to choose)`;
}

/** What a tier's user configures about the AWS session (the same keys in every AWS tier). */
export interface AwsSessionSettings {
  /** `region` / `-r`. */
  region?: string;
  /** `profile` / `-p`: a shared-config profile. */
  profile?: string;
  /** `role_arn` / `-n`: assume this role through STS. */
  roleArn?: string;
  /** `max_attempts`: SDK attempts per request, retries included (default: the SDK's, 3). */
  maxAttempts?: number;
  /** `request_timeout_ms`: per-request timeout (default 10 000; connection timeout min(this, 3 000)). */
  requestTimeoutMs?: number;
  /**
   * Asked for the code of an MFA device (`mfa_serial` of an assume-role profile); the CLI prompts when stdin
   * is a terminal. Without it such a profile fails with the SDK's reason.
   */
  mfaCodeProvider?: (mfaSerial: string) => Promise<string>;
}

/**
 * The SDK's region chain and shared-file reader (`@smithy/core/config`), as the tier loaded them with its
 * client: `loadConfig(NODE_REGION_CONFIG_OPTIONS, ...)` is the chain every SDK client runs.
 */
export interface AwsRegionChain<O = unknown> {
  NODE_REGION_CONFIG_OPTIONS: O;
  NODE_REGION_CONFIG_FILE_OPTIONS: object;
  loadConfig(options: O, configuration: object): () => Promise<string>;
  loadSharedConfigFiles(init: { ignoreCache: boolean }): Promise<{ configFile: object; credentialsFile: object }>;
}

/** The STS client module (`@aws-sdk/client-sts`), loaded by the tier only when a role is assumed. */
export interface AwsStsModule {
  STSClient: new (config: never) => { send(command: never): Promise<unknown>; destroy(): void };
  AssumeRoleCommand: new (input: { RoleArn: string; RoleSessionName: string }) => unknown;
}

/** Temporary or static credentials as SDK clients take them. */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

export interface AwsSessionContext {
  /** Store description, set as the `store` of every error. */
  store: string;
  /**
   * Loads the SDK's region chain when no client handed one in yet (a module the tier loads with its client
   * anyway; each client's request passes the one it loaded, so no other module loads for it).
   */
  regionChain: () => Promise<AwsRegionChain>;
  /** Loads the STS client, for `roleArn` only. */
  sts: () => Promise<AwsStsModule>;
  /**
   * With no region anywhere: use this one and say so through `notice` (the envelope tier, as Python
   * credstash); undefined makes a missing region the SDK's "Region is missing" error, mapped by the tier.
   */
  fallbackRegion?: { region: string; notice?: (message: string) => void };
  /** Region for STS when no region is configured (the envelope tier: the KMS region). */
  stsRegion?: string;
}

/** Options for one client. */
export interface AwsClientRequest {
  /** The SDK's region chain, as loaded with this client's module (else the session's loader runs). */
  chain?: AwsRegionChain;
  /** A region for this client only (the envelope tier's `kms_region`); else the session's. */
  region?: string;
  /** The configured endpoint URL of this service, if any. */
  endpoint?: string;
  /** Credentials for this client instead of the session's (e.g. another client's memoized provider). */
  credentials?: () => Promise<AwsCredentials>;
}

/** The part of an SDK client configuration the session sets; the tier passes it to the client's constructor. */
export interface AwsClientConfig {
  region: string | (() => Promise<string>);
  endpoint?: string;
  profile?: string;
  maxAttempts?: number;
  requestHandler: unknown;
  credentials?: () => Promise<AwsCredentials>;
  mfaCodeProvider?: (mfaSerial: string) => Promise<string>;
}

/** One AWS session of a store: every client the store builds takes its configuration from here. */
export class AwsSession {
  readonly #settings: AwsSessionSettings;
  readonly #ctx: AwsSessionContext;
  #regionChain?: Promise<string>;
  #chain?: AwsRegionChain;
  #credentials?: () => Promise<AwsCredentials>;
  #callerArn?: string;

  constructor(settings: AwsSessionSettings, ctx: AwsSessionContext) {
    this.#settings = settings;
    this.#ctx = ctx;
  }

  /** The shared-config profile in use: the configured one, else AWS_PROFILE. */
  get profile(): string | undefined {
    return this.#settings.profile ?? nonEmpty(process.env.AWS_PROFILE);
  }

  /** The configured region, else AWS_DEFAULT_REGION (when AWS_REGION is unset or empty); undefined otherwise. */
  configuredRegion(): string | undefined {
    return configuredRegion(this.#settings.region);
  }

  /** The configuration of one SDK client (see the file comment for each setting). */
  clientConfig(request: AwsClientRequest = {}): AwsClientConfig {
    if (request.chain !== undefined) this.#chain ??= request.chain;
    const config: AwsClientConfig = {
      region: request.region ?? this.configuredRegion() ?? (() => this.regionFromChain()),
      requestHandler: withNetworkAgents(requestHandlerOptions(this.#settings.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS)),
    };
    if (request.endpoint !== undefined) config.endpoint = request.endpoint;
    if (this.#settings.profile !== undefined) config.profile = this.#settings.profile;
    if (this.#settings.maxAttempts !== undefined) config.maxAttempts = this.#settings.maxAttempts;
    const credentials = request.credentials ?? this.#assumeRoleCredentials();
    if (credentials !== undefined) config.credentials = credentials;
    else if (this.#settings.mfaCodeProvider !== undefined) config.mfaCodeProvider = this.#settings.mfaCodeProvider;
    return config;
  }

  /**
   * The SDK's own chain (AWS_REGION, then the profile's `region` in the shared config); with no region
   * anywhere, the tier's fallback with its notice, else the chain's "Region is missing" error. A named profile
   * that is in neither shared file is an error naming it. Resolved once for every client of the session.
   */
  regionFromChain(): Promise<string> {
    return (this.#regionChain ??= (async () => {
      const chain = await this.#loadChain();
      const profile = this.profile;
      let missing: unknown;
      try {
        return await chain.loadConfig(chain.NODE_REGION_CONFIG_OPTIONS, { ...chain.NODE_REGION_CONFIG_FILE_OPTIONS, ...(profile === undefined ? {} : { profile }) })();
      } catch (err) {
        if (!/region is missing/i.test(err instanceof Error ? err.message : '')) throw err;
        missing = err;
      }
      const unknownProfile = await this.#missingProfile(chain);
      if (unknownProfile !== undefined) throw unknownProfile;
      const fallback = this.#ctx.fallbackRegion;
      if (fallback === undefined) throw missing;
      fallback.notice?.(fallbackRegionNotice(fallback.region));
      return fallback.region;
    })().catch((err: unknown) => {
      this.#regionChain = undefined;
      throw err;
    }));
  }

  /**
   * When the credentials could not be resolved: the named profile (option or AWS_PROFILE) that is in neither
   * shared file, as the aws cli reports it ("The config profile (x) could not be found"), instead of the SDK
   * chain's generic "could not load credentials". Reads the files through the SDK's own cache.
   */
  async missingProfile(): Promise<AwsConfigError | undefined> {
    try {
      return await this.#missingProfile(await this.#loadChain());
    } catch {
      return undefined;
    }
  }

  /** A mapped error, with "no AWS credentials found" replaced by the missing profile when that is the reason. */
  async explain(mapped: CredstashError): Promise<CredstashError> {
    if (mapped instanceof AwsConfigError && /^no AWS credentials found/.test(mapped.message)) return (await this.missingProfile()) ?? mapped;
    return mapped;
  }

  async #loadChain(): Promise<AwsRegionChain> {
    return (this.#chain ??= await this.#ctx.regionChain());
  }

  async #missingProfile(chain: AwsRegionChain): Promise<AwsConfigError | undefined> {
    const profile = this.profile;
    if (profile === undefined || this.#settings.roleArn !== undefined) return undefined;
    const files = await chain.loadSharedConfigFiles({ ignoreCache: false });
    if (Object.hasOwn(files.configFile, profile) || Object.hasOwn(files.credentialsFile, profile)) return undefined;
    return new AwsConfigError(
      `the AWS profile "${sanitizeAwsText(profile, 64)}" could not be found in the shared config or credentials file (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE); check -p/--profile or AWS_PROFILE`,
      { store: this.#ctx.store },
    );
  }

  /**
   * The caller's AWS identity when it is already known without an extra call: the assumed-role ARN STS
   * returned for `roleArn` (`arn:aws:sts::<account>:assumed-role/<role>/AssumeRoleCredstashSession1`).
   * Undefined before the first request and when no role is assumed (no GetCallerIdentity call is ever made).
   */
  get callerIdentity(): string | undefined {
    return this.#callerArn;
  }

  /** `roleArn`: one STS AssumeRole provider shared by every client of the session. */
  #assumeRoleCredentials(): (() => Promise<AwsCredentials>) | undefined {
    const roleArn = this.#settings.roleArn;
    if (roleArn === undefined) return undefined;
    if (this.#credentials !== undefined) return this.#credentials;
    let cached: AwsCredentials | undefined;
    let pending: Promise<AwsCredentials> | undefined;
    const fetchOnce = async (): Promise<AwsCredentials> => {
      const sts = await this.#ctx.sts();
      const config: Omit<AwsClientConfig, 'credentials' | 'mfaCodeProvider' | 'maxAttempts'> = {
        region: this.configuredRegion() ?? this.#ctx.stsRegion ?? (() => this.regionFromChain()),
        // The same timeouts, proxy and CA bundle as the store's own clients.
        requestHandler: withNetworkAgents(requestHandlerOptions(this.#settings.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS)),
      };
      if (this.#settings.profile !== undefined) config.profile = this.#settings.profile;
      const client = new sts.STSClient(config as never);
      try {
        const out = (await client.send(new sts.AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: ASSUME_ROLE_SESSION_NAME }) as never)) as {
          Credentials?: { AccessKeyId?: string; SecretAccessKey?: string; SessionToken?: string; Expiration?: Date };
          AssumedRoleUser?: { Arn?: string };
        };
        const c = out.Credentials;
        if (c?.AccessKeyId === undefined || c.SecretAccessKey === undefined) throw Object.assign(new Error('no credentials'), { name: 'AssumeRoleEmpty' });
        const arn = out.AssumedRoleUser?.Arn;
        if (typeof arn === 'string' && arn.length > 0) this.#callerArn = arn;
        return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration: c.Expiration };
      } catch (err) {
        throw this.#stsError(err);
      } finally {
        client.destroy();
      }
    };
    const provider = async (): Promise<AwsCredentials> => {
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

  /** An AssumeRole failure: as every AWS call maps (denied, throttled, no answer...), else a role hint. */
  #stsError(err: unknown): CredstashError {
    if (err instanceof CredstashError) return err;
    const common = mapAwsCommonError(err, { service: 'STS', operation: 'AssumeRole', store: this.#ctx.store, ...(this.profile === undefined ? {} : { profile: this.profile }) });
    if (common !== undefined) return common;
    return new AwsConfigError(`could not assume the role (${awsErrorName(err)}); check the role ARN and that your credentials may assume it`, { store: this.#ctx.store, cause: err });
  }
}

function nonEmpty(s: string | undefined): string | undefined {
  return s === undefined || s === '' ? undefined : s;
}
