package pcauth

import (
	"context"
	"errors"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/gdapflow/gdapflow/internal/upstream"
)

// AssertionScope is the scope of the managed identity token presented as a
// federated client assertion (workload identity federation).
const AssertionScope = "api://AzureADTokenExchange/.default"

// NewManagedIdentityAssertion returns an Options.Assertion that obtains the
// federated client assertion from cred (normally an
// azidentity.ManagedIdentityCredential, which caches its tokens). The app
// registration must have a federated identity credential trusting that
// managed identity (issuer https://login.microsoftonline.com/{tenant}/v2.0,
// subject = the identity's object id, audience api://AzureADTokenExchange).
// Failures are *upstream.Error with Service entra.
func NewManagedIdentityAssertion(cred azcore.TokenCredential) func(ctx context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{AssertionScope}})
		if err != nil {
			ue := &upstream.Error{Service: upstream.ServiceEntra, Operation: "get managed identity assertion", Err: err}
			var afe *azidentity.AuthenticationFailedError
			if errors.As(err, &afe) && afe.RawResponse != nil && afe.RawResponse.StatusCode >= http.StatusBadRequest {
				ue.StatusCode = afe.RawResponse.StatusCode
				ue.Code = "managed_identity_failed"
				ue.Message = "the managed identity could not issue the federated assertion for the Partner Center app; check that the function app's identity is enabled (AZURE_CLIENT_ID for a user-assigned one)"
			}
			return "", ue
		}
		return tok.Token, nil
	}
}
