package hostemu

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestApplyPrincipal(t *testing.T) {
	t.Parallel()
	in := http.Header{"X-Ms-Client-Principal": {"forged"}, "X-Ms-Client-Principal-Idp": {"aad"},
		"X-Ms-Token-Aad-Id-Token": {"t"}, "Accept": {"text/html"}}
	tests := []struct {
		name string
		p    *ClientPrincipal
		want http.Header
	}{
		{"anonymous: the caller's auth headers are removed", nil, http.Header{"Accept": {"text/html"}}},
		{"the configured principal replaces them", &ClientPrincipal{Value: "p", IdentityProvider: "gdapflow-dev", Name: "op"},
			http.Header{"Accept": {"text/html"}, "X-Ms-Client-Principal": {"p"}, "X-Ms-Client-Principal-Idp": {"gdapflow-dev"}, "X-Ms-Client-Principal-Name": {"op"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, applyPrincipal(in, tt.p))
		})
	}
}
