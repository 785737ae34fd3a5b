package graphsim

import (
	"cmp"
	"net/http"
	"time"

	"github.com/gdapflow/gdapflow/internal/vclock"
)

// Defaults of Options. A zero Options field takes these values.
const (
	// RetryAfterDefault is the Retry-After (seconds) of 202 responses.
	RetryAfterDefault = 10
	// PageSizeDefault is the server page size (and the $top maximum).
	PageSizeDefault = 300
	// JournalLimitDefault is how many requests the journal keeps.
	JournalLimitDefault = 10000
	// RequestStartDelayDefault is how long a relationship request stays created.
	RequestStartDelayDefault = 2 * time.Second
	// RequestCompleteDelayDefault is how long a relationship request stays pending.
	RequestCompleteDelayDefault = 10 * time.Second
	// OperationStartDelayDefault is how long an operation stays notStarted.
	OperationStartDelayDefault = 2 * time.Second
	// OperationCompleteDelayDefault is how long an operation stays running.
	OperationCompleteDelayDefault = 10 * time.Second
	// ActivationStepDelayDefault is the time of each of approved→activating
	// and activating→active.
	ActivationStepDelayDefault = 30 * time.Second
	// TerminationStepDelayDefault is the time of terminating→terminated for a
	// customer-initiated termination.
	TerminationStepDelayDefault = 30 * time.Second
	// ExpiryStepDelayDefault is the time of expiring→expired.
	ExpiryStepDelayDefault = time.Minute
	// AssignmentStepDelayDefault is the time of accessAssignment pending→active
	// and deleting→deleted.
	AssignmentStepDelayDefault = 10 * time.Second
	// ApprovalLapseDefault is how long after createdDateTime an
	// approvalPending relationship lapses to expired (90 days).
	ApprovalLapseDefault = 90 * 24 * time.Hour
	// AutoExtendPeriod is how far one auto-extension pushes endDateTime.
	AutoExtendPeriod = 180 * 24 * time.Hour
)

// Options configures a Sim. The zero value is the strict default.
type Options struct {
	// Clock supplies every timestamp. Default vclock.Real{}. Tests pass
	// vclock.NewFrozen or vclock.NewVirtual.
	Clock vclock.Clock
	// Fallback serves every path not under /beta, /v1.0 or /_sim (for
	// example the Partner Center / Entra simulator). Nil: 404.
	Fallback http.Handler

	// MissingIfMatchStatus is the status of a PATCH/DELETE without If-Match:
	// 400 (default) or 428 (rule 16).
	MissingIfMatchStatus int
	// InvalidStateStatus is the status for an action the current state does
	// not allow: PATCH outside created/active (rule 20), DELETE outside
	// created (rule 21), a request action invalid for the status (rule 26).
	// 400 (default) or 409.
	InvalidStateStatus int
	// DuplicateNameStatus is the status of a duplicate displayName (rule 8).
	// Default 409.
	DuplicateNameStatus int
	// DuplicateNameCode is the error code of a duplicate displayName.
	// Default "nameAlreadyExists".
	DuplicateNameCode string
	// AcceptSDKZeroDuration makes the Go SDK's "P" (its rendering of PT0S)
	// acceptable as a zero autoExtendDuration (rule 10). Nil means true.
	AcceptSDKZeroDuration *bool
	// AllowUnknownProperties turns off rule 6 (unknown body properties → 400).
	AllowUnknownProperties bool
	// AllowReadOnlyProperties turns off rule 22 (read-only properties in a
	// POST/PATCH body → 400).
	AllowReadOnlyProperties bool
	// RejectGzip answers 415 to gzip-encoded request bodies so that the
	// SDK's compression handler falls back to identity (rule 4).
	RejectGzip bool
	// RejectStatus is the relationship status a successful reject request
	// leads to (rule 26). Default "terminated".
	RejectStatus string

	// RetryAfter is the Retry-After (seconds) of 202 responses. Default 10.
	RetryAfter int
	// PageSize is the server page size; $top may not exceed it. Default 300.
	PageSize int
	// JournalLimit bounds the journal (oldest entries are dropped).
	// Default 10000; negative disables the journal.
	JournalLimit int

	// Delays of the simulated asynchronous work. Zero takes the default,
	// a negative value means "due immediately".
	RequestStartDelay      time.Duration
	RequestCompleteDelay   time.Duration
	OperationStartDelay    time.Duration
	OperationCompleteDelay time.Duration
	ActivationStepDelay    time.Duration
	TerminationStepDelay   time.Duration
	ExpiryStepDelay        time.Duration
	AssignmentStepDelay    time.Duration
	ApprovalLapse          time.Duration
	// CustomerApproval, when positive, plays a customer who approves every
	// (non-reseller) relationship this long after it enters approvalPending:
	// a scripted customer for load and chaos runs, not a Graph behaviour.
	// Zero: relationships wait for Approve (or lapse).
	CustomerApproval time.Duration

	// Throttle, when set, gives every bearer token a request budget per
	// window of simulated time; beyond it requests get 429 (rule 36).
	Throttle *ThrottleBudget
	// RateLimit, when set, is a token bucket per client application
	// (bearer token) in simulated time; a request without a token gets 429
	// with the Retry-After the bucket needs to refill one (rule 41).
	RateLimit *RateLimit
}

// RateLimit is a token bucket (rule 41): Rate tokens per second, at most
// Burst held (at least 1). Graph documents only that a throttled client
// gets 429 with a suggested wait in Retry-After and that writes may be
// throttled before reads (https://learn.microsoft.com/graph/throttling);
// one bucket for every request is the simulator's model.
type RateLimit struct {
	Rate  float64
	Burst int
}

// ThrottleBudget is a per-client request budget (rule 36).
type ThrottleBudget struct {
	// Requests is how many requests a client may send per Window.
	Requests int
	// Window is the fixed budget window in simulated time.
	Window time.Duration
}

// withDefaults returns a copy with every zero field defaulted.
func (o Options) withDefaults() Options {
	if o.Clock == nil {
		o.Clock = vclock.Real{}
	}
	o.MissingIfMatchStatus = cmp.Or(o.MissingIfMatchStatus, http.StatusBadRequest)
	o.InvalidStateStatus = cmp.Or(o.InvalidStateStatus, http.StatusBadRequest)
	o.DuplicateNameStatus = cmp.Or(o.DuplicateNameStatus, http.StatusConflict)
	o.DuplicateNameCode = cmp.Or(o.DuplicateNameCode, "nameAlreadyExists")
	if o.AcceptSDKZeroDuration == nil {
		t := true
		o.AcceptSDKZeroDuration = &t
	}
	o.RejectStatus = cmp.Or(o.RejectStatus, "terminated")
	o.RetryAfter = cmp.Or(o.RetryAfter, RetryAfterDefault)
	o.PageSize = cmp.Or(o.PageSize, PageSizeDefault)
	o.JournalLimit = cmp.Or(o.JournalLimit, JournalLimitDefault)
	o.RequestStartDelay = delayOr(o.RequestStartDelay, RequestStartDelayDefault)
	o.RequestCompleteDelay = delayOr(o.RequestCompleteDelay, RequestCompleteDelayDefault)
	o.OperationStartDelay = delayOr(o.OperationStartDelay, OperationStartDelayDefault)
	o.OperationCompleteDelay = delayOr(o.OperationCompleteDelay, OperationCompleteDelayDefault)
	o.ActivationStepDelay = delayOr(o.ActivationStepDelay, ActivationStepDelayDefault)
	o.TerminationStepDelay = delayOr(o.TerminationStepDelay, TerminationStepDelayDefault)
	o.ExpiryStepDelay = delayOr(o.ExpiryStepDelay, ExpiryStepDelayDefault)
	o.AssignmentStepDelay = delayOr(o.AssignmentStepDelay, AssignmentStepDelayDefault)
	o.ApprovalLapse = delayOr(o.ApprovalLapse, ApprovalLapseDefault)
	return o
}

func delayOr(d, def time.Duration) time.Duration {
	switch {
	case d == 0:
		return def
	case d < 0:
		return 0
	}
	return d
}
