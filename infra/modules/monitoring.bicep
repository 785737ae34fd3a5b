// Application Insights on a Log Analytics workspace (created here, or an
// existing one named by existingWorkspaceId), with local
// (instrumentation-key) authentication disabled: telemetry is accepted only
// with an Entra token (APPLICATIONINSIGHTS_AUTHENTICATION_STRING), which the
// app's identity may send as Monitoring Metrics Publisher.

@description('Log Analytics workspace name (when one is created here).')
param workspaceName string

@description('Resource id of an existing Log Analytics workspace to use instead of creating one; empty: create workspaceName.')
param existingWorkspaceId string

@description('Application Insights component name.')
param appInsightsName string

@description('Azure region.')
param location string

@description('Tags for every resource.')
param tags object

@description('Log retention in days.')
@minValue(30)
@maxValue(730)
param retentionInDays int

@description('Principal id of the function app\'s user-assigned identity.')
param appPrincipalId string

// Monitoring Metrics Publisher (docs/platform/functions-host-facts.md §5.3).
var monitoringMetricsPublisher = '3913510d-42f4-4e42-8a64-420c390055eb'

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = if (empty(existingWorkspaceId)) {
  name: workspaceName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionInDays
    features: {
      disableLocalAuth: true
    }
  }
}

var workspaceId = empty(existingWorkspaceId) ? workspace.id : existingWorkspaceId

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: appInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspaceId
    DisableLocalAuth: true
  }
}

resource metricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, appPrincipalId, monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisher)
  }
}

@description('Application Insights component name.')
output appInsightsName string = appInsights.name

@description('Application Insights component resource id (scope of the log alerts).')
output appInsightsId string = appInsights.id

@description('Log Analytics workspace every diagnostic setting sends to.')
output workspaceId string = workspaceId
