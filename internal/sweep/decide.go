package sweep

import (
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gdapflow/gdapflow/internal/config"
	"github.com/gdapflow/gdapflow/internal/gdap"
)

// day is the unit of every threshold.
const day = 24 * time.Hour

// approvalLapse is how long an approval link stays valid (Partner Center
// FAQ: a relationship not approved within 90 days expires).
const approvalLapse = 90 * day

// Auto-extend policy actions recorded in the snapshot.
const (
	actionUpdate   = "update"
	actionRemoveGA = "removeGlobalAdmin"
)

// rules is the part of the configuration decisions depend on.
type rules struct {
	// thresholds are the expiry warning days, sorted descending.
	thresholds []int
	// approvalDays is the age at which a pending approval is announced.
	approvalDays int
	// policy is the auto-extend policy.
	policy config.Policy
	// protected reports whether a customer tenant is protected.
	protected func(tenantID string) bool
	// seenRefresh is the coarse lastSeen period (<= 0: only on change).
	seenRefresh time.Duration
}

// window returns the width of the warning window (the largest threshold).
func (r rules) window() time.Duration {
	if len(r.thresholds) == 0 {
		return 0
	}
	return time.Duration(r.thresholds[0]) * day
}

// minEndedLookback is the shortest endedLookback.
const minEndedLookback = 7 * day

// endedLookback is how long ago a relationship seen for the first time may
// have ended and still be announced: the warning window (what the sweep
// watches ahead of an end date), and at least a week (longer than any
// sensible sweep interval, so nothing created and ended between two sweeps
// goes unannounced).
func (r rules) endedLookback() time.Duration {
	return max(r.window(), minEndedLookback)
}

// inWindow reports whether rel is active and inside the warning window.
func inWindow(now time.Time, rel gdap.Relationship, rl rules) bool {
	return rel.Status == gdap.StatusActive && !rel.EndDateTime.IsZero() && normTime(rel.EndDateTime).Sub(now) <= rl.window()
}

// record is the content of one snapshot row. It is comparable: two records
// that are == need no write.
type record struct {
	DisplayName      string
	Status           string
	CustomerTenantID string
	CustomerName     string
	Created          time.Time
	End              time.Time
	AutoExtend       string
	// Roles are the unified role ids, lower-case, sorted, comma-separated.
	Roles       string
	GlobalAdmin bool
	ETag        string
	// Warned lists the thresholds (descending, comma-separated) already
	// announced, or marked as done, for End.
	Warned string
	// Ended is the status announced by gdap.relationship.ended ("" none).
	Ended string
	// ApprovalWarned is true once gdap.relationship.approvalPending went out
	// for Created.
	ApprovalWarned bool
	// Activated is true once gdap.relationship.activated went out.
	Activated bool
	// ActionEnd is the end date for which the auto-extend policy issued
	// Action (zero: none).
	ActionEnd time.Time
	// Action is actionUpdate or actionRemoveGA.
	Action string
	// LastSeen is when a sweep last saw the relationship, coarse (see
	// rules.seenRefresh).
	LastSeen time.Time
	// ChangedBy is the sweep that last changed the row.
	ChangedBy string
	// Pending marks a row inserted before its announcements were sent
	// (store.insertRows): until a later write clears it, nothing in the row
	// counts as announced, and a reader decides as if there were no row
	// (settled).
	Pending bool
}

// settled returns the row a decision may rely on: nil for no row and for
// a Pending one, whose announcements may never have gone out.
func (r *record) settled() *record {
	if r == nil || r.Pending {
		return nil
	}
	return r
}

// sameContent compares everything but the bookkeeping fields.
func (r record) sameContent(o record) bool {
	r.LastSeen, o.LastSeen = time.Time{}, time.Time{}
	r.ChangedBy, o.ChangedBy = "", ""
	return r == o
}

// expiringNotice is one gdap.relationship.expiring to announce.
type expiringNotice struct {
	ThresholdDays int
	DaysRemaining int
	// Protected is true for a protected customer's relationship.
	Protected bool
}

// approvalNotice is one gdap.relationship.approvalPending to announce.
type approvalNotice struct {
	DaysPending int
	ExpiresAt   time.Time
}

// decision is what a sweep does about one relationship.
type decision struct {
	// next is the snapshot row content after this sweep.
	next record
	// write is true when next must be stored.
	write bool
	// expiring, ended and approval are the notices to announce (nil: none).
	expiring *expiringNotice
	ended    bool
	approval *approvalNotice
	// activated announces gdap.relationship.activated.
	activated bool
	// wake wakes the follow-up operation that may wait on the
	// relationship's approval (its status left approvalPending, approved
	// or activating).
	wake bool
	// action is the auto-extend command to issue ("" none).
	action string
	// lapseWarning is true when a protected customer's relationship will
	// lapse and the policy cannot prevent it (Global Administrator present):
	// logged as an error with the expiring notice.
	lapseWarning bool
	// inWindow is true for an active relationship inside the warning window.
	inWindow bool
}

// decide compares a relationship as Graph lists it now with its snapshot
// row (nil when the sweep never saw it) and decides what to announce, which
// command to issue and what to store. It is pure.
func decide(now time.Time, rel gdap.Relationship, prev *record, rl rules, sweepID string) decision {
	var old record
	if prev != nil {
		old = *prev
	}
	next := record{
		DisplayName:      rel.DisplayName,
		Status:           rel.Status,
		CustomerTenantID: strings.ToLower(rel.Customer.TenantID),
		CustomerName:     rel.Customer.DisplayName,
		Created:          normTime(rel.CreatedDateTime),
		End:              normTime(rel.EndDateTime),
		AutoExtend:       rel.AutoExtendDuration,
		Roles:            canonicalRoles(rel.UnifiedRoles),
		GlobalAdmin:      rel.HasGlobalAdmin(),
		ETag:             rel.ETag,
		Ended:            old.Ended,
		ApprovalWarned:   old.ApprovalWarned,
		Activated:        old.Activated,
		ActionEnd:        old.ActionEnd,
		Action:           old.Action,
		LastSeen:         old.LastSeen,
		ChangedBy:        old.ChangedBy,
	}
	if prev != nil && old.End.Equal(next.End) {
		next.Warned = old.Warned
	}
	if prev != nil && !old.Created.Equal(next.Created) {
		next.ApprovalWarned = false
	}
	d := decision{inWindow: inWindow(now, rel, rl)}

	// Expiry thresholds: active relationships with an end date.
	if rel.Status == gdap.StatusActive && !next.End.IsZero() {
		left := next.End.Sub(now)
		warned := parseDays(next.Warned)
		nearest, announce, marked := 0, false, false
		for _, t := range rl.thresholds { // descending: the last crossed is the nearest
			if left > time.Duration(t)*day {
				continue
			}
			nearest = t
			announce = !slices.Contains(warned, t)
			if announce {
				warned = append(warned, t)
				marked = true
			}
		}
		if marked {
			next.Warned = formatDays(warned)
		}
		if announce {
			d.expiring = &expiringNotice{ThresholdDays: nearest, DaysRemaining: daysCeil(left)}
		}
	}

	// Ended: seen expired or terminated for the first time. One the sweep
	// never saw before (the first sweep of a deployment, or a relationship
	// created and ended between two sweeps) is announced only if it ended
	// within the lookback, so a first sweep does not replay years of ended
	// relationships; older ones are recorded as ended without an event.
	if gdap.IsTerminal(rel.Status) && next.Ended == "" {
		d.ended = prev != nil || next.End.IsZero() || now.Sub(next.End) <= rl.endedLookback()
		next.Ended = rel.Status
	}

	// Activated: first seen active after waiting for approval, or never
	// seen before but created within the lookback (created and approved
	// between two sweeps). Whatever leaves the approval wait wakes its
	// follow-up.
	if rel.Status == gdap.StatusActive && !next.Activated {
		fresh := prev == nil && !rel.ActivatedDateTime.IsZero() && !next.Created.IsZero() && now.Sub(next.Created) <= rl.endedLookback()
		if (prev != nil && preApproval(old.Status)) || fresh {
			d.activated = true
		}
		next.Activated = true
	}
	d.wake = d.activated || (prev != nil && old.Status != rel.Status &&
		(awaitingApproval(old.Status) || (old.Status == gdap.StatusCreated && !preApproval(rel.Status))))

	// Approval links lapse 90 days after creation.
	if rel.Status == gdap.StatusApprovalPending && !next.Created.IsZero() && !next.ApprovalWarned {
		age := now.Sub(next.Created)
		if age >= time.Duration(rl.approvalDays)*day {
			d.approval = &approvalNotice{DaysPending: int(age / day), ExpiresAt: next.Created.Add(approvalLapse)}
			next.ApprovalWarned = true
		}
	}

	// Auto-extend policy: active, inside the window, not auto-extending yet,
	// and not already acted on for this end date. A protected customer's
	// relationship is auto-extended whatever the policy says (contract
	// §6.4: it never lapses silently); where Global Administrator blocks
	// that and the policy does not remove the role, it is announced as a
	// lapse (lapseWarning).
	prot := rel.Status == gdap.StatusActive && rl.protected(rel.Customer.TenantID)
	if d.inWindow && (rl.policy != config.PolicyOff || prot) && !rel.AutoExtendEnabled() &&
		!next.ActionEnd.Equal(next.End) {
		switch {
		case !next.GlobalAdmin:
			d.action = actionUpdate
		case rl.policy == config.PolicyRemoveGlobalAdmin:
			d.action = actionRemoveGA
		}
		if d.action != "" {
			next.ActionEnd, next.Action = next.End, d.action
		}
	}
	if d.expiring != nil {
		d.expiring.Protected = prot
	}
	// An action issued for an earlier end date (since extended) does not
	// count: only one for this end date prevents the lapse.
	d.lapseWarning = prot && d.inWindow && !rel.AutoExtendEnabled() && d.action == "" && !next.ActionEnd.Equal(next.End) && d.expiring != nil

	changed := prev == nil || !old.sameContent(next)
	refresh := next.LastSeen.IsZero() || (rl.seenRefresh > 0 && now.Sub(next.LastSeen) >= refreshAfter(rel.ID, rl.seenRefresh))
	if changed || refresh {
		next.LastSeen = normTime(now)
		d.write = true
	}
	if changed {
		next.ChangedBy = sweepID
	}
	d.next = next
	return d
}

// refreshAfter is the per-relationship lastSeen refresh age: period plus a
// deterministic jitter in [0, period), so that refresh writes of a
// population first seen in one sweep spread over later sweeps.
func refreshAfter(id string, period time.Duration) time.Duration {
	h := fnv.New64a()
	_, _ = h.Write([]byte(id))
	return period + time.Duration(h.Sum64()%uint64(period))
}

// daysCeil is the number of started days in d (0 when d <= 0): a
// relationship ending in 29 days and 23 hours has 30 days remaining.
func daysCeil(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int((d + day - 1) / day)
}

// normTime returns t in UTC at Table Storage's 100 ns precision, so a value
// read back compares equal to the value written.
func normTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(100 * time.Nanosecond)
}

// canonicalRoles returns the roles lower-case, sorted, de-duplicated and
// comma-separated.
func canonicalRoles(roles []string) string {
	out := make([]string, 0, len(roles))
	for _, r := range roles {
		out = append(out, strings.ToLower(strings.TrimSpace(r)))
	}
	slices.Sort(out)
	return strings.Join(slices.Compact(out), ",")
}

// parseDays parses a comma-separated list of thresholds; malformed entries
// are skipped (the row is rewritten with a clean list on the next change).
func parseDays(s string) []int {
	if s == "" {
		return nil
	}
	var out []int
	for p := range strings.SplitSeq(s, ",") {
		if n, err := strconv.Atoi(p); err == nil {
			out = append(out, n)
		}
	}
	return out
}

// formatDays formats thresholds descending, comma-separated.
func formatDays(days []int) string {
	days = slices.Clone(days)
	slices.Sort(days)
	slices.Reverse(days)
	parts := make([]string, len(days))
	for i, n := range days {
		parts[i] = strconv.Itoa(n)
	}
	return strings.Join(parts, ",")
}

// preApproval reports whether a relationship in status has yet to become
// active through the customer's approval: awaiting it, or still created (a
// sweep may see it before its lock, and next after the approval).
func preApproval(status string) bool {
	return status == gdap.StatusCreated || awaitingApproval(status)
}

// awaitingApproval reports whether status waits for the customer's approval
// or for the approved relationship's provisioning.
func awaitingApproval(status string) bool {
	return status == gdap.StatusApprovalPending || status == gdap.StatusApproved || status == gdap.StatusActivating
}
