package pcauth_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/pcauth"
)

// TestTokenClientRefusesRedirects points the token client at a server that
// answers 307 or 308 towards a second server: the grant fails without the
// second server ever receiving a request (so never the form with the
// refresh token and client secret), whatever client the caller supplied.
func TestTokenClientRefusesRedirects(t *testing.T) {
	t.Parallel()
	for _, status := range []int{http.StatusTemporaryRedirect, http.StatusPermanentRedirect, http.StatusFound} {
		for _, client := range []string{"default", "caller's"} {
			t.Run(strconv.Itoa(status)+" "+client, func(t *testing.T) {
				t.Parallel()
				b := setup(t, nil)
				var elsewhere atomic.Int32
				other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					elsewhere.Add(1)
					b.sim.ServeHTTP(w, r) // would grant, were it reached
				}))
				t.Cleanup(other.Close)
				var redirected atomic.Int32
				redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					redirected.Add(1)
					http.Redirect(w, r, other.URL+r.URL.Path, status)
				}))
				t.Cleanup(redirector.Close)

				rt := b.sim.IssueRefreshToken(clientID)
				store := pcauth.NewMemoryStore(rt)
				src := b.source(t, store, func(o *pcauth.Options) {
					o.LoginBaseURL = redirector.URL
					if client == "default" {
						o.HTTPClient = nil
					} else {
						o.HTTPClient = &http.Client{} // follows redirects by default
					}
				})
				_, err := src.Token(t.Context())
				ue := requireUpstream(t, err)
				require.Equal(t, status, ue.StatusCode)
				require.Contains(t, ue.Message, "redirect")
				require.False(t, ue.Transient(), "a redirect is a configuration error")
				require.NotContains(t, err.Error(), rt)
				require.NotContains(t, err.Error(), secret)
				require.Equal(t, int32(1), redirected.Load())
				require.Zero(t, elsewhere.Load(), "the redirect target never receives the form")
				require.Zero(t, b.sim.Counters().RefreshTokenGrants)
				cur, err := store.Load(t.Context())
				require.NoError(t, err)
				require.Equal(t, rt, cur)
			})
		}
	}
}
