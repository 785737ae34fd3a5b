package sweep

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/gdapflow/gdapflow/internal/bus"
	"github.com/gdapflow/gdapflow/internal/config"
	"github.com/gdapflow/gdapflow/internal/engine"
	"github.com/gdapflow/gdapflow/internal/event"
	"github.com/gdapflow/gdapflow/internal/graphapi"
	"github.com/gdapflow/gdapflow/internal/ledger"
	"github.com/gdapflow/gdapflow/internal/vclock"
)

// Defaults of Options.
const (
	// DefaultPageSize is the $top of every list call (Graph's maximum).
	DefaultPageSize = 300
	// DefaultSeenRefresh is how old a snapshot row's LastSeen may get before
	// an otherwise unchanged row is rewritten (plus a per-row jitter of up
	// to the same amount).
	DefaultSeenRefresh = 7 * 24 * time.Hour
	// DefaultConcurrency is how many Table Storage requests and outbound
	// sends one page keeps in flight.
	DefaultConcurrency = 16
	// MaxWaitingOperations bounds the gdap.sweep.run operations one sweep
	// records (they live in the state row).
	MaxWaitingOperations = 200
)

// conflictRetries bounds re-reads after losing an ETag race on the state row.
const conflictRetries = 10

// Sentinel errors, usable with errors.Is.
var (
	// ErrInvalidOptions: New was given unusable Options.
	ErrInvalidOptions = errors.New("sweep: invalid options")
	// ErrInvalidTrigger: Start was given no sweep id for a new sweep.
	ErrInvalidTrigger = errors.New("sweep: invalid trigger")
	// ErrTooManyWaiting: MaxWaitingOperations gdap.sweep.run operations
	// already wait for the running sweep. The caller should retry after it
	// ended (the engine's redelivery does).
	ErrTooManyWaiting = errors.New("sweep: too many operations wait for the running sweep")
)

// errSuperseded: another invocation advanced the sweep; this one stops.
var errSuperseded = errors.New("sweep: superseded by another invocation")

// lister reads relationship pages (*graphapi.Client).
type lister interface {
	ListRelationships(ctx context.Context, nextLink string, top int) (graphapi.RelationshipPage, error)
}

// sender sends outbound messages (internal/bus).
type sender interface {
	Send(ctx context.Context, entity string, m bus.Message) error
}

// operations completes the gdap.sweep.run operations waiting for a sweep
// (*engine.Engine).
type operations interface {
	CompleteOperation(ctx context.Context, inv engine.Invocation, operationID string, res *engine.Result, f *engine.Failure) error
}

var (
	_ lister         = (*graphapi.Client)(nil)
	_ operations     = (*engine.Engine)(nil)
	_ operations     = OperationsFunc(nil)
	_ engine.Sweeper = (*Sweeper)(nil)
)

// OperationsFunc adapts a function to the Operations option, for wiring a
// Sweeper before the Engine that consumes it exists:
//
//	var eng *engine.Engine
//	sw, err := sweep.New(sweep.Options{..., Operations: sweep.OperationsFunc(
//		func(ctx context.Context, inv engine.Invocation, id string, res *engine.Result, f *engine.Failure) error {
//			return eng.CompleteOperation(ctx, inv, id, res, f)
//		})})
//	eng = engine.New(engine.Options{..., Sweeper: sw})
type OperationsFunc func(ctx context.Context, inv engine.Invocation, operationID string, res *engine.Result, f *engine.Failure) error

// CompleteOperation calls f.
func (f OperationsFunc) CompleteOperation(ctx context.Context, inv engine.Invocation, operationID string, res *engine.Result, fl *engine.Failure) error {
	return f(ctx, inv, operationID, res, fl)
}

// Options configure a Sweeper. Table, Graph, Sender and Operations are
// required; the other fields have defaults.
type Options struct {
	// Table holds the sweep state and the snapshot (handler: prefix+"sweep").
	Table *aztables.Client
	// Graph lists relationships (*graphapi.Client).
	Graph lister
	// Sender sends events, commands and continuations.
	Sender sender
	// Operations completes gdap.sweep.run operations (*engine.Engine, or an
	// OperationsFunc).
	Operations operations
	// Config supplies the entity names, the event source, the thresholds,
	// the policy, the protected customers, the invocation budget and page
	// cap, RetryMaxAttempts and InvocationTimeout.
	Config config.Config
	// LeaseDuration is how long a running sweep counts as alive after its
	// last checkpoint; a trigger after that takes it over. Default twice
	// Config.InvocationTimeout (10 minutes when that is zero).
	LeaseDuration time.Duration
	// SeenRefresh bounds how stale a snapshot row's LastSeen may get: an
	// unchanged row is rewritten once it is older than SeenRefresh plus a
	// per-row jitter in [0, SeenRefresh). Default DefaultSeenRefresh;
	// negative: LastSeen changes only with the row's content.
	SeenRefresh time.Duration
	// PageSize is the $top of list calls. Default DefaultPageSize.
	PageSize int
	// Concurrency bounds parallel Table Storage requests and sends per page.
	// Default DefaultConcurrency.
	Concurrency int
	// BudgetClock measures the invocation budget in real elapsed time.
	// Default vclock.Real{}. (Decisions use the invocation's clock.)
	BudgetClock vclock.Clock
}

// Sweeper runs expiry sweeps. It implements engine.Sweeper and is safe for
// concurrent use.
type Sweeper struct {
	graph lister
	send  sender
	ops   operations
	cfg   config.Config
	rules rules
	store *store
	// events builds the announcements (source GDAP_EVENT_SOURCE).
	events *event.Builder
	// fingerprint identifies rules in page-index rows.
	fingerprint string
	lease       time.Duration
	pageSize    int
	conc        int
	budget      vclock.Clock
}

// New validates opts and returns a Sweeper.
func New(opts Options) (*Sweeper, error) {
	switch {
	case opts.Table == nil:
		return nil, fmt.Errorf("%w: Table is required", ErrInvalidOptions)
	case opts.Graph == nil:
		return nil, fmt.Errorf("%w: Graph is required", ErrInvalidOptions)
	case opts.Sender == nil:
		return nil, fmt.Errorf("%w: Sender is required", ErrInvalidOptions)
	case opts.Operations == nil:
		return nil, fmt.Errorf("%w: Operations is required", ErrInvalidOptions)
	case len(opts.Config.ExpiryWarningDays) == 0:
		return nil, fmt.Errorf("%w: Config.ExpiryWarningDays is empty", ErrInvalidOptions)
	case opts.Config.CommandsQueue == "" || opts.Config.ContinuationsQueue == "" || opts.Config.EventsTopic == "":
		return nil, fmt.Errorf("%w: Config entity names are required", ErrInvalidOptions)
	case opts.Config.SweepInvocationBudget <= 0 || opts.Config.SweepMaxPagesPerInvocation <= 0:
		return nil, fmt.Errorf("%w: Config.SweepInvocationBudget and SweepMaxPagesPerInvocation must be positive", ErrInvalidOptions)
	}
	cfg := opts.Config
	thresholds := slices.Clone(cfg.ExpiryWarningDays)
	slices.Sort(thresholds)
	slices.Reverse(thresholds)
	if opts.LeaseDuration <= 0 {
		opts.LeaseDuration = 2 * cfg.InvocationTimeout
		if opts.LeaseDuration <= 0 {
			opts.LeaseDuration = 10 * time.Minute
		}
	}
	if opts.SeenRefresh == 0 {
		opts.SeenRefresh = DefaultSeenRefresh
	}
	if opts.PageSize <= 0 {
		opts.PageSize = DefaultPageSize
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultConcurrency
	}
	if opts.BudgetClock == nil {
		opts.BudgetClock = vclock.Real{}
	}
	if cfg.RetryMaxAttempts <= 0 {
		cfg.RetryMaxAttempts = 8
	}
	if cfg.EventSource == "" {
		cfg.EventSource = "/gdapflow"
	}
	sw := &Sweeper{
		graph: opts.Graph, send: opts.Sender, ops: opts.Operations, cfg: cfg,
		rules: rules{
			thresholds: thresholds, approvalDays: cfg.ApprovalWarningDays, policy: cfg.AutoExtendPolicy,
			protected: cfg.IsProtected, seenRefresh: opts.SeenRefresh,
		},
		store:    &store{client: opts.Table, concurrency: opts.Concurrency},
		lease:    opts.LeaseDuration,
		pageSize: opts.PageSize,
		conc:     opts.Concurrency,
		budget:   opts.BudgetClock,
	}
	sw.fingerprint = sw.rules.fingerprint(cfg)
	sw.events = event.NewBuilder(cfg.EventSource)
	return sw, nil
}

// EnsureTable creates the sweep table if it does not exist.
func (s *Sweeper) EnsureTable(ctx context.Context) error {
	_, err := s.store.client.CreateTable(ctx, nil)
	if err != nil && !ledger.HasCode(err, aztables.TableAlreadyExists) {
		return fmt.Errorf("sweep: create table: %w", err)
	}
	return nil
}

// Stats returns the Table Storage request counts since New.
func (s *Sweeper) Stats() Stats { return s.store.n.stats() }

// TimerSweepID derives the id of the sweep a timer invocation starts from
// its scheduled time, so that a re-run of the same timer tick names the
// same sweep: "timer.20261122T060000Z".
func TimerSweepID(scheduled time.Time) string {
	return "timer." + scheduled.UTC().Format("20060102T150405Z")
}

// summary is the outcome of a sweep: the data of gdap.sweep.completed.
type summary struct {
	SweepID        string
	StartedAt      time.Time
	FinishedAt     time.Time
	Relationships  int
	CountsByStatus map[string]int
	// Expiring counts active relationships inside the warning window (end
	// date at most the largest GDAP_EXPIRY_WARNING_DAYS away).
	Expiring    int
	Pages       int
	Invocations int
}

func summaryOf(st *state) summary {
	return summary{
		SweepID: st.SweepID, StartedAt: st.StartedAt, FinishedAt: st.FinishedAt,
		Relationships: st.Relationships, CountsByStatus: maps.Clone(st.ByStatus), Expiring: st.Expiring,
		Pages: st.Page, Invocations: st.Invocations,
	}
}

// continuation is the sweep's payload in engine.Continuation.Sweep. It
// names the sweep and the page it is for; the state row is the truth.
type continuation struct {
	SweepID string `json:"sweepId"`
	Page    int    `json:"page"`
}

// Start begins a sweep, or joins the one already running (recording
// trigger.OperationID to complete when it ends). A running sweep whose
// lease went stale (its chain crashed) is taken over from its checkpoint.
func (s *Sweeper) Start(ctx context.Context, inv engine.Invocation, trigger engine.SweepTrigger) error {
	log := logger(inv)
	opID := trigger.OperationID
	for range conflictRetries {
		st, err := s.store.loadState(ctx)
		if err != nil {
			return err
		}
		now := inv.Clock.Now().UTC()
		switch {
		case st.running() && now.Before(st.LeaseUntil):
			if opID != "" && !slices.Contains(st.Operations, opID) {
				if len(st.Operations) >= MaxWaitingOperations {
					return fmt.Errorf("%w (sweep %s)", ErrTooManyWaiting, st.SweepID)
				}
				st.Operations = append(st.Operations, opID)
				if err := s.store.saveState(ctx, st); errors.Is(err, ErrConflict) {
					continue
				} else if err != nil {
					return err
				}
			}
			log.InfoContext(ctx, "sweep trigger joined the running sweep", "sweep_id", st.SweepID,
				"operation_id", opID, "page", st.Page)
			// Re-send the checkpoint's continuation: it has a deterministic id,
			// so a live chain's copy is dropped as a duplicate, while a chain
			// whose send was lost (this very trigger's earlier attempt may have
			// failed after its checkpoint) resumes now instead of at lease expiry.
			return s.scheduleNext(ctx, inv, st)
		case st.running():
			if opID != "" && !slices.Contains(st.Operations, opID) {
				st.Operations = append(st.Operations, opID)
			}
			stale := st.LeaseUntil
			st.LeaseUntil = now.Add(s.lease)
			if err := s.store.saveState(ctx, st); errors.Is(err, ErrConflict) {
				continue
			} else if err != nil {
				return err
			}
			log.WarnContext(ctx, "taking over a sweep whose lease expired", "sweep_id", st.SweepID,
				"page", st.Page, "lease_until", stale)
			return s.run(ctx, inv, st)
		case st.Phase == phaseDone && st.SweepID == trigger.SweepID:
			log.InfoContext(ctx, "sweep already finished", "sweep_id", st.SweepID, "operation_id", opID)
			if opID == "" {
				return nil
			}
			return s.complete(ctx, inv, st, opID)
		}
		if trigger.SweepID == "" {
			return fmt.Errorf("%w: no sweep id", ErrInvalidTrigger)
		}
		n := &state{
			SweepID: trigger.SweepID, Phase: phaseListing, StartedAt: now, ByStatus: map[string]int{},
			LeaseUntil: now.Add(s.lease), ETag: st.ETag,
		}
		if opID != "" {
			n.Operations = []string{opID}
		}
		if err := s.store.saveState(ctx, n); errors.Is(err, ErrConflict) {
			continue
		} else if err != nil {
			return err
		}
		log.InfoContext(ctx, "sweep started", "sweep_id", n.SweepID, "operation_id", opID)
		return s.run(ctx, inv, n)
	}
	return fmt.Errorf("start sweep: %w", ErrConflict)
}

// Continue runs the next slice of a sweep. payload is
// engine.Continuation.Sweep. A continuation for another sweep or an older
// page is acknowledged without effect, except that the one for the page just
// before the checkpoint re-sends the checkpoint's continuation (its first
// send may have failed).
func (s *Sweeper) Continue(ctx context.Context, inv engine.Invocation, payload []byte) error {
	log := logger(inv)
	var p continuation
	if err := json.Unmarshal(payload, &p); err != nil || p.SweepID == "" {
		// Only the service writes the continuations queue; retrying cannot help.
		log.ErrorContext(ctx, "unreadable sweep continuation dropped", "payload", string(payload))
		return nil
	}
	st, err := s.store.loadState(ctx)
	if err != nil {
		return err
	}
	switch {
	case st.SweepID != p.SweepID || !st.running():
		log.InfoContext(ctx, "stale sweep continuation acknowledged", "sweep_id", p.SweepID, "page", p.Page,
			"current_sweep", st.SweepID, "phase", st.Phase)
		return nil
	case st.Phase == phaseFinishing || p.Page == st.Page:
		return s.run(ctx, inv, st)
	case p.Page == st.Page-1:
		log.InfoContext(ctx, "re-sending sweep continuation after redelivery", "sweep_id", st.SweepID, "page", st.Page)
		return s.scheduleNext(ctx, inv, st)
	default:
		log.InfoContext(ctx, "stale sweep continuation acknowledged", "sweep_id", p.SweepID, "page", p.Page, "checkpoint", st.Page)
		return nil
	}
}

// run processes pages from the checkpoint in st until the sweep ends or the
// invocation's budget is spent.
func (s *Sweeper) run(ctx context.Context, inv engine.Invocation, st *state) error {
	log := logger(inv).With("sweep_id", st.SweepID)
	if st.Phase == phaseFinishing {
		return s.finish(ctx, inv, log, st)
	}
	began := s.budget.Now()
	budget := s.cfg.SweepInvocationBudget
	if dl, ok := ctx.Deadline(); ok {
		if left := dl.Sub(began); left < budget {
			budget = left
		}
	}
	pf := &prefetcher{}
	defer pf.stop()
	pages := 0
	counted := false
	for {
		page, err := pf.take(ctx, s.graph, st.NextLink, s.pageSize)
		if err != nil {
			return s.listFailed(ctx, inv, log, st, err)
		}
		pages++
		elapsed := s.budget.Now().Sub(began)
		more := page.NextLink != ""
		if more && pages < s.cfg.SweepMaxPagesPerInvocation && elapsed+2*(elapsed/time.Duration(pages)) <= budget {
			pf.start(ctx, s.graph, page.NextLink, s.pageSize)
		}
		delta, err := s.processPage(ctx, inv, log, st.SweepID, st.Page, page)
		if err != nil {
			return err
		}
		now := inv.Clock.Now().UTC()
		first := !counted
		st, err = s.commit(ctx, st, func(n *state) {
			n.Page++
			n.NextLink = page.NextLink
			n.Retries = 0
			n.Relationships += delta.count
			n.Expiring += delta.expiring
			for k, v := range delta.byStatus {
				n.ByStatus[k] += v
			}
			if first {
				n.Invocations++
			}
			n.LeaseUntil = now.Add(s.lease)
			if !more {
				n.Phase = phaseFinishing
				n.FinishedAt = now
			}
		})
		if errors.Is(err, errSuperseded) {
			log.InfoContext(ctx, "sweep page committed by another invocation; stopping", "page", delta.page)
			return nil
		}
		if err != nil {
			return err
		}
		counted = true
		log.DebugContext(ctx, "sweep page done", "page", st.Page, "relationships", delta.count,
			"reads", delta.reads, "writes", delta.writes, "messages", delta.messages)
		if st.Phase == phaseFinishing {
			return s.finish(ctx, inv, log, st)
		}
		elapsed = s.budget.Now().Sub(began)
		if pages >= s.cfg.SweepMaxPagesPerInvocation || elapsed+elapsed/time.Duration(pages) > budget {
			log.InfoContext(ctx, "sweep continues in a new invocation", "page", st.Page, "pages_this_invocation", pages,
				"elapsed", elapsed.String())
			return s.scheduleNext(ctx, inv, st)
		}
	}
}

// commit applies fn to the state and writes it with the ETag. On a lost
// race it re-reads: if the sweep is still at the same page and phase (a
// trigger joined), fn is applied again on the fresh row; otherwise another
// invocation advanced the sweep and errSuperseded is returned.
func (s *Sweeper) commit(ctx context.Context, st *state, fn func(n *state)) (*state, error) {
	cur := st
	for range conflictRetries {
		n := cur.clone()
		fn(n)
		err := s.store.saveState(ctx, n)
		if err == nil {
			return n, nil
		}
		if !errors.Is(err, ErrConflict) {
			return nil, err
		}
		fresh, err := s.store.loadState(ctx)
		if err != nil {
			return nil, err
		}
		if fresh.SweepID != st.SweepID || fresh.Phase != st.Phase || fresh.Page != st.Page {
			return nil, errSuperseded
		}
		cur = fresh
	}
	return nil, fmt.Errorf("commit sweep page: %w", ErrConflict)
}

// clone returns a deep copy.
func (s *state) clone() *state {
	n := *s
	n.ByStatus = make(map[string]int, len(s.ByStatus)) // never nil: commits add to it
	maps.Copy(n.ByStatus, s.ByStatus)
	n.Operations = slices.Clone(s.Operations)
	return &n
}

// scheduleNext sends the continuation for the checkpoint's page.
func (s *Sweeper) scheduleNext(ctx context.Context, inv engine.Invocation, st *state) error {
	at := inv.Clock.Now().UTC()
	parts := []string{"sweep", st.SweepID, "p" + strconv.Itoa(st.Page)}
	if st.Retries > 0 {
		parts = append(parts, "r"+strconv.Itoa(st.Retries))
		if st.RetryAt.After(at) {
			at = st.RetryAt
		}
	}
	body, err := json.Marshal(continuation{SweepID: st.SweepID, Page: st.Page})
	if err != nil {
		return fmt.Errorf("sweep: encode continuation: %w", err)
	}
	msg, err := engine.NewContinuationMessage(engine.Continuation{Kind: engine.KindSweep, Sweep: body},
		boundedID(parts...), st.SweepID, at)
	if err != nil {
		return err
	}
	if err := s.send.Send(ctx, s.cfg.ContinuationsQueue, msg); err != nil {
		return fmt.Errorf("sweep: send continuation for page %d: %w", st.Page, err)
	}
	return nil
}

// finish publishes gdap.sweep.completed (unless the sweep failed), completes
// every waiting operation and marks the sweep done. Each step is idempotent,
// so a crash anywhere is repaired by running finish again. When the final
// write loses the race to an operation that joined, only that operation is
// completed on the retry (the event and the others are already done).
func (s *Sweeper) finish(ctx context.Context, inv engine.Invocation, log *slog.Logger, st *state) error {
	if st.Failed == "" {
		msg, err := completedEvent(s.events, summaryOf(st))
		if err != nil {
			return err
		}
		if err := s.send.Send(ctx, s.cfg.EventsTopic, msg); err != nil {
			return fmt.Errorf("sweep: publish gdap.sweep.completed: %w", err)
		}
	}
	completed := map[string]bool{}
	for range conflictRetries {
		for _, op := range st.Operations {
			if completed[op] {
				continue
			}
			if err := s.complete(ctx, inv, st, op); err != nil {
				return err
			}
			completed[op] = true
		}
		n := st.clone()
		n.Phase = phaseDone
		n.LeaseUntil = time.Time{}
		err := s.store.saveState(ctx, n)
		if err == nil {
			log.InfoContext(ctx, "sweep finished", "relationships", n.Relationships, "pages", n.Page,
				"invocations", n.Invocations, "expiring", n.Expiring, "failed", n.Failed,
				"operations", len(n.Operations))
			return nil
		}
		if !errors.Is(err, ErrConflict) {
			return err
		}
		fresh, err := s.store.loadState(ctx)
		if err != nil {
			return err
		}
		if fresh.SweepID != st.SweepID || fresh.Phase != phaseFinishing {
			return nil // another invocation finished it
		}
		st = fresh // an operation joined meanwhile: complete it too
	}
	return fmt.Errorf("finish sweep: %w", ErrConflict)
}

// complete completes one waiting operation with the sweep's outcome.
func (s *Sweeper) complete(ctx context.Context, inv engine.Invocation, st *state, opID string) error {
	var err error
	if st.Failed != "" {
		err = s.ops.CompleteOperation(ctx, inv, opID, nil, &engine.Failure{
			Code: st.Failed, Message: fmt.Sprintf("expiry sweep %s stopped at page %d: %s", st.SweepID, st.Page, st.FailedReason),
			HTTPStatus: st.FailedStatus,
		})
	} else {
		err = s.ops.CompleteOperation(ctx, inv, opID, &engine.Result{SweepID: st.SweepID}, nil)
	}
	if err != nil {
		return fmt.Errorf("sweep: complete operation %s: %w", opID, err)
	}
	return nil
}

// logger returns the invocation's logger, or a discarding one.
func logger(inv engine.Invocation) *slog.Logger {
	if inv.Logger != nil {
		return inv.Logger
	}
	return slog.New(slog.DiscardHandler)
}
