package sweep

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/gdapflow/gdapflow/internal/bus"
	"github.com/gdapflow/gdapflow/internal/gdap"
	"github.com/gdapflow/gdapflow/internal/graphapi"
	"github.com/gdapflow/gdapflow/internal/op"
	"github.com/gdapflow/gdapflow/internal/upstream"
)

// pageDelta is what a group of pages adds to the sweep's counts.
type pageDelta struct {
	count    int
	expiring int
	byStatus map[string]int
	reads    int
	inserts  int
	writes   int
	messages int
}

// outbound is one message to send and its entity; note, if set, writes
// its log line once the message is sure to be sent.
type outbound struct {
	entity string
	msg    bus.Message
	note   func(ctx context.Context, log *slog.Logger)
}

// settledRel is one relationship of a group and what the group does
// about it.
type settledRel struct {
	i   int // position in the group's relationships
	d   decision
	out []outbound
	// fresh: inserted by this group (final already unless Pending).
	fresh bool
	// etag is the version of the row read (known relationships).
	etag azcore.ETag
}

// processPages handles consecutive pages at page positions k, k+1, … as
// one group (Options.PagesPerCommit), so that its Table Storage work goes
// in fewer, larger transactions. The page indexes of each page's position
// and both neighbours tell which relationships are unchanged and quiet
// since they were last processed (nothing to do) and which have a
// snapshot row (read it, decide, write it). The others, never seen at
// these positions, are decided as new and inserted without a read
// (store.insertRows); any whose insert fails are read back and decided
// again. Then the group's events and commands are sent, the changed rows
// written, and finally each page's report summary and index. Sending
// before the final write makes every announcement at-least-once: a crash
// in between re-sends the same deterministic message ids, which duplicate
// detection drops. A new row whose decision sends something is inserted
// Pending, so such a crash leaves a row that counts as none.
func (s *Sweeper) processPages(ctx context.Context, inv op.Invocation, log *slog.Logger, sweepID string, k int, pages []graphapi.RelationshipPage, win *indexWindow) (pageDelta, error) {
	now := inv.Clock.Now().UTC()
	g, err := s.classify(ctx, now, k, pages, win)
	if err != nil {
		return pageDelta{}, err
	}
	delta, rels, entries, known, fresh := g.delta, g.rels, g.entries, g.known, g.fresh
	bounds, dups, idx := g.bounds, g.dups, g.idx

	var done []settledRel
	var inserts []row
	for _, i := range fresh {
		d, out, err := s.prepare(sweepID, now, rels[i], nil)
		if err != nil {
			return pageDelta{}, err
		}
		rec := d.next
		rec.Pending = len(out) > 0
		inserts = append(inserts, row{id: rels[i].ID, rec: rec, at: i})
		done = append(done, settledRel{i: i, d: d, out: out, fresh: true})
	}
	unsure, err := s.store.insertRows(ctx, inserts)
	if err != nil {
		return pageDelta{}, err
	}
	if len(unsure) > 0 {
		back := make(map[int]bool, len(unsure))
		for _, r := range unsure {
			back[r.at] = true
			known = append(known, r.at)
		}
		done = slices.DeleteFunc(done, func(sr settledRel) bool { return back[sr.i] })
	}
	delta.inserts = len(inserts) - len(unsure)

	// collect sets the index entries of settled relationships and returns
	// what they send and write: a changed row read before (over the
	// version read), and a new row inserted Pending.
	collect := func(srs []settledRel) (out []outbound, rows []row) {
		for _, sr := range srs {
			entries[sr.i].quietUntil = quietUntil(now, rels[sr.i], sr.d.next, s.rules)
			out = append(out, sr.out...)
			if (sr.fresh && len(sr.out) > 0) || (!sr.fresh && sr.d.write) {
				rows = append(rows, row{id: rels[sr.i].ID, rec: sr.d.next, etag: sr.etag, at: sr.i})
			}
		}
		return out, rows
	}
	at := known
	for attempt := 0; ; attempt++ {
		read, err := s.decideKnown(ctx, sweepID, now, rels, at)
		if err != nil {
			return pageDelta{}, err
		}
		out, rows := collect(append(done, read...))
		done = nil
		delta.reads += len(at)
		delta.messages += len(out)
		delta.writes += len(rows)
		if err := s.sendAll(ctx, log, out); err != nil {
			return pageDelta{}, err
		}
		stale, err := s.store.writeRows(ctx, rows)
		if err != nil {
			return pageDelta{}, err
		}
		if len(stale) == 0 {
			break
		}
		if attempt == conflictRetries {
			return pageDelta{}, fmt.Errorf("sweep: write %d snapshot rows of pages %d-%d: %w", len(stale), k, k+len(pages)-1, ErrConflict)
		}
		// Changed since read (a webhook refresh), or written with the
		// answer lost: read again, decide again, send what is new.
		at = at[:0:0]
		for _, r := range stale {
			at = append(at, r.at)
		}
	}
	for _, d := range dups {
		entries[d[0]] = entries[d[1]]
	}

	// Each page's summary and index, the pages in parallel.
	errs := make([]error, len(pages))
	parallel(len(pages), len(pages), func(j int) {
		lo := 0
		if j > 0 {
			lo = bounds[j-1]
		}
		errs[j] = s.writePageIndex(ctx, k+j, idx[j], rels[lo:bounds[j]], entries[lo:bounds[j]], now)
	})
	if err := errors.Join(errs...); err != nil {
		return pageDelta{}, err
	}
	return delta, nil
}

// writePageIndex writes page position k's report summary and index when
// either differs from old (the index read before the page was processed).
func (s *Sweeper) writePageIndex(ctx context.Context, k int, old *pageIndex, rels []gdap.Relationship, entries []pageEntry, now time.Time) error {
	raw, report := encodeEntries(entries), summarize(rels, s.rules.protected, now, s.rules.window())
	if rh := reportHash(report); old == nil || !bytes.Equal(raw, old.raw) || rh != old.reportHash {
		// The summary first: a page row names only a summary stored.
		if err := s.store.writeReport(ctx, k, report); err != nil {
			return err
		}
		return s.store.writePage(ctx, k, s.fingerprint, raw, rh)
	}
	return nil
}

// group is a group of pages sorted out by classify.
type group struct {
	delta pageDelta
	// rels are the group's relationships, page after page; bounds[j] is
	// where page j's relationships end. A relationship listed twice (the list shifted
	// during the sweep) is settled once, at its first place; dups pairs
	// each later place with that one.
	rels   []gdap.Relationship
	bounds []int
	dups   [][2]int
	// entries are the index entries of rels; idx are the pages' indexes
	// as read (nil: none under these rules).
	entries []pageEntry
	idx     []*pageIndex
	// known are the places of relationships with a row to read, fresh of
	// those no index around their page knows.
	known, fresh []int
}

// classify counts the pages' relationships and sorts them: unchanged and
// quiet (nothing to do: the entry is kept), known to have a row, or new.
func (s *Sweeper) classify(ctx context.Context, now time.Time, k int, pages []graphapi.RelationshipPage, win *indexWindow) (*group, error) {
	g := &group{delta: pageDelta{byStatus: map[string]int{}},
		bounds: make([]int, len(pages)), idx: make([]*pageIndex, len(pages))}
	first := map[string]int{}
	for j, page := range pages {
		nb, err := win.at(ctx, s.store, s.fingerprint, k+j)
		if err != nil {
			return nil, err
		}
		g.idx[j] = nb.own
		seen := make(map[string]bool, len(page.Relationships))
		for _, rel := range page.Relationships {
			if rel.ID == "" || seen[rel.ID] {
				continue
			}
			seen[rel.ID] = true
			i := len(g.rels)
			g.rels = append(g.rels, rel)
			g.delta.count++
			g.delta.byStatus[rel.Status]++
			if inWindow(now, rel, s.rules) {
				g.delta.expiring++
			}
			en := pageEntry{idHash: hash64(rel.ID), contentHash: contentHash(rel)}
			g.entries = append(g.entries, en)
			if f, ok := first[rel.ID]; ok {
				g.dups = append(g.dups, [2]int{i, f})
				continue
			}
			first[rel.ID] = i
			old, ok := nb.lookup(en.idHash)
			switch {
			case ok && old.contentHash == en.contentHash && int64(old.quietUntil) > now.Unix():
				g.entries[i] = old
			case ok:
				g.known = append(g.known, i)
			default:
				g.fresh = append(g.fresh, i)
			}
		}
		g.bounds[j] = len(g.rels)
	}
	return g, nil
}

// decideKnown reads the rows of the page's relationships at positions at
// and decides each against its row.
func (s *Sweeper) decideKnown(ctx context.Context, sweepID string, now time.Time, rels []gdap.Relationship, at []int) ([]settledRel, error) {
	ids := make([]string, len(at))
	for j, i := range at {
		ids[j] = rels[i].ID
	}
	prev, etags, err := s.store.readRows(ctx, ids)
	if err != nil {
		return nil, err
	}
	var out []settledRel
	for j, i := range at {
		d, msgs, err := s.prepare(sweepID, now, rels[i], prev[j])
		if err != nil {
			return nil, err
		}
		out = append(out, settledRel{i: i, d: d, out: msgs, etag: etags[j]})
	}
	return out, nil
}

// sendAll logs and sends out, in parallel.
func (s *Sweeper) sendAll(ctx context.Context, log *slog.Logger, out []outbound) error {
	noted(ctx, log, out)
	errs := make([]error, len(out))
	parallel(len(out), s.opts.Concurrency, func(i int) {
		if err := s.send.Send(ctx, out[i].entity, out[i].msg); err != nil {
			errs[i] = fmt.Errorf("sweep: send %s %s: %w", out[i].msg.Subject, out[i].msg.MessageID, err)
		}
	})
	return errors.Join(errs...)
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

// pager lists pages in the background, one after another from a link,
// so that Graph's latency overlaps the processing. It lists only the pages
// granted to it (grant), so its consumer decides how far ahead it lists.
type pager struct {
	credits chan struct{}
	items   chan pagerItem
	cancel  context.CancelFunc
	done    chan struct{}
}

// pagerItem is one listed page or the error that ended the listing.
type pagerItem struct {
	page graphapi.RelationshipPage
	err  error
}

// startPager starts listing at link ("" for the first page); at most
// ahead pages will be granted and not yet taken at any time.
func startPager(ctx context.Context, g lister, link string, top, ahead int) *pager {
	cctx, cancel := context.WithCancel(ctx)
	p := &pager{credits: make(chan struct{}, max(ahead, 1)), items: make(chan pagerItem, max(ahead, 1)),
		cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		for {
			select {
			case <-p.credits:
			case <-cctx.Done():
				return
			}
			page, err := g.ListRelationships(cctx, link, top)
			select {
			case p.items <- pagerItem{page, err}:
			case <-cctx.Done():
				return
			}
			if err != nil || page.NextLink == "" {
				return
			}
			link = page.NextLink
		}
	}()
	return p
}

// grant lets the pager list n more pages.
func (p *pager) grant(n int) {
	for range n {
		p.credits <- struct{}{}
	}
}

// next returns the next granted page, or the error that ended the
// listing (the context's, if it ends first). Only granted pages may be
// asked for.
func (p *pager) next(ctx context.Context) pagerItem {
	select {
	case it := <-p.items:
		return it
	case <-ctx.Done():
		return pagerItem{err: ctx.Err()}
	}
}

// stop cancels the listing and waits for it.
func (p *pager) stop() {
	p.cancel()
	<-p.done
}
