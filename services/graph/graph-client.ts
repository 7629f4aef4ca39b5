import { Client, RetryHandlerOptions } from '@microsoft/microsoft-graph-client';
import { TokenCredentialAuthenticationProvider } from '@microsoft/microsoft-graph-client/authProviders/azureTokenCredentials';
import type { TokenCredential } from '@azure/identity';

/** Graph asks clients to honour Retry-After; three tries bound the wait inside an invoke's budget. */
const MAX_RETRIES = 3;

export function createGraphClient(baseUrl: string, credential: TokenCredential, scope = 'https://graph.microsoft.com/.default'): Client {
  const host = new URL(baseUrl).hostname;
  return Client.initWithMiddleware({
    authProvider: new TokenCredentialAuthenticationProvider(credential, { scopes: [scope] }),
    baseUrl: `${baseUrl.replace(/\/$/, '')}/`,
    // The Graph client sends the bearer token only to Graph hosts or these; a sovereign cloud or the
    // simulator is another host.
    customHosts: new Set([host]),
    middlewareOptions: [new RetryHandlerOptions(1, MAX_RETRIES)],
    defaultVersion: 'v1.0',
  } as Parameters<typeof Client.initWithMiddleware>[0]);
}
