/**
 * AWS SDK errors → typed credstash errors, by `name`, at the tier edge, never in the CLI. SDK errors keep their
 * `cause` (they never hold plaintext); the messages say what happened and what to do next. Failures that got
 * no AWS answer (timeout, DNS, refused connection, an answer that is not AWS JSON) are mapped as every AWS
 * tier maps them (stores/aws/aws-transport.ts); an unparsable answer keeps no cause, since the SDK attaches
 * its raw body (a Decrypt answer holds a data key).
 */
import {
  AccessDeniedError,
  AwsConfigError,
  CredstashError,
  EncryptionContextMismatchError,
  KmsError,
  StoreUnavailableError,
  ThrottlingError,
  VersionConflictError,
  describeCredential,
} from '../../core/errors.js';
import { credentialsMessage, mapAwsNetworkError, sanitizeAwsText, THROTTLING_ERRORS } from '../aws/aws-transport.js';

export { sanitizeAwsText };

/** How a DynamoDB user chooses other credentials (the CLI's flags for this tier). */
const CLI_CREDENTIALS_ADVICE = { profile: 'pass another -p/--profile or -n/--arn', none: 'or pass -p/--profile or -n/--arn' };

export interface AwsErrorContext {
  service: 'dynamodb' | 'kms' | 'sts';
  /** The AWS operation, e.g. `Query`, `Decrypt`. */
  operation: string;
  store: string;
  table: string;
  /** Resolved region when known (for the table-missing hint). */
  region?: string;
  credentialId?: string;
  /** Display version. */
  version?: string;
  /** The KMS key id / alias used for GenerateDataKey. */
  keyId?: string;
  endpoint?: string;
  /** The shared-config profile in use (option or AWS_PROFILE), for the credentials message. */
  profile?: string;
}


/** Map any error thrown by an SDK `send` to a CredstashError. CredstashErrors pass through. */
export function mapAwsError(err: unknown, ctx: AwsErrorContext): CredstashError {
  if (err instanceof CredstashError) return err;
  const e = (err ?? {}) as { name?: string; message?: string; code?: string; $metadata?: { attempts?: number; httpStatusCode?: number } };
  const name = typeof e.name === 'string' ? e.name : 'Error';
  const awsMessage = typeof e.message === 'string' ? oneLine(e.message) : '';
  const subject = ctx.credentialId === undefined ? undefined : describeCredential(ctx.credentialId, ctx.version);
  const fields = { credentialId: ctx.credentialId, store: ctx.store, version: ctx.version, cause: err };
  const regionText = ctx.region === undefined ? '' : ` in ${ctx.region}`;
  const what = ctx.service === 'kms' ? 'KMS' : ctx.service === 'sts' ? 'STS' : 'DynamoDB';
  const network = mapAwsNetworkError(err, {
    service: what,
    operation: ctx.operation,
    store: ctx.store,
    credentialId: ctx.credentialId,
    version: ctx.version,
    ...(subject === undefined ? {} : { subject }),
    ...(ctx.region === undefined ? {} : { region: ctx.region }),
    ...(ctx.endpoint === undefined ? {} : { endpoint: ctx.endpoint }),
  });
  if (network !== undefined) return network;

  if (name === 'InvalidCiphertextException' && ctx.service === 'kms') {
    return new EncryptionContextMismatchError({
      credentialId: ctx.credentialId ?? '',
      store: ctx.store,
      version: ctx.version,
      cause: err,
      detail:
        `KMS could not decrypt the data key of ${subject ?? 'the credential'}: the encryption context does not match the one ` +
        `it was stored with, or the wrapped key in the table is damaged; pass the exact key=value pairs it was stored with`,
    });
  }
  if (name === 'ConditionalCheckFailedException') {
    return new VersionConflictError({ credentialId: ctx.credentialId ?? '', store: ctx.store, version: ctx.version ?? '?', cause: err });
  }
  if (name === 'ResourceNotFoundException' && ctx.service === 'dynamodb') {
    return new StoreUnavailableError(`dynamodb table "${ctx.table}" does not exist${regionText}; run \`credstash setup\``, fields);
  }
  if (ctx.service === 'kms' && (name === 'NotFoundException' || name === 'DisabledException' || name === 'KMSInvalidStateException')) {
    const key = ctx.keyId === undefined ? `the KMS key that encrypted ${subject ?? 'the credential'}` : `KMS key "${ctx.keyId}"`;
    const why =
      name === 'NotFoundException'
        ? `does not exist${regionText}; create it (or an alias) or pass another key with -k / kms_key`
        : name === 'DisabledException'
          ? `is disabled${regionText}; enable it in KMS`
          : `is not in a usable state${regionText} (pending deletion or import); cancel the deletion or use another key`;
    return new KmsError(`${key} ${why}`, fields);
  }
  if (name === 'AccessDeniedException' || name === 'AccessDenied' || name === 'UnrecognizedClientException' || name === 'InvalidSignatureException') {
    return new AccessDeniedError(
      `${what} denied ${ctx.operation}${subject === undefined ? '' : ` for ${subject}`}: ${awsMessage || name}`,
      fields,
    );
  }
  if (THROTTLING_ERRORS.has(name)) {
    const attempts = e.$metadata?.attempts;
    return new ThrottlingError(
      `${what} throttled ${ctx.operation}${subject === undefined ? '' : ` for ${subject}`} and the SDK's retries ran out` +
        `${attempts === undefined ? '' : ` after ${attempts} attempts`}; try again later` +
        (ctx.service === 'dynamodb' ? ' or raise the table capacity' : ' or ask for a higher KMS request quota'),
      fields,
    );
  }
  if (name === 'CredentialsProviderError' || name === 'TokenProviderError' || /could not load credentials/i.test(awsMessage)) {
    return new AwsConfigError(credentialsMessage(awsMessage, ctx.profile ?? nonEmpty(process.env.AWS_PROFILE), CLI_CREDENTIALS_ADVICE), { store: ctx.store, cause: err });
  }
  if (/region is missing/i.test(awsMessage) || name === 'RegionMissingError') {
    return new AwsConfigError('no AWS region configured; pass -r/--region, set region in the store config, or set AWS_REGION', {
      store: ctx.store,
      cause: err,
    });
  }
  // An empty or malformed region (e.g. AWS_REGION set to ""): the SDK says "Region not accepted".
  if (/region not accepted|invalid region/i.test(awsMessage)) {
    return new AwsConfigError('the AWS region is empty or not a valid region name; pass -r/--region or fix AWS_REGION / the store config', {
      store: ctx.store,
      cause: err,
    });
  }
  if (ctx.service === 'sts') {
    return new AwsConfigError(`could not assume the role (${name}); check the role ARN and that your credentials may assume it`, {
      store: ctx.store,
      cause: err,
    });
  }
  // A retried server error (5xx) says that the SDK's retries ran out, as throttling and timeouts do.
  const retried = typeof e.$metadata?.attempts === 'number' && e.$metadata.attempts > 1 ? `; the SDK's retries ran out after ${e.$metadata.attempts} attempts` : '';
  if (ctx.service === 'kms') {
    return new KmsError(`KMS ${ctx.operation} failed${subject === undefined ? '' : ` for ${subject}`} (${name})${retried}`, fields);
  }
  const status = e.$metadata?.httpStatusCode;
  return new StoreUnavailableError(
    `dynamodb table "${ctx.table}"${regionText}: ${ctx.operation} failed${subject === undefined ? '' : ` for ${subject}`} (${name}${status === undefined ? '' : `, HTTP ${status}`})${retried}`,
    fields,
  );
}

function nonEmpty(s: string | undefined): string | undefined {
  return s === undefined || s === '' ? undefined : s;
}

function oneLine(s: string): string {
  const t = s.replace(/[\r\n\t]+/g, ' ').trim();
  return t.length > 500 ? `${t.slice(0, 497)}...` : t;
}
