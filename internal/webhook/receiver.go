package webhook

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gdapflow/gdapflow/internal/bus"
	"github.com/gdapflow/gdapflow/internal/op"
)

// Defaults of ReceiverOptions.
const (
	// DefaultMaxBodyBytes bounds a delivery body (a real one is a few
	// hundred bytes).
	DefaultMaxBodyBytes = 64 << 10
	// DefaultFreshness is how old ResourceChangeUtcDate may be. Partner
	// Center retries a failed delivery (10 attempts); a day covers them.
	DefaultFreshness = 24 * time.Hour
	// DefaultFutureSkew is how far ResourceChangeUtcDate may be ahead of
	// the receiver's clock.
	DefaultFutureSkew = 5 * time.Minute
)

// Request is an HTTP request as the Functions host hands it over.
type Request struct {
	Method  string
	Headers map[string][]string
	Body    []byte
}

// Response is the HTTP answer to Partner Center.
type Response struct {
	Status int
	Body   string
}

// sender sends continuations (internal/bus).
type sender interface {
	Send(ctx context.Context, entity string, m bus.Message) error
}

// replays remembers processed deliveries (*ReplayStore).
type replays interface {
	Seen(ctx context.Context, key string) (bool, error)
	Mark(ctx context.Context, key, eventName string, at time.Time) error
}

var _ replays = (*ReplayStore)(nil)

// ReceiverOptions configure a Receiver. Verifier, Replays, Sender and
// ContinuationsQueue are required.
type ReceiverOptions struct {
	Verifier           *Verifier
	Replays            replays
	Sender             sender
	ContinuationsQueue string
	// MaxBodyBytes bounds a body. Default DefaultMaxBodyBytes.
	MaxBodyBytes int
	// Freshness and FutureSkew bound ResourceChangeUtcDate around now.
	// Defaults DefaultFreshness and DefaultFutureSkew.
	Freshness, FutureSkew time.Duration
}

// Receiver handles deliveries. It is safe for concurrent use.
type Receiver struct {
	opts ReceiverOptions
}

// NewReceiver returns a Receiver.
func NewReceiver(opts ReceiverOptions) *Receiver {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.Freshness <= 0 {
		opts.Freshness = DefaultFreshness
	}
	if opts.FutureSkew <= 0 {
		opts.FutureSkew = DefaultFutureSkew
	}
	return &Receiver{opts: opts}
}

// Handle authenticates and acts on one delivery. Answers: 401 for any
// authentication failure and 400 for an oversized or malformed body (both
// logged with their reason; nothing is enqueued); 200 for a delivery
// processed now or before (a replay is acknowledged and ignored) and for
// events it does not act on; 500 when the refresh could not be enqueued or
// the delivery not recorded, so that Partner Center retries.
func (r *Receiver) Handle(ctx context.Context, inv op.Invocation, req Request) Response {
	log := inv.Log()
	now := inv.Clock.Now().UTC()
	fail := func(err error) Response {
		rej, ok := AsRejection(err)
		if !ok {
			log.ErrorContext(ctx, "webhook delivery could not be processed; Partner Center will retry", "error", err.Error())
			return Response{Status: http.StatusInternalServerError, Body: "not processed"}
		}
		status := http.StatusUnauthorized
		if rej.Reason.BadRequest() {
			status = http.StatusBadRequest
		}
		log.WarnContext(ctx, "webhook delivery rejected", "reason", string(rej.Reason), "detail", rej.Detail, "status", status)
		return Response{Status: status, Body: string(rej.Reason)}
	}
	if len(req.Body) > r.opts.MaxBodyBytes {
		return fail(reject(ReasonTooLarge, "the body has "+strconv.Itoa(len(req.Body))+" bytes, more than "+strconv.Itoa(r.opts.MaxBodyBytes)))
	}
	h, err := ParseHeaders(req.Headers)
	if err != nil {
		return fail(err)
	}
	if err := r.opts.Verifier.Verify(ctx, h, req.Body, now); err != nil {
		return fail(err)
	}
	ev, err := DecodeEvent(req.Body)
	if err != nil {
		return fail(err)
	}
	at := ev.ResourceChangeUtcDate
	if now.Sub(at) > r.opts.Freshness || at.Sub(now) > r.opts.FutureSkew {
		return fail(reject(ReasonStale, "ResourceChangeUtcDate "+at.Format(time.RFC3339Nano)+" is outside the freshness window"))
	}
	log = log.With("event_name", quote(ev.EventName), "resource_change", at.Format(time.RFC3339Nano))
	key := DeliveryKey(req.Body)
	seen, err := r.opts.Replays.Seen(ctx, key)
	if err != nil {
		return fail(err)
	}
	if seen {
		log.InfoContext(ctx, "webhook delivery already processed; acknowledged and ignored", "delivery", key)
		return Response{Status: http.StatusOK, Body: "already processed"}
	}
	if err := r.act(ctx, inv, log, ev); err != nil {
		return fail(err)
	}
	if err := r.opts.Replays.Mark(ctx, key, ev.EventName, now); err != nil {
		return fail(err)
	}
	return Response{Status: http.StatusOK, Body: "accepted"}
}

// act enqueues the refresh of the relationship a GDAP event names; other
// events are logged.
func (r *Receiver) act(ctx context.Context, inv op.Invocation, log *slog.Logger, ev Event) error {
	if !IsGDAPEvent(ev.EventName) {
		log.InfoContext(ctx, "webhook event not acted on", "resource_uri", quote(ev.ResourceURI))
		return nil
	}
	relID, ok := ev.RelationshipID()
	if !ok {
		log.WarnContext(ctx, "webhook event names no relationship; ignored", "resource_uri", quote(ev.ResourceURI))
		return nil
	}
	m, err := RefreshMessage(relID, ev.ResourceChangeUtcDate, inv.Clock.Now())
	if err != nil {
		return err
	}
	if err := r.opts.Sender.Send(ctx, r.opts.ContinuationsQueue, m); err != nil {
		return err
	}
	log.InfoContext(ctx, "relationship refresh enqueued", "relationship_id", relID, "message_id", m.MessageID)
	return nil
}

// RefreshMessage is the continuation that refreshes relID, with an id
// derived from the relationship and the event time, so that every delivery
// (and retry) of one change enqueues at most one refresh.
func RefreshMessage(relID string, changed, now time.Time) (bus.Message, error) {
	id := op.MessageID(op.ReservedPrefix+"refresh", relID, strconv.FormatInt(changed.UTC().UnixNano(), 10))
	return op.NewContinuationMessage(op.Continuation{Kind: op.KindRefresh, RelationshipID: relID}, id, relID, now)
}
