// Azure Monitor alert rules (runbook per rule: docs/deploy.md, "Alerts").
//
// What is observable: the handler writes every log record as one JSON line
// to stdout (log/slog: "time", "level", "msg" and the record's fields); the
// Functions host ingests each stdout line of a custom handler as a trace
// (category Host.Function.Console, the line itself as the message) into
// Application Insights (docs/platform/functions-host-facts.md). Outcome
// events go to the topic, which Azure Monitor cannot read, so the log rules
// match the message of the log line the handler writes next to each event;
// infra/operations_test.go checks every message below against the Go sources.
// The same lines also come back as the response's Logs array, as plain text
// ("WARN operation failed code=..."), which the `"msg":"..."` match excludes,
// so nothing is counted twice. Counts use itemCount, which corrects for
// Application Insights sampling (host.json samplingSettings).

@description('Prefix of every rule name.')
param namePrefix string

@description('Azure region of the log alert rules.')
param location string

@description('Tags for every resource.')
param tags object

@description('Action group notified by every rule; empty: the rules fire without notifying anyone (visible in Azure Monitor > Alerts).')
param actionGroupId string

@description('Service Bus namespace resource id.')
param serviceBusNamespaceId string

@description('Application Insights component the function app sends its logs to.')
param appInsightsId string

@description('Log Analytics workspace holding the Key Vault audit log.')
param workspaceId string

@description('Key Vault resource id.')
param keyVaultId string

@description('gdap.operation.failed outcomes in one hour above which the failure alert fires.')
param failedOperationsPerHour int

@description('Hours without a successful expiry sweep after which the sweep alert fires: twice the interval of GDAP_SWEEP_SCHEDULE.')
param sweepAlertWindowHours int

@description('Operations the reaper recovered or failed to recover in one hour above which the reaper alert fires.')
param reaperRecoveriesPerHour int

// Extracts the JSON object of a stdout line (the message is the line as the
// handler wrote it; extract() also tolerates a prefix).
var jsonLine = 'parse_json(extract(@\'(\\{.*\\})\', 1, message))'

var scheduledActions = {
  actionGroups: empty(actionGroupId) ? [] : [
    actionGroupId
  ]
}

// Dead letters on any queue or topic (the DeadletteredMessages platform
// metric, split by EntityName: the queue, or for a subscription its topic).
// Supported metrics, Microsoft.ServiceBus/Namespaces: DeadletteredMessages,
// aggregations Average/Minimum/Maximum, dimension EntityName.
resource deadLetters 'Microsoft.Insights/metricAlerts@2018-03-01' = {
  name: '${namePrefix}-dead-letters'
  location: 'global'
  tags: tags
  properties: {
    description: 'Dead-lettered messages on a gdapflow queue or on an events subscription (docs/deploy.md, Alerts).'
    severity: 2
    enabled: true
    scopes: [
      serviceBusNamespaceId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    autoMitigate: true
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          criterionType: 'StaticThresholdCriterion'
          name: 'dead-lettered'
          metricNamespace: 'Microsoft.ServiceBus/namespaces'
          metricName: 'DeadletteredMessages'
          dimensions: [
            {
              name: 'EntityName'
              operator: 'Include'
              values: [
                '*'
              ]
            }
          ]
          operator: 'GreaterThan'
          threshold: 0
          timeAggregation: 'Maximum'
        }
      ]
    }
    actions: empty(actionGroupId) ? [] : [
      {
        actionGroupId: actionGroupId
      }
    ]
  }
}

// gdap.operation.failed: the engine logs "operation failed" (WARN, fields
// code, reason, attempts) right after recording the failure and before it
// publishes the event (internal/engine/act.go).
resource failedOperations 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${namePrefix}-failed-operations'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: '${namePrefix}-failed-operations'
    description: 'More than ${failedOperationsPerHour} gdap.operation.failed outcomes in an hour (docs/deploy.md, Alerts).'
    severity: 2
    enabled: true
    scopes: [
      appInsightsId
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    autoMitigate: true
    criteria: {
      allOf: [
        {
          query: 'traces\n| where message contains \'"msg":"operation failed"\'\n| summarize failed = sum(itemCount)'
          timeAggregation: 'Total'
          metricMeasureColumn: 'failed'
          operator: 'GreaterThan'
          threshold: failedOperationsPerHour
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: scheduledActions
  }
}

// gdap.sweep.completed: the sweep logs "sweep finished" (INFO) after it
// published gdap.sweep.completed, or with a non-empty "failed" when the sweep
// failed and published nothing (internal/sweep/sweep.go). Flex timers are
// known to stop firing after some deployments (Azure/azure-functions-host
// #11828, #12007); this rule notices.
resource sweepMissing 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${namePrefix}-sweep-missing'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: '${namePrefix}-sweep-missing'
    description: 'No gdap.sweep.completed for ${sweepAlertWindowHours} hours, twice the sweep schedule (docs/deploy.md, Alerts).'
    severity: 1
    enabled: true
    scopes: [
      appInsightsId
    ]
    evaluationFrequency: 'PT1H'
    windowSize: 'PT1H'
    overrideQueryTimeRange: 'PT${sweepAlertWindowHours}H'
    autoMitigate: true
    criteria: {
      allOf: [
        {
          query: 'traces\n| where message contains \'"msg":"sweep finished"\'\n| extend line = ${jsonLine}\n| where isempty(tostring(line.failed))\n| summarize completed = sum(itemCount)\n| extend completed = coalesce(completed, 0)'
          timeAggregation: 'Total'
          metricMeasureColumn: 'completed'
          operator: 'LessThan'
          threshold: 1
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: scheduledActions
  }
}

// The reaper: each tick that moved an overdue operation forward, or failed
// to, logs "reaper tick" at INFO with the counts resent, timed_out,
// republished and failed (internal/reaper/reaper.go; quiet ticks log at
// DEBUG). Recoveries mean continuations were lost or never scheduled.
resource reaperRecoveries 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${namePrefix}-reaper-recoveries'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: '${namePrefix}-reaper-recoveries'
    description: 'The reaper found more than ${reaperRecoveriesPerHour} overdue operations in an hour (docs/deploy.md, Alerts).'
    severity: 3
    enabled: true
    scopes: [
      appInsightsId
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    autoMitigate: true
    criteria: {
      allOf: [
        {
          query: 'traces\n| where message contains \'"msg":"reaper tick"\'\n| extend line = ${jsonLine}\n| summarize overdue = sum(toint(line.resent) + toint(line.timed_out) + toint(line.republished) + toint(line.failed))\n| extend overdue = coalesce(overdue, 0)'
          timeAggregation: 'Total'
          metricMeasureColumn: 'overdue'
          operator: 'GreaterThan'
          threshold: reaperRecoveriesPerHour
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: scheduledActions
  }
}

// Key Vault publishes near-expiry (30 days before) and expiry notifications
// for secret versions that have an expiry date, and its AuditEvent log
// records them as SecretNearExpiryEventGridNotification /
// SecretExpiredEventGridNotification (learn.microsoft.com/azure/key-vault/
// general/logging). The rotated refresh token has no expiry; a client secret
// stored with its app registration's end date (az keyvault secret set
// --expires) does.
resource secretExpiry 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${namePrefix}-secret-expiry'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: '${namePrefix}-secret-expiry'
    description: 'A Key Vault secret is within 30 days of its expiry date, or expired (docs/deploy.md, Alerts).'
    severity: 2
    enabled: true
    scopes: [
      workspaceId
    ]
    evaluationFrequency: 'PT6H'
    windowSize: 'P1D'
    autoMitigate: false
    criteria: {
      allOf: [
        {
          query: 'AzureDiagnostics\n| where ResourceProvider == "MICROSOFT.KEYVAULT" and _ResourceId =~ "${keyVaultId}"\n| where OperationName in ("SecretNearExpiryEventGridNotification", "SecretExpiredEventGridNotification")\n| summarize notifications = count() by secret = tostring(id_s)'
          timeAggregation: 'Total'
          metricMeasureColumn: 'notifications'
          dimensions: [
            {
              name: 'secret'
              operator: 'Include'
              values: [
                '*'
              ]
            }
          ]
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: scheduledActions
  }
}
