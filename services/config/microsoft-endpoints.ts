/**
 * The Microsoft endpoints production may talk to, per variable: the public cloud and the national clouds.
 * The app's Graph token (directory and PIM permissions), the approvers' on-behalf-of tokens and the bot's
 * Bot Framework token go to these hosts, so production accepts https on exactly these names and nothing
 * else (no override: see "Security model" in docs/operations.md for why no deployment needs one).
 *
 * Sources (checked when the lists were written):
 * - Entra authorities: @azure/identity's AzureAuthorityHosts and the existing config (login.microsoftonline.com,
 *   login.microsoftonline.us, login.partner.microsoftonline.cn).
 * - Graph: "Microsoft Graph national cloud deployments", https://learn.microsoft.com/graph/deployments.
 * - ARM: the Azure SDKs' cloud settings (getArmEndpoint in azure-sdk-for-js: management.azure.com,
 *   management.usgovcloudapi.net, management.chinacloudapi.cn).
 * - Bot Framework token service: "OAuth URL support in Azure AI Bot Service",
 *   https://learn.microsoft.com/azure/bot-service/ref-oauth-redirect-urls (token.botframework.com, europe.,
 *   unitedstates., india., token.botframework.azure.us, token.botframework.azure.cn); botbuilder's own
 *   defaults (AuthenticationConstants.OAuthUrl api.botframework.com, GovernmentConstants.OAuthUrl
 *   api.botframework.azure.us); the Teams SDK's cloud presets (tokengcch.botframework.azure.us for GCC High,
 *   apiDoD.botframework.azure.us for DoD).
 * - Teams' Bot Connector (channel serviceUrls): the Teams SDK's service URL validation,
 *   https://microsoft.github.io/teams-sdk/python/essentials/app-configuration/service-url-validation
 *   (allowed hostnames per cloud), and "Send proactive messages" in the Teams docs (GCC, GCC High, DoD).
 */

export const ENTRA_AUTHORITY_HOSTS = ['login.microsoftonline.com', 'login.microsoftonline.us', 'login.partner.microsoftonline.cn'] as const;

export const GRAPH_HOSTS = [
  'graph.microsoft.com', // global
  'graph.microsoft.us', // US Government L4 (GCC High)
  'dod-graph.microsoft.us', // US Government L5 (DoD)
  'microsoftgraph.chinacloudapi.cn', // operated by 21Vianet
] as const;

export const ARM_HOSTS = ['management.azure.com', 'management.usgovcloudapi.net', 'management.chinacloudapi.cn'] as const;

export const BOT_TOKEN_SERVICE_HOSTS = [
  'token.botframework.com',
  'europe.token.botframework.com',
  'unitedstates.token.botframework.com',
  'india.token.botframework.com',
  'api.botframework.com', // botbuilder's default OAuthUrl
  'token.botframework.azure.us',
  'api.botframework.azure.us', // botbuilder's US Government default
  'tokengcch.botframework.azure.us',
  'apidod.botframework.azure.us',
  'token.botframework.azure.cn',
] as const;

/**
 * Teams' Bot Connector hosts. The region is in the path (https://smba.trafficmanager.net/emea/, /amer/,
 * /apac/, /teams/, ...), so any path on these hosts is accepted.
 */
export const TEAMS_SERVICE_URL_HOSTS = [
  'smba.trafficmanager.net',
  'smba.onyx.prod.teams.trafficmanager.net',
  'smba.infra.gcc.teams.microsoft.com', // GCC
  'smba.infra.gov.teams.microsoft.us', // GCC High
  'smba.infra.dod.teams.microsoft.us', // DoD
  'frontend.botapi.msg.infra.teams.microsoftonline.cn', // operated by 21Vianet
] as const;

/**
 * Why `value` (a parsed URL) may not be used for `what` in production, or null when it may: https only,
 * one of `hosts`, no credentials in the URL, the default port. With `originOnly`, nothing after the host
 * either (the Entra authority: token issuers are built from it). The message names the variable, the
 * problem and the accepted hosts, and shows only the URL's scheme and host (never a path or credentials).
 */
export function microsoftEndpointProblem(
  variable: string,
  value: string,
  what: string,
  hosts: readonly string[],
  opts: { originOnly?: boolean } = {},
): string | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `${variable}: must be an https URL of ${what}; production accepts ${accepted(hosts)}`;
  }
  const shown = `${url.protocol}//${url.host}`;
  if (url.protocol !== 'https:') {
    return `${variable}: must be https:// (the bot sends its tokens there), not ${shown}; production accepts ${accepted(hosts)}`;
  }
  if (url.username || url.password) return `${variable}: must not carry a user name or password; production accepts ${accepted(hosts)}`;
  if (!hosts.includes(url.hostname)) {
    return `${variable}: ${url.hostname} is not ${what}; production accepts only Microsoft's public and national-cloud hosts: ${accepted(hosts)}`;
  }
  if (url.port) return `${variable}: must use the default https port, not ${url.port}; production accepts ${accepted(hosts)}`;
  if (opts.originOnly && (url.pathname !== '/' || url.search || url.hash)) {
    return `${variable}: the authority only, e.g. https://${hosts[0]}, without a path or query`;
  }
  if (url.search || url.hash) return `${variable}: must not have a query or fragment, not ${shown}${url.search}${url.hash ? '#…' : ''}`;
  return null;
}

function accepted(hosts: readonly string[]): string {
  return hosts.map((h) => `https://${h}`).join(', ');
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/** True for a URL on a loopback name (127.0.0.1, localhost, [::1]), any scheme and port: the demo's simulator and playground. */
export function isLoopbackUrl(value: string | undefined): boolean {
  if (typeof value !== 'string') return false;
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && !url.username && !url.password && LOOPBACK.has(url.hostname);
  } catch {
    return false;
  }
}

/**
 * PIM "My roles" for Microsoft Entra roles in the Entra admin center, where a requester activates a role
 * again. A fixed public URL: the card's open-url action carries no request data.
 */
export const PIM_MY_ROLES_URL = 'https://entra.microsoft.com/#view/Microsoft_Azure_PIMCommon/ActivationMenuBlade/~/aadmigratedroles';
