/**
 * The one error mapper of every AWS-backed tier (dynamodb, ssm, and the STS call of assume-role): the
 * mistakes and failures that are not a service's own answer get the same typed error and the same message in
 * every tier, apart from the service's name. A tier maps its service's own errors (a missing table, a KMS key
 * state, an existing parameter) and its fallback; everything below comes from here:
 *
 * - no AWS answer (timeout, DNS, refused connection, an answer that is not AWS JSON): `StoreUnavailableError`
 *   (aws-transport.ts), naming the service and the endpoint or region;
 * - no credentials (`CredentialsProviderError`): `AwsConfigError`, keeping the SDK's own reason (the profile,
 *   the SSO session, the MFA code); a missing named profile is reported by the session (aws-clients.ts);
 * - credentials AWS refused (`UnrecognizedClientException`, `InvalidSignatureException`, an expired token):
 *   `AwsConfigError`, since new credentials fix it, not a policy;
 * - no region, an empty or invalid region: `AwsConfigError` saying what to set;
 * - throttling once the SDK's retries ran out: `ThrottlingError` with the attempts;
 * - access denied: `AccessDeniedError` with AWS's message (it names the principal and the action, never a
 *   value), cleaned of anything shaped like a key.
 *
 * Messages name the service, the operation, the credential and the endpoint or region, never a value.
 */
import { AccessDeniedError, AwsConfigError, CredstashError, ThrottlingError } from '../../core/errors.js';
import {
  attemptsText,
  awsErrorName,
  awsMessageOf,
  credentialsMessage,
  mapAwsNetworkError,
  THROTTLING_ERRORS,
  type AwsTransportContext,
} from './aws-transport.js';

/** How a user of any AWS tier chooses other credentials: the CLI's flags, which set `profile` / `role_arn`. */
export const CREDENTIALS_ADVICE = { profile: 'pass another -p/--profile or -n/--arn', none: 'or pass -p/--profile or -n/--arn' } as const;

/** AWS's answers that say the credentials themselves are wrong (unknown key, bad signature, expired token). */
export const REFUSED_CREDENTIALS_ERRORS: ReadonlySet<string> = new Set([
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'ExpiredTokenException',
  'ExpiredToken',
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
]);

/** AWS's access-denied answers (`AccessDenied` is STS's). */
export const ACCESS_DENIED_ERRORS: ReadonlySet<string> = new Set(['AccessDeniedException', 'AccessDenied']);

/**
 * The mapping every AWS tier shares; undefined for a service's own error, which the tier maps.
 * CredstashErrors pass through.
 */
export function mapAwsCommonError(err: unknown, ctx: AwsTransportContext): CredstashError | undefined {
  if (err instanceof CredstashError) return err;
  const network = mapAwsNetworkError(err, ctx);
  if (network !== undefined) return network;
  const name = awsErrorName(err);
  const message = awsMessageOf(err);
  const on = ctx.subject === undefined ? '' : ` for ${ctx.subject}`;
  const where = ctx.endpoint === undefined ? (ctx.region === undefined ? '' : ` in ${ctx.region}`) : ` at ${ctx.endpoint}`;
  const fields = { credentialId: ctx.credentialId, store: ctx.store, version: ctx.version, cause: err };

  if (name === 'CredentialsProviderError' || name === 'TokenProviderError' || /could not load credentials/i.test(message)) {
    const profile = ctx.profile ?? (process.env.AWS_PROFILE === '' ? undefined : process.env.AWS_PROFILE);
    return new AwsConfigError(credentialsMessage(message, profile, CREDENTIALS_ADVICE), { store: ctx.store, cause: err });
  }
  if (/region is missing/i.test(message) || name === 'RegionMissingError') {
    return new AwsConfigError('no AWS region configured; pass -r/--region, set region in the store config, or set AWS_REGION', { store: ctx.store, cause: err });
  }
  // An empty or malformed region (e.g. AWS_REGION set to ""): the SDK says "Region not accepted".
  if (/region not accepted|invalid region/i.test(message)) {
    return new AwsConfigError('the AWS region is empty or not a valid region name; pass -r/--region or fix AWS_REGION / the store config', { store: ctx.store, cause: err });
  }
  if (REFUSED_CREDENTIALS_ERRORS.has(name)) {
    return new AwsConfigError(
      `${ctx.service} refused the AWS credentials for ${ctx.operation}${on}${where} (${name}): they are invalid or expired; renew them, or ${CREDENTIALS_ADVICE.profile}`,
      fields,
    );
  }
  if (THROTTLING_ERRORS.has(name)) {
    // A provisioned table is raised by its owner; every other throttle is a request quota of the service.
    const raise = name === 'ProvisionedThroughputExceededException' ? 'raise the table capacity' : `ask for a higher ${ctx.service} request quota`;
    return new ThrottlingError(
      `${ctx.service} throttled ${ctx.operation}${on}${where} (${name}) and the SDK's retries ran out${attemptsText(err)}; try again later or ${raise}`,
      fields,
    );
  }
  if (ACCESS_DENIED_ERRORS.has(name)) {
    return new AccessDeniedError(`${ctx.service} denied ${ctx.operation}${on}${where}: ${message || name}`, fields);
  }
  return undefined;
}
