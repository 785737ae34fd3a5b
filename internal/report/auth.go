// Package report renders the operators' page (docs/contract.md §6.3,
// `report`): relationships by status, auto-extend coverage, expiries by
// week, what will lapse and why, approvals pending, recent failures and the
// sweep's health, as one server-rendered HTML page with inline SVG and no
// script. It also checks the caller's App Service Authentication principal.
package report

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Headers App Service Authentication (Easy Auth) sets on the requests it
// lets through; external requests cannot set them.
const (
	HeaderPrincipal    = "X-MS-CLIENT-PRINCIPAL"
	HeaderPrincipalIDP = "X-MS-CLIENT-PRINCIPAL-IDP"
)

// Identity providers a principal may come from.
const (
	// IdentityProviderEntra is Easy Auth's name for Entra ID.
	IdentityProviderEntra = "aad"
	// IdentityProviderDev is the local host emulator's stand-in principal,
	// accepted only in local development (GDAP_DEV_REPORT_PRINCIPAL).
	IdentityProviderDev = "gdapflow-dev"
)

// roleClaimTypes are the claim types that carry app roles when the
// principal names none (role_typ).
var roleClaimTypes = []string{"roles", "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"} //nolint:gochecknoglobals // constant list

// Principal is the decoded X-MS-CLIENT-PRINCIPAL.
type Principal struct {
	AuthType string  `json:"auth_typ"`
	Claims   []Claim `json:"claims"`
	NameType string  `json:"name_typ,omitempty"`
	RoleType string  `json:"role_typ,omitempty"`
}

// Claim is one claim of a principal.
type Claim struct {
	Type  string `json:"typ"`
	Value string `json:"val"`
}

// Roles returns the principal's app roles.
func (p Principal) Roles() []string {
	types := roleClaimTypes
	if p.RoleType != "" {
		types = append([]string{p.RoleType}, types...)
	}
	var out []string
	for _, c := range p.Claims {
		for _, t := range types {
			if strings.EqualFold(c.Type, t) {
				out = append(out, c.Value)
				break
			}
		}
	}
	return out
}

// Name returns the principal's display name claim ("" when none).
func (p Principal) Name() string {
	for _, t := range []string{p.NameType, "name", "preferred_username"} {
		for _, c := range p.Claims {
			if t != "" && strings.EqualFold(c.Type, t) {
				return c.Value
			}
		}
	}
	return ""
}

// Encode returns the header value of p (base64 of its JSON), as Easy Auth
// and the host emulator send it.
func (p Principal) Encode() string {
	b, _ := json.Marshal(p) // strings only
	return base64.StdEncoding.EncodeToString(b)
}

// ErrForbidden is the cause of every refusal; the message says which check
// failed (for the log, never for the caller).
var ErrForbidden = errors.New("report: forbidden")

// AuthOptions are what Authorize requires.
type AuthOptions struct {
	// Role is the app role required (GDAP_REPORT_ROLE).
	Role string
	// AllowDev accepts the host emulator's principal (local development).
	AllowDev bool
}

// Authorize checks the caller's principal: present, decodable, from Entra
// ID (or, in local development only, the emulator), the identity provider
// header agreeing, and holding the role. header reads a request header.
func Authorize(header func(name string) string, opts AuthOptions) (Principal, error) {
	raw := header(HeaderPrincipal)
	if raw == "" {
		return Principal{}, fmt.Errorf("%w: no %s header (App Service Authentication not in front?)", ErrForbidden, HeaderPrincipal)
	}
	b, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		return Principal{}, fmt.Errorf("%w: %s is not base64", ErrForbidden, HeaderPrincipal)
	}
	var p Principal
	if err := json.Unmarshal(b, &p); err != nil {
		return Principal{}, fmt.Errorf("%w: %s is not a principal", ErrForbidden, HeaderPrincipal)
	}
	idp := strings.ToLower(p.AuthType)
	switch {
	case idp == IdentityProviderDev && !opts.AllowDev:
		return Principal{}, fmt.Errorf("%w: a development principal outside local development", ErrForbidden)
	case idp != IdentityProviderEntra && idp != IdentityProviderDev:
		return Principal{}, fmt.Errorf("%w: identity provider %q is not Entra ID", ErrForbidden, p.AuthType)
	case !strings.EqualFold(header(HeaderPrincipalIDP), idp):
		return Principal{}, fmt.Errorf("%w: %s does not match the principal", ErrForbidden, HeaderPrincipalIDP)
	}
	for _, r := range p.Roles() {
		if r == opts.Role {
			return p, nil
		}
	}
	return Principal{}, fmt.Errorf("%w: the principal lacks the app role %q", ErrForbidden, opts.Role)
}
