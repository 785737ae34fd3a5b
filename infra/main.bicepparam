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

param eventReceiverPrincipalIds = split(readEnvironmentVariable('GDAP_EVENT_RECEIVER_PRINCIPAL_IDS', ''), ',')

param externalPrincipalType = readEnvironmentVariable('GDAP_EXTERNAL_PRINCIPAL_TYPE', 'ServicePrincipal')
