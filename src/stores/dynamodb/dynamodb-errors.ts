/**
 * AWS SDK errors → typed credstash errors, by `name`, at the tier edge, never in the CLI. SDK errors keep their
 * `cause` (they never hold plaintext); the messages say what happened and what to do next. What is not a
 * DynamoDB or KMS answer of their own (no answer, credentials, region, throttling, access denied) is mapped
 * as every AWS tier maps it (stores/aws/aws-errors.ts), with the same message as SSM's apart from the
 * service's name; an unparsable answer keeps no cause, since the SDK attaches its raw body (a Decrypt answer
 * holds a data key).
 */
import {
  CredstashError,
  EncryptionContextMismatchError,
  KmsError,
  StoreUnavailableError,
  VersionConflictError,
  describeCredential,
} from '../../core/errors.js';
import { mapAwsCommonError } from '../aws/aws-errors.js';
import { awsErrorName, sanitizeAwsText } from '../aws/aws-transport.js';

export { sanitizeAwsText };

export interface AwsErrorContext {
  service: 'dynamodb' | 'kms';
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
  const e = (err ?? {}) as { $metadata?: { attempts?: number; httpStatusCode?: number } };
  const name = awsErrorName(err);
  const subject = ctx.credentialId === undefined ? undefined : describeCredential(ctx.credentialId, ctx.version);
  const fields = { credentialId: ctx.credentialId, store: ctx.store, version: ctx.version, cause: err };
  const regionText = ctx.region === undefined ? '' : ` in ${ctx.region}`;
  const what = ctx.service === 'kms' ? 'KMS' : 'DynamoDB';
  // What every AWS tier maps the same way: no answer, credentials, region, throttling, access denied.
  const common = mapAwsCommonError(err, {
    service: what,
    operation: ctx.operation,
    store: ctx.store,
    credentialId: ctx.credentialId,
    version: ctx.version,
    ...(subject === undefined ? {} : { subject }),
    ...(ctx.region === undefined ? {} : { region: ctx.region }),
    ...(ctx.endpoint === undefined ? {} : { endpoint: ctx.endpoint }),
    ...(ctx.profile === undefined ? {} : { profile: ctx.profile }),
  });
  if (common !== undefined) return common;

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
