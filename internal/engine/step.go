package engine

import "slices"

// Step names a workflow step; it is stored in ledger.Record.Step. The empty
// step is every workflow's first one.
type Step string

// Steps of the workflows.
const (
	// stepStart is the first step of every workflow.
	stepStart Step = ""
	// stepApply reads the relationship and writes what is missing.
	stepApply Step = "apply"
	// stepPollOperation follows Graph's 202 long-running operation (poll).
	stepPollOperation Step = "pollOperation"
	// stepPollRequest follows a relationship request (poll).
	stepPollRequest Step = "pollRequest"
	// stepFinish reads the relationship's final state.
	stepFinish Step = "finish"
	// stepRemoveGA removes Global Administrator.
	stepRemoveGA Step = "removeGlobalAdmin"
	// stepPollGA follows the removal's long-running operation (poll).
	stepPollGA Step = "pollGlobalAdminRemoval"
	// stepAutoExtend enables auto-extend after the removal.
	stepAutoExtend Step = "enableAutoExtend"
	// stepConfirm re-reads a Partner Center change until it shows.
	stepConfirm Step = "confirm"
	// stepPollSweep follows the expiry sweep a gdap.sweep.run waits for (poll).
	stepPollSweep Step = "pollSweep"
	// stepCreate creates a relationship (or finds the one this operation
	// created before a crash).
	stepCreate Step = "create"
	// stepLock locks a created relationship for the customer's approval.
	stepLock Step = "lockForApproval"
	// stepAwaitActive waits for the customer to approve (poll).
	stepAwaitActive Step = "awaitApproval"
	// stepPollAssignments follows access assignments until they are
	// active, updated or deleted (poll).
	stepPollAssignments Step = "pollAssignments"
	// stepPollOffboard follows an offboarding's terminations (poll).
	stepPollOffboard Step = "pollOffboard"
	// stepRemoveDAP and stepConfirmDAP remove legacy DAP at the end of an
	// offboarding.
	stepRemoveDAP  Step = "removeDap"
	stepConfirmDAP Step = "confirmDap"
	// stepTerminateCopied terminates the relationship a replacement's
	// assignments were copied from.
	stepTerminateCopied Step = "terminateReplaced"
)

// pollSteps only read upstream, so they run without the record's lease.
var pollSteps = []Step{stepPollOperation, stepPollGA, stepPollRequest, stepPollSweep, stepAwaitActive, stepPollAssignments, stepPollOffboard}

// Poll reports whether s only reads upstream (it needs no lease).
func (s Step) Poll() bool { return slices.Contains(pollSteps, s) }

// String returns the step's name ("start" for the first step).
func (s Step) String() string {
	if s == stepStart {
		return "start"
	}
	return string(s)
}
