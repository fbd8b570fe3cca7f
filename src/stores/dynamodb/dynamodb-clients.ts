/**
 * Lazy AWS clients for the envelope tier (clients are injected, never reached for): an injected client is used as is; otherwise each
 * client is built once, on first use, by the session every AWS tier shares (stores/aws/aws-clients.ts:
 * region, endpoints, profile, assume-role, timeouts, proxy) plus this tier's own: the KMS region and
 * endpoint, Python credstash's us-east-1 when no region is configured anywhere, and one MFA prompt for both
 * clients. Nothing from the AWS SDK loads until a request is made.
 */
import type { DynamoDBClient, DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import type { KMSClient, KMSClientConfig } from '@aws-sdk/client-kms';
import type { AwsConfigError } from '../../core/errors.js';
import { ASSUME_ROLE_SESSION_NAME, AwsSession, fallbackRegionNotice, PYTHON_FALLBACK_REGION, type AwsRegionChain, type AwsStsModule } from '../aws/aws-clients.js';
import { configuredRegion, DEFAULT_REQUEST_TIMEOUT_MS } from '../aws/aws-transport.js';
import { lightClients, type LightClients } from './dynamodb-light.js';

// The SDK through two re-export modules that name what the store uses: a dynamic import() of the whole
// package kept every command, paginator, waiter and error class in the CLI bundle's chunk (esbuild cannot
// tree-shake a dynamically imported namespace); the named re-exports halve the chunks `credstash get` loads.
export type DynamoDBModule = typeof import('./aws-dynamodb.js');
export type KMSModule = typeof import('./aws-kms.js');

/** Python credstash's session name for `-n/--arn` (docs/FORMAT.md §7). */
export { ASSUME_ROLE_SESSION_NAME };

/** Default per-request timeout of both clients (the one every AWS tier uses). */
export { DEFAULT_REQUEST_TIMEOUT_MS };

/** The region Python credstash (boto) uses when none is configured anywhere. */
export const FALLBACK_REGION = PYTHON_FALLBACK_REGION;

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
  /**
   * Send `get`'s requests without the AWS SDK when the session allows it (dynamodb-light.ts): for a
   * short-lived process, where loading the SDK is most of the time. Off by default: a library user's
   * SDK client mocks and middleware see every request.
   */
  light?: boolean;
  dynamodb?: DynamoDBClient;
  kms?: KMSClient;
}

export class AwsClients {
  readonly #opts: AwsClientOptions;
  readonly #session: AwsSession;
  #ddb?: Promise<{ client: DynamoDBClient; mod: DynamoDBModule }>;
  #kms?: Promise<{ client: KMSClient; mod: KMSModule }>;
  readonly #built: Array<{ destroy(): void }> = [];
  /** `get`'s requests without the SDK, when `light` is on and the session allows it; undefined otherwise. */
  readonly light: LightClients | undefined;

  constructor(opts: AwsClientOptions, where: { store: string; table: string; notice?: (message: string) => void }) {
    this.#opts = opts;
    const notice = where.notice;
    this.light =
      opts.light === true && opts.dynamodb === undefined && opts.kms === undefined
        ? lightClients(
            { ...opts, region: configuredRegion(opts.region) },
            process.env,
            FALLBACK_REGION,
            notice === undefined ? undefined : () => notice(fallbackRegionNotice(FALLBACK_REGION)),
          )
        : undefined;
    this.#session = new AwsSession(opts, {
      store: where.store,
      // The SDK's region chain, re-exported by both client modules (loaded with the client, no extra chunk).
      // (Each client passes the module it loaded; this runs only when none was built, e.g. both injected.)
      regionChain: async () => (await import('./aws-dynamodb.js')) as AwsRegionChain,
      sts: async () => (await import('@aws-sdk/client-sts')) as unknown as AwsStsModule,
      fallbackRegion: { region: FALLBACK_REGION, ...(where.notice === undefined ? {} : { notice: where.notice }) },
      ...(opts.kmsRegion === undefined ? {} : { stsRegion: opts.kmsRegion }),
    });
  }

  dynamodb(): Promise<{ client: DynamoDBClient; mod: DynamoDBModule }> {
    return (this.#ddb ??= (async () => {
      const mod = await import('./aws-dynamodb.js');
      if (this.#opts.dynamodb !== undefined) return { client: this.#opts.dynamodb, mod };
      const config = this.#session.clientConfig({ chain: mod as AwsRegionChain, ...(this.#opts.endpointUrl === undefined ? {} : { endpoint: this.#opts.endpointUrl }) });
      const client = new mod.DynamoDBClient(config as DynamoDBClientConfig);
      this.#built.push(client);
      return { client, mod };
    })());
  }

  kms(): Promise<{ client: KMSClient; mod: KMSModule }> {
    return (this.#kms ??= (async () => {
      const mod = await import('./aws-kms.js');
      if (this.#opts.kms !== undefined) return { client: this.#opts.kms, mod };
      // One MFA prompt: without an assumed role, the KMS client uses the DynamoDB client's (memoized) provider.
      const shareMfa = this.#opts.roleArn === undefined && this.#opts.mfaCodeProvider !== undefined && this.#opts.dynamodb === undefined;
      const config = this.#session.clientConfig({
        chain: mod as AwsRegionChain,
        // KMS region: --kms-region, else the table's region (docs/FORMAT.md §7).
        ...(this.#opts.kmsRegion === undefined ? {} : { region: this.#opts.kmsRegion }),
        ...(this.#opts.kmsEndpointUrl === undefined ? {} : { endpoint: this.#opts.kmsEndpointUrl }),
        ...(shareMfa
          ? {
              credentials: async () => {
                const shared = (await this.dynamodb()).client.config.credentials as () => Promise<Awaited<ReturnType<NonNullable<KMSClient['config']['credentials']>>>>;
                return shared();
              },
            }
          : {}),
      });
      const client = new mod.KMSClient(config as KMSClientConfig);
      this.#built.push(client);
      return { client, mod };
    })());
  }

  /**
   * When the credentials could not be resolved: the named profile (option or AWS_PROFILE) that is in neither
   * shared file, as the aws cli reports it, instead of the SDK chain's generic "could not load credentials".
   */
  missingProfile(): Promise<AwsConfigError | undefined> {
    return this.#session.missingProfile();
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
   * returned for `roleArn`. Undefined before the first request and when no role is assumed.
   */
  get callerIdentity(): string | undefined {
    return this.#session.callerIdentity;
  }

  /** Destroy the clients this object built (injected clients belong to the caller). */
  close(): void {
    this.light?.close();
    for (const c of this.#built.splice(0)) c.destroy();
    this.#ddb = undefined;
    this.#kms = undefined;
  }
}
