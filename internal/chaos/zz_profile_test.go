package chaos

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/gdapflow/gdapflow/internal/bus"
	"github.com/gdapflow/gdapflow/internal/engine"
	"github.com/gdapflow/gdapflow/internal/gdap"
	"github.com/gdapflow/gdapflow/internal/graphapi"
	"github.com/gdapflow/gdapflow/internal/graphsim"
	"github.com/gdapflow/gdapflow/internal/ledger"
	"github.com/gdapflow/gdapflow/internal/testenv"
	"github.com/gdapflow/gdapflow/internal/vclock"
)

func BenchmarkZZHandlerInProcess(b *testing.B) {
	ctx := context.Background()
	root, _ := testenv.RepoRoot()
	az, err := testenv.StartAzurite(ctx, testenv.AzuriteOptions{RepoRoot: root})
	if err != nil {
		b.Fatal(err)
	}
	defer az.Stop()
	clk := vclock.NewVirtual(time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC))
	sim := graphsim.New(graphsim.Options{Clock: clk, JournalLimit: -1})
	gs := httptest.NewServer(sim)
	defer gs.Close()
	broker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(201)
	}))
	defer broker.Close()
	svc, _ := aztables.NewServiceClientFromConnectionString(az.ConnectionString(), nil)
	led := ledger.New(svc.NewClient(testenv.UniqueName("p") + "operations"))
	if err := led.EnsureTable(ctx); err != nil {
		b.Fatal(err)
	}
	g, err := graphapi.New(graphapi.Options{BaseURL: gs.URL + "/beta", Credential: graphapi.NewStaticTokenCredential("x")})
	if err != nil {
		b.Fatal(err)
	}
	eng := engine.New(engine.Options{Ledger: led, Graph: g, Sender: bus.NewLocalBroker(broker.URL, &http.Client{Timeout: 10 * time.Second}),
		CommandsQueue: "c", ContinuationsQueue: "k", EventsTopic: "e", EventSource: "/g"})
	logger := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	n := b.N
	rels := make([]string, n)
	for i := range rels {
		rels[i], _ = sim.AddRelationship(gdap.Relationship{DisplayName: fmt.Sprint("p", i), Status: gdap.StatusActive, Duration: "P730D",
			AutoExtendDuration: gdap.AutoExtendOff, UnifiedRoles: []string{roleHelpdesk},
			Customer: gdap.Customer{TenantID: "bbbbbbbb-0000-4000-8000-000000000001", DisplayName: "c"}})
	}
	b.ResetTimer()
	for i := range n {
		id := fmt.Sprintf("prof-%d", i)
		body := []byte(`{"specversion":"1.0","id":"` + id + `","source":"/x","type":"gdap.relationship.update","data":{"relationshipId":"` + rels[i] + `","changes":{"autoExtendDuration":"P180D"}}}`)
		if err := eng.HandleCommand(ctx, engine.Invocation{Clock: clk, Logger: logger, MessageID: id, DeliveryCount: 1, Function: "commands"}, body); err != nil {
			b.Fatal(err)
		}
	}
	_ = os.Stdout
}
