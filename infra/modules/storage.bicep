// Storage account for the Functions host (AzureWebJobsStorage: timer
// schedule monitor and singleton lease, host diagnostics), the Flex
// Consumption deployment container and the app's tables (operation ledger,
// relationship snapshot). Identity only: shared keys are disabled.

@description('Storage account name (3-24 lower-case letters and digits).')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region.')
param location string

@description('Tags for every resource.')
param tags object

@description('Replication SKU.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
])
param skuName string = 'Standard_LRS'

@description('Blob container the Flex Consumption app deploys its package from.')
param deploymentContainerName string

@description('Tables the app uses (created here so the first invocation finds them).')
param tableNames array

@description('Principal id of the function app\'s user-assigned identity.')
param appPrincipalId string

@description('Close the account to the public internet (reached through private endpoints from the app\'s virtual network).')
param restrictNetwork bool

@description('Log Analytics workspace receiving the table service\'s resource logs.')
param workspaceId string

// Built-in role definition ids (docs/platform/functions-host-facts.md §5.3).
var storageBlobDataOwner = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
var storageTableDataContributor = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: restrictNetwork ? 'Disabled' : 'Enabled'
    networkAcls: {
      defaultAction: restrictNetwork ? 'Deny' : 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [
  for tableName in tableNames: {
    parent: tableService
    name: tableName
  }
]

// Table service logs: every read, write and delete of the operation ledger,
// the due index, the sweep state and the Partner Center guard, with the
// caller's identity (resource-specific table StorageTableLogs). Reads are
// the bulk of the volume (docs/deploy.md, "Diagnostics").
resource tableDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: tableService
  properties: {
    workspaceId: workspaceId
    logs: [
      {
        category: 'StorageRead'
        enabled: true
      }
      {
        category: 'StorageWrite'
        enabled: true
      }
      {
        category: 'StorageDelete'
        enabled: true
      }
    ]
    metrics: [
      {
        category: 'Transaction'
        enabled: true
      }
    ]
  }
}

// Blob Data Owner on the account: the host creates and leases blobs in its
// own containers (azure-webjobs-hosts, azure-webjobs-secrets) and Flex
// Consumption reads the package from the deployment container. The host's
// containers are created by the host at run time, so no narrower scope
// exists that covers both.
resource blobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, appPrincipalId, storageBlobDataOwner)
  scope: storage
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataOwner)
  }
}

// Table Data Contributor on the table service rather than on each table:
// the app may create a GDAP_TABLE_PREFIX-named table it does not find (a
// table-level assignment cannot cover a table that does not exist yet), and
// the Functions host writes its diagnostic-events tables through
// AzureWebJobsStorage. The table service is the narrowest scope covering
// both; the role grants table data actions only, so nothing on blobs or
// queues comes with it.
resource tableContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(tableService.id, appPrincipalId, storageTableDataContributor)
  scope: tableService
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageTableDataContributor)
  }
}

// No Storage Queue Data Contributor: the host uses storage queues only for
// blob triggers, queue triggers and Durable Functions, none of which this app
// has (its triggers are Service Bus and a timer, whose monitor and singleton
// lock are blobs).

@description('Storage account resource id.')
output id string = storage.id

@description('Storage account name.')
output name string = storage.name

@description('Blob endpoint, with a trailing slash.')
output blobEndpoint string = storage.properties.primaryEndpoints.blob

@description('Table endpoint, with a trailing slash.')
output tableEndpoint string = storage.properties.primaryEndpoints.table

@description('URL of the Flex Consumption deployment container.')
output deploymentContainerUrl string = '${storage.properties.primaryEndpoints.blob}${deploymentContainer.name}'
