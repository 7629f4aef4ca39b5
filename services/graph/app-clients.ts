import { ClientCertificateCredential, ClientSecretCredential, type TokenCredential } from '@azure/identity';
import type { Client } from '@microsoft/microsoft-graph-client';
import type { AppConfig } from '../config/config';
import type { PrometheusMetrics } from '../observability/metrics';
import { ArmAzureReads, ArmClient } from './arm';
import { GraphDirectory } from './directory';
import { createGraphClient } from './graph-client';

const MICROSOFT_AUTHORITIES = ['https://login.microsoftonline.com', 'https://login.microsoftonline.us', 'https://login.partner.microsoftonline.cn'];

/** Where Entra tokens come from; the on-behalf-of credentials use the same. */
export interface IdentityOptions {
  authorityHost: string;
  /** Instance discovery only knows Microsoft's clouds; off for any other authority. */
  disableInstanceDiscovery: boolean;
}

/** Microsoft Graph and ARM as the bot's own app identity (app-only reads). */
export interface AppGraph {
  identityOptions: IdentityOptions;
  /** The app registration's secret or certificate. */
  credential: TokenCredential;
  graph: Client;
  /** Azure Resource Manager as the app (who administers an Azure scope). */
  arm: ArmClient;
  /** Users, groups, roles and Azure resources (ARM reads, with ARM policies' approver groups expanded through Graph). */
  directory: GraphDirectory;
}

/** The bot's app identity and the Graph and ARM clients that read with it. */
export function appGraphClients(
  config: Pick<AppConfig, 'authorityHost' | 'tenantId' | 'bot' | 'graphBaseUrl' | 'armBaseUrl'>,
  metrics: PrometheusMetrics,
): AppGraph {
  const identityOptions = { authorityHost: config.authorityHost, disableInstanceDiscovery: !MICROSOFT_AUTHORITIES.includes(config.authorityHost) };
  const credential: TokenCredential = config.bot.certificatePath
    ? new ClientCertificateCredential(config.tenantId, config.bot.appId, { certificatePath: config.bot.certificatePath }, identityOptions)
    : new ClientSecretCredential(config.tenantId, config.bot.appId, config.bot.appSecret!, identityOptions);
  const graph = createGraphClient(config.graphBaseUrl, credential, undefined, { metrics });
  // Azure resource reads (role names, policies, statuses) go to ARM with the same app identity;
  // approver groups in an ARM policy are expanded through Graph.
  const arm = new ArmClient(config.armBaseUrl, credential, { metrics });
  const directory: GraphDirectory = new GraphDirectory(graph, new ArmAzureReads(arm, (groupId) => directory.groupMembers(groupId)));
  return { identityOptions, credential, graph, arm, directory };
}
