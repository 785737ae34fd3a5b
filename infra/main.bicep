// gdapflow infrastructure: a Go custom handler on Azure Functions Flex
// Consumption that manages GDAP relationships, with Service Bus (commands,
// continuations, events), Table Storage, Key Vault and Application Insights.
// Everything authenticates with one user-assigned managed identity; no key,
// SAS or connection string is created, read or output by this template.
//
// Deploy: docs/deploy.md. Settings: docs/contract.md §4 (every setting the handler
// reads is set below; infra/bicep_test.go checks it against internal/config).

targetScope = 'resourceGroup'

// ---------------------------------------------------------------- naming

@description('Short workload name; resource names are derived from it.')
@minLength(3)
@maxLength(11)
param baseName string = 'gdapflow'

@description('Environment name (for example dev, test, prod); part of every resource name.')
@minLength(2)
@maxLength(4)
param environmentName string = 'dev'

@description('Azure region of every resource.')
param location string = resourceGroup().location

@description('Tags for every resource.')
param tags object = {}

// ------------------------------------------------------------- functions

@description('Upper bound of Flex Consumption instances.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Memory of each Flex Consumption instance (MB).')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Blob container the app deploys its package from.')
param deploymentContainerName string = 'app-package'

@description('Storage replication SKU.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
])
param storageSkuName string = 'Standard_LRS'

@description('Always-ready instances of the commands function: the first commands after a quiet period skip the cold start. Billed while idle (docs/deploy.md, "Scaling").')
@minValue(0)
@maxValue(20)
param commandsAlwaysReady int = 0

@description('Grant the app Azure Service Bus Data Owner on the commands and continuations queues (only), so that Flex Consumption scales to their length. false: scaling sees at most one waiting message (docs/deploy.md, "Scaling").')
param scalerReadsQueueLength bool = true

@description('Log Analytics retention in days (of the workspace created here).')
@minValue(30)
@maxValue(730)
param logRetentionInDays int = 30

@description('Resource id of an existing Log Analytics workspace for Application Insights and every diagnostic setting; empty: create one.')
param existingLogAnalyticsWorkspaceId string = ''

// ------------------------------------------------------------- networking

@description('Close storage, Key Vault and Service Bus to the public internet: the app reaches them through its virtual network integration and private endpoints. Moves Service Bus to Premium (docs/deploy.md, "Private networking": cost and deployment access).')
param restrictNetwork bool = false

@description('Address space of the virtual network created with restrictNetwork (a /24 or larger).')
param networkAddressPrefix string = '10.90.0.0/24'

// ----------------------------------------------------------------- alerts

@description('Resource id of the action group every alert notifies; empty: alerts fire without notification.')
param alertActionGroupId string = ''

@description('gdap.operation.failed outcomes per hour above which the failed-operations alert fires.')
@minValue(0)
param failedOperationsAlertThreshold int = 5

@description('Hours without gdap.sweep.completed after which the sweep alert fires: twice the interval of sweepSchedule (at most 48).')
@minValue(1)
@maxValue(48)
param sweepAlertWindowHours int = 12

@description('Overdue operations the reaper moves forward (or fails to) per hour above which the reaper alert fires.')
@minValue(0)
param reaperAlertThreshold int = 0

// ----------------------------------------------------------- service bus

@description('Queue other systems send commands to.')
param commandsQueueName string = 'gdap-commands'

@description('Queue of the service\'s own continuations (polls, retries, sweep pages).')
param continuationsQueueName string = 'gdap-continuations'

@description('Topic of outcome and sweep events.')
param eventsTopicName string = 'gdap-events'

@description('Duplicate detection window of the queues and the topic (ISO 8601, at most P7D). It covers redeliveries and republished events of one operation.')
param duplicateDetectionWindow string = 'P1D'

@description('Message lock duration (ISO 8601, at most PT5M). The host renews locks up to host.json maxAutoLockRenewalDuration.')
param lockDuration string = 'PT1M'

@description('Deliveries before a message is dead-lettered.')
@minValue(1)
@maxValue(2000)
param maxDeliveryCount int = 10

@description('Message time to live (ISO 8601); expired messages are dead-lettered.')
param messageTimeToLive string = 'P14D'

// ------------------------------------------------- access of other systems

@description('Principal ids of other systems allowed to send commands: Service Bus Data Sender on the commands queue only.')
param commandSenderPrincipalIds array = []

@description('Systems reading events, one subscription each: [{name, principalId, eventTypes?}]; each gets its own subscription on the events topic (filtered on the event type when eventTypes is given, with its own dead-letter queue) and Service Bus Data Receiver on it only.')
param eventConsumers array = []

@description('Principal type of the principals in commandSenderPrincipalIds and eventConsumers.')
@allowed([
  'ServicePrincipal'
  'Group'
  'User'
])
param externalPrincipalType string = 'ServicePrincipal'

// ------------------------------------------------ handler settings (§4)

@description('GDAP_GRAPH_BASE_URL: Graph root including the version.')
param graphBaseUrl string = 'https://graph.microsoft.com/beta'

@description('GDAP_PARTNER_CENTER_BASE_URL: Partner Center REST root.')
param partnerCenterBaseUrl string = 'https://api.partnercenter.microsoft.com'

@description('GDAP_LOGIN_BASE_URL: Entra token endpoint root (default: this cloud\'s).')
param loginBaseUrl string = environment().authentication.loginEndpoint

@description('GDAP_TABLE_PREFIX: prefix of the app\'s table names.')
param tablePrefix string = 'gdap'

@description('Tables created with the infrastructure: the operation ledger and the expiry sweep\'s state and snapshot, its report summaries and the failure index (handler.go, report.go: GDAP_TABLE_PREFIX + "operations", + "sweep", + "sweepreport", + "failures"). The app also ensures its tables at start-up.')
param appTableNames array = [
  '${tablePrefix}operations'
  '${tablePrefix}sweep'
  '${tablePrefix}sweepreport'
  '${tablePrefix}failures'
  '${tablePrefix}due'
  '${tablePrefix}pcauth'
]

@description('GDAP_EVENT_SOURCE: CloudEvents source of published events.')
param eventSource string = '/gdapflow'

@description('GDAP_SWEEP_SCHEDULE: six-field NCRONTAB of the expiry sweep (UTC).')
param sweepSchedule string = '0 0 */6 * * *'

@description('GDAP_REAPER_SCHEDULE: six-field NCRONTAB of the reaper, which recovers stranded operations (UTC).')
param reaperSchedule string = '0 */5 * * * *'

@description('GDAP_REAPER_PAGE_SIZE: overdue operations one reaper tick reads at most.')
@minValue(1)
@maxValue(1000)
param reaperPageSize int = 100

@description('GDAP_REAPER_BUDGET: Go duration after which a reaper tick starts no new recovery; shorter than invocationTimeout.')
param reaperBudget string = '60s'

@description('GDAP_REAPER_GRACE: Go duration an operation must be overdue before the reaper acts.')
param reaperGrace string = '2m'

@description('GDAP_WEBHOOK_CERT_HOSTS: comma-separated hosts a Partner Center webhook X-MS-Certificate-Url may name (https only, exact match).')
param webhookCertHosts string = '3psostorageacct.blob.core.windows.net'

@description('GDAP_REPORT_ROLE: the app role (value) the report page requires; define it on the report app registration (infra/report-app-roles.json, docs/deploy.md).')
param reportRole string = 'GDAP.Report.Read'

@description('Client id of the Entra ID app registration App Service Authentication signs operators in with for the report page (docs/deploy.md); empty: no App Service Authentication, and the handler refuses every report request (no principal).')
param reportAuthClientId string = ''

@description('GDAP_EXPIRY_WARNING_DAYS: comma-separated expiry thresholds in days.')
param expiryWarningDays string = '30,7,1'

@description('GDAP_APPROVAL_WARNING_DAYS: age in days at which a pending approval is announced.')
@minValue(1)
@maxValue(89)
param approvalWarningDays int = 75

@description('GDAP_AUTO_EXTEND_POLICY.')
@allowed([
  'off'
  'enable'
  'remove-global-admin'
])
param autoExtendPolicy string = 'off'

@description('GDAP_RETRY_MAX_ATTEMPTS: transient-failure retries of one step.')
@minValue(1)
@maxValue(100)
param retryMaxAttempts int = 8

@description('GDAP_OPERATION_DEADLINE: Go duration after which an unfinished operation fails.')
param operationDeadline string = '24h'

@description('GDAP_FOLLOWUP_POLL: Go duration; the longest gap between two checks of an operation waiting for a customer approval that nothing else wakes.')
param followUpPoll string = '24h'

@description('GDAP_INVOCATION_TIMEOUT: Go duration bounding one invocation; must stay well below host.json functionTimeout (10 minutes).')
param invocationTimeout string = '5m'

@description('GDAP_SWEEP_INVOCATION_BUDGET: Go duration one sweep invocation may page for; shorter than invocationTimeout.')
param sweepInvocationBudget string = '2m'

@description('GDAP_SWEEP_MAX_PAGES_PER_INVOCATION: pages one sweep invocation processes at most.')
@minValue(1)
@maxValue(100000)
param sweepMaxPagesPerInvocation int = 200

@description('GDAP_LOG_LEVEL.')
@allowed([
  'debug'
  'info'
  'warn'
  'error'
])
param logLevel string = 'info'

@description('GDAP_PARTNER_TENANT_ID: the partner\'s Entra tenant (empty: this deployment\'s tenant).')
param partnerTenantId string = ''

@description('GDAP_PC_CLIENT_ID: the Partner Center (secure application model) app; empty disables Partner Center calls (gdap.customer.removeDap).')
param pcClientId string = ''

@description('GDAP_PC_SCOPE: delegated scope requested for Partner Center.')
param pcScope string = 'https://api.partnercenter.microsoft.com/user_impersonation offline_access'

@description('GDAP_PROTECTED_CUSTOMERS: comma-separated customer tenant ids that may not be terminated or have DAP removed.')
param protectedCustomers string = ''

@description('Key Vault secret holding the Partner Center refresh token (GDAP_PC_REFRESH_TOKEN_SECRET_URI points at it).')
param pcRefreshTokenSecretName string = 'pc-refresh-token'

@description('Set GDAP_PC_CLIENT_SECRET as a Key Vault reference to pcClientSecretName. Leave false when the Partner Center app trusts the managed identity with a federated credential.')
param pcClientSecretInKeyVault bool = false

@description('Key Vault secret holding the Partner Center app\'s client secret (only with pcClientSecretInKeyVault).')
param pcClientSecretName string = 'pc-client-secret'

@description('Days a deleted vault or secret stays recoverable.')
@minValue(7)
@maxValue(90)
param keyVaultSoftDeleteRetentionInDays int = 90

// ----------------------------------------------------------------- names

var suffix = uniqueString(subscription().id, resourceGroup().id, baseName, environmentName)
var names = {
  identity: 'id-${baseName}-${environmentName}'
  storage: take(toLower(replace('st${baseName}${environmentName}${suffix}', '-', '')), 24)
  serviceBus: 'sb-${baseName}-${environmentName}-${take(suffix, 8)}'
  keyVault: 'kv-${take(baseName, 8)}-${environmentName}-${take(suffix, 5)}'
  logAnalytics: 'log-${baseName}-${environmentName}'
  appInsights: 'appi-${baseName}-${environmentName}'
  plan: 'plan-${baseName}-${environmentName}'
  functionApp: 'func-${baseName}-${environmentName}-${take(suffix, 8)}'
  network: 'vnet-${baseName}-${environmentName}'
  alerts: 'alert-${baseName}-${environmentName}'
}
var allTags = union({ workload: 'gdapflow', environment: environmentName }, tags)
var commandSenders = filter(map(commandSenderPrincipalIds, id => trim(string(id))), id => !empty(id))
var protectedCustomerIds = filter(map(split(protectedCustomers, ','), id => trim(id)), id => !empty(id))

// ------------------------------------------------------ placeholder guard
// A GUID-valued parameter left at a placeholder (the all-zero GUID, a
// "<client id>" or "your-..." template value, or anything that is not 36
// characters long) would deploy and only fail when the app first calls
// Partner Center, Graph or Service Bus with it. Bicep has no regular
// expressions and no fail(); int() of a message is what refuses it: the
// deployment (validate, what-if, create) stops with an error quoting the
// message, which names the parameter and its environment variable. Empty
// values keep their documented meaning and pass.
var guidParameters = concat(
  [
    'pcClientId (GDAP_PC_CLIENT_ID)=${pcClientId}'
    'partnerTenantId (GDAP_PARTNER_TENANT_ID)=${partnerTenantId}'
  ],
  map(protectedCustomerIds, id => 'protectedCustomers (GDAP_PROTECTED_CUSTOMERS)=${id}'),
  map(commandSenders, id => 'commandSenderPrincipalIds (GDAP_COMMAND_SENDER_PRINCIPAL_IDS)=${id}'),
  map(eventConsumers, c => 'eventConsumers (GDAP_EVENT_CONSUMERS) ${c.name}=${trim(c.principalId)}')
)
var placeholderParameters = filter(guidParameters, p => !endsWith(p, '=') && (
  length(last(split(p, '='))) != 36 ||
  last(split(p, '=')) == '00000000-0000-0000-0000-000000000000' ||
  contains(p, '<') || contains(p, '>') || contains(toLower(last(split(p, '='))), 'your') || contains(toLower(last(split(p, '='))), 'xxxx')))
var placeholderGuard = int(empty(placeholderParameters) ? '0' : 'Refusing to deploy: placeholder or malformed GUID in ${join(placeholderParameters, ', ')}. Set the real id (docs/deploy.md) or leave the value empty.')

// -------------------------------------------------------------- resources

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: names.identity
  location: location
  tags: allTags
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    name: names.storage
    location: location
    tags: allTags
    skuName: storageSkuName
    deploymentContainerName: deploymentContainerName
    tableNames: appTableNames
    appPrincipalId: identity.properties.principalId
    restrictNetwork: restrictNetwork
    workspaceId: monitoring.outputs.workspaceId
    reportAuthClientId: reportAuthClientId
  }
}

module serviceBus 'modules/servicebus.bicep' = {
  name: 'servicebus'
  params: {
    name: names.serviceBus
    location: location
    tags: allTags
    commandsQueueName: commandsQueueName
    continuationsQueueName: continuationsQueueName
    eventsTopicName: eventsTopicName
    duplicateDetectionWindow: duplicateDetectionWindow
    lockDuration: lockDuration
    maxDeliveryCount: maxDeliveryCount
    messageTimeToLive: messageTimeToLive
    appPrincipalId: identity.properties.principalId
    commandSenderPrincipalIds: commandSenders
    eventConsumers: eventConsumers
    externalPrincipalType: externalPrincipalType
    scalerReadsQueueLength: scalerReadsQueueLength
    restrictNetwork: restrictNetwork
    workspaceId: monitoring.outputs.workspaceId
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  params: {
    name: names.keyVault
    location: location
    tags: allTags
    softDeleteRetentionInDays: keyVaultSoftDeleteRetentionInDays
    refreshTokenSecretName: pcRefreshTokenSecretName
    appPrincipalId: identity.properties.principalId
    restrictNetwork: restrictNetwork
    workspaceId: monitoring.outputs.workspaceId
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    workspaceName: names.logAnalytics
    existingWorkspaceId: existingLogAnalyticsWorkspaceId
    appInsightsName: names.appInsights
    location: location
    tags: allTags
    retentionInDays: logRetentionInDays
    appPrincipalId: identity.properties.principalId
  }
}

// Private endpoints and the app's subnet, only with restrictNetwork.
module network 'modules/network.bicep' = if (restrictNetwork) {
  name: 'network'
  params: {
    name: names.network
    location: location
    tags: allTags
    addressPrefix: networkAddressPrefix
    storageAccountId: storage.outputs.id
    keyVaultId: keyVault.outputs.id
    serviceBusNamespaceId: serviceBus.outputs.id
  }
}

module alerts 'modules/alerts.bicep' = {
  name: 'alerts'
  params: {
    namePrefix: names.alerts
    location: location
    tags: allTags
    actionGroupId: alertActionGroupId
    serviceBusNamespaceId: serviceBus.outputs.id
    appInsightsId: monitoring.outputs.appInsightsId
    workspaceId: monitoring.outputs.workspaceId
    keyVaultId: keyVault.outputs.id
    failedOperationsPerHour: failedOperationsAlertThreshold
    sweepAlertWindowHours: sweepAlertWindowHours
    reaperRecoveriesPerHour: reaperAlertThreshold
  }
}

// The component's connection string is read here rather than passed out of
// the module as an output (outputs stay free of anything named a connection
// string). It holds no credential: with DisableLocalAuth, ingestion needs an
// Entra token. functionApp depends on the monitoring module explicitly.
resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: names.appInsights
}

// ----------------------------------------------------------- app settings

// Every setting internal/config reads, except those the Functions host
// provides (FUNCTIONS_CUSTOMHANDLER_PORT) and the local-development ones
// (connection strings, local broker, dev token and clock, literal refresh
// token). Flex Consumption takes the runtime from functionAppConfig, so
// FUNCTIONS_WORKER_RUNTIME and FUNCTIONS_EXTENSION_VERSION are not set.
var baseAppSettings = [
  // Host storage, by identity.
  { name: 'AzureWebJobsStorage__accountName', value: storage.outputs.name }
  { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
  { name: 'AzureWebJobsStorage__clientId', value: identity.properties.clientId }
  // Service Bus triggers (function.json connection "ServiceBusConnection")
  // and the handler's own senders, by identity.
  { name: 'ServiceBusConnection__fullyQualifiedNamespace', value: serviceBus.outputs.fullyQualifiedNamespace }
  { name: 'ServiceBusConnection__credential', value: 'managedidentity' }
  { name: 'ServiceBusConnection__clientId', value: identity.properties.clientId }
  // azidentity in the Go process: the user-assigned identity.
  { name: 'AZURE_CLIENT_ID', value: identity.properties.clientId }
  // Telemetry with Entra ingestion (local auth is disabled on the component).
  { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: appInsights.properties.ConnectionString }
  { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'ClientId=${identity.properties.clientId};Authorization=AAD' }
  // gdapflow (docs/contract.md §4).
  { name: 'GDAP_TABLES_ENDPOINT', value: storage.outputs.tableEndpoint }
  { name: 'GDAP_TABLE_PREFIX', value: tablePrefix }
  { name: 'GDAP_COMMANDS_QUEUE', value: serviceBus.outputs.commandsQueueName }
  { name: 'GDAP_CONTINUATIONS_QUEUE', value: serviceBus.outputs.continuationsQueueName }
  { name: 'GDAP_EVENTS_TOPIC', value: serviceBus.outputs.eventsTopicName }
  { name: 'GDAP_EVENT_SOURCE', value: eventSource }
  { name: 'GDAP_GRAPH_BASE_URL', value: graphBaseUrl }
  { name: 'GDAP_PARTNER_CENTER_BASE_URL', value: partnerCenterBaseUrl }
  { name: 'GDAP_LOGIN_BASE_URL', value: loginBaseUrl }
  { name: 'GDAP_SWEEP_SCHEDULE', value: sweepSchedule }
  { name: 'GDAP_REAPER_SCHEDULE', value: reaperSchedule }
  { name: 'GDAP_REAPER_PAGE_SIZE', value: string(reaperPageSize) }
  { name: 'GDAP_REAPER_BUDGET', value: reaperBudget }
  { name: 'GDAP_REAPER_GRACE', value: reaperGrace }
  { name: 'GDAP_WEBHOOK_CERT_HOSTS', value: webhookCertHosts }
  { name: 'GDAP_REPORT_ROLE', value: reportRole }
  { name: 'GDAP_EXPIRY_WARNING_DAYS', value: expiryWarningDays }
  { name: 'GDAP_APPROVAL_WARNING_DAYS', value: string(approvalWarningDays) }
  { name: 'GDAP_AUTO_EXTEND_POLICY', value: autoExtendPolicy }
  { name: 'GDAP_RETRY_MAX_ATTEMPTS', value: string(retryMaxAttempts) }
  { name: 'GDAP_OPERATION_DEADLINE', value: operationDeadline }
  { name: 'GDAP_FOLLOWUP_POLL', value: followUpPoll }
  { name: 'GDAP_INVOCATION_TIMEOUT', value: invocationTimeout }
  { name: 'GDAP_SWEEP_INVOCATION_BUDGET', value: sweepInvocationBudget }
  { name: 'GDAP_SWEEP_MAX_PAGES_PER_INVOCATION', value: string(sweepMaxPagesPerInvocation) }
  { name: 'GDAP_LOG_LEVEL', value: logLevel }
  { name: 'GDAP_PARTNER_TENANT_ID', value: empty(partnerTenantId) ? tenant().tenantId : partnerTenantId }
  { name: 'GDAP_PC_CLIENT_ID', value: placeholderGuard == 0 ? pcClientId : '' }
  { name: 'GDAP_PC_SCOPE', value: pcScope }
  { name: 'GDAP_PC_REFRESH_TOKEN_SECRET_URI', value: keyVault.outputs.refreshTokenSecretUri }
  { name: 'GDAP_PROTECTED_CUSTOMERS', value: join(protectedCustomerIds, ',') }
]

// Only when asked: the client secret as a Key Vault reference, resolved by
// the platform with keyVaultReferenceIdentity (the user-assigned identity).
var clientSecretAppSettings = pcClientSecretInKeyVault ? [
  {
    name: 'GDAP_PC_CLIENT_SECRET'
    value: '@Microsoft.KeyVault(VaultName=${keyVault.outputs.name};SecretName=${pcClientSecretName})'
  }
] : []

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionapp'
  dependsOn: [
    monitoring
  ]
  params: {
    name: names.functionApp
    planName: names.plan
    location: location
    tags: allTags
    identityId: identity.id
    deploymentContainerUrl: storage.outputs.deploymentContainerUrl
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    appSettings: concat(baseAppSettings, clientSecretAppSettings)
    commandsAlwaysReady: commandsAlwaysReady
    virtualNetworkSubnetId: network.?outputs.appSubnetId ?? ''
    workspaceId: monitoring.outputs.workspaceId
  }
}

// ---------------------------------------------------------------- outputs
// Names and endpoints other pipelines need. No keys, secrets or connection
// strings: there are none to give (shared keys and SAS are disabled).

@description('Function app name (zip deployment target).')
output functionAppName string = functionApp.outputs.name

@description('The URL to register with Partner Center for webhook events (gdapctl webhook register --url): the partner-center-webhook function, anonymous (its signature is its authentication).')
output partnerCenterWebhookUrl string = 'https://${functionApp.outputs.defaultHostName}/api/partner-center-webhook'

@description('The report page (GET; App Service Authentication with Entra ID, app role reportRole).')
output reportUrl string = 'https://${functionApp.outputs.defaultHostName}/api/report'

@description('Storage account name.')
output storageAccountName string = storage.outputs.name

@description('Fully qualified Service Bus namespace.')
output serviceBusNamespaceFqdn string = serviceBus.outputs.fullyQualifiedNamespace

@description('Queue other systems send commands to.')
output commandsQueueName string = serviceBus.outputs.commandsQueueName

@description('Queue of the service\'s continuations.')
output continuationsQueueName string = serviceBus.outputs.continuationsQueueName

@description('Topic of outcome and sweep events.')
output eventsTopicName string = serviceBus.outputs.eventsTopicName

@description('Events subscription of each consumer, in eventConsumers order.')
output eventSubscriptionNames array = serviceBus.outputs.eventSubscriptionNames

@description('Log Analytics workspace of Application Insights and the diagnostic settings.')
output logAnalyticsWorkspaceId string = monitoring.outputs.workspaceId

@description('Key Vault name (bootstrap the refresh token here).')
output keyVaultName string = keyVault.outputs.name

@description('URI of the Key Vault secret holding the Partner Center refresh token.')
#disable-next-line outputs-should-not-contain-secrets // a URI naming the secret, not its value
output pcRefreshTokenSecretUri string = keyVault.outputs.refreshTokenSecretUri

@description('Principal (object) id of the app\'s managed identity: grant it the Graph application permission.')
output identityPrincipalId string = identity.properties.principalId

@description('Client id of the app\'s managed identity.')
output identityClientId string = identity.properties.clientId
