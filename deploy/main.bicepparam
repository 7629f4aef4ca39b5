// Example parameters: copy, fill in, and keep secrets out of source control (pass them with
// `-p botAppSecret=... ` from a pipeline secret, or use az.getSecret() against an existing vault).
using './main.bicep'

param namePrefix = 'contosopim'
param image = 'contosoacr.azurecr.io/pim-approvals-bot:1.0.0'
param registryServer = 'contosoacr.azurecr.io'
param botAppId = '00000000-0000-0000-0000-000000000000'
param botAppSecret = readEnvironmentVariable('BOT_APP_SECRET')
param pimEndpointAppIdUri = 'api://pim-bot.contoso.com/00000000-0000-0000-0000-000000000000'
param pimAllowedCallerAppIds = '00000000-0000-0000-0000-000000000000'
param approverChannels = '{"default":{"conversationId":"19:abc@thread.tacv2","serviceUrl":"https://smba.trafficmanager.net/emea/"}}'
param replicas = 2
param postgresAdminPassword = readEnvironmentVariable('POSTGRES_ADMIN_PASSWORD')
param metricsToken = readEnvironmentVariable('METRICS_TOKEN')
param publicBaseUrl = 'https://pim-bot.contoso.com'
param secretOfficerPrincipalIds = []
