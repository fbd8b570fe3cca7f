/**
 * SSM SDK errors → typed credstash errors, by `name`, at the tier edge. What is not SSM's own answer (no
 * answer, credentials, region, throttling, access denied) is mapped as every AWS tier maps it
 * (stores/aws/aws-errors.ts), with the same message as DynamoDB's apart from the service's name; SSM's own
 * errors are mapped here. SSM's messages name parameters and principals, never values.
 */
import { CredstashError, KmsError, StoreUnavailableError, ValidationError } from '../../core/errors.js';
import { mapAwsCommonError } from '../aws/aws-errors.js';
import { attemptsText, awsErrorName } from '../aws/aws-transport.js';

export interface SsmErrorContext {
  /** The SSM operation, e.g. `GetParameter`. */
  operation: string;
  /** Store description, set as the error's `store`. */
  store: string;
  credentialId?: string;
  /** Resolved region when known. */
  region?: string;
  /** Configured endpoint URL when there is one. */
  endpoint?: string;
  /** The shared-config profile in use (option or AWS_PROFILE), for the credentials message. */
  profile?: string;
}

/** Map any error thrown by an SSM `send` to a CredstashError. CredstashErrors pass through. */
export function mapSsmError(err: unknown, ctx: SsmErrorContext): CredstashError {
  if (err instanceof CredstashError) return err;
  const subject = ctx.credentialId === undefined ? undefined : `credential "${ctx.credentialId}"`;
  const common = mapAwsCommonError(err, {
    service: 'SSM',
    operation: ctx.operation,
    store: ctx.store,
    credentialId: ctx.credentialId,
    ...(subject === undefined ? {} : { subject }),
    ...(ctx.region === undefined ? {} : { region: ctx.region }),
    ...(ctx.endpoint === undefined ? {} : { endpoint: ctx.endpoint }),
    ...(ctx.profile === undefined ? {} : { profile: ctx.profile }),
  });
  if (common !== undefined) return common;
  const name = awsErrorName(err);
  const operation = ctx.operation;
  const on = subject === undefined ? '' : ` for ${subject}`;
  const where = ctx.endpoint === undefined ? (ctx.region === undefined ? '' : ` in ${ctx.region}`) : ` at ${ctx.endpoint}`;
  const fields = { store: ctx.store, credentialId: ctx.credentialId, cause: err };
  switch (name) {
    case 'InvalidKeyId':
    case 'KMSAccessDeniedException':
    case 'KMSDisabledException':
      return new KmsError(`SSM ${operation}${on}${where}: the KMS key is unusable (${name})`, fields);
    case 'ParameterLimitExceeded':
    case 'ParameterMaxVersionLimitExceeded':
    case 'HierarchyLevelLimitExceededException':
    case 'TooManyTagsError':
      return new StoreUnavailableError(`SSM refused ${operation}${on}${where}: ${name}`, fields);
    case 'ParameterPatternMismatchException':
    case 'ValidationException':
      return new ValidationError(`SSM rejected ${operation}${on}${where} (${name})`, fields);
    default: {
      const status = (err as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
      return new StoreUnavailableError(`SSM ${operation} failed${on}${where} (${name}${status === undefined ? '' : `, HTTP ${status}`})${attemptsText(err)}`, fields);
    }
  }
}
