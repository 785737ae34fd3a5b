// Service Bus namespace with the command and continuation queues, the
// outcome-event topic and the subscription other systems read events from.
// Entra ID only (disableLocalAuth): no SAS key or connection string exists to
// leak. Every role assignment is scoped to the single entity it is for.

@description('Namespace name (globally unique).')
param name string

@description('Azure region.')
param location string

@description('Tags for every resource.')
param tags object

@description('Queue other systems send commands to (GDAP_COMMANDS_QUEUE).')
param commandsQueueName string

@description('Queue the service schedules its own continuations on (GDAP_CONTINUATIONS_QUEUE).')
param continuationsQueueName string

@description('Topic the service publishes outcome and sweep events to (GDAP_EVENTS_TOPIC).')
param eventsTopicName string

@description('Subscription on the events topic for other systems.')
param eventsSubscriptionName string

@description('Duplicate detection window (ISO 8601, at most P7D).')
param duplicateDetectionWindow string

@description('Message lock duration (ISO 8601, at most PT5M); the host renews locks while an invocation runs.')
param lockDuration string

@description('Deliveries before a message is dead-lettered.')
param maxDeliveryCount int

@description('Time to live of messages (ISO 8601); expired messages are dead-lettered.')
param messageTimeToLive string

@description('Principal id of the function app\'s user-assigned identity.')
param appPrincipalId string

@description('Principals of other systems allowed to send commands (Data Sender on the commands queue only).')
param commandSenderPrincipalIds array

@description('Principals of other systems allowed to read events (Data Receiver on the events subscription only).')
param eventReceiverPrincipalIds array

@description('Principal type of the other systems\' principals.')
@allowed([
  'ServicePrincipal'
  'Group'
  'User'
])
param externalPrincipalType string

// Built-in role definition ids (docs/platform/functions-host-facts.md §5.3).
var dataReceiver = '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0'
var dataSender = '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39'

var queueProperties = {
  lockDuration: lockDuration
  maxDeliveryCount: maxDeliveryCount
  defaultMessageTimeToLive: messageTimeToLive
  deadLetteringOnMessageExpiration: true
  requiresDuplicateDetection: true
  duplicateDetectionHistoryTimeWindow: duplicateDetectionWindow
  requiresSession: false
  enableBatchedOperations: true
}

resource namespace 'Microsoft.ServiceBus/namespaces@2022-10-01-preview' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: 'Standard'
    tier: 'Standard'
  }
  properties: {
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
    publicNetworkAccess: 'Enabled'
  }
}

resource commandsQueue 'Microsoft.ServiceBus/namespaces/queues@2022-10-01-preview' = {
  parent: namespace
  name: commandsQueueName
  properties: queueProperties
}

resource continuationsQueue 'Microsoft.ServiceBus/namespaces/queues@2022-10-01-preview' = {
  parent: namespace
  name: continuationsQueueName
  properties: queueProperties
}

resource eventsTopic 'Microsoft.ServiceBus/namespaces/topics@2022-10-01-preview' = {
  parent: namespace
  name: eventsTopicName
  properties: {
    defaultMessageTimeToLive: messageTimeToLive
    requiresDuplicateDetection: true
    duplicateDetectionHistoryTimeWindow: duplicateDetectionWindow
    enableBatchedOperations: true
  }
}

resource eventsSubscription 'Microsoft.ServiceBus/namespaces/topics/subscriptions@2022-10-01-preview' = {
  parent: eventsTopic
  name: eventsSubscriptionName
  properties: {
    lockDuration: lockDuration
    maxDeliveryCount: maxDeliveryCount
    defaultMessageTimeToLive: messageTimeToLive
    deadLetteringOnMessageExpiration: true
    deadLetteringOnFilterEvaluationExceptions: true
    requiresSession: false
    enableBatchedOperations: true
  }
}

// The app: triggers on both queues (Data Receiver on each queue, not the
// namespace) ...
resource appReceivesCommands 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(commandsQueue.id, appPrincipalId, dataReceiver)
  scope: commandsQueue
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', dataReceiver)
  }
}

resource appReceivesContinuations 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(continuationsQueue.id, appPrincipalId, dataReceiver)
  scope: continuationsQueue
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', dataReceiver)
  }
}

// ... schedules continuations, sends the commands the expiry sweep issues
// (auto-extend policy) and publishes events (Data Sender on each entity).
resource appSendsContinuations 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(continuationsQueue.id, appPrincipalId, dataSender)
  scope: continuationsQueue
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', dataSender)
  }
}

resource appSendsCommands 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(commandsQueue.id, appPrincipalId, dataSender)
  scope: commandsQueue
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', dataSender)
  }
}

resource appSendsEvents 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(eventsTopic.id, appPrincipalId, dataSender)
  scope: eventsTopic
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', dataSender)
  }
}

// Other systems: send on the commands queue only ...
resource externalSendsCommands 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for principalId in commandSenderPrincipalIds: {
    name: guid(commandsQueue.id, principalId, dataSender)
    scope: commandsQueue
    properties: {
      principalId: principalId
      principalType: externalPrincipalType
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', dataSender)
    }
  }
]

// ... and receive from their events subscription only.
resource externalReceivesEvents 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for principalId in eventReceiverPrincipalIds: {
    name: guid(eventsSubscription.id, principalId, dataReceiver)
    scope: eventsSubscription
    properties: {
      principalId: principalId
      principalType: externalPrincipalType
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', dataReceiver)
    }
  }
]

@description('Namespace name.')
output name string = namespace.name

@description('Fully qualified namespace (host name without scheme or port).')
output fullyQualifiedNamespace string = split(split(replace(namespace.properties.serviceBusEndpoint, 'https://', ''), '/')[0], ':')[0]

@description('Commands queue name.')
output commandsQueueName string = commandsQueue.name

@description('Continuations queue name.')
output continuationsQueueName string = continuationsQueue.name

@description('Events topic name.')
output eventsTopicName string = eventsTopic.name

@description('Events subscription name.')
output eventsSubscriptionName string = eventsSubscription.name
