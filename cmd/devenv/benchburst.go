package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/gdapflow/gdapflow/internal/command"
	"github.com/gdapflow/gdapflow/internal/dev/devstack"
	"github.com/gdapflow/gdapflow/internal/dev/graphsim"
	"github.com/gdapflow/gdapflow/internal/dev/localenv"
	"github.com/gdapflow/gdapflow/internal/gdap"
)

// burstKind is one throttled-burst scenario: the command sent for each
// relationship and the fewest Graph calls it needs.
type burstKind struct {
	name string
	// roles of the seeded relationships.
	roles []string
	// data is the command data for relationship id.
	data func(id string) map[string]any
	// minCalls is the fewest Graph calls one command needs.
	minCalls int
}

var burstKinds = map[string]burstKind{ //nolint:gochecknoglobals // immutable table
	"autoExtend": {name: "update autoExtendDuration P180D", roles: []string{roleHelpdesk},
		data: func(id string) map[string]any {
			return map[string]any{"relationshipId": id, "changes": map[string]any{"autoExtendDuration": gdap.AutoExtendOn}}
		}, minCalls: 2}, // GET, PATCH 200
	"removeGA": {name: "update: remove Global Administrator (202)", roles: []string{roleHelpdesk, gdap.GlobalAdminRoleID},
		data: func(id string) map[string]any {
			return map[string]any{"relationshipId": id, "changes": map[string]any{
				"accessDetails": map[string]any{"unifiedRoles": roleRefs(roleHelpdesk)}}}
		}, minCalls: 4}, // GET, PATCH 202, one poll, GET
}

// burstResult is one throttled burst: N commands at once against a Graph
// that allows Rate requests per second (graphsim.RateLimit), in virtual
// time.
type burstResult struct {
	Kind     string
	Commands int
	Rate     float64
	// Virtual is the virtual time from the sends to the last outcome.
	Virtual time.Duration
	// Floor is the fewest Graph calls over the rate.
	Floor      time.Duration
	GraphCalls int
	Throttled  int
	// Outcomes counts outcome codes ("succeeded" or the failure code).
	Outcomes      map[string]int
	Invocations   int
	Continuations int
	Real          time.Duration
}

func (b burstResult) ratio() float64 { return b.Virtual.Seconds() / b.Floor.Seconds() }

func (b burstResult) share() float64 {
	if b.GraphCalls == 0 {
		return 0
	}
	return float64(b.Throttled) / float64(b.GraphCalls)
}

// benchBurst sends n commands of kind at once against a Graph limited to
// rate requests per second and drains them (virtual time: the run takes
// seconds of real time per thousand commands).
func benchBurst(ctx context.Context, root, handler string, az *localenv.Azurite, kindName string, n int, rate float64) (burstResult, error) {
	return runBurst(ctx, root, handler, az, kindName, n, rate, nil)
}

// runBurst is benchBurst; when journal is not nil, it also writes Graph's
// journal to it, one call a line: virtual seconds since the sends, method,
// route, status, path (devenv burst -journal).
func runBurst(ctx context.Context, root, handler string, az *localenv.Azurite, kindName string, n int, rate float64, journal io.Writer) (burstResult, error) {
	kind := burstKinds[kindName]
	res := burstResult{Kind: kind.name, Commands: n, Rate: rate, Outcomes: map[string]int{}}
	began := time.Now()
	st, err := devstack.Start(ctx, devstack.Options{
		RepoRoot: root, HandlerPath: handler, Azurite: az,
		Env: map[string]string{"GDAP_LOG_LEVEL": "warn"},
		Graph: graphsim.Options{JournalLimit: 1 << 30,
			RateLimit: &graphsim.RateLimit{Rate: rate, Burst: max(1, int(rate))}},
	})
	if err != nil {
		return res, err
	}
	defer func() { _ = st.Close() }()
	ids := make([]string, n)
	for i := range n {
		if ids[i], err = st.Graph.AddRelationship(gdap.Relationship{
			DisplayName: fmt.Sprintf("burst-%06d", i), Status: gdap.StatusActive, Duration: "P730D",
			AutoExtendDuration: gdap.AutoExtendOff, UnifiedRoles: kind.roles,
			Customer: gdap.Customer{TenantID: "bbbbbbbb-0000-4000-8000-000000000001", DisplayName: "Burst"},
		}); err != nil {
			return res, err
		}
	}
	st.Graph.ResetJournal()
	start := st.Clock.Now()
	for i, id := range ids {
		if err := st.Send(ctx, fmt.Sprintf("burst-%06d", i), command.TypeRelationshipUpdate, kind.data(id)); err != nil {
			return res, err
		}
	}
	dctx, cancel := context.WithTimeout(ctx, 60*time.Minute)
	defer cancel()
	if err := st.Drain(dctx); err != nil {
		return res, err
	}
	outs, err := st.Outcomes()
	if err != nil {
		return res, err
	}
	last := start
	for _, os := range outs {
		for _, o := range os {
			code := "succeeded"
			if !o.Succeeded() {
				code = string(o.Error.Code)
			}
			res.Outcomes[code]++
			if o.FinishedAt.After(last) {
				last = o.FinishedAt
			}
		}
	}
	res.Virtual = last.Sub(start)
	res.Floor = time.Duration(float64(n*kind.minCalls) / rate * float64(time.Second))
	for _, e := range st.Graph.Journal() {
		if strings.HasPrefix(e.Path, "/beta/") {
			if journal != nil {
				fmt.Fprintf(journal, "%.3f %s %s %d %s\n", e.Time.Sub(start).Seconds(), e.Method, e.Route, e.Status, e.Path)
			}
			res.GraphCalls++
			if e.Status == http.StatusTooManyRequests {
				res.Throttled++
			}
		}
	}
	for _, inv := range st.Emu.Invocations() {
		res.Invocations++
		if inv.Function == "continuations" {
			res.Continuations++
		}
	}
	res.Real = time.Since(began)
	return res, nil
}

// renderBursts writes the throttled-burst table.
func renderBursts(w io.Writer, bursts []burstResult) {
	if len(bursts) == 0 {
		return
	}
	fmt.Fprintln(w, "### Throttled burst: every command sent at once, Graph limited to R requests/s")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "The Graph simulator's token bucket per application (rate R, burst R); virtual time. "+
		"Floor: the fewest Graph calls the commands need, over R. Targets: completion ≤ 1.15 × floor, 429s ≤ 5 % of Graph calls, no `throttled` failure.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| commands | R/s | completion (virtual) | floor | completion/floor | Graph calls | 429s | 429 share | outcomes | invocations/command | continuations/command | real time |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|")
	for _, b := range bursts {
		codes := make([]string, 0, len(b.Outcomes))
		for c, n := range b.Outcomes {
			codes = append(codes, fmt.Sprintf("%s %d", c, n))
		}
		sort.Strings(codes)
		fmt.Fprintf(w, "| %d × %s | %g | %s | %s | %.2f | %d | %d | %.1f %% | %s | %.2f | %.2f | %s |\n",
			b.Commands, b.Kind, b.Rate, b.Virtual.Round(time.Second), b.Floor.Round(time.Second), b.ratio(),
			b.GraphCalls, b.Throttled, 100*b.share(), strings.Join(codes, ", "),
			float64(b.Invocations)/float64(b.Commands), float64(b.Continuations)/float64(b.Commands), b.Real.Round(time.Second))
	}
	fmt.Fprintln(w)
}
