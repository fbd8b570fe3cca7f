/**
 * Whether the environment asks for a proxy or a CA bundle, as the aws cli and boto read it: HTTPS_PROXY /
 * https_proxy, HTTP_PROXY / http_proxy, NO_PROXY / no_proxy, AWS_CA_BUNDLE. Only this check loads with an AWS
 * client; the agents themselves (aws-proxy.ts) are imported when one of these is set, so a `credstash get`
 * without a proxy loads nothing more (cold start).
 */

/** The variables that change how an AWS client connects. */
export const NETWORK_ENV = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'AWS_CA_BUNDLE'] as const;

/** True when a proxy or a CA bundle is configured (a non-empty value of one of {@link NETWORK_ENV}). */
export function networkConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  return NETWORK_ENV.some((k) => (env[k] ?? '').trim() !== '');
}

/**
 * `requestHandler` options of an SDK client with the environment's proxy and CA bundle applied: the options as
 * they are when neither is set; otherwise a provider (the SDK's NodeHttpHandler accepts one) that builds the
 * agents on the first request. Errors in the settings (an unreadable CA bundle, a proxy URL that is not
 * http://) surface on that request as one-line AwsConfigErrors.
 */
export function withNetworkAgents<T extends object>(options: T, env: NodeJS.ProcessEnv = process.env): T | (() => Promise<T>) {
  if (!networkConfigured(env)) return options;
  return async () => {
    const { networkAgents } = await import('./aws-proxy.js');
    return { ...options, ...networkAgents(env) };
  };
}
