package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/gdapflow/gdapflow/internal/command"
)

// Outcome event types.
const (
	typeSucceeded = "gdap.operation.succeeded"
	typeFailed    = "gdap.operation.failed"
	typeRejected  = "gdap.command.rejected"
)

// sendFlags are send's own flags.
type sendFlags struct {
	data, event, id, source, subject string
	relationshipID, customerTenantID string
	wait, dryRun                     bool
	timeout                          time.Duration
}

func newSendCmd(a *app) *cobra.Command {
	var f sendFlags
	cmd := &cobra.Command{
		Use:   "send <type>",
		Short: "Send a command (a CloudEvent) and optionally wait for its outcome",
		Long: `Send builds a command CloudEvent, validates it against the embedded schemas
(a failure names the JSON field, e.g. data.changes.autoExtendDuration, and
nothing is sent), and sends it to the commands queue with MessageId = the
CloudEvent id. With --wait it reads the events topic until the operation's
outcome arrives and prints it.

Types: ` + strings.Join(command.Types(), ", ") + `

The data comes from --data (JSON, or @file.json) and the shortcuts
--relationship-id and --customer-tenant-id; --event @file.json sends a whole
CloudEvent instead (its missing id, source and time are filled in).`,
		Example: `  gdapctl send gdap.relationship.removeGlobalAdmin --relationship-id <id> --data '{"enableAutoExtend":true}' --wait
  gdapctl send gdap.relationship.update --data @changes.json --id op-2026-0042 --wait --timeout 10m
  gdapctl send gdap.customer.removeDap --customer-tenant-id <tenant> --dry-run
  gdapctl send gdap.relationship.create --data @onboard.json --wait
  gdapctl send gdap.relationship.accessAssignments.set --relationship-id <id> --data '{"assignments":[{"securityGroupId":"<group>","roles":[{"roleDefinitionId":"<role>"}]}],"prune":true}' --wait
  gdapctl send gdap.customer.offboard --customer-tenant-id <tenant> --data '{"removeDap":true}' --wait
  gdapctl send gdap.relationship.replace --relationship-id <id> --data '{"accessDetails":{"unifiedRoles":[{"roleDefinitionId":"<role>"}]}}' --wait`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 || (len(args) == 0 && f.event == "") {
				return usageErrorf("send needs exactly one command type (or --event @file.json)")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			typ := ""
			if len(args) == 1 {
				typ = args[0]
			}
			return a.send(cmd.Context(), typ, &f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.data, "data", "", "command data: a JSON object, or @file.json")
	fl.StringVar(&f.event, "event", "", "a whole command CloudEvent: JSON, or @file.json")
	fl.StringVar(&f.id, "id", "", "CloudEvent id = operation id = MessageId (default: a new UUID)")
	fl.StringVar(&f.source, "source", "/gdapctl", "CloudEvent source")
	fl.StringVar(&f.subject, "subject", "", "CloudEvent subject (optional)")
	fl.StringVar(&f.relationshipID, "relationship-id", "", "sets data.relationshipId")
	fl.StringVar(&f.customerTenantID, "customer-tenant-id", "", "sets data.customerTenantId")
	fl.BoolVar(&f.wait, "wait", false, "wait for the outcome event; exit 0 succeeded, 3 failed or rejected, 4 timeout")
	fl.DurationVar(&f.timeout, "timeout", 5*time.Minute, "how long --wait waits")
	fl.BoolVar(&f.dryRun, "dry-run", false, "validate and print the CloudEvent, do not send it")
	return cmd
}

// readJSONArg reads a flag value that is JSON or @file.
func readJSONArg(flag, v string) (map[string]any, error) {
	raw := []byte(v)
	if name, ok := strings.CutPrefix(v, "@"); ok {
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, usageErrorf("--%s: %w", flag, err)
		}
		raw = b
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, usageErrorf("--%s is not a JSON object: %w", flag, err)
	}
	return m, nil
}

// buildEvent assembles the command CloudEvent from the flags.
func buildEvent(typ string, f *sendFlags, now time.Time) (map[string]any, error) {
	ev := map[string]any{}
	if f.event != "" {
		m, err := readJSONArg("event", f.event)
		if err != nil {
			return nil, err
		}
		ev = m
	}
	if typ != "" {
		if t, ok := ev["type"].(string); ok && t != typ {
			return nil, usageErrorf("the type argument %q differs from the event's type %q", typ, t)
		}
		ev["type"] = typ
	}
	data, _ := ev["data"].(map[string]any)
	if f.data != "" {
		m, err := readJSONArg("data", f.data)
		if err != nil {
			return nil, err
		}
		data = m
	}
	if data == nil {
		data = map[string]any{}
	}
	if f.relationshipID != "" {
		data["relationshipId"] = f.relationshipID
	}
	if f.customerTenantID != "" {
		data["customerTenantId"] = f.customerTenantID
	}
	ev["data"] = data
	setDefault := func(k, v string) {
		if _, ok := ev[k]; !ok && v != "" {
			ev[k] = v
		}
	}
	if f.id != "" {
		ev["id"] = f.id
	}
	setDefault("id", uuid.NewString())
	setDefault("specversion", "1.0")
	setDefault("source", f.source)
	setDefault("subject", f.subject)
	setDefault("time", now.UTC().Format(time.RFC3339Nano))
	setDefault("datacontenttype", "application/json")
	return ev, nil
}

// validate checks body exactly as the service will (envelope, then data).
func validate(body []byte) error {
	env, err := command.ParseEnvelope(body)
	if err == nil {
		_, err = env.Decode()
	}
	var ce *command.Error
	if errors.As(err, &ce) {
		// The message leads with the field's JSON path when there is one.
		return usageErrorf("invalid command, not sent: %s (%s)", ce.Message, ce.Code)
	}
	return err
}

// send is `gdapctl send`.
func (a *app) send(ctx context.Context, typ string, f *sendFlags) error {
	ev, err := buildEvent(typ, f, time.Now())
	if err != nil {
		return err
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	if err := validate(body); err != nil {
		return err
	}
	id, _ := ev["id"].(string)
	if f.dryRun {
		return a.printJSON(ev)
	}
	snd, err := a.b.sender(ctx)
	if err != nil {
		return err
	}
	var events eventStream
	if f.wait {
		// Open the events first: an outcome can arrive before Send returns.
		if events, err = a.b.openEvents(ctx); err != nil {
			return err
		}
		defer func() {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			_ = events.Close(cctx)
			cancel()
		}()
	}
	dup, err := snd.Send(ctx, id, body)
	if err != nil {
		return explain(err, a.b.queueResource())
	}
	if a.s.Output == "table" {
		fmt.Fprintf(a.stdout, "sent %s %s to %s\n", ev["type"], id, a.s.CommandsQueue)
		if dup {
			fmt.Fprintf(a.stdout, "note: duplicate detection dropped it: a message with MessageId %s was sent before\n", id)
		}
	}
	if !f.wait {
		if a.s.Output == "json" {
			return a.printJSON(map[string]any{"operationId": id, "messageId": id, "type": ev["type"], "duplicate": dup})
		}
		return nil
	}
	if dup {
		events.Rewind() // the outcome may be out already
	}
	wctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	if a.s.Output == "table" {
		fmt.Fprintf(a.stdout, "waiting for the outcome (up to %s) …\n", f.timeout)
	}
	out, err := waitOutcome(wctx, events, id)
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		return &codedError{code: exitTimeout, err: fmt.Errorf("no outcome for %s within %s; `gdapctl status %s` shows where it is", id, f.timeout, id)}
	}
	if err != nil {
		return err
	}
	if err := a.printOutcome(out); err != nil {
		return err
	}
	if out.Type != typeSucceeded {
		return &codedError{code: exitFailed, err: fmt.Errorf("operation %s: %s", id, outcomeWord(out.Type))}
	}
	return nil
}

// outcomeData is the part of an outcome event's data gdapctl reads.
type outcomeData struct {
	OperationID      string          `json:"operationId"`
	MessageID        string          `json:"messageId"`
	CommandType      string          `json:"commandType"`
	RelationshipID   string          `json:"relationshipId"`
	CustomerTenantID string          `json:"customerTenantId"`
	Attempts         int             `json:"attempts"`
	AcceptedAt       time.Time       `json:"acceptedAt"`
	FinishedAt       time.Time       `json:"finishedAt"`
	Result           json.RawMessage `json:"result"`
	Error            *struct {
		Code              string `json:"code"`
		Message           string `json:"message"`
		Field             string `json:"field"`
		HTTPStatus        int    `json:"httpStatus"`
		UpstreamCode      string `json:"upstreamCode"`
		UpstreamRequestID string `json:"upstreamRequestId"`
	} `json:"error"`
}

// waitOutcome reads events until the outcome of id arrives.
func waitOutcome(ctx context.Context, events eventStream, id string) (event, error) {
	for {
		evs, err := events.Next(ctx)
		if err != nil {
			return event{}, err
		}
		for _, e := range evs {
			if e.Type != typeSucceeded && e.Type != typeFailed && e.Type != typeRejected {
				continue
			}
			var d outcomeData
			if json.Unmarshal(e.Data, &d) != nil {
				continue
			}
			if d.OperationID == id || (e.Type == typeRejected && d.MessageID == id) {
				return e, nil
			}
		}
	}
}

func outcomeWord(typ string) string {
	switch typ {
	case typeSucceeded:
		return "succeeded"
	case typeFailed:
		return "failed"
	case typeRejected:
		return "rejected (not a valid command envelope; no operation was recorded)"
	}
	return typ
}

// printOutcome prints an outcome event.
func (a *app) printOutcome(e event) error {
	if a.s.Output == "json" {
		return a.printJSON(e)
	}
	var d outcomeData
	_ = json.Unmarshal(e.Data, &d)
	t := newKV()
	t.add("outcome", outcomeWord(e.Type)+"  ("+e.Type+")")
	t.add("operation", cmpOr(d.OperationID, d.MessageID))
	t.add("command", d.CommandType)
	t.add("relationship", d.RelationshipID)
	t.add("customer", d.CustomerTenantID)
	if d.Attempts > 0 {
		t.add("attempts", fmt.Sprint(d.Attempts))
	}
	t.add("accepted", fmtTime(d.AcceptedAt))
	t.add("finished", fmtTime(d.FinishedAt))
	if len(d.Result) > 0 && string(d.Result) != "null" {
		t.add("result", string(d.Result))
	}
	if d.Error != nil {
		t.add("error", errorWords(d.Error.Code, d.Error.Message, d.Error.Field, d.Error.HTTPStatus, d.Error.UpstreamCode, d.Error.UpstreamRequestID))
	}
	return t.write(a.stdout)
}
