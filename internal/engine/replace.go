package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"unicode/utf8"

	"github.com/gdapflow/gdapflow/internal/command"
	"github.com/gdapflow/gdapflow/internal/gdap"
	"github.com/gdapflow/gdapflow/internal/op"
)

// maxDisplayName is Graph's limit on a relationship's displayName.
const maxDisplayName = 50

// replaceSpec is the relationship a replacement creates, fixed when the
// operation starts (so that a retry creates, or finds, the same one).
type replaceSpec struct {
	Name         string `json:"name"`
	Duration     string `json:"duration"`
	AutoExtend   string `json:"autoExtend"`
	TenantID     string `json:"tenantId"`
	CustomerName string `json:"customerName,omitempty"`
}

// replaceWorkflow runs gdap.relationship.replace (docs/contract.md §6.1):
// read the old relationship (active, not a protected customer's), then
// create the new one for the same customer exactly as
// gdap.relationship.create does (the same steps), lock it, and start the
// follow-up operation: an accessAssignments.set on the new relationship
// that waits for approval, copies the old relationship's assignments
// (roles limited to the new roles) and then terminates the old one.
func replaceWorkflow(ctx context.Context, r *run) (stepResult, error) {
	cmd, ok := r.cmd.(*command.ReplaceRelationship)
	if !ok {
		return failed(op.Failf(op.CodeInternal, "unexpected command %T", r.cmd)), nil
	}
	if r.step() == stepStart {
		return startReplace(ctx, r, cmd)
	}
	if r.wf.Replace == nil {
		return failed(op.Failf(op.CodeInternal, "replacement state missing at step %q", r.rec.Step)), nil
	}
	return createSteps(ctx, r, r.wf.Replace.create(cmd), &followUpData{CopyFrom: cmd.RelationshipID, TerminateCopied: true})
}

// startReplace checks the old relationship, fixes what to create and
// records the intent to create it (checkpoint) before any write.
func startReplace(ctx context.Context, r *run, cmd *command.ReplaceRelationship) (stepResult, error) {
	old, err := r.e.opts.Graph.GetRelationship(ctx, cmd.RelationshipID)
	if err != nil {
		return stepResult{}, err
	}
	if f := r.e.protectedFailure(old, "terminated (replaced)"); f != nil {
		return failed(f), nil
	}
	if old.Status != gdap.StatusActive {
		return failed(op.Failf(op.CodeInvalidState, "relationship %s is %s: only an active relationship can be replaced", old.ID, old.Status)), nil
	}
	spec := &replaceSpec{Name: cmd.DisplayName, Duration: cmd.Duration, AutoExtend: cmd.AutoExtendDuration,
		TenantID: old.Customer.TenantID, CustomerName: old.Customer.DisplayName}
	if spec.Name == "" {
		spec.Name = derivedName(old.DisplayName, r.rec.OperationID)
	}
	if spec.Duration == "" {
		spec.Duration = old.Duration
	}
	if spec.AutoExtend == "" {
		spec.AutoExtend = gdap.AutoExtendOff
	}
	r.wf.Replace = spec
	r.wf.CreateIntent = r.now()
	r.rec.Step = string(stepCreate)
	if err := r.e.checkpoint(ctx, r); err != nil {
		return stepResult{}, err
	}
	return goTo(stepCreate), nil
}

// create is the creation the replacement performs.
func (s *replaceSpec) create(cmd *command.ReplaceRelationship) *command.CreateRelationship {
	return &command.CreateRelationship{
		DisplayName: s.Name, Duration: s.Duration, AutoExtendDuration: s.AutoExtend,
		Customer:     &command.Customer{TenantID: s.TenantID, DisplayName: s.CustomerName},
		UnifiedRoles: cmd.UnifiedRoles, LockForApproval: true,
	}
}

// derivedName is the new relationship's default name: the old name,
// shortened to fit, and " r" with six hex digits of the operation id's
// SHA-256 — the same for every retry of the operation, and unlike another
// operation's.
func derivedName(old, operationID string) string {
	sum := sha256.Sum256([]byte(operationID))
	suffix := " r" + hex.EncodeToString(sum[:3])
	keep := maxDisplayName - len(suffix)
	name := old
	for utf8.RuneCountInString(name) > keep {
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	return name + suffix
}
