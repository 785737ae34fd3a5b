// Private networking (deployed only with restrictNetwork): a virtual network
// with a subnet the Flex Consumption app integrates with (outbound) and a
// subnet of private endpoints for the storage account (blob: host leases and
// the deployment package; table: the app's state), the Key Vault and the
// Service Bus namespace, each with its private DNS zone linked to the
// network, so that the app resolves the public host names to the private
// addresses. The shapes follow Azure-Samples/functions-quickstart-dotnet-azd
// (infra/app/storage-PrivateEndpoint.bicep @9a268b2: zone per service,
// virtual network link, endpoint, DNS zone group; the app subnet delegated to
// Microsoft.App/environments, which Flex Consumption integration requires).
//
// The zone names are the public cloud's private-link zones
// (learn.microsoft.com/azure/private-link/private-endpoint-dns); storage's
// follow environment().suffixes.storage.

@description('Virtual network name.')
param name string

@description('Azure region.')
param location string

@description('Tags for every resource.')
param tags object

@description('Address space of the virtual network (at least a /24: the app subnet takes its first half, the private endpoints the next quarter).')
param addressPrefix string

@description('Storage account resource id (blob and table endpoints).')
param storageAccountId string

@description('Key Vault resource id.')
param keyVaultId string

@description('Service Bus namespace resource id (Premium).')
param serviceBusNamespaceId string

var appSubnetName = 'app'
var endpointSubnetName = 'private-endpoints'

// One entry per private endpoint: the target, its sub-resource (group id)
// and the DNS zone its host name resolves through.
var endpoints = [
  {
    name: 'blob'
    groupId: 'blob'
    zone: 'privatelink.blob.${environment().suffixes.storage}'
    target: storageAccountId
  }
  {
    name: 'table'
    groupId: 'table'
    zone: 'privatelink.table.${environment().suffixes.storage}'
    target: storageAccountId
  }
  {
    name: 'vault'
    groupId: 'vault'
    zone: 'privatelink.vaultcore.azure.net'
    target: keyVaultId
  }
  {
    name: 'servicebus'
    groupId: 'namespace'
    zone: 'privatelink.servicebus.windows.net'
    target: serviceBusNamespaceId
  }
]

resource vnet 'Microsoft.Network/virtualNetworks@2023-11-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    addressSpace: {
      addressPrefixes: [
        addressPrefix
      ]
    }
    subnets: [
      {
        name: appSubnetName
        properties: {
          addressPrefix: cidrSubnet(addressPrefix, 25, 0)
          delegations: [
            {
              name: 'flex-consumption'
              properties: {
                serviceName: 'Microsoft.App/environments'
              }
            }
          ]
        }
      }
      {
        name: endpointSubnetName
        properties: {
          addressPrefix: cidrSubnet(addressPrefix, 26, 2)
          privateEndpointNetworkPolicies: 'Disabled'
        }
      }
    ]
  }
}

resource zones 'Microsoft.Network/privateDnsZones@2020-06-01' = [
  for e in endpoints: {
    name: e.zone
    location: 'global'
    tags: tags
  }
]

resource zoneLinks 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2020-06-01' = [
  for (e, i) in endpoints: {
    parent: zones[i]
    name: vnet.name
    location: 'global'
    tags: tags
    properties: {
      registrationEnabled: false
      virtualNetwork: {
        id: vnet.id
      }
    }
  }
]

resource privateEndpoints 'Microsoft.Network/privateEndpoints@2023-11-01' = [
  for e in endpoints: {
    name: 'pe-${e.name}-${name}'
    location: location
    tags: tags
    properties: {
      subnet: {
        id: resourceId('Microsoft.Network/virtualNetworks/subnets', vnet.name, endpointSubnetName)
      }
      privateLinkServiceConnections: [
        {
          name: e.name
          properties: {
            privateLinkServiceId: e.target
            groupIds: [
              e.groupId
            ]
          }
        }
      ]
    }
  }
]

resource dnsZoneGroups 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2023-11-01' = [
  for (e, i) in endpoints: {
    parent: privateEndpoints[i]
    name: 'default'
    properties: {
      privateDnsZoneConfigs: [
        {
          name: e.name
          properties: {
            privateDnsZoneId: zones[i].id
          }
        }
      ]
    }
  }
]

@description('Subnet the function app integrates with.')
output appSubnetId string = resourceId('Microsoft.Network/virtualNetworks/subnets', vnet.name, appSubnetName)
