package pcauth_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
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
				rt := b.sim.IssueRefreshToken(clientID)
				// Counted only when the request carries this grant's refresh
				// token: a port freed by another test's server may be handed
				// to this one while that test's client still retries.
				var elsewhere atomic.Int32
				other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					body, _ := io.ReadAll(r.Body)
					if strings.Contains(string(body), url.QueryEscape(rt)) || strings.Contains(string(body), rt) {
						elsewhere.Add(1)
					}
					w.WriteHeader(http.StatusBadRequest)
				}))
				t.Cleanup(other.Close)
				var redirected atomic.Int32
				redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					redirected.Add(1)
					http.Redirect(w, r, other.URL+r.URL.Path, status)
				}))
				t.Cleanup(redirector.Close)

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
