package sweep

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/gdapflow/gdapflow/internal/bus"
	"github.com/gdapflow/gdapflow/internal/config"
	"github.com/gdapflow/gdapflow/internal/event"
	"github.com/gdapflow/gdapflow/internal/graphapi"
	"github.com/gdapflow/gdapflow/internal/ledger"
	"github.com/gdapflow/gdapflow/internal/op"
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
	// DefaultPagesPerCommit groups 4 pages (1,200 relationships): their
	// rows spread over the 16 snapshot partitions make transactions of
	// about 75 rows instead of 19, and a crash repeats at most 4 pages.
	DefaultPagesPerCommit = 4
)

// conflictRetries bounds re-reads after losing an ETag race on the state row.
const conflictRetries = 10

// Sentinel errors, usable with errors.Is.
var (
	// ErrInvalidOptions: New was given unusable Options.
	ErrInvalidOptions = errors.New("sweep: invalid options")
	// ErrInvalidTrigger: Start was given no sweep id for a new sweep.
	ErrInvalidTrigger = errors.New("sweep: invalid trigger")
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

var _ lister = (*graphapi.Client)(nil)

// Options configure a Sweeper. Table, Graph, Sender, the entity names and
// ExpiryWarningDays are required; the other fields have defaults.
// Policy commands travel on ContinuationsQueue (op.KindCommand).
type Options struct {
	// Table holds the sweep state and the snapshot (handler: prefix+"sweep").
	Table *aztables.Client
	// ReportTable holds the report summaries, one row per page position
	// (handler: prefix+"sweepreport"; a small table, so the report page's
	// query never meets the snapshot rows). Nil: Table.
	ReportTable *aztables.Client
	// Graph lists relationships (*graphapi.Client).
	Graph lister
	// Sender sends events and continuations (policy commands included).
	Sender sender
	// ContinuationsQueue and EventsTopic are entity names.
	ContinuationsQueue, EventsTopic string
	// EventSource is the source of the announcements; policy commands use
	// EventSource+"/sweep". Default config.DefaultEventSource.
	EventSource string
	// ExpiryWarningDays are the expiry thresholds in days (any order).
	ExpiryWarningDays []int
	// ApprovalWarningDays is the age at which a pending approval is
	// announced. Default config.DefaultApprovalWarningDays.
	ApprovalWarningDays int
	// AutoExtendPolicy is the policy applied to expiring relationships.
	// Default config.PolicyOff.
	AutoExtendPolicy config.Policy
	// ProtectedCustomers are the lower-case customer tenant ids the policy
	// leaves alone.
	ProtectedCustomers []string
	// InvocationBudget is how long one invocation may page before it
	// checkpoints and continues in a continuation. Default
	// config.DefaultSweepInvocationBudget.
	InvocationBudget time.Duration
	// MaxPagesPerInvocation caps the pages one invocation processes.
	// Default config.DefaultSweepMaxPagesPerInvocation.
	MaxPagesPerInvocation int
	// RetryMaxAttempts bounds transient retries of one list call. Default
	// config.DefaultRetryMaxAttempts.
	RetryMaxAttempts int
	// LeaseDuration is how long a running sweep counts as alive after its
	// last checkpoint; a trigger after that takes it over. Default twice
	// config.DefaultInvocationTimeout.
	LeaseDuration time.Duration
	// SeenRefresh bounds how stale a snapshot row's LastSeen may get: an
	// unchanged row is rewritten once it is older than SeenRefresh plus a
	// per-row jitter in [0, SeenRefresh). Default DefaultSeenRefresh;
	// negative: LastSeen changes only with the row's content.
	SeenRefresh time.Duration
	// PageSize is the $top of list calls. Default DefaultPageSize.
	PageSize int
	// PagesPerCommit is how many consecutive pages are processed as one
	// group: their Table Storage work in shared transactions, one state
	// commit. Default DefaultPagesPerCommit.
	PagesPerCommit int
	// Concurrency bounds parallel Table Storage requests and sends per page.
	// Default DefaultConcurrency.
	Concurrency int
	// BudgetClock measures the invocation budget in real elapsed time.
	// Default vclock.Real{}. (Decisions use the invocation's clock.)
	BudgetClock vclock.Clock
}

// Sweeper runs expiry sweeps. It is safe for concurrent use.
type Sweeper struct {
	graph lister
	send  sender
	opts  Options
	rules rules
	store *store
	// events builds the announcements (source Options.EventSource).
	events *event.Builder
	// fingerprint identifies rules in page-index rows.
	fingerprint string
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
	case len(opts.ExpiryWarningDays) == 0:
		return nil, fmt.Errorf("%w: ExpiryWarningDays is empty", ErrInvalidOptions)
	case opts.ContinuationsQueue == "" || opts.EventsTopic == "":
		return nil, fmt.Errorf("%w: entity names are required", ErrInvalidOptions)
	}
	opts.EventSource = cmp.Or(opts.EventSource, config.DefaultEventSource)
	opts.ApprovalWarningDays = cmp.Or(opts.ApprovalWarningDays, config.DefaultApprovalWarningDays)
	opts.AutoExtendPolicy = cmp.Or(opts.AutoExtendPolicy, config.PolicyOff)
	opts.InvocationBudget = max(opts.InvocationBudget, 0)
	opts.InvocationBudget = cmp.Or(opts.InvocationBudget, config.DefaultSweepInvocationBudget)
	opts.MaxPagesPerInvocation = cmp.Or(max(opts.MaxPagesPerInvocation, 0), config.DefaultSweepMaxPagesPerInvocation)
	opts.RetryMaxAttempts = cmp.Or(max(opts.RetryMaxAttempts, 0), config.DefaultRetryMaxAttempts)
	opts.LeaseDuration = cmp.Or(max(opts.LeaseDuration, 0), 2*config.DefaultInvocationTimeout)
	opts.SeenRefresh = cmp.Or(opts.SeenRefresh, DefaultSeenRefresh)
	opts.PageSize = cmp.Or(max(opts.PageSize, 0), DefaultPageSize)
	opts.PagesPerCommit = cmp.Or(max(opts.PagesPerCommit, 0), DefaultPagesPerCommit)
	opts.Concurrency = cmp.Or(max(opts.Concurrency, 0), DefaultConcurrency)
	if opts.BudgetClock == nil {
		opts.BudgetClock = vclock.Real{}
	}
	thresholds := slices.Clone(opts.ExpiryWarningDays)
	slices.Sort(thresholds)
	slices.Reverse(thresholds)
	protected := make(map[string]bool, len(opts.ProtectedCustomers))
	for _, id := range opts.ProtectedCustomers {
		protected[strings.ToLower(id)] = true
	}
	sw := &Sweeper{
		graph: opts.Graph, send: opts.Sender, opts: opts,
		rules: rules{
			thresholds: thresholds, approvalDays: opts.ApprovalWarningDays, policy: opts.AutoExtendPolicy,
			protected: func(id string) bool { return protected[strings.ToLower(id)] }, seenRefresh: opts.SeenRefresh,
		},
		store:  &store{client: opts.Table, report: reportClient(opts.Table, opts.ReportTable), concurrency: opts.Concurrency},
		budget: opts.BudgetClock,
	}
	sw.fingerprint = sw.rules.fingerprint(slices.Sorted(maps.Keys(protected)))
	sw.events = event.NewBuilder(opts.EventSource)
	return sw, nil
}

// EnsureTable creates the sweep table if it does not exist.
func (s *Sweeper) EnsureTable(ctx context.Context) error {
	for _, c := range []tableClient{s.store.client, s.store.report} {
		_, err := c.CreateTable(ctx, nil)
		if err != nil && !ledger.HasCode(err, aztables.TableAlreadyExists) {
			return fmt.Errorf("sweep: create table: %w", err)
		}
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

// continuation is the sweep's payload in op.Continuation.Sweep. It
// names the sweep and the page it is for; the state row is the truth.
type continuation struct {
	SweepID string `json:"sweepId"`
	Page    int    `json:"page"`
}

// Start begins the sweep sweepID, or joins the one already running, and
// returns the id of the sweep that runs. A running sweep whose lease went
// stale (its chain crashed) is taken over from its checkpoint. A sweep that
// is over is not started again under the same id.
func (s *Sweeper) Start(ctx context.Context, inv op.Invocation, sweepID string) (string, error) {
	log := inv.Log()
	for range conflictRetries {
		st, err := s.store.loadState(ctx)
		if err != nil {
			return "", err
		}
		now := inv.Clock.Now().UTC()
		switch {
		case st.running() && now.Before(st.LeaseUntil):
			log.InfoContext(ctx, "sweep trigger joined the running sweep", "sweep_id", st.SweepID,
				"trigger", sweepID, "page", st.Page)
			// Re-send the checkpoint's continuation: it has a deterministic id,
			// so a live chain's copy is dropped as a duplicate, while a chain
			// whose send was lost (this very trigger's earlier attempt may have
			// failed after its checkpoint) resumes now instead of at lease expiry.
			return st.SweepID, s.scheduleNext(ctx, inv, st)
		case st.running():
			stale := st.LeaseUntil
			st.LeaseUntil = now.Add(s.opts.LeaseDuration)
			if err := s.store.saveState(ctx, st); errors.Is(err, ErrConflict) {
				continue
			} else if err != nil {
				return "", err
			}
			log.WarnContext(ctx, "taking over a sweep whose lease expired", "sweep_id", st.SweepID,
				"page", st.Page, "lease_until", stale)
			return st.SweepID, s.run(ctx, inv, st)
		case st.Phase == phaseDone && st.SweepID == sweepID:
			log.InfoContext(ctx, "sweep already finished", "sweep_id", st.SweepID)
			return st.SweepID, nil
		}
		if sweepID == "" {
			return "", fmt.Errorf("%w: no sweep id", ErrInvalidTrigger)
		}
		n := &state{
			SweepID: sweepID, Phase: phaseListing, StartedAt: now, ByStatus: map[string]int{},
			LeaseUntil: now.Add(s.opts.LeaseDuration), ETag: st.ETag,
		}
		if err := s.store.saveState(ctx, n); errors.Is(err, ErrConflict) {
			continue
		} else if err != nil {
			return "", err
		}
		log.InfoContext(ctx, "sweep started", "sweep_id", n.SweepID)
		return n.SweepID, s.run(ctx, inv, n)
	}
	return "", fmt.Errorf("start sweep: %w", ErrConflict)
}

// Status reports whether the sweep sweepID has ended, and how. Only one
// sweep's state is kept: a sweep that is no longer the current one has
// ended (a new sweep starts only when none runs), and it is reported as
// done without its failure, which only the current sweep's state holds.
func (s *Sweeper) Status(ctx context.Context, sweepID string) (op.SweepStatus, error) {
	st, err := s.store.loadState(ctx)
	if err != nil {
		return op.SweepStatus{}, err
	}
	switch {
	case st.SweepID != sweepID:
		return op.SweepStatus{Done: true}, nil
	case st.Phase != phaseDone:
		return op.SweepStatus{}, nil
	case st.Failed != "":
		return op.SweepStatus{Done: true, Failure: &op.Failure{
			Code:       op.Code(st.Failed),
			Message:    fmt.Sprintf("expiry sweep %s stopped at page %d: %s", st.SweepID, st.Page, st.FailedReason),
			HTTPStatus: st.FailedStatus,
		}}, nil
	}
	return op.SweepStatus{Done: true}, nil
}

// Continue runs the next slice of a sweep. payload is
// op.Continuation.Sweep. A continuation for another sweep, or for a page
// past the checkpoint, is acknowledged without effect; one for a page before
// the checkpoint re-sends the checkpoint's continuation (the invocation that
// committed the pages in between may have failed before sending it).
func (s *Sweeper) Continue(ctx context.Context, inv op.Invocation, payload []byte) error {
	log := inv.Log()
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
	case p.Page < st.Page:
		// An invocation that started at p.Page committed pages past it and
		// may have failed before sending the checkpoint's continuation (a
		// redelivery, or a deferred copy, of its message is what arrives
		// now): re-send it. Its id is deterministic, so a copy of one
		// already sent is dropped as a duplicate.
		log.InfoContext(ctx, "re-sending sweep continuation after redelivery", "sweep_id", st.SweepID, "page", st.Page, "from_page", p.Page)
		return s.scheduleNext(ctx, inv, st)
	default:
		log.InfoContext(ctx, "stale sweep continuation acknowledged", "sweep_id", p.SweepID, "page", p.Page, "checkpoint", st.Page)
		return nil
	}
}

// run processes pages from the checkpoint in st until the sweep ends or the
// invocation's budget is spent.
func (s *Sweeper) run(ctx context.Context, inv op.Invocation, st *state) error {
	log := inv.Log().With("sweep_id", st.SweepID)
	if st.Phase == phaseFinishing {
		return s.finish(ctx, inv, log, st)
	}
	began := s.budget.Now()
	budget := s.opts.InvocationBudget
	if dl, ok := ctx.Deadline(); ok {
		if left := dl.Sub(began); left < budget {
			budget = left
		}
	}
	group := s.opts.PagesPerCommit
	pg := startPager(ctx, s.graph, st.NextLink, s.opts.PageSize, group)
	defer pg.stop()
	// The pager lists only the pages granted to it: the invocation's first
	// page, then, as each group starts, the next group if the budget has
	// room for both at the pace so far. So the next group's listing
	// overlaps this group's processing, and the invocation stops when
	// nothing more was granted: pages are not listed for nothing.
	pg.grant(1)
	granted := 1
	win := &indexWindow{}
	pages := 0
	counted := false
	for {
		want := granted - pages
		if pages > 0 {
			want = min(want, group)
		}
		if want == 0 {
			log.InfoContext(ctx, "sweep continues in a new invocation", "page", st.Page, "pages_this_invocation", pages,
				"elapsed", s.budget.Now().Sub(began).String())
			return s.scheduleNext(ctx, inv, st)
		}
		var batch []graphapi.RelationshipPage
		var listErr error
		for len(batch) < want {
			it := pg.next(ctx)
			if it.err != nil {
				listErr = it.err
				break
			}
			batch = append(batch, it.page)
			if it.page.NextLink == "" {
				break
			}
		}
		if len(batch) == 0 {
			return s.listFailed(ctx, inv, log, st, listErr)
		}
		last := batch[len(batch)-1]
		more := last.NextLink != ""
		if elapsed, taken := s.budget.Now().Sub(began), pages+len(batch); more && listErr == nil && granted < s.opts.MaxPagesPerInvocation &&
			elapsed+2*time.Duration(group)*(elapsed/time.Duration(taken)) <= budget {
			n := min(group, s.opts.MaxPagesPerInvocation-granted)
			pg.grant(n)
			granted += n
		}
		delta, err := s.processPages(ctx, inv, log, st.SweepID, st.Page, batch, win)
		if err != nil {
			return err
		}
		pages += len(batch)
		now := inv.Clock.Now().UTC()
		first := !counted
		from := st.Page
		st, err = s.commit(ctx, st, func(n *state) {
			n.Page += len(batch)
			n.NextLink = last.NextLink
			n.Retries = 0
			n.Relationships += delta.count
			n.Expiring += delta.expiring
			for k, v := range delta.byStatus {
				n.ByStatus[k] += v
			}
			if first {
				n.Invocations++
			}
			n.LeaseUntil = now.Add(s.opts.LeaseDuration)
			if !more {
				n.Phase = phaseFinishing
				n.FinishedAt = now
			}
		})
		if errors.Is(err, errSuperseded) {
			log.InfoContext(ctx, "sweep pages committed by another invocation; stopping", "page", from)
			return nil
		}
		if err != nil {
			return err
		}
		counted = true
		log.InfoContext(ctx, "sweep pages done", "page", st.Page, "pages", len(batch), "relationships", delta.count,
			"total", st.Relationships, "expiring", delta.expiring, "reads", delta.reads, "inserts", delta.inserts,
			"writes", delta.writes, "messages", delta.messages)
		if st.Phase == phaseFinishing {
			return s.finish(ctx, inv, log, st)
		}
		if listErr != nil {
			return s.listFailed(ctx, inv, log, st, listErr)
		}
	}
}

// commit applies fn to the state and writes it with the ETag. On a lost
// race it re-reads: if the row holds what this write wrote (its response
// was lost and the SDK's retry met the ETag the write itself produced), it
// carries on as if the write had succeeded; if the sweep is still at the
// same page and phase (a trigger joined), fn is applied again on the fresh
// row; otherwise another invocation advanced the sweep and errSuperseded
// is returned.
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
		if n.sameContent(fresh) {
			return fresh, nil
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
	return &n
}

// scheduleNext sends the continuation for the checkpoint's page.
func (s *Sweeper) scheduleNext(ctx context.Context, inv op.Invocation, st *state) error {
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
	msg, err := op.NewContinuationMessage(op.Continuation{Kind: op.KindSweep, Sweep: body},
		op.MessageID(parts...), st.SweepID, at)
	if err != nil {
		return err
	}
	if err := s.send.Send(ctx, s.opts.ContinuationsQueue, msg); err != nil {
		return fmt.Errorf("sweep: send continuation for page %d: %w", st.Page, err)
	}
	return nil
}

// finish publishes gdap.sweep.completed (unless the sweep failed) and marks
// the sweep done. Each step is idempotent (the event id is deterministic), so
// a crash anywhere is repaired by running finish again. The gdap.sweep.run
// operations waiting for the sweep see it done on their next poll.
func (s *Sweeper) finish(ctx context.Context, inv op.Invocation, log *slog.Logger, st *state) error {
	if st.Failed == "" {
		msg, err := completedEvent(s.events, summaryOf(st))
		if err != nil {
			return err
		}
		if err := s.send.Send(ctx, s.opts.EventsTopic, msg); err != nil {
			return fmt.Errorf("sweep: publish gdap.sweep.completed: %w", err)
		}
		if err := s.store.writeLastCompleted(ctx, st); err != nil {
			return err
		}
	}
	for range conflictRetries {
		n := st.clone()
		n.Phase = phaseDone
		n.LeaseUntil = time.Time{}
		err := s.store.saveState(ctx, n)
		if err == nil {
			log.InfoContext(ctx, "sweep finished", "relationships", n.Relationships, "pages", n.Page,
				"invocations", n.Invocations, "expiring", n.Expiring, "failed", n.Failed)
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
		st = fresh
	}
	return fmt.Errorf("finish sweep: %w", ErrConflict)
}
