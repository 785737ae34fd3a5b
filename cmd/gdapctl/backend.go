package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
)

// cloudEventContentType is the Service Bus ContentType of commands and events.
const cloudEventContentType = "application/cloudevents+json; charset=utf-8"

// feedPollInterval is how often the local event feed is read while waiting.
const feedPollInterval = 100 * time.Millisecond

// event is a published CloudEvent.
type event struct {
	ID      string          `json:"id"`
	Type    string          `json:"type"`
	Source  string          `json:"source"`
	Subject string          `json:"subject,omitempty"`
	Time    time.Time       `json:"time"`
	Data    json.RawMessage `json:"data"`
}

// sender sends one command message.
type sender interface {
	// Send sends body with MessageId messageID; duplicate reports that
	// duplicate detection dropped it (known locally only).
	Send(ctx context.Context, messageID string, body []byte) (duplicate bool, err error)
}

// eventStream reads the events topic from the moment it was opened.
type eventStream interface {
	// Next blocks until events arrive or ctx ends.
	Next(ctx context.Context) ([]event, error)
	// Rewind makes Next start again from the oldest event still available
	// (locally: all of them); used when a send was a duplicate.
	Rewind()
	Close(ctx context.Context) error
}

// backend builds clients for the make dev stack or for Azure from settings.
type backend struct {
	s  *settings
	hc *http.Client

	credOnce sync.Once
	cred     azcore.TokenCredential
	credErr  error
}

func newBackend(s *settings) *backend {
	return &backend{s: s, hc: &http.Client{Timeout: 30 * time.Second}}
}

func (b *backend) local() bool { return b.s.BrokerURL != "" }

// credential is azidentity's default chain (az login, managed identity,
// environment, workload identity), built once.
func (b *backend) credential() (azcore.TokenCredential, error) {
	b.credOnce.Do(func() { b.cred, b.credErr = azidentity.NewDefaultAzureCredential(nil) })
	return b.cred, b.credErr
}

// queueResource describes the commands queue.
func (b *backend) queueResource() resource {
	if b.local() {
		return resource{what: "the local broker", where: b.s.BrokerURL, local: true}
	}
	return resource{what: "queue " + b.s.CommandsQueue, where: b.s.ServiceBusNamespace,
		role: "Azure Service Bus Data Sender on queue " + b.s.CommandsQueue}
}

// eventsResource describes the events subscription.
func (b *backend) eventsResource() resource {
	if b.local() {
		return resource{what: "the dev event feed", where: b.s.DevFeedURL, local: true}
	}
	return resource{what: "subscription " + b.s.EventsTopic + "/" + b.s.Subscription, where: b.s.ServiceBusNamespace,
		role: "Azure Service Bus Data Receiver on subscription " + b.s.EventsTopic + "/" + b.s.Subscription}
}

// sender returns the commands queue's sender.
func (b *backend) sender(ctx context.Context) (sender, error) {
	if b.local() {
		return &localSender{hc: b.hc, url: strings.TrimRight(b.s.BrokerURL, "/") + "/" + url.PathEscape(b.s.CommandsQueue) + "/messages"}, nil
	}
	if b.s.ServiceBusNamespace == "" {
		return nil, usageErrorf("no Service Bus: set --servicebus-namespace (%s), or --broker-url for make dev; "+
			"make dev writes %s, which gdapctl reads from the repository", envServiceBusNamespace, devConfigRelPath)
	}
	c, err := b.serviceBus()
	if err != nil {
		return nil, err
	}
	s, err := c.NewSender(b.s.CommandsQueue, nil)
	if err != nil {
		return nil, explain(err, b.queueResource())
	}
	return &sbSender{s: s}, nil
}

func (b *backend) serviceBus() (*azservicebus.Client, error) {
	cred, err := b.credential()
	if err != nil {
		return nil, explain(err, b.queueResource())
	}
	c, err := azservicebus.NewClient(b.s.ServiceBusNamespace, cred, nil)
	if err != nil {
		return nil, fmt.Errorf("service bus %s: %w", b.s.ServiceBusNamespace, err)
	}
	return c, nil
}

// openEvents starts reading the events topic.
func (b *backend) openEvents(ctx context.Context) (eventStream, error) {
	if b.local() {
		if b.s.DevFeedURL == "" {
			return nil, usageErrorf("--wait needs the dev event feed: set --dev-feed-url (%s); make dev writes it to %s", envDevFeedURL, devConfigRelPath)
		}
		f := &localFeed{hc: b.hc, base: strings.TrimRight(b.s.DevFeedURL, "/"), topic: b.s.EventsTopic, res: b.eventsResource()}
		page, err := f.read(ctx)
		if err != nil {
			return nil, err
		}
		f.next = page.Next
		return f, nil
	}
	if b.s.Subscription == "" {
		return nil, usageErrorf("--wait needs an events subscription: set --subscription (%s)", envSubscription)
	}
	c, err := b.serviceBus()
	if err != nil {
		return nil, err
	}
	r, err := c.NewReceiverForSubscription(b.s.EventsTopic, b.s.Subscription, nil)
	if err != nil {
		return nil, explain(err, b.eventsResource())
	}
	return &sbEvents{r: r, res: b.eventsResource()}, nil
}

// now is the service's current time: the dev stack's virtual clock, or
// the real clock for Azure.
func (b *backend) now(ctx context.Context) (time.Time, error) {
	if !b.local() || b.s.DevFeedURL == "" {
		return time.Now().UTC(), nil
	}
	var v struct {
		Now time.Time `json:"now"`
	}
	if err := getJSON(ctx, b.hc, strings.TrimRight(b.s.DevFeedURL, "/")+"/clock", &v); err != nil {
		return time.Time{}, explain(err, resource{what: "the dev stack's clock", where: b.s.DevFeedURL, local: true})
	}
	return v.Now, nil
}

// table returns a client for the service table <prefix><name> and the
// resource it stands for.
func (b *backend) table(name string) (*aztables.Client, resource, error) {
	full := b.s.TablePrefix + name
	res := resource{what: "table " + full, role: "Storage Table Data Reader on the storage account"}
	switch {
	case b.s.TablesConnectionString != "":
		res.where, res.local = "the Table Storage of the connection string", b.local()
		if ep := endpointOf(b.s.TablesConnectionString); ep != "" {
			res.where = ep
		}
		svc, err := aztables.NewServiceClientFromConnectionString(b.s.TablesConnectionString, nil)
		if err != nil {
			return nil, res, fmt.Errorf("tables connection string: %w", err)
		}
		return svc.NewClient(full), res, nil
	case b.s.TablesEndpoint != "":
		res.where = b.s.TablesEndpoint
		cred, err := b.credential()
		if err != nil {
			return nil, res, explain(err, res)
		}
		svc, err := aztables.NewServiceClient(b.s.TablesEndpoint, cred, nil)
		if err != nil {
			return nil, res, fmt.Errorf("tables endpoint %s: %w", b.s.TablesEndpoint, err)
		}
		return svc.NewClient(full), res, nil
	}
	return nil, res, usageErrorf("no Table Storage: set --tables-endpoint (%s), or run make dev, whose settings file %s gdapctl reads from the repository",
		envTablesEndpoint, devConfigRelPath)
}

// endpointOf extracts TableEndpoint from a connection string ("" if absent).
func endpointOf(cs string) string {
	for _, part := range strings.Split(cs, ";") {
		if k, v, ok := strings.Cut(part, "="); ok && strings.EqualFold(k, "TableEndpoint") {
			return v
		}
	}
	return ""
}

// localSender posts to the local broker (POST /{queue}/messages).
type localSender struct {
	hc  *http.Client
	url string
}

func (l *localSender) Send(ctx context.Context, messageID string, body []byte) (bool, error) {
	payload, err := json.Marshal(map[string]any{
		"messageId": messageID, "body": body, "contentType": cloudEventContentType,
	})
	if err != nil {
		return false, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.url, bytes.NewReader(payload))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := l.hc.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	switch resp.StatusCode {
	case http.StatusCreated:
		return false, nil
	case http.StatusOK:
		return true, nil
	}
	return false, fmt.Errorf("the local broker refused the message: HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(msg)))
}

// sbSender sends to a Service Bus queue.
type sbSender struct{ s *azservicebus.Sender }

func (s *sbSender) Send(ctx context.Context, messageID string, body []byte) (bool, error) {
	ct := cloudEventContentType
	err := s.s.SendMessage(ctx, &azservicebus.Message{MessageID: &messageID, ContentType: &ct, Body: body}, nil)
	return false, err
}

// localFeed reads the dev stack's event feed.
type localFeed struct {
	hc    *http.Client
	base  string
	topic string
	next  int
	res   resource
}

// feedPage is devstack's FeedPage.
type feedPage struct {
	Messages []struct {
		Body []byte `json:"body"`
	} `json:"messages"`
	Next int `json:"next"`
}

func (f *localFeed) read(ctx context.Context) (feedPage, error) {
	var p feedPage
	u := fmt.Sprintf("%s/topics/%s/messages?from=%d", f.base, url.PathEscape(f.topic), f.next)
	if err := getJSON(ctx, f.hc, u, &p); err != nil {
		return p, explain(err, f.res)
	}
	return p, nil
}

func (f *localFeed) Next(ctx context.Context) ([]event, error) {
	t := time.NewTicker(feedPollInterval)
	defer t.Stop()
	for {
		p, err := f.read(ctx)
		if err != nil {
			return nil, err
		}
		f.next = p.Next
		if len(p.Messages) > 0 {
			out := make([]event, 0, len(p.Messages))
			for _, m := range p.Messages {
				var e event
				if json.Unmarshal(m.Body, &e) == nil {
					out = append(out, e)
				}
			}
			return out, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

func (f *localFeed) Rewind()                     { f.next = 0 }
func (f *localFeed) Close(context.Context) error { return nil }

// sbEvents receives from a Service Bus subscription and completes what it
// reads.
type sbEvents struct {
	r   *azservicebus.Receiver
	res resource
}

func (s *sbEvents) Next(ctx context.Context) ([]event, error) {
	msgs, err := s.r.ReceiveMessages(ctx, 20, nil)
	if err != nil {
		return nil, explain(err, s.res)
	}
	out := make([]event, 0, len(msgs))
	for _, m := range msgs {
		var e event
		if json.Unmarshal(m.Body, &e) == nil {
			out = append(out, e)
		}
		if err := s.r.CompleteMessage(ctx, m, nil); err != nil {
			return nil, explain(err, s.res)
		}
	}
	return out, nil
}

func (s *sbEvents) Rewind()                         {}
func (s *sbEvents) Close(ctx context.Context) error { return s.r.Close(ctx) }

// getJSON GETs u and decodes the JSON answer into v.
func getJSON(ctx context.Context, hc *http.Client, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return fmt.Errorf("GET %s: HTTP %d: %s", u, resp.StatusCode, strings.TrimSpace(string(b)))
	}
	return json.NewDecoder(resp.Body).Decode(v)
}
