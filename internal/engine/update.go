package engine

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gdapflow/gdapflow/internal/command"
	"github.com/gdapflow/gdapflow/internal/gdap"
	"github.com/gdapflow/gdapflow/internal/isoduration"
	"github.com/gdapflow/gdapflow/internal/op"
	"github.com/gdapflow/gdapflow/internal/upstream"
)

// maxPreconditionRetries bounds re-reads after 412 within one step.
const maxPreconditionRetries = 3

func updateWorkflow(ctx context.Context, r *run) (stepResult, error) {
	cmd, ok := r.cmd.(*command.UpdateRelationship)
	if !ok {
		return failed(op.Failf(op.CodeInternal, "unexpected command %T", r.cmd)), nil
	}
	switch r.step() {
	case "", stepApply:
		return applyUpdate(ctx, r, cmd)
	case stepPollOperation:
		// After the 202 operation: re-read and apply whatever is still missing.
		return pollOperation(ctx, r, stepApply)
	}
	return failed(op.Failf(op.CodeInternal, "unknown step %q", r.rec.Step)), nil
}

// applyUpdate reads the relationship, works out which requested changes are
// still missing, checks that the status allows them, and PATCHes with If-Match.
func applyUpdate(ctx context.Context, r *run, cmd *command.UpdateRelationship) (stepResult, error) {
	want := cmd.ToGDAPChanges()
	for attempt := 0; attempt < maxPreconditionRetries+2; attempt++ {
		rel, err := r.e.opts.Graph.GetRelationship(ctx, cmd.RelationshipID)
		if err != nil {
			return stepResult{}, err
		}
		missing := missingChanges(rel, want)
		if len(missing.Fields()) == 0 {
			return done(&op.Result{Relationship: op.RelationshipOf(rel)}), nil
		}
		if f := checkAllowed(rel, missing); f != nil {
			return failed(f), nil
		}
		if missing.AutoExtendDuration != nil && !gdap.IsAutoExtendOn(*missing.AutoExtendDuration) {
			// Auto-extend off lets the relationship lapse at its end date.
			if f := r.e.protectedFailure(rel, "left to lapse (auto-extend switched off)"); f != nil {
				return failed(f), nil
			}
		}
		// In active status Graph removes Global Administrator through a 202
		// operation; apply other changes afterwards with a fresh etag.
		if rel.Status == gdap.StatusActive && missing.UnifiedRoles != nil && missing.AutoExtendDuration != nil {
			missing.AutoExtendDuration = nil
		}
		etag := rel.ETag
		if cmd.IfMatch != "" {
			etag = cmd.IfMatch
		}
		res, err := r.e.opts.Graph.PatchRelationship(ctx, cmd.RelationshipID, etag, missing)
		if isStatus(err, http.StatusPreconditionFailed) {
			if cmd.IfMatch != "" {
				return failed(preconditionFailure(err, "the relationship's etag no longer matches the command's ifMatch")), nil
			}
			if attempt+1 >= maxPreconditionRetries {
				return failed(preconditionFailure(err, fmt.Sprintf("the relationship kept changing between read and write (%d attempts)", maxPreconditionRetries))), nil
			}
			r.log.InfoContext(ctx, "etag changed between read and write; re-reading", "attempt", attempt+1)
			continue
		}
		if isStatus(err, http.StatusConflict) && missing.UnifiedRoles != nil {
			if res, ok, lerr := r.inFlightOperation(ctx, cmd.RelationshipID, stepPollOperation); ok || lerr != nil {
				return res, lerr
			}
		}
		if err != nil {
			return stepResult{}, err
		}
		r.wf.Wrote = true
		if res.OperationURL != "" {
			return r.followOperation(res.OperationURL, res.RetryAfter, stepPollOperation), nil
		}
		if res.Relationship != nil {
			// 200: the change is applied; loop once more only if something
			// is still missing (for example a change deferred above).
			if len(missingChanges(*res.Relationship, want).Fields()) == 0 {
				return done(&op.Result{Relationship: op.RelationshipOf(*res.Relationship)}), nil
			}
		}
	}
	return failed(op.Failf(op.CodeOperationFailed, "relationship %s did not reach the requested state after repeated updates", cmd.RelationshipID)), nil
}

// followOperation starts following a 202 operation.
func (r *run) followOperation(url string, retryAfter time.Duration, pollStep Step) stepResult {
	if retryAfter <= 0 {
		retryAfter = op.DefaultPollInterval
	}
	r.wf.OperationURL = url
	r.wf.PollBaseMS = retryAfter.Milliseconds()
	r.wf.Polls = 0
	return waitFor(pollStep, retryAfter)
}

// inFlightOperation looks for an unfinished long-running operation on the
// relationship (for example one started by this operation before a crash
// between the 202 and the ledger write: Graph then answers a second PATCH
// with 409) and follows it instead of writing again.
func (r *run) inFlightOperation(ctx context.Context, relID string, pollStep Step) (stepResult, bool, error) {
	ops, err := r.e.opts.Graph.ListOperations(ctx, relID)
	if err != nil {
		return stepResult{}, false, err
	}
	for _, gop := range ops {
		if gop.Status == gdap.OperationNotStarted || gop.Status == gdap.OperationRunning {
			r.log.InfoContext(ctx, "following the relationship's operation already in flight", "graph_operation_id", gop.ID)
			r.wf.Wrote = true
			return r.followOperation(r.e.opts.Graph.OperationURL(relID, gop.ID), op.DefaultPollInterval, pollStep), true, nil
		}
	}
	return stepResult{}, false, nil
}

// pollOperation polls the followed 202 operation once; on success it moves
// to next.
func pollOperation(ctx context.Context, r *run, next Step) (stepResult, error) {
	if r.wf.OperationURL == "" {
		return goTo(next), nil
	}
	gop, err := r.e.opts.Graph.GetOperation(ctx, r.wf.OperationURL)
	if err != nil {
		return stepResult{}, err
	}
	r.wf.Polls++
	switch gop.Status {
	case gdap.OperationSucceeded:
		r.log.InfoContext(ctx, "operation succeeded", "graph_operation_id", gop.ID, "polls", r.wf.Polls)
		r.wf.OperationURL = ""
		return goTo(next), nil
	case gdap.OperationFailed:
		msg := "the Graph long-running operation " + gop.ID + " failed"
		if gop.Data != "" {
			msg += ": " + truncate(gop.Data, 1024)
		}
		return failed(&op.Failure{Code: op.CodeOperationFailed, Message: msg}), nil
	}
	return waitFor(r.step(), operationPollDelay(time.Duration(r.wf.PollBaseMS)*time.Millisecond, r.wf.Polls)), nil
}

// operationPollDelay is the wait before poll number polls+1 of a 202
// operation, base being the 202's Retry-After: the first poll waits the
// Retry-After (followOperation); an operation still running then is
// probably close to done, so the second poll comes after half of it; the
// later ones follow op.PollDelay. Graph's Retry-After is "the time after
// which a subsequent API call can be made to the Location URL" and says
// nothing of the polls after that one (docs/performance.md, "Throttling").
// The half step costs at most one more poll per operation and saves up to
// half a Retry-After for one that ends soon after the first poll: in a
// throttled burst, the last removals' polls run at exactly the Retry-After.
func operationPollDelay(base time.Duration, polls int) time.Duration {
	if polls == 1 {
		return max(base/2, time.Second)
	}
	return op.PollDelay(base, polls)
}

// missingChanges returns the requested changes that do not hold yet.
func missingChanges(rel gdap.Relationship, want gdap.Changes) gdap.Changes {
	var m gdap.Changes
	if want.DisplayName != nil && *want.DisplayName != rel.DisplayName {
		m.DisplayName = want.DisplayName
	}
	if want.Duration != nil && !sameDuration(*want.Duration, rel.Duration) {
		m.Duration = want.Duration
	}
	if want.AutoExtendDuration != nil && gdap.IsAutoExtendOn(*want.AutoExtendDuration) != rel.AutoExtendEnabled() {
		m.AutoExtendDuration = want.AutoExtendDuration
	}
	if want.Customer != nil && (!strings.EqualFold(want.Customer.TenantID, rel.Customer.TenantID) ||
		(want.Customer.DisplayName != "" && want.Customer.DisplayName != rel.Customer.DisplayName)) {
		m.Customer = want.Customer
	}
	if want.UnifiedRoles != nil && !sameRoles(want.UnifiedRoles, rel.UnifiedRoles) {
		m.UnifiedRoles = want.UnifiedRoles
	}
	return m
}

// checkAllowed applies docs/platform/graph-facts.md §1.5/§1.6 locally, so that a change the
// status does not allow fails with invalid_state without a write.
func checkAllowed(rel gdap.Relationship, ch gdap.Changes) *op.Failure {
	roles := rel.UnifiedRoles
	if ch.UnifiedRoles != nil {
		roles = ch.UnifiedRoles
	}
	autoExtendOn := rel.AutoExtendEnabled()
	if ch.AutoExtendDuration != nil {
		autoExtendOn = gdap.IsAutoExtendOn(*ch.AutoExtendDuration)
	}
	switch rel.Status {
	case gdap.StatusCreated:
	case gdap.StatusActive:
		var refused []string
		for _, f := range ch.Fields() {
			if f != "autoExtendDuration" && f != "accessDetails" {
				refused = append(refused, f)
			}
		}
		if len(refused) > 0 {
			return op.Failf(op.CodeInvalidState, "relationship %s is active: only autoExtendDuration and the removal of Global Administrator can be changed, not %s", rel.ID, strings.Join(refused, ", "))
		}
		if ch.UnifiedRoles != nil && (!rel.HasGlobalAdmin() || !sameRoles(ch.UnifiedRoles, gdap.WithoutRole(rel.UnifiedRoles, gdap.GlobalAdminRoleID))) {
			return op.Failf(op.CodeInvalidState, "relationship %s is active: its roles can only change by removing Global Administrator", rel.ID)
		}
	default:
		return op.Failf(op.CodeInvalidState, "relationship %s is %s: it can only be changed while created or active", rel.ID, rel.Status)
	}
	if autoExtendOn && gdap.HasRole(roles, gdap.GlobalAdminRoleID) {
		if ch.AutoExtendDuration != nil {
			return op.Failf(op.CodeGlobalAdminBlocksAutoExtend, "relationship %s includes Global Administrator, which cannot be auto-extended; remove the role first (gdap.relationship.removeGlobalAdmin)", rel.ID)
		}
	}
	if len(roles) == 0 {
		return op.Failf(op.CodeInvalidState, "relationship %s must keep at least one role", rel.ID)
	}
	return nil
}

func sameDuration(a, b string) bool {
	if strings.EqualFold(a, b) {
		return true
	}
	da, err1 := isoduration.Parse(a)
	db, err2 := isoduration.Parse(b)
	if err1 != nil || err2 != nil {
		return false
	}
	na, ok1 := da.WholeDays()
	nb, ok2 := db.WholeDays()
	return ok1 && ok2 && na == nb
}

func sameRoles(a, b []string) bool {
	norm := func(in []string) []string {
		out := make([]string, 0, len(in))
		for _, s := range in {
			s = strings.ToLower(s)
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(norm(a), norm(b))
}

func isStatus(err error, status int) bool {
	ue, ok := upstream.As(err)
	return ok && ue.StatusCode == status
}

func preconditionFailure(err error, msg string) *op.Failure {
	f := &op.Failure{Code: op.CodePreconditionFailed, Message: msg, HTTPStatus: http.StatusPreconditionFailed}
	var ue *upstream.Error
	if errors.As(err, &ue) {
		f.UpstreamCode, f.UpstreamRequestID = ue.Code, ue.RequestID
	}
	return f
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
