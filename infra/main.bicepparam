// Parameters of infra/main.bicep for one environment.
//
// Environment-specific values come from environment variables, so the same
// file serves a developer's `az deployment group create` and both pipelines
// (which export the GitHub environment variables / Azure DevOps variable
// group of the target environment; docs/deploy.md lists them). Every other
// parameter keeps the default in main.bicep.
using './main.bicep'

param environmentName = readEnvironmentVariable('GDAP_ENVIRONMENT', 'dev')

param baseName = readEnvironmentVariable('GDAP_BASE_NAME', 'gdapflow')

// The partner's Entra tenant; empty means the tenant of the deployment.
param partnerTenantId = readEnvironmentVariable('GDAP_PARTNER_TENANT_ID', '')

// The Partner Center (secure application model) app registration; empty
// leaves Partner Center calls (gdap.customer.removeDap) unconfigured.
param pcClientId = readEnvironmentVariable('GDAP_PC_CLIENT_ID', '')

param pcClientSecretInKeyVault = bool(readEnvironmentVariable('GDAP_PC_CLIENT_SECRET_IN_KEY_VAULT', 'false'))

param autoExtendPolicy = readEnvironmentVariable('GDAP_AUTO_EXTEND_POLICY', 'off')

param protectedCustomers = readEnvironmentVariable('GDAP_PROTECTED_CUSTOMERS', '')

param sweepSchedule = readEnvironmentVariable('GDAP_SWEEP_SCHEDULE', '0 0 */6 * * *')

// Principal (object) ids of other systems, comma-separated.
param commandSenderPrincipalIds = split(readEnvironmentVariable('GDAP_COMMAND_SENDER_PRINCIPAL_IDS', ''), ',')

// Systems reading events, as JSON: one subscription each, e.g.
// [{"name":"psa","principalId":"<object id>","eventTypes":["gdap.operation.failed"]}]
// (eventTypes optional; docs/deploy.md, "Granting other systems access").
param eventConsumers = json(readEnvironmentVariable('GDAP_EVENT_CONSUMERS', '[]'))

param externalPrincipalType = readEnvironmentVariable('GDAP_EXTERNAL_PRINCIPAL_TYPE', 'ServicePrincipal')

// Operations (docs/deploy.md, "Scaling", "Diagnostics and alerts", "Private networking").
param commandsAlwaysReady = int(readEnvironmentVariable('GDAP_COMMANDS_ALWAYS_READY', '0'))

param scalerReadsQueueLength = bool(readEnvironmentVariable('GDAP_SCALER_READS_QUEUE_LENGTH', 'true'))

param existingLogAnalyticsWorkspaceId = readEnvironmentVariable('GDAP_LOG_ANALYTICS_WORKSPACE_ID', '')

param alertActionGroupId = readEnvironmentVariable('GDAP_ALERT_ACTION_GROUP_ID', '')

param failedOperationsAlertThreshold = int(readEnvironmentVariable('GDAP_FAILED_OPERATIONS_ALERT_THRESHOLD', '5'))

// Twice the interval of GDAP_SWEEP_SCHEDULE: change both together.
param sweepAlertWindowHours = int(readEnvironmentVariable('GDAP_SWEEP_ALERT_WINDOW_HOURS', '12'))

param restrictNetwork = bool(readEnvironmentVariable('GDAP_RESTRICT_NETWORK', 'false'))

param networkAddressPrefix = readEnvironmentVariable('GDAP_NETWORK_ADDRESS_PREFIX', '10.90.0.0/24')
