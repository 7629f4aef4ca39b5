import type { Logger } from 'pino';
import type { SimState } from './state';
import type { TokenAuthority } from './tokens';

export interface CustomExtensionConfig {
  targetUrl: string;
  /** The App ID URI PIM requests a token for (`authenticationConfiguration.resourceId`). */
  resourceId: string;
  timeoutMs?: number;
  maximumRetries?: number;
}

/** An app registered in the simulated tenant. */
export interface SimApp {
  clientId: string;
  clientSecret: string;
  displayName: string;
  /** Service principal object id (the `oid` of its app tokens). */
  servicePrincipalId: string;
  /** Application permissions granted per resource (`aud`). */
  appRoles: Record<string, string[]>;
  /** Delegated permissions consented per resource, issued on on-behalf-of. */
  delegatedScopes: Record<string, string[]>;
}

export const GRAPH_RESOURCE = 'https://graph.microsoft.com';
export const GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000';

export interface SimContext {
  state: SimState;
  tokens: TokenAuthority;
  logger: Logger;
  tenantId: string;
  botApp: SimApp;
  apps: SimApp[];
  /** `https://127.0.0.1:PORT`, known once listening. */
  url(): string;
  /** The issuer the simulator signs with when no request Host is at hand. */
  issuer(): string;
  /** Issuers accepted on incoming tokens (loopback names of this server plus the caller's Host). */
  acceptedIssuers(origin?: string): string[];
  customExtension(): CustomExtensionConfig | undefined;
  pimCallerAppId: string;
  /** Aborted when the server closes, so injected latency does not hold `close()` up. */
  closing: AbortSignal;
}

export function ssoResource(clientId: string): string {
  return `api://botid-${clientId}`;
}
