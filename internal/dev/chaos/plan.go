package chaos

import (
	"fmt"
	"math/rand/v2"

	"github.com/gdapflow/gdapflow/internal/command"
	"github.com/gdapflow/gdapflow/internal/dev/devstack"
	"github.com/gdapflow/gdapflow/internal/gdap"
)

// Operation kinds of the mix. Each operation targets its own relationship,
// so that every Graph write in the simulator's journal is attributable to
// exactly one operation (by the relationship id in its path).
const (
	KindUpdateAutoExtend  = "update.autoExtend"   // active, PATCH 200
	KindUpdateDisplayName = "update.displayName"  // created, PATCH 200
	KindUpdateRemoveGA    = "update.removeGA"     // active, PATCH 202 + operation
	KindRemoveGAExtend    = "removeGA+autoExtend" // active, PATCH 202, then PATCH 200
	KindLockForApproval   = "request.lockForApproval"
	KindTerminate         = "request.terminate"
	KindInvalidState      = "invalid.renameActive"  // accepted, fails invalid_state, no write
	KindNotFound          = "invalid.notFound"      // accepted, fails not_found
	KindInvalidData       = "invalid.data"          // accepted, fails invalid_command
	KindUnsupported       = "invalid.unsupported"   // accepted, fails unsupported_command
	KindCreate            = "create"                // POST relationship (once), then lockForApproval
	KindSetAssignments    = "accessAssignments.set" // active, two POST …/accessAssignments
	KindOffboard          = "offboard"              // active (terminate), created (DELETE), approvalPending (none)
	KindReplace           = "replace"               // create + lock; its follow-up terminates the old one
	// KindFollowUp is the follow-up operation a replace starts itself
	// (planned after the run, when the new relationship's id is known).
	KindFollowUp = "replace.followUp"
)

// mix is the relative weight of each kind.
var mix = []struct { //nolint:gochecknoglobals // immutable table
	kind   string
	weight int
}{
	{KindUpdateAutoExtend, 30},
	{KindUpdateDisplayName, 15},
	{KindUpdateRemoveGA, 8},
	{KindRemoveGAExtend, 10},
	{KindLockForApproval, 10},
	{KindTerminate, 10},
	{KindInvalidState, 5},
	{KindNotFound, 4},
	{KindInvalidData, 4},
	{KindUnsupported, 4},
	{KindCreate, 10},
	{KindSetAssignments, 8},
	{KindOffboard, 5},
	{KindReplace, 5},
}

// Role template ids used in the seeded relationships.
const (
	roleHelpdesk  = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
	roleUserAdmin = "fe930be7-5e62-47db-91af-98c3a49a38b1"
)

// op is one planned operation.
type op struct {
	id     string
	kind   string
	relID  string
	body   []byte
	expect string // "succeeded" or the failure code expected without faults
	// maxWrites is, per written property ("displayName",
	// "autoExtendDuration", "accessDetails"), "request" (POST …/requests),
	// "create" (POST of the relationship) or "assignment" (POST
	// …/accessAssignments), how many successful writes the operation
	// intends: each at most once per property, one per assignment.
	maxWrites map[string]int
	// name is the displayName a create operation gives its relationship.
	name string
	// rels are further relationships the operation writes to (offboard).
	rels []string
}

// plan is every operation the run checks: the mix (sent in waves), the
// gdap.sweep.run commands (sent in their waves) and the commands the
// sweep's policy issues itself.
type plan struct {
	ops []*op
	// mixed are the operations of the mix, in the order they are sent.
	mixed []*op
	// sweepRuns are the gdap.sweep.run commands of each wave.
	sweepRuns [][]*op
	byID      map[string]*op
	byRel     map[string]*op
	garbage   []string       // message ids of non-CloudEvent bodies
	reused    map[string]int // operation id → sends of the id with other content
}

// add records o as a planned operation.
func (p *plan) add(o *op) {
	p.ops = append(p.ops, o)
	p.byID[o.id] = o
	if o.relID != "" {
		p.byRel[o.relID] = o
	}
	for _, id := range o.rels {
		p.byRel[id] = o
	}
}

// addFollowUps plans the follow-up operation of every replace that
// started one: it must end in exactly one outcome like any other. A
// replace starts its follow-up as it succeeds, and its outcome names it
// (result.followUpOperationId, the new relationship's
// gdapflow.followup.<id>); a replace that failed after creating its
// relationship (throttled while following the lock, say) started none.
// A follow-up that exists without being named is caught by the ledger
// check (a record for an unknown operation).
func (p *plan) addFollowUps(events []devstack.Event) error {
	for _, e := range events {
		if e.Type != "gdap.operation.succeeded" {
			continue
		}
		var d struct {
			OperationID string `json:"operationId"`
			Result      struct {
				FollowUpOperationID string `json:"followUpOperationId"`
			} `json:"result"`
		}
		if err := e.Decode(&d); err != nil {
			return fmt.Errorf("event %s: %w", e.ID, err)
		}
		o := p.byID[d.OperationID]
		if o == nil || o.kind != KindReplace || d.Result.FollowUpOperationID == "" || p.byID[d.Result.FollowUpOperationID] != nil {
			continue
		}
		p.add(&op{id: d.Result.FollowUpOperationID, kind: KindFollowUp, expect: "succeeded", maxWrites: map[string]int{}})
	}
	return nil
}

func (p *plan) countByKind() map[string]int {
	out := map[string]int{}
	for _, o := range p.ops {
		out[o.kind]++
	}
	return out
}

// buildPlan draws n operations from the mix and seeds one relationship per
// operation in the simulator.
func buildPlan(stack *devstack.Stack, rng *rand.Rand, n int) (*plan, error) {
	total := 0
	for _, m := range mix {
		total += m.weight
	}
	p := &plan{byID: map[string]*op{}, byRel: map[string]*op{}, reused: map[string]int{}}
	for i := range n {
		x := rng.IntN(total)
		kind := mix[0].kind
		for _, m := range mix {
			if x < m.weight {
				kind = m.kind
				break
			}
			x -= m.weight
		}
		o, err := newOp(stack, rng, i, kind)
		if err != nil {
			return nil, fmt.Errorf("seed operation %d (%s): %w", i, kind, err)
		}
		p.add(o)
		p.mixed = append(p.mixed, o)
	}
	return p, nil
}

func guid(rng *rand.Rand) string {
	return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", rng.Uint32(), rng.Uint32()&0xffff,
		rng.Uint32()&0xfff, rng.Uint32()&0xfff, rng.Uint64()&0xffffffffffff)
}

func newOp(stack *devstack.Stack, rng *rand.Rand, i int, kind string) (*op, error) {
	o := &op{id: fmt.Sprintf("chaos-%05d-%s", i, guid(rng)[:8]), kind: kind, expect: "succeeded", maxWrites: map[string]int{}}
	customer := gdap.Customer{TenantID: guid(rng), DisplayName: fmt.Sprintf("Customer %d", i)}
	add := func(status string, roles []string) error {
		rel := gdap.Relationship{
			DisplayName: fmt.Sprintf("chaos-%05d", i), Status: status, Duration: "P730D",
			AutoExtendDuration: gdap.AutoExtendOff, UnifiedRoles: roles,
		}
		if status != gdap.StatusCreated {
			rel.Customer = customer
		}
		id, err := stack.Graph.AddRelationship(rel)
		o.relID = id
		return err
	}
	typ := command.TypeRelationshipUpdate
	var data any
	var err error
	switch kind {
	case KindUpdateAutoExtend:
		err = add(gdap.StatusActive, []string{roleHelpdesk})
		data = map[string]any{"relationshipId": o.relID, "changes": map[string]any{"autoExtendDuration": gdap.AutoExtendOn}}
		o.maxWrites["autoExtendDuration"] = 1
	case KindUpdateDisplayName:
		err = add(gdap.StatusCreated, []string{roleHelpdesk, roleUserAdmin})
		data = map[string]any{"relationshipId": o.relID, "changes": map[string]any{"displayName": fmt.Sprintf("chaos-%05d-renamed", i)}}
		o.maxWrites["displayName"] = 1
	case KindUpdateRemoveGA:
		err = add(gdap.StatusActive, []string{roleHelpdesk, gdap.GlobalAdminRoleID})
		data = map[string]any{"relationshipId": o.relID, "changes": map[string]any{
			"accessDetails": map[string]any{"unifiedRoles": []any{map[string]any{"roleDefinitionId": roleHelpdesk}}}}}
		o.maxWrites["accessDetails"] = 1
	case KindRemoveGAExtend:
		err = add(gdap.StatusActive, []string{roleHelpdesk, gdap.GlobalAdminRoleID})
		typ = command.TypeRemoveGlobalAdmin
		data = map[string]any{"relationshipId": o.relID, "enableAutoExtend": true}
		o.maxWrites["accessDetails"] = 1
		o.maxWrites["autoExtendDuration"] = 1
	case KindLockForApproval:
		err = add(gdap.StatusCreated, []string{roleHelpdesk})
		typ = command.TypeRelationshipRequest
		data = map[string]any{"relationshipId": o.relID, "action": gdap.ActionLockForApproval}
		o.maxWrites["request"] = 1
	case KindTerminate:
		err = add(gdap.StatusActive, []string{roleHelpdesk})
		typ = command.TypeRelationshipRequest
		data = map[string]any{"relationshipId": o.relID, "action": gdap.ActionTerminate}
		o.maxWrites["request"] = 1
	case KindInvalidState:
		err = add(gdap.StatusActive, []string{roleHelpdesk})
		data = map[string]any{"relationshipId": o.relID, "changes": map[string]any{"displayName": fmt.Sprintf("chaos-%05d-nope", i)}}
		o.expect = "invalid_state"
	case KindNotFound:
		o.relID = guid(rng) + "-" + guid(rng) // never seeded
		data = map[string]any{"relationshipId": o.relID, "changes": map[string]any{"autoExtendDuration": gdap.AutoExtendOn}}
		o.expect = "not_found"
	case KindInvalidData:
		err = add(gdap.StatusActive, []string{roleHelpdesk})
		data = map[string]any{"relationshipId": o.relID, "changes": map[string]any{}}
		o.expect = "invalid_command"
	case KindCreate:
		typ = command.TypeRelationshipCreate
		o.name = fmt.Sprintf("chaos-new-%05d", i)
		data = map[string]any{"displayName": o.name, "duration": "P730D",
			"customer":      map[string]any{"tenantId": customer.TenantID, "displayName": customer.DisplayName},
			"accessDetails": map[string]any{"unifiedRoles": []any{map[string]any{"roleDefinitionId": roleHelpdesk}}}}
		o.maxWrites["create"] = 1
		o.maxWrites["request"] = 1
	case KindSetAssignments:
		err = add(gdap.StatusActive, []string{roleHelpdesk, roleUserAdmin})
		typ = command.TypeAssignmentsSet
		data = map[string]any{"relationshipId": o.relID, "assignments": []any{
			map[string]any{"securityGroupId": guid(rng), "roles": []any{map[string]any{"roleDefinitionId": roleHelpdesk}}},
			map[string]any{"securityGroupId": guid(rng), "roles": []any{
				map[string]any{"roleDefinitionId": roleHelpdesk}, map[string]any{"roleDefinitionId": roleUserAdmin}}},
		}}
		o.maxWrites["assignment"] = 2
	case KindOffboard:
		typ = command.TypeCustomerOffboard
		for _, status := range []string{gdap.StatusCreated, gdap.StatusApprovalPending, gdap.StatusActive} {
			rel := gdap.Relationship{DisplayName: fmt.Sprintf("chaos-%05d-%s", i, status), Status: status, Duration: "P730D",
				AutoExtendDuration: gdap.AutoExtendOff, UnifiedRoles: []string{roleHelpdesk}, Customer: customer}
			id, aerr := stack.Graph.AddRelationship(rel)
			if aerr != nil {
				return nil, aerr
			}
			o.rels = append(o.rels, id)
		}
		data = map[string]any{"customerTenantId": customer.TenantID}
		o.maxWrites["request"] = 1
		o.maxWrites["delete"] = 1
	case KindReplace:
		err = add(gdap.StatusActive, []string{roleHelpdesk, roleUserAdmin})
		typ = command.TypeRelationshipReplace
		o.name = fmt.Sprintf("chaos-repl-%05d", i)
		data = map[string]any{"relationshipId": o.relID, "displayName": o.name,
			"accessDetails": map[string]any{"unifiedRoles": []any{map[string]any{"roleDefinitionId": roleHelpdesk}}}}
		o.maxWrites["create"] = 1
		o.maxWrites["request"] = 1 // the new one's lock, the old one's terminate
	case KindUnsupported:
		typ = "gdap.relationship.frobnicate"
		data = map[string]any{"relationshipId": guid(rng)}
		o.expect = "unsupported_command"
	default:
		return nil, fmt.Errorf("unknown kind %q", kind)
	}
	if err != nil {
		return nil, err
	}
	o.body, err = devstack.NewCommand(o.id, typ, data)
	return o, err
}
