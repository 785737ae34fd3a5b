package sweep

import (
	"context"
	"log/slog"
	"time"

	"github.com/gdapflow/gdapflow/internal/gdap"
)

// settle decides about one relationship against its snapshot row (prev,
// nil when there is none; a Pending row counts as none) and builds what the
// decision sends: the announcements (expiring, ended, approvalPending,
// activated), the wake of the follow-up operation waiting on it and the
// auto-extend policy's command. It is the one place a relationship is
// settled: a sweep page (processPages) and a webhook refresh (Refresh) both
// call it, then send the messages and store d.next when d.write. A caller
// that may still drop the messages uses prepare, and noted once it sends
// them.
func (s *Sweeper) settle(ctx context.Context, log *slog.Logger, sweepID string, now time.Time, rel gdap.Relationship, prev *record) (decision, []outbound, error) {
	d, out, err := s.prepare(sweepID, now, rel, prev)
	if err != nil {
		return d, nil, err
	}
	noted(ctx, log, out)
	return d, out, nil
}

// noted writes the log lines of messages about to be sent.
func noted(ctx context.Context, log *slog.Logger, out []outbound) {
	for _, o := range out {
		if o.note != nil {
			o.note(ctx, log)
		}
	}
}

// prepare is settle without its log lines.
func (s *Sweeper) prepare(sweepID string, now time.Time, rel gdap.Relationship, prev *record) (decision, []outbound, error) {
	d := decide(now, rel, prev.settled(), s.rules, sweepID)
	var out []outbound
	if d.expiring != nil {
		m, err := expiringEvent(s.events, sweepID, now, rel, *d.expiring)
		if err != nil {
			return d, nil, err
		}
		notice, lapse := *d.expiring, d.lapseWarning
		out = append(out, outbound{entity: s.opts.EventsTopic, msg: m, note: func(ctx context.Context, log *slog.Logger) {
			log.DebugContext(ctx, "relationship expiring", "relationship_id", rel.ID, "threshold_days", notice.ThresholdDays)
			if lapse {
				log.ErrorContext(ctx, "a protected customer's relationship will lapse: Global Administrator blocks auto-extend; remove it with gdap.relationship.removeGlobalAdmin (enableAutoExtend true) or set GDAP_AUTO_EXTEND_POLICY=remove-global-admin",
					"relationship_id", rel.ID, "customer_tenant_id", rel.Customer.TenantID, "days_remaining", notice.DaysRemaining)
			}
		}})
	}
	if d.ended {
		m, err := endedEvent(s.events, sweepID, now, rel)
		if err != nil {
			return d, nil, err
		}
		out = append(out, outbound{entity: s.opts.EventsTopic, msg: m})
	}
	if d.approval != nil {
		m, err := approvalEvent(s.events, sweepID, now, rel, *d.approval)
		if err != nil {
			return d, nil, err
		}
		out = append(out, outbound{entity: s.opts.EventsTopic, msg: m})
	}
	if d.activated {
		m, err := activatedEvent(s.events, sweepID, now, rel)
		if err != nil {
			return d, nil, err
		}
		out = append(out, outbound{entity: s.opts.EventsTopic, msg: m, note: func(ctx context.Context, log *slog.Logger) {
			log.InfoContext(ctx, "relationship activated", "relationship_id", rel.ID)
		}})
	}
	if d.wake {
		m, err := wakeMessage(rel, now)
		if err != nil {
			return d, nil, err
		}
		out = append(out, outbound{entity: s.opts.ContinuationsQueue, msg: m})
	}
	if d.action != "" {
		m, typ, err := policyCommand(d.action, rel, s.opts.EventSource+"/sweep", now)
		if err != nil {
			return d, nil, err
		}
		out = append(out, outbound{entity: s.opts.ContinuationsQueue, msg: m, note: func(ctx context.Context, log *slog.Logger) {
			log.InfoContext(ctx, "auto-extend policy issued a command", "relationship_id", rel.ID,
				"command_type", typ, "command_id", m.MessageID)
		}})
	}
	return d, out, nil
}
