package engine

import (
	"context"
	"fmt"
	"net/http"

	"github.com/gdapflow/gdapflow/internal/command"
	"github.com/gdapflow/gdapflow/internal/gdap"
	"github.com/gdapflow/gdapflow/internal/op"
)

// removeGlobalAdminWorkflow: remove Global Administrator (following the 202
// operation when the relationship is active), then, if asked, enable
// auto-extend with the fresh etag. Every step re-reads and re-decides, so
// redelivery, crashes and races (412) are harmless.
func removeGlobalAdminWorkflow(ctx context.Context, r *run) (stepResult, error) {
	cmd, ok := r.cmd.(*command.RemoveGlobalAdmin)
	if !ok {
		return failed(op.Failf(op.CodeInternal, "unexpected command %T", r.cmd)), nil
	}
	switch r.step() {
	case "", stepRemoveGA:
		return removeGlobalAdmin(ctx, r, cmd)
	case stepPollGA:
		return pollOperation(ctx, r, stepRemoveGA)
	case stepAutoExtend:
		return enableAutoExtend(ctx, r, cmd)
	}
	return failed(op.Failf(op.CodeInternal, "unknown step %q", r.rec.Step)), nil
}

func removeGlobalAdmin(ctx context.Context, r *run, cmd *command.RemoveGlobalAdmin) (stepResult, error) {
	for attempt := 0; attempt < maxPreconditionRetries; attempt++ {
		rel, err := r.e.opts.Graph.GetRelationship(ctx, cmd.RelationshipID)
		if err != nil {
			return stepResult{}, err
		}
		if !rel.HasGlobalAdmin() {
			r.fresh = &rel
			return afterGlobalAdminRemoved(rel, cmd), nil
		}
		if rel.Status != gdap.StatusActive && rel.Status != gdap.StatusCreated {
			return failed(op.Failf(op.CodeInvalidState, "relationship %s is %s: Global Administrator can only be removed while active or created", rel.ID, rel.Status)), nil
		}
		roles := gdap.WithoutRole(rel.UnifiedRoles, gdap.GlobalAdminRoleID)
		if len(roles) == 0 {
			return failed(op.Failf(op.CodeInvalidState, "relationship %s has only the Global Administrator role; removing it would leave no roles", rel.ID)), nil
		}
		res, err := r.e.opts.Graph.PatchRelationship(ctx, rel.ID, rel.ETag, gdap.Changes{UnifiedRoles: roles})
		if isStatus(err, http.StatusPreconditionFailed) {
			r.log.InfoContext(ctx, "etag changed before removing Global Administrator; re-reading", "attempt", attempt+1)
			continue
		}
		if isStatus(err, http.StatusConflict) {
			if res, ok, lerr := r.inFlightOperation(ctx, rel.ID, stepPollGA); ok || lerr != nil {
				return res, lerr
			}
		}
		if err != nil {
			return stepResult{}, err
		}
		r.wf.Wrote = true
		if res.OperationURL != "" {
			r.log.InfoContext(ctx, "Global Administrator removal accepted; following the operation", "operation_url", res.OperationURL)
			return r.followOperation(res.OperationURL, res.RetryAfter, stepPollGA), nil
		}
		// 200 (created status): verify with a fresh read on the next step.
		return goTo(stepRemoveGA), nil
	}
	return failed(op.Failf(op.CodePreconditionFailed, "relationship %s kept changing while removing Global Administrator (%d attempts)", cmd.RelationshipID, maxPreconditionRetries)), nil
}

func afterGlobalAdminRemoved(rel gdap.Relationship, cmd *command.RemoveGlobalAdmin) stepResult {
	if cmd.EnableAutoExtend {
		return goTo(stepAutoExtend)
	}
	return done(&op.Result{Relationship: op.RelationshipOf(rel)})
}

func enableAutoExtend(ctx context.Context, r *run, cmd *command.RemoveGlobalAdmin) (stepResult, error) {
	for attempt := 0; attempt < maxPreconditionRetries; attempt++ {
		rel, ok := r.takeFresh()
		if !ok {
			var err error
			if rel, err = r.e.opts.Graph.GetRelationship(ctx, cmd.RelationshipID); err != nil {
				return stepResult{}, err
			}
		}
		if rel.HasGlobalAdmin() {
			// Someone added it back between the steps: re-decide from the start.
			r.log.WarnContext(ctx, "Global Administrator is back on the relationship; removing it again")
			return goTo(stepRemoveGA), nil
		}
		if rel.AutoExtendEnabled() {
			return done(&op.Result{Relationship: op.RelationshipOf(rel)}), nil
		}
		if rel.Status != gdap.StatusActive && rel.Status != gdap.StatusCreated {
			return failed(op.Failf(op.CodeInvalidState, "relationship %s is %s: auto-extend can only be enabled while active or created", rel.ID, rel.Status)), nil
		}
		on := gdap.AutoExtendOn
		res, err := r.e.opts.Graph.PatchRelationship(ctx, rel.ID, rel.ETag, gdap.Changes{AutoExtendDuration: &on})
		if isStatus(err, http.StatusPreconditionFailed) {
			r.log.InfoContext(ctx, "etag changed before enabling auto-extend; re-reading", "attempt", attempt+1)
			continue
		}
		if err != nil {
			return stepResult{}, err
		}
		r.wf.Wrote = true
		if res.Relationship != nil && res.Relationship.AutoExtendEnabled() {
			return done(&op.Result{Relationship: op.RelationshipOf(*res.Relationship)}), nil
		}
		return goTo(stepAutoExtend), nil
	}
	return failed(&op.Failure{Code: op.CodePreconditionFailed, HTTPStatus: http.StatusPreconditionFailed,
		Message: fmt.Sprintf("relationship %s kept changing while enabling auto-extend (%d attempts)", cmd.RelationshipID, maxPreconditionRetries)}), nil
}
