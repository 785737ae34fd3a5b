package graphapi

import (
	"context"
	"errors"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// StaticTokenCredential is an azcore.TokenCredential that always returns the
// same bearer token. It is meant for the local Graph simulator
// (GDAP_DEV_BEARER_TOKEN); config refuses it unless every upstream is
// loopback.
type StaticTokenCredential struct {
	token string
}

// NewStaticTokenCredential returns a credential that always yields token.
func NewStaticTokenCredential(token string) *StaticTokenCredential {
	return &StaticTokenCredential{token: token}
}

// GetToken implements azcore.TokenCredential. The token never expires from
// the caller's point of view (an hour ahead of the wall clock each time).
func (c *StaticTokenCredential) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	if c == nil || c.token == "" {
		return azcore.AccessToken{}, errors.New("graphapi: static token credential has no token")
	}
	return azcore.AccessToken{Token: c.token, ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// String does not reveal the token.
func (c *StaticTokenCredential) String() string { return "StaticTokenCredential{token: redacted}" }

var _ azcore.TokenCredential = (*StaticTokenCredential)(nil)
