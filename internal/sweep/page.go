package sweep

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/gdapflow/gdapflow/internal/bus"
	"github.com/gdapflow/gdapflow/internal/graphapi"
	"github.com/gdapflow/gdapflow/internal/op"
	"github.com/gdapflow/gdapflow/internal/upstream"
)

// pageDelta is what one page adds to the sweep's counts.
type pageDelta struct {
	page     int
	count    int
	expiring int
	byStatus map[string]int
	reads    int
	writes   int
	messages int
}

// outbound is one message to send and its entity.
type outbound struct {
	entity string
	msg    bus.Message
}

// processPage handles one page at page position k. The page index row of
// position k tells which relationships are unchanged and quiet since they
// were last processed there; only the others have their snapshot rows read
// and decided. Then the page's events and commands are sent, the changed
// rows written, and finally the page index. Sending before writing makes
// every announcement at-least-once: a crash in between re-sends the same
// deterministic message ids, which duplicate detection drops.
func (s *Sweeper) processPage(ctx context.Context, inv op.Invocation, log *slog.Logger, sweepID string, k int, page graphapi.RelationshipPage) (pageDelta, error) {
	rels := page.Relationships[:0:0]
	seen := make(map[string]bool, len(page.Relationships))
	for _, r := range page.Relationships {
		if r.ID == "" || seen[r.ID] {
			continue
		}
		seen[r.ID] = true
		rels = append(rels, r)
	}
	now := inv.Clock.Now().UTC()
	nowUnix := now.Unix()
	index, err := s.store.readPage(ctx, k)
	if err != nil {
		return pageDelta{}, err
	}
	if index != nil && index.rules != s.fingerprint {
		index = nil
	}
	delta := pageDelta{page: k, byStatus: map[string]int{}}
	entries := make([]pageEntry, len(rels))
	var need []int
	for i, rel := range rels {
		delta.count++
		delta.byStatus[rel.Status]++
		if inWindow(now, rel, s.rules) {
			delta.expiring++
		}
		en := pageEntry{idHash: hash64(rel.ID), contentHash: contentHash(rel)}
		if index != nil {
			if old, ok := index.entries[en.idHash]; ok && old.contentHash == en.contentHash && int64(old.quietUntil) > nowUnix {
				entries[i] = old
				continue
			}
		}
		entries[i] = en
		need = append(need, i)
	}
	ids := make([]string, len(need))
	for j, i := range need {
		ids[j] = rels[i].ID
	}
	prev, err := s.store.readRows(ctx, ids)
	if err != nil {
		return pageDelta{}, err
	}
	var out []outbound
	var rows []row
	for j, i := range need {
		rel := rels[i]
		d, msgs, err := s.settle(ctx, log, sweepID, now, rel, prev[j])
		if err != nil {
			return pageDelta{}, err
		}
		entries[i].quietUntil = quietUntil(now, rel, d.next, s.rules)
		out = append(out, msgs...)
		if d.write {
			rows = append(rows, row{id: rel.ID, rec: d.next})
		}
	}
	errs := make([]error, len(out))
	parallel(len(out), s.opts.Concurrency, func(i int) {
		if err := s.send.Send(ctx, out[i].entity, out[i].msg); err != nil {
			errs[i] = fmt.Errorf("sweep: send %s %s: %w", out[i].msg.Subject, out[i].msg.MessageID, err)
		}
	})
	if err := errors.Join(errs...); err != nil {
		return pageDelta{}, err
	}
	if err := s.store.writeRows(ctx, rows); err != nil {
		return pageDelta{}, err
	}
	raw, report := encodeEntries(entries), summarize(rels, s.rules.protected, now, s.rules.window())
	if rh := reportHash(report); index == nil || !bytes.Equal(raw, index.raw) || rh != index.reportHash {
		// The summary first: a page row names only a summary stored.
		if err := s.store.writeReport(ctx, k, report); err != nil {
			return pageDelta{}, err
		}
		if err := s.store.writePage(ctx, k, s.fingerprint, raw, rh); err != nil {
			return pageDelta{}, err
		}
	}
	delta.reads, delta.writes, delta.messages = len(need), len(rows), len(out)
	return delta, nil
}

// listFailed handles a failed list call: a transient failure with attempts
// left is retried by a delayed continuation; anything else ends the sweep
// as failed (its waiting operations fail, no gdap.sweep.completed).
func (s *Sweeper) listFailed(ctx context.Context, inv op.Invocation, log *slog.Logger, st *state, cause error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("sweep: list page %d: %w", st.Page, cause)
	}
	now := inv.Clock.Now().UTC()
	ue, isUpstream := upstream.As(cause)
	if isUpstream && ue.Transient() && st.Retries+1 < s.opts.RetryMaxAttempts {
		delay := op.RetryDelay(st.SweepID, st.Retries+1, ue.RetryAfter)
		n, err := s.commit(ctx, st, func(n *state) {
			n.Retries++
			n.RetryAt = now.Add(delay)
			n.LeaseUntil = n.RetryAt.Add(s.opts.LeaseDuration)
		})
		if errors.Is(err, errSuperseded) {
			return nil
		}
		if err != nil {
			return err
		}
		log.WarnContext(ctx, "listing relationships failed; retrying later", "page", st.Page,
			"attempt", n.Retries, "delay", delay.String(), "error", cause.Error())
		return s.scheduleNext(ctx, inv, n)
	}
	f := op.FailureOf(cause, "the relationship list")
	code, status := f.Code, f.HTTPStatus
	reason := cause.Error()
	if len(reason) > 1000 {
		reason = reason[:1000]
	}
	n, err := s.commit(ctx, st, func(n *state) {
		n.Phase = phaseFinishing
		n.Failed, n.FailedReason, n.FailedStatus = string(code), reason, status
		n.FinishedAt = now
		n.LeaseUntil = now.Add(s.opts.LeaseDuration)
	})
	if errors.Is(err, errSuperseded) {
		return nil
	}
	if err != nil {
		return err
	}
	log.ErrorContext(ctx, "expiry sweep failed", "page", st.Page, "code", code, "error", reason)
	return s.finish(ctx, inv, log, n)
}

// prefetcher fetches the next page while the current one is processed, so
// Table Storage work overlaps Graph latency. Memory: at most one extra page.
type prefetcher struct {
	link   string
	done   chan struct{}
	cancel context.CancelFunc
	page   graphapi.RelationshipPage
	err    error
}

// start fetches link in the background.
func (p *prefetcher) start(ctx context.Context, g lister, link string, top int) {
	p.stop()
	cctx, cancel := context.WithCancel(ctx)
	p.link, p.cancel, p.done = link, cancel, make(chan struct{})
	go func() {
		defer close(p.done)
		p.page, p.err = g.ListRelationships(cctx, link, top)
	}()
}

// take returns the page at link: the prefetched one when it matches,
// otherwise a direct call.
func (p *prefetcher) take(ctx context.Context, g lister, link string, top int) (graphapi.RelationshipPage, error) {
	if p.done != nil && p.link == link && link != "" {
		<-p.done
		page, err := p.page, p.err
		p.cancel()
		p.done, p.cancel, p.page, p.err = nil, nil, graphapi.RelationshipPage{}, nil
		return page, err
	}
	p.stop()
	return g.ListRelationships(ctx, link, top)
}

// stop cancels and waits for an unused prefetch.
func (p *prefetcher) stop() {
	if p.done == nil {
		return
	}
	p.cancel()
	<-p.done
	p.done, p.cancel, p.page, p.err = nil, nil, graphapi.RelationshipPage{}, nil
}
