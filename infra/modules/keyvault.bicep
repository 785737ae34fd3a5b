// Key Vault (RBAC mode, soft delete, purge protection) holding the Partner
// Center App+User refresh token, which the app reads and replaces with each
// rotated token, and, when the deployment asks for it, the Partner Center
// app's client secret (read through an app-setting Key Vault reference).
//
// The secrets themselves are NOT declared here: a deployed
// Microsoft.KeyVault/vaults/secrets resource writes a new version with the
// template's value on every deployment, which would overwrite the token the
// app rotated (and would put a secret into the deployment). The operator
// bootstraps the refresh token once (docs/partner-center-auth.md) and the app
// keeps it current.

@description('Vault name (3-24 characters, globally unique).')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region.')
param location string

@description('Tags for every resource.')
param tags object

@description('Days a deleted vault or secret stays recoverable.')
@minValue(7)
@maxValue(90)
param softDeleteRetentionInDays int

@description('Name of the secret holding the Partner Center refresh token.')
param refreshTokenSecretName string

@description('Principal id of the function app\'s user-assigned identity.')
param appPrincipalId string

@description('Close the vault to the public internet (reached through a private endpoint from the app\'s virtual network).')
param restrictNetwork bool

@description('Log Analytics workspace receiving the vault\'s audit log.')
param workspaceId string

// Key Vault Secrets Officer: get, list, set and delete secrets. The app
// writes each rotated refresh token as a new version, so the read-only
// Secrets User role is not enough.
var keyVaultSecretsOfficer = 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: softDeleteRetentionInDays
    enablePurgeProtection: true
    enabledForDeployment: false
    enabledForDiskEncryption: false
    enabledForTemplateDeployment: false
    publicNetworkAccess: restrictNetwork ? 'Disabled' : 'Enabled'
    networkAcls: {
      defaultAction: restrictNetwork ? 'Deny' : 'Allow'
      bypass: 'AzureServices'
    }
    accessPolicies: []
  }
}

// Scope: the vault, not the single secret. Bicep can scope a role
// assignment to a Microsoft.KeyVault/vaults/secrets resource, but only to
// one this template deploys or one that already exists: deploying the secret
// would overwrite the rotated token on every run (see above), and an
// `existing` reference fails on the first deployment, before the operator has
// bootstrapped the token. The vault is dedicated to gdapflow and holds only
// the refresh token and, optionally, the client secret the app must read
// anyway, so vault scope grants nothing else.
resource appSecretsOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, appPrincipalId, keyVaultSecretsOfficer)
  scope: vault
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsOfficer)
  }
}

// AuditEvent: every authenticated request (each read and write of the
// refresh token that holds Admin Agent rights over every customer, with the
// caller's identity and address), refused requests, and the near-expiry and
// expiry notifications of secrets that have an expiry date
// (learn.microsoft.com/azure/key-vault/general/logging; the "Key Vault secret
// near expiry" alert reads them, infra/modules/alerts.bicep).
resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: vault
  properties: {
    workspaceId: workspaceId
    logs: [
      {
        category: 'AuditEvent'
        enabled: true
      }
    ]
    metrics: [
      {
        category: 'AllMetrics'
        enabled: true
      }
    ]
  }
}

@description('Vault resource id.')
output id string = vault.id

@description('Vault name.')
output name string = vault.name

@description('Vault URI, with a trailing slash.')
output vaultUri string = vault.properties.vaultUri

@description('URI of the refresh-token secret without a version (the app always reads the latest).')
#disable-next-line outputs-should-not-contain-secrets // a URI naming the secret, not its value
output refreshTokenSecretUri string = '${vault.properties.vaultUri}secrets/${refreshTokenSecretName}'
