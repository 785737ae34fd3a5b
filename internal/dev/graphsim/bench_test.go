package graphsim_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/dev/graphsim"
	"github.com/gdapflow/gdapflow/internal/vclock"
)

// BenchmarkListWalk200k seeds 200,000 relationships and walks the whole
// collection at $top=300 over HTTP, following @odata.nextLink.
func BenchmarkListWalk200k(b *testing.B) {
	const n = 200_000
	sim := graphsim.New(graphsim.Options{Clock: vclock.NewFrozen(t0), JournalLimit: -1})
	seedStart := time.Now()
	sim.Seed(graphsim.SeedOptions{Count: n, Seed: 1})
	seedMS := float64(time.Since(seedStart).Milliseconds())
	srv := httptest.NewServer(sim)
	defer srv.Close()
	client := srv.Client()
	b.ReportAllocs()
	b.ResetTimer()
	pages := 0
	for b.Loop() {
		next := srv.URL + "/beta/tenantRelationships/delegatedAdminRelationships?$top=300"
		total := 0
		for next != "" {
			req, err := http.NewRequest(http.MethodGet, next, nil)
			require.NoError(b, err)
			req.Header.Set("Authorization", "Bearer bench")
			resp, err := client.Do(req)
			require.NoError(b, err)
			raw, err := io.ReadAll(resp.Body)
			require.NoError(b, err)
			require.NoError(b, resp.Body.Close())
			var page struct {
				Value []struct {
					ID string `json:"id"`
				} `json:"value"`
				NextLink string `json:"@odata.nextLink"`
			}
			require.NoError(b, json.Unmarshal(raw, &page))
			require.Equal(b, http.StatusOK, resp.StatusCode)
			total += len(page.Value)
			next = page.NextLink
			pages++
		}
		require.Equal(b, n, total)
	}
	b.ReportMetric(float64(pages)/float64(b.N), "pages/walk")
	b.ReportMetric(seedMS, "seed-ms")
}
