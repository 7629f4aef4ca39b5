/**
 * Production talks to Microsoft only: every endpoint the bot sends a token to (the app's Graph and ARM
 * tokens, approvers' on-behalf-of tokens, users' sign-in tokens through the Bot Framework token service,
 * the bot's Bot Framework token to Teams' Bot Connector) must be https on one of Microsoft's public or
 * national-cloud hosts. Each refusal names the variable, what is wrong and the hosts that are accepted.
 * (The rest of the configuration's tests are in services/config/config.test.ts.)
 */
import { loadConfig } from '../../services/config/config';
import { configProblems, PRODUCTION_ENV as production } from '../support/config-env';

const channels = (serviceUrl: string, key = 'default') =>
  JSON.stringify({
    default: { conversationId: '19:abc@thread.tacv2', serviceUrl: key === 'default' ? serviceUrl : 'https://smba.trafficmanager.net/emea/' },
    ...(key === 'default' ? {} : { [key]: { conversationId: '19:sec@thread.tacv2', serviceUrl } }),
  });
const ROLE = '5d6b6bb7-de71-4623-b4af-96380a352509';

/** The one problem the environment has, or a failure listing all of them. */
function onlyProblem(env: Record<string, string | undefined>): string {
  const found = configProblems(env);
  expect(found).toHaveLength(1);
  return found[0]!;
}

describe('production refuses Microsoft endpoints that are not https on a Microsoft host', () => {
  const GRAPH_HOSTS =
    /production accepts .*https:\/\/graph\.microsoft\.com, https:\/\/graph\.microsoft\.us, https:\/\/dod-graph\.microsoft\.us, https:\/\/microsoftgraph\.chinacloudapi\.cn/;
  const ARM_HOSTS = /production accepts .*https:\/\/management\.azure\.com, https:\/\/management\.usgovcloudapi\.net, https:\/\/management\.chinacloudapi\.cn/;
  const TOKEN_HOSTS =
    /production accepts .*https:\/\/token\.botframework\.com, https:\/\/europe\.token\.botframework\.com, .*https:\/\/token\.botframework\.azure\.cn/;
  const CONNECTOR_HOSTS = /production accepts .*https:\/\/smba\.trafficmanager\.net, .*https:\/\/frontend\.botapi\.msg\.infra\.teams\.microsoftonline\.cn/;
  const ENTRA_HOSTS =
    /production accepts .*https:\/\/login\.microsoftonline\.com, https:\/\/login\.microsoftonline\.us, https:\/\/login\.partner\.microsoftonline\.cn/;

  it.each<[string, Record<string, string>, RegExp, RegExp]>([
    [
      'plain http Graph',
      { GRAPH_BASE_URL: 'http://graph.microsoft.com' },
      /^GRAPH_BASE_URL: must be https:\/\/ \(the bot sends its tokens there\), not http:\/\/graph\.microsoft\.com;/,
      GRAPH_HOSTS,
    ],
    ['a foreign Graph host', { GRAPH_BASE_URL: 'https://attacker.example' }, /^GRAPH_BASE_URL: attacker\.example is not a Microsoft Graph host;/, GRAPH_HOSTS],
    [
      'a look-alike Graph host',
      { GRAPH_BASE_URL: 'https://graph.microsoft.com.attacker.example/v1.0' },
      /^GRAPH_BASE_URL: graph\.microsoft\.com\.attacker\.example is not a Microsoft Graph host;/,
      GRAPH_HOSTS,
    ],
    [
      "Graph's name as user info before a foreign host",
      { GRAPH_BASE_URL: 'https://graph.microsoft.com@attacker.example' },
      /^GRAPH_BASE_URL: (must not carry a user name|attacker\.example is not)/,
      GRAPH_HOSTS,
    ],
    [
      'Graph on another port',
      { GRAPH_BASE_URL: 'https://graph.microsoft.com:8443' },
      /^GRAPH_BASE_URL: must use the default https port, not 8443;/,
      GRAPH_HOSTS,
    ],
    ['the simulator as Graph', { GRAPH_BASE_URL: 'https://127.0.0.1:3979' }, /^GRAPH_BASE_URL: 127\.0\.0\.1 is not a Microsoft Graph host;/, GRAPH_HOSTS],
    ['plain http ARM', { ARM_BASE_URL: 'http://management.azure.com' }, /^ARM_BASE_URL: must be https:\/\/ .*not http:\/\/management\.azure\.com;/, ARM_HOSTS],
    [
      'a foreign ARM host',
      { ARM_BASE_URL: 'https://arm.attacker.example' },
      /^ARM_BASE_URL: arm\.attacker\.example is not an Azure Resource Manager host;/,
      ARM_HOSTS,
    ],
    [
      'plain http token service',
      { BOT_OAUTH_URL: 'http://token.botframework.com' },
      /^BOT_OAUTH_URL: must be https:\/\/ .*not http:\/\/token\.botframework\.com;/,
      TOKEN_HOSTS,
    ],
    [
      'a foreign token service',
      { BOT_OAUTH_URL: 'https://token.attacker.example' },
      /^BOT_OAUTH_URL: token\.attacker\.example is not a Bot Framework token service host;/,
      TOKEN_HOSTS,
    ],
    [
      'a look-alike token service',
      { BOT_OAUTH_URL: 'https://token.botframework.com.attacker.example' },
      /^BOT_OAUTH_URL: token\.botframework\.com\.attacker\.example is not a Bot Framework token service host;/,
      TOKEN_HOSTS,
    ],
    [
      'an http serviceUrl in APPROVER_CHANNELS',
      { APPROVER_CHANNELS: channels('http://smba.trafficmanager.net/emea/') },
      /^APPROVER_CHANNELS\.default\.serviceUrl: must be https:\/\/ .*not http:\/\/smba\.trafficmanager\.net;/,
      CONNECTOR_HOSTS,
    ],
    [
      'a foreign serviceUrl for a role in APPROVER_CHANNELS',
      { APPROVER_CHANNELS: channels('https://connector.attacker.example/teams/', ROLE) },
      new RegExp(`^APPROVER_CHANNELS\\.${ROLE}\\.serviceUrl: connector\\.attacker\\.example is not a Teams Bot Connector host;`),
      CONNECTOR_HOSTS,
    ],
    [
      "a Traffic Manager name that is not Teams'",
      { APPROVER_CHANNELS: channels('https://attacker.trafficmanager.net/emea/') },
      /^APPROVER_CHANNELS\.default\.serviceUrl: attacker\.trafficmanager\.net is not a Teams Bot Connector host;/,
      CONNECTOR_HOSTS,
    ],
    [
      'an http TEAMS_SERVICE_URL',
      { TEAMS_SERVICE_URL: 'http://smba.trafficmanager.net/teams/' },
      /^TEAMS_SERVICE_URL: must be https:\/\/ .*not http:\/\/smba\.trafficmanager\.net;/,
      CONNECTOR_HOSTS,
    ],
    [
      'a foreign TEAMS_SERVICE_URL',
      { TEAMS_SERVICE_URL: 'https://attacker.example/teams/' },
      /^TEAMS_SERVICE_URL: attacker\.example is not a Teams Bot Connector host;/,
      CONNECTOR_HOSTS,
    ],
    [
      'a plain http Entra authority',
      { ENTRA_AUTHORITY_HOST: 'http://login.microsoftonline.com' },
      /^ENTRA_AUTHORITY_HOST: must be https:\/\/ .*not http:\/\/login\.microsoftonline\.com;/,
      ENTRA_HOSTS,
    ],
    [
      'a foreign Entra authority',
      { ENTRA_AUTHORITY_HOST: 'https://login.attacker.example' },
      /^ENTRA_AUTHORITY_HOST: login\.attacker\.example is not a Microsoft Entra authority;/,
      ENTRA_HOSTS,
    ],
  ])('refuses %s, naming the variable, the problem and the accepted hosts', (_what, change, problem, hosts) => {
    const message = onlyProblem({ ...production, ...change });
    expect(message).toMatch(problem);
    expect(message).toMatch(hosts);
  });

  it('refuses the Entra authority with a path (token issuers are built from it)', () => {
    expect(onlyProblem({ ...production, ENTRA_AUTHORITY_HOST: 'https://login.microsoftonline.com/common' })).toMatch(
      /^ENTRA_AUTHORITY_HOST: the authority only, e\.g\. https:\/\/login\.microsoftonline\.com, without a path/,
    );
  });

  it('lists every unsafe endpoint at once', () => {
    const found = configProblems({
      ...production,
      GRAPH_BASE_URL: 'http://graph.microsoft.com',
      ARM_BASE_URL: 'https://attacker.example',
      BOT_OAUTH_URL: 'http://attacker.example',
      APPROVER_CHANNELS: channels('http://attacker.example/'),
      TEAMS_SERVICE_URL: 'http://attacker.example/',
    });
    expect(found.map((p) => p.split(':')[0])).toEqual([
      'GRAPH_BASE_URL',
      'ARM_BASE_URL',
      'BOT_OAUTH_URL',
      'APPROVER_CHANNELS.default.serviceUrl',
      'TEAMS_SERVICE_URL',
    ]);
  });

  it('never repeats credentials or paths from a refused URL', () => {
    const message = configProblems({
      ...production,
      GRAPH_BASE_URL: 'https://svc:hunter2-secret@graph.microsoft.com/v1.0?sig=abc',
      BOT_OAUTH_URL: 'http://token.botframework.com/private/path?key=k3y',
    }).join('\n');
    expect(message).toMatch(/GRAPH_BASE_URL: must not carry a user name or password/);
    expect(message).toMatch(/BOT_OAUTH_URL: must be https/);
    expect(message).not.toMatch(/hunter2|private\/path|k3y|sig=abc/);
  });

  it('has no override: an extra variable does not let a foreign host through', () => {
    for (const flag of ['ALLOW_NONSTANDARD_MICROSOFT_ENDPOINTS', 'ALLOW_INSECURE_ENDPOINTS']) {
      expect(onlyProblem({ ...production, [flag]: 'true', GRAPH_BASE_URL: 'https://graph-proxy.contoso.example' })).toMatch(
        /^GRAPH_BASE_URL: graph-proxy\.contoso\.example is not a Microsoft Graph host/,
      );
    }
  });
});

describe('production accepts the public cloud, data-residency regions and the national clouds', () => {
  it('takes the public cloud defaults', () => {
    const c = loadConfig(production);
    expect([c.authorityHost, c.graphBaseUrl, c.armBaseUrl, c.bot.oauthUrl]).toEqual([
      'https://login.microsoftonline.com',
      'https://graph.microsoft.com',
      'https://management.azure.com',
      undefined,
    ]);
  });

  it.each<[string, Record<string, string>]>([
    [
      'the public cloud, spelled out',
      {
        ENTRA_AUTHORITY_HOST: 'https://login.microsoftonline.com/',
        GRAPH_BASE_URL: 'https://graph.microsoft.com/',
        ARM_BASE_URL: 'https://management.azure.com/',
        BOT_OAUTH_URL: 'https://api.botframework.com',
        TEAMS_SERVICE_URL: 'https://smba.trafficmanager.net/amer/',
      },
    ],
    [
      'EU data residency',
      {
        BOT_OAUTH_URL: 'https://europe.token.botframework.com/',
        APPROVER_CHANNELS: channels('https://smba.trafficmanager.net/emea/'),
        TEAMS_SERVICE_URL: 'https://smba.trafficmanager.net/emea/',
      },
    ],
    [
      'US and India data residency',
      { BOT_OAUTH_URL: 'https://unitedstates.token.botframework.com', TEAMS_SERVICE_URL: 'https://smba.onyx.prod.teams.trafficmanager.net/' },
    ],
    ['India data residency', { BOT_OAUTH_URL: 'https://india.token.botframework.com/' }],
    [
      'GCC (public Azure, Teams in GCC)',
      { APPROVER_CHANNELS: channels('https://smba.infra.gcc.teams.microsoft.com/gcc/'), TEAMS_SERVICE_URL: 'https://smba.infra.gcc.teams.microsoft.com/gcc/' },
    ],
    [
      'GCC High (US Government L4)',
      {
        ENTRA_AUTHORITY_HOST: 'https://login.microsoftonline.us',
        GRAPH_BASE_URL: 'https://graph.microsoft.us',
        ARM_BASE_URL: 'https://management.usgovcloudapi.net',
        BOT_OAUTH_URL: 'https://tokengcch.botframework.azure.us',
        APPROVER_CHANNELS: channels('https://smba.infra.gov.teams.microsoft.us/gcch/'),
        TEAMS_SERVICE_URL: 'https://smba.infra.gov.teams.microsoft.us/gcch/',
      },
    ],
    [
      'Azure Government token service, as the Bot Framework docs and SDK name it',
      { ENTRA_AUTHORITY_HOST: 'https://login.microsoftonline.us', BOT_OAUTH_URL: 'https://token.botframework.azure.us' },
    ],
    ["Azure Government token service, botbuilder's default", { BOT_OAUTH_URL: 'https://api.botframework.azure.us' }],
    [
      'DoD (US Government L5)',
      {
        ENTRA_AUTHORITY_HOST: 'https://login.microsoftonline.us',
        GRAPH_BASE_URL: 'https://dod-graph.microsoft.us',
        ARM_BASE_URL: 'https://management.usgovcloudapi.net',
        BOT_OAUTH_URL: 'https://apiDoD.botframework.azure.us',
        APPROVER_CHANNELS: channels('https://smba.infra.dod.teams.microsoft.us/dod/'),
        TEAMS_SERVICE_URL: 'https://smba.infra.dod.teams.microsoft.us/',
      },
    ],
    [
      'China (operated by 21Vianet)',
      {
        ENTRA_AUTHORITY_HOST: 'https://login.partner.microsoftonline.cn',
        GRAPH_BASE_URL: 'https://microsoftgraph.chinacloudapi.cn',
        ARM_BASE_URL: 'https://management.chinacloudapi.cn',
        BOT_OAUTH_URL: 'https://token.botframework.azure.cn/',
        APPROVER_CHANNELS: channels('https://frontend.botapi.msg.infra.teams.microsoftonline.cn/', ROLE),
        TEAMS_SERVICE_URL: 'https://frontend.botapi.msg.infra.teams.microsoftonline.cn/',
      },
    ],
  ])('accepts %s', (_cloud, env) => {
    expect(configProblems({ ...production, ...env })).toEqual([]);
  });

  it('keeps the accepted national-cloud endpoints as given', () => {
    const c = loadConfig({
      ...production,
      ENTRA_AUTHORITY_HOST: 'https://login.microsoftonline.us',
      GRAPH_BASE_URL: 'https://graph.microsoft.us/',
      ARM_BASE_URL: 'https://management.usgovcloudapi.net/',
      BOT_OAUTH_URL: 'https://tokengcch.botframework.azure.us',
    });
    expect([c.authorityHost, c.graphBaseUrl, c.armBaseUrl, c.bot.oauthUrl]).toEqual([
      'https://login.microsoftonline.us',
      'https://graph.microsoft.us',
      'https://management.usgovcloudapi.net',
      'https://tokengcch.botframework.azure.us',
    ]);
  });
});
