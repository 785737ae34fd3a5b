package engine

import (
	"github.com/gdapflow/gdapflow/internal/gdap"
	"github.com/gdapflow/gdapflow/internal/op"
)

// protectedFailure refuses, with policy_denied, an action that would end
// (or let lapse) access to a protected customer (GDAP_PROTECTED_CUSTOMERS,
// docs/contract.md §6.4): terminate, DAP removal, offboarding, the
// termination step of a replacement, auto-extend switched off. A
// relationship whose customer tenant is unknown is refused while any
// customer is protected (Options.Protected("") reports that): the guard
// fails closed. what says what would have happened. Nil: allowed.
func (e *Engine) protectedFailure(rel gdap.Relationship, what string) *op.Failure {
	tenant := rel.Customer.TenantID
	if !e.opts.Protected(tenant) {
		return nil
	}
	if tenant == "" {
		return op.Failf(op.CodePolicyDenied,
			"the customer tenant of relationship %s cannot be determined and GDAP_PROTECTED_CUSTOMERS is set: it will not be %s (fail closed)", rel.ID, what)
	}
	return op.Failf(op.CodePolicyDenied, "customer %s is protected (GDAP_PROTECTED_CUSTOMERS): relationship %s will not be %s", tenant, rel.ID, what)
}
