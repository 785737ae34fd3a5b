package hostemu

import (
	"net/http"
	"strings"
)

// ClientPrincipal is the caller identity the emulator presents to HTTP
// functions in place of App Service Authentication (local development
// only): the X-MS-CLIENT-PRINCIPAL value and its identity provider.
type ClientPrincipal struct {
	// Value is the base64 JSON principal (X-MS-CLIENT-PRINCIPAL).
	Value string
	// IdentityProvider is X-MS-CLIENT-PRINCIPAL-IDP.
	IdentityProvider string
	// Name is X-MS-CLIENT-PRINCIPAL-NAME.
	Name string
}

// authHeaders are the headers App Service Authentication owns: callers
// cannot set them (they are removed from every request), only the
// platform does.
func isAuthHeader(name string) bool {
	n := strings.ToUpper(name)
	return strings.HasPrefix(n, "X-MS-CLIENT-PRINCIPAL") || strings.HasPrefix(n, "X-MS-TOKEN-")
}

// applyPrincipal removes any caller-supplied authentication header, as App
// Service Authentication does, and adds the configured principal (none:
// the function sees an anonymous request).
func applyPrincipal(h http.Header, p *ClientPrincipal) http.Header {
	out := make(http.Header, len(h)+3)
	for k, v := range h {
		if !isAuthHeader(k) {
			out[k] = v
		}
	}
	if p != nil {
		out.Set("X-Ms-Client-Principal", p.Value)
		out.Set("X-Ms-Client-Principal-Idp", p.IdentityProvider)
		if p.Name != "" {
			out.Set("X-Ms-Client-Principal-Name", p.Name)
		}
	}
	return out
}
