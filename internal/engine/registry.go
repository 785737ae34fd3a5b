package engine

import (
	"context"

	"github.com/gdapflow/gdapflow/internal/command"
	"github.com/gdapflow/gdapflow/internal/ledger"
)

// workflowFunc runs the current step (r.step()) of an operation.
type workflowFunc func(ctx context.Context, r *run) (stepResult, error)

// workflow is what the engine knows about one command type.
type workflow struct {
	// run runs a step.
	run workflowFunc
	// target describes the operation's target in failure messages.
	target func(rec *ledger.Record) string
	// customerTarget reports that TargetID is a customer tenant id (the
	// outcome carries customerTenantId, not relationshipId).
	customerTarget bool
}

func relationshipTarget(rec *ledger.Record) string { return "relationship " + rec.TargetID }

func customerTargetName(rec *ledger.Record) string { return "customer " + rec.TargetID }

// workflows is the registry, keyed by command type. Adding a command type
// means adding its workflow file and one entry here (and its schema in
// internal/command).
var workflows = map[string]workflow{ //nolint:gochecknoglobals // read-only registry
	command.TypeRelationshipUpdate:  {run: updateWorkflow, target: relationshipTarget},
	command.TypeRelationshipRequest: {run: requestWorkflow, target: relationshipTarget},
	command.TypeRemoveGlobalAdmin:   {run: removeGlobalAdminWorkflow, target: relationshipTarget},
	command.TypeRemoveDAP: {run: removeDAPWorkflow, customerTarget: true,
		target: customerTargetName},
	command.TypeRelationshipCreate: {run: createWorkflow, target: func(rec *ledger.Record) string {
		if rec.TargetID != "" {
			return relationshipTarget(rec)
		}
		return "the new relationship"
	}},
	command.TypeAssignmentsSet:      {run: assignmentsWorkflow, target: relationshipTarget},
	command.TypeRelationshipReplace: {run: replaceWorkflow, target: relationshipTarget},
	command.TypeCustomerOffboard: {run: offboardWorkflow, customerTarget: true,
		target: customerTargetName},
	command.TypeSweepRun: {run: sweepRunWorkflow,
		target: func(*ledger.Record) string { return "the relationship list" }},
}

// describeTarget names an operation's target for failure messages.
func describeTarget(rec *ledger.Record) string {
	if wf, ok := workflows[rec.CommandType]; ok {
		return wf.target(rec)
	}
	return relationshipTarget(rec)
}
