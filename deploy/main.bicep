// The PIM approvals bot on Azure Container Apps, with its Azure Bot (Teams channel and SSO connection),
// Azure Database for PostgreSQL flexible server, Key Vault secrets read by a managed identity, and Log
// Analytics. Deploy into a resource group:
//   az deployment group create -g <rg> -f deploy/main.bicep -p deploy/main.bicepparam
// See docs/deployment.md for the app registrations this expects and what to do after.

targetScope = 'resourceGroup'

@description('Prefix of every resource name (lower-case letters and digits).')
@minLength(3)
@maxLength(12)
param namePrefix string

param location string = resourceGroup().location

@description('The container image, e.g. myregistry.azurecr.io/pim-approvals-bot:1.0.0 (built from the Dockerfile).')
param image string

@description('Registry server of the image when it needs credentials (e.g. myregistry.azurecr.io); empty for a public image. The app identity pulls with AcrPull (granted outside this template).')
param registryServer string = ''

@description('The bot app registration (client) id: Azure Bot msaAppId, Teams app bot id, BOT_APP_ID.')
param botAppId string

@description('A client secret of the bot app registration (stored in Key Vault only).')
@secure()
param botAppSecret string

@description('The decision endpoint\'s Application ID URI, api://<endpoint host>/<client id> (PIM_ENDPOINT_APP_ID_URI).')
param pimEndpointAppIdUri string

@description('App ids allowed to call /api/pim/evaluate (PIM\'s, from the azp/appid of its token).')
param pimAllowedCallerAppIds string

@description('APPROVER_CHANNELS JSON: role ids and "default" mapped to {conversationId, serviceUrl, teamId}; teamId is the team group id from the channel link.')
param approverChannels string

@description('The decision policy as JSON (POLICY_JSON); empty: the built-in defaults.')
param policyJson string = ''

@description('Replicas of the bot. Fixed (min = max): PIM\'s calls must never wait for a cold start. The replicas pace Teams sends together through the database (REPLICA_COUNT is passed for compatibility only).')
@minValue(1)
@maxValue(10)
param replicas int = 2

@description('PostgreSQL administrator login.')
param postgresAdminLogin string = 'pimbot'

@description('PostgreSQL administrator password (stored in Key Vault inside DATABASE_URL only).')
@secure()
param postgresAdminPassword string

@description('Bearer token Prometheus sends to /metrics (at least 32 characters; openssl rand -hex 32).')
@secure()
@minLength(32)
param metricsToken string

@description('Public base URL of the bot when a custom domain is bound (https://pim-bot.contoso.com); empty: the Container Apps FQDN.')
param publicBaseUrl string = ''

@description('Azure Bot pricing tier.')
@allowed(['F0', 'S1'])
param botSku string = 'F0'

@description('Entra object ids (users or groups) that may read and set the Key Vault secrets (Key Vault Secrets Officer).')
param secretOfficerPrincipalIds array = []

var suffix = uniqueString(resourceGroup().id, namePrefix)
var databaseName = 'pimbot'
// Key Vault role: Key Vault Secrets User (read secret values).
var keyVaultSecretsUserRole = '4633458b-17de-408a-b874-0445c86b69e6'
// Key Vault role: Key Vault Secrets Officer (manage secrets), for the people who rotate them.
var keyVaultSecretsOfficerRole = 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'

resource logs 'Microsoft.OperationalInsights/workspaces@2022-10-01' = {
  name: '${namePrefix}-logs'
  location: location
  properties: {
    sku: { name: 'PerGB2018' }
    retentionInDays: 30
  }
}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${namePrefix}-bot-identity'
  location: location
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: take('${namePrefix}kv${suffix}', 24)
  location: location
  properties: {
    tenantId: tenant().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
  }
}

resource postgres 'Microsoft.DBforPostgreSQL/flexibleServers@2022-12-01' = {
  name: '${namePrefix}-pg-${suffix}'
  location: location
  sku: { name: 'Standard_B1ms', tier: 'Burstable' }
  properties: {
    version: '16'
    administratorLogin: postgresAdminLogin
    administratorLoginPassword: postgresAdminPassword
    storage: { storageSizeGB: 32 }
    backup: { backupRetentionDays: 7, geoRedundantBackup: 'Disabled' }
    highAvailability: { mode: 'Disabled' }
    authConfig: { activeDirectoryAuth: 'Disabled', passwordAuth: 'Enabled' }
  }
}

resource database 'Microsoft.DBforPostgreSQL/flexibleServers/databases@2022-12-01' = {
  parent: postgres
  name: databaseName
  properties: { charset: 'UTF8', collation: 'en_US.utf8' }
}

// Public access limited to Azure services (0.0.0.0). For a private network, use VNet integration
// for both the Container Apps environment and the server instead (docs/deployment.md).
resource postgresFromAzure 'Microsoft.DBforPostgreSQL/flexibleServers/firewallRules@2022-12-01' = {
  parent: postgres
  name: 'AllowAzureServices'
  properties: { startIpAddress: '0.0.0.0', endIpAddress: '0.0.0.0' }
}

resource botAppSecretValue 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'bot-app-secret'
  properties: { value: botAppSecret, contentType: 'Entra client secret of the bot app registration' }
}

resource databaseUrlValue 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'database-url'
  properties: {
    value: 'postgres://${postgresAdminLogin}:${uriComponent(postgresAdminPassword)}@${postgres.properties.fullyQualifiedDomainName}:5432/${databaseName}?sslmode=require'
    contentType: 'PostgreSQL connection URL'
  }
}

resource metricsTokenValue 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'metrics-token'
  properties: { value: metricsToken, contentType: 'Bearer token for /metrics' }
}

resource identityReadsSecrets 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, identity.id, keyVaultSecretsUserRole)
  scope: vault
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUserRole)
  }
}

resource officers 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for principalId in secretOfficerPrincipalIds: {
  name: guid(vault.id, principalId, keyVaultSecretsOfficerRole)
  scope: vault
  properties: {
    principalId: principalId
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsOfficerRole)
  }
}]

resource environment 'Microsoft.App/managedEnvironments@2024-03-01' = {
  name: '${namePrefix}-env'
  location: location
  properties: {
    appLogsConfiguration: {
      destination: 'log-analytics'
      logAnalyticsConfiguration: {
        customerId: logs.properties.customerId
        sharedKey: logs.listKeys().primarySharedKey
      }
    }
  }
}

resource app 'Microsoft.App/containerApps@2024-03-01' = {
  name: '${namePrefix}-bot'
  location: location
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identity.id}': {} }
  }
  // The identity must be able to read the secrets before the first revision starts.
  dependsOn: [identityReadsSecrets, botAppSecretValue, databaseUrlValue, metricsTokenValue]
  properties: {
    managedEnvironmentId: environment.id
    configuration: {
      activeRevisionsMode: 'Single'
      ingress: {
        external: true
        targetPort: 3978
        transport: 'auto'
        allowInsecure: false
      }
      registries: empty(registryServer) ? [] : [{ server: registryServer, identity: identity.id }]
      // Key Vault references: the values never appear in the template, the deployment or the app's configuration.
      secrets: [
        { name: 'bot-app-secret', keyVaultUrl: '${vault.properties.vaultUri}secrets/bot-app-secret', identity: identity.id }
        { name: 'database-url', keyVaultUrl: '${vault.properties.vaultUri}secrets/database-url', identity: identity.id }
        { name: 'metrics-token', keyVaultUrl: '${vault.properties.vaultUri}secrets/metrics-token', identity: identity.id }
      ]
    }
    template: {
      containers: [
        {
          name: 'bot'
          image: image
          resources: { cpu: json('0.5'), memory: '1Gi' }
          env: concat([
            { name: 'APP_MODE', value: 'production' }
            { name: 'NODE_ENV', value: 'production' }
            { name: 'PORT', value: '3978' }
            { name: 'TENANT_ID', value: tenant().tenantId }
            { name: 'BOT_APP_ID', value: botAppId }
            { name: 'BOT_APP_SECRET', secretRef: 'bot-app-secret' }
            { name: 'PIM_ENDPOINT_APP_ID_URI', value: pimEndpointAppIdUri }
            { name: 'PIM_ALLOWED_CALLER_APP_IDS', value: pimAllowedCallerAppIds }
            { name: 'APPROVER_CHANNELS', value: approverChannels }
            { name: 'DATABASE_URL', secretRef: 'database-url' }
            { name: 'METRICS_TOKEN', secretRef: 'metrics-token' }
            { name: 'REPLICA_COUNT', value: string(replicas) }
            { name: 'PUBLIC_BASE_URL', value: empty(publicBaseUrl) ? 'https://${namePrefix}-bot.${environment.properties.defaultDomain}' : publicBaseUrl }
          ], empty(policyJson) ? [] : [
            { name: 'POLICY_JSON', value: policyJson }
          ])
          probes: [
            // Liveness: the process serves. Never tied to dependencies, or an Entra outage would restart every replica.
            { type: 'Liveness', httpGet: { path: '/healthz', port: 3978 }, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3 }
            // Readiness: database, tokens and the Bot Connector; checks time out within 5 s and are cached 5 s.
            { type: 'Readiness', httpGet: { path: '/readyz', port: 3978 }, periodSeconds: 15, timeoutSeconds: 8, failureThreshold: 3 }
            // Start-up runs the migrations; give it a minute.
            { type: 'Startup', httpGet: { path: '/healthz', port: 3978 }, periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 12 }
          ]
        }
      ]
      scale: { minReplicas: replicas, maxReplicas: replicas }
    }
  }
}

var botEndpointBase = empty(publicBaseUrl) ? 'https://${app.properties.configuration.ingress.fqdn}' : publicBaseUrl

resource bot 'Microsoft.BotService/botServices@2022-09-15' = {
  name: '${namePrefix}-bot-${suffix}'
  location: 'global'
  kind: 'azurebot'
  // Teams is a standard channel: no message charge on either tier.
  sku: { name: botSku }
  properties: {
    displayName: 'PIM Approvals'
    endpoint: '${botEndpointBase}/api/messages'
    msaAppId: botAppId
    msaAppType: 'SingleTenant'
    msaAppTenantId: tenant().tenantId
  }
}

resource teams 'Microsoft.BotService/botServices/channels@2022-09-15' = {
  parent: bot
  name: 'MsTeamsChannel'
  location: 'global'
  properties: {
    channelName: 'MsTeamsChannel'
    properties: { isEnabled: true }
  }
}

// Teams SSO: the OAuth connection BOT_OAUTH_CONNECTION_NAME names (default pim-sso). serviceProviderId
// is the Bot Service's "Azure Active Directory v2" provider (az bot authsetting list-providers).
resource sso 'Microsoft.BotService/botServices/connections@2022-09-15' = {
  parent: bot
  name: 'pim-sso'
  location: 'global'
  properties: {
    serviceProviderId: '30dd229c-58e3-4a48-bdfd-91ec48eb906c'
    serviceProviderDisplayName: 'Azure Active Directory v2'
    clientId: botAppId
    clientSecret: botAppSecret
    // The token service exchanges Teams' SSO token for these scopes: the bot's own API, so the token it
    // hands the bot is issued for the bot (aud api://botid-<app id>), which the bot's identity check and its
    // own on-behalf-of exchange (Graph, ARM) need. Graph scopes here would give the bot a Graph token instead.
    scopes: 'api://botid-${botAppId}/access_as_user'
    parameters: [
      { key: 'tenantID', value: tenant().tenantId }
      { key: 'tokenExchangeUrl', value: 'api://botid-${botAppId}' }
    ]
  }
}

output botUrl string = botEndpointBase
output messagingEndpoint string = '${botEndpointBase}/api/messages'
output pimDecisionEndpoint string = '${botEndpointBase}/api/pim/evaluate'
output keyVaultName string = vault.name
output identityClientId string = identity.properties.clientId
output postgresHost string = postgres.properties.fullyQualifiedDomainName
