// Service Bus namespace with the command and continuation queues, the
// outcome-event topic and one subscription per consuming system. Entra ID
// only (disableLocalAuth): no SAS key or connection string exists to leak.
// Every role assignment is scoped to the single entity it is for.

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

// One consuming system: its own subscription on the events topic (named
// after it, with its own dead-letter queue), filtered on the message's
// Subject (SQL `sys.Label`, which the handler sets to the event type,
// docs/contract.md) when eventTypes is given, and Azure Service Bus Data
// Receiver on that subscription only.
@description('A system that reads gdapflow events.')
type eventConsumer = {
  @description('Subscription name (1-50 letters, digits, periods, hyphens, underscores); one per consuming system.')
  @minLength(1)
  @maxLength(50)
  name: string

  @description('Principal (object) id the system authenticates as.')
  principalId: string

  @description('Event types (CloudEvents type = message Subject) the subscription receives; absent or empty: every event.')
  eventTypes: string[]?
}

@description('Systems reading events: one subscription each (docs/deploy.md, "Granting other systems access").')
param eventConsumers eventConsumer[]

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

@description('Principal type of the other systems\' principals.')
@allowed([
  'ServicePrincipal'
  'Group'
  'User'
])
param externalPrincipalType string

@description('Grant the app Azure Service Bus Data Owner on the two queues it triggers on, so that the scale controller reads their length (see below).')
param scalerReadsQueueLength bool

@description('Close the namespace to the public internet (Premium tier; reached through a private endpoint from the app\'s virtual network).')
param restrictNetwork bool

@description('Log Analytics workspace receiving the namespace\'s resource logs and metrics.')
param workspaceId string

// Built-in role definition ids (docs/platform/functions-host-facts.md §5.3).
var dataReceiver = '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0'
var dataSender = '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39'
var dataOwner = '090c5cfd-751d-490a-894a-3ce6f1109419'

// Each consumer's SQL filter. A subscription is created with a `$Default`
// rule whose TrueFilter passes every message, and rules are ORed, so the
// filter replaces `$Default` itself (Service Bus SQL filter syntax:
// learn.microsoft.com/azure/service-bus-messaging/service-bus-messaging-sql-filter;
// `sys.Label` is the message's Subject). Without event types the rule is the
// explicit `1=1`, so that removing a consumer's eventTypes on a later
// deployment widens its subscription again.
var consumers = map(eventConsumers, c => {
  name: c.name
  principalId: trim(c.principalId)
  sqlFilter: empty(c.?eventTypes ?? []) ? '1=1' : 'sys.Label IN (${join(map(c.?eventTypes ?? [], t => '\'${replace(t, '\'', '\'\'')}\''), ', ')})'
})

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
  // Private endpoints exist only on Premium (learn.microsoft.com/azure/
  // service-bus-messaging/private-link-service; Standard has neither private
  // endpoints nor virtual network rules), so restrictNetwork moves the
  // namespace to Premium, one messaging unit (docs/deploy.md: cost).
  sku: restrictNetwork ? {
    name: 'Premium'
    tier: 'Premium'
    capacity: 1
  } : {
    name: 'Standard'
    tier: 'Standard'
  }
  properties: {
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
    publicNetworkAccess: restrictNetwork ? 'Disabled' : 'Enabled'
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

// One subscription per consumer: each has its own copy of every event that
// passes its filter and its own dead-letter queue, so one system's failures
// or dead-lettering never take events from another.
resource consumerSubscriptions 'Microsoft.ServiceBus/namespaces/topics/subscriptions@2022-10-01-preview' = [
  for consumer in consumers: {
    parent: eventsTopic
    name: consumer.name
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
]

resource consumerFilters 'Microsoft.ServiceBus/namespaces/topics/subscriptions/rules@2022-10-01-preview' = [
  for (consumer, i) in consumers: {
    parent: consumerSubscriptions[i]
    name: '$Default'
    properties: {
      filterType: 'SqlFilter'
      sqlFilter: {
        sqlExpression: consumer.sqlFilter
      }
    }
  }
]

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

// Scaling. Flex Consumption scales a Service Bus trigger with the
// extension's target-based scaler (ServiceBusTargetScaler): instances =
// ceil(active messages / maxConcurrentCalls). It reads the active message
// count with ServiceBusAdministrationClient.GetQueueRuntimePropertiesAsync,
// which needs the Manage right; without it the call throws
// UnauthorizedAccessException, the target scaler reports "not supported",
// and scaling falls back to the incremental scale monitor, which counts one
// peeked message at most and otherwise votes on the age of the oldest
// message, logging "Connection string does not have Manage claim ...".
// (Azure/azure-sdk-for-net, Microsoft.Azure.WebJobs.Extensions.ServiceBus
// src/Listeners/ServiceBusMetricsProvider.cs @13fcc5e and
// ServiceBusTargetScaler.cs @14bfc35.) Azure Service Bus Data Owner is the
// only built-in Service Bus data role carrying Manage; scoped to each queue it
// adds, on that queue alone, reading and changing the queue's own
// description. docs/deploy.md ("Scaling") describes both choices.
resource appManagesCommands 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (scalerReadsQueueLength) {
  name: guid(commandsQueue.id, appPrincipalId, dataOwner)
  scope: commandsQueue
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', dataOwner)
  }
}

resource appManagesContinuations 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (scalerReadsQueueLength) {
  name: guid(continuationsQueue.id, appPrincipalId, dataOwner)
  scope: continuationsQueue
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', dataOwner)
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

// ... and each consumer receives from its own subscription only.
resource consumerReceives 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (consumer, i) in consumers: {
    name: guid(consumerSubscriptions[i].id, consumer.principalId, dataReceiver)
    scope: consumerSubscriptions[i]
    properties: {
      principalId: consumer.principalId
      principalType: externalPrincipalType
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', dataReceiver)
    }
  }
]

// Resource logs (operational logs; on Premium also runtime audit logs) and
// metrics to Log Analytics. The dead-letter alert reads the platform metric
// DeadletteredMessages directly (infra/modules/alerts.bicep).
resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: namespace
  properties: {
    workspaceId: workspaceId
    logs: [
      {
        categoryGroup: 'allLogs'
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

@description('Namespace resource id.')
output id string = namespace.id

@description('Events subscription of each consumer, in eventConsumers order.')
output eventSubscriptionNames array = [for (consumer, i) in consumers: consumerSubscriptions[i].name]
