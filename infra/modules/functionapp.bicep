// Linux function app on a Flex Consumption (FC1) plan running the Go custom
// handler (runtime `custom` 1.0), with a user-assigned identity for
// everything: host storage, the deployment container, Service Bus triggers,
// Key Vault references and the app's own Azure SDK clients.

@description('Function app name (globally unique host name).')
param name string

@description('Flex Consumption plan name.')
param planName string

@description('Azure region.')
param location string

@description('Tags for every resource.')
param tags object

@description('Resource id of the user-assigned identity.')
param identityId string

@description('URL of the blob container the app deploys its package from.')
param deploymentContainerUrl string

@description('Upper bound of instances the app scales out to.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int

@description('Memory of each instance.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int

@description('App settings ({name, value} objects).')
param appSettings array

@description('Always-ready instances of the commands function (0: scale from zero).')
@minValue(0)
@maxValue(20)
param commandsAlwaysReady int

@description('Subnet (delegated to Microsoft.App/environments) the app integrates with; empty: no virtual network integration.')
param virtualNetworkSubnetId string

@description('Log Analytics workspace receiving the app\'s FunctionAppLogs.')
param workspaceId string

@description('Entra ID app registration (client id) of App Service Authentication; empty: none.')
param reportAuthClientId string

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource app 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    keyVaultReferenceIdentity: identityId
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
        // Always-ready instances of one function are named `function:<name>`
        // (aka.ms/flexconsumption/alwaysready); they are billed while idle.
        alwaysReady: commandsAlwaysReady > 0 ? [
          {
            name: 'function:commands'
            instanceCount: commandsAlwaysReady
          }
        ] : []
      }
      runtime: {
        name: 'custom'
        version: '1.0'
      }
    }
    // Outbound traffic through the virtual network when restricted (the
    // property and the Microsoft.App/environments delegation follow
    // Azure-Samples/functions-quickstart-dotnet-azd
    // infra/core/host/functions-flexconsumption.bicep @501adc4).
    virtualNetworkSubnetId: empty(virtualNetworkSubnetId) ? null : virtualNetworkSubnetId
    siteConfig: {
      appSettings: appSettings
    }
  }
}

// App Service Authentication (Easy Auth) in front of the HTTP routes: an
// operator signs in with Entra ID before the report page is invoked, and
// the platform passes the principal (app roles included) to the handler in
// X-MS-CLIENT-PRINCIPAL, which callers cannot set. The handler checks the
// role itself too (defence in depth). The webhook stays anonymous
// (excludedPaths): Partner Center cannot sign in, and the handler
// authenticates each delivery by its signature (docs/contract.md §6.3).
// No client secret: the browser sign-in uses the ID token (implicit grant of
// ID tokens on the registration, docs/deploy.md), and no token store.
resource auth 'Microsoft.Web/sites/config@2024-04-01' = if (!empty(reportAuthClientId)) {
  parent: app
  name: 'authsettingsV2'
  properties: {
    platform: {
      enabled: true
    }
    globalValidation: {
      requireAuthentication: true
      unauthenticatedClientAction: 'RedirectToLoginPage'
      redirectToProvider: 'azureactivedirectory'
      excludedPaths: [
        '/api/partner-center-webhook'
      ]
    }
    httpSettings: {
      requireHttps: true
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          clientId: reportAuthClientId
          openIdIssuer: '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
        }
        validation: {
          allowedAudiences: [
            'api://${reportAuthClientId}'
            reportAuthClientId
          ]
        }
      }
    }
    login: {
      tokenStore: {
        enabled: false
      }
    }
  }
}

// The host's own log (function starts and ends, trigger and scale messages,
// and the handler's stdout lines) to Log Analytics, independently of
// Application Insights sampling.
resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: app
  properties: {
    workspaceId: workspaceId
    logs: [
      {
        category: 'FunctionAppLogs'
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

// No publish profiles: basic (user name and password) authentication is
// off for the SCM and FTP endpoints; deployments authenticate with Entra ID.
resource scmBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: app
  name: 'scm'
  properties: {
    allow: false
  }
}

resource ftpBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: app
  name: 'ftp'
  properties: {
    allow: false
  }
}

@description('Function app name.')
output name string = app.name

@description('Default host name.')
output defaultHostName string = app.properties.defaultHostName
