package graphapi

import (
	"context"
	"net/http"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-beta-sdk-go/tenantrelationships"

	"github.com/gdapflow/gdapflow/internal/gdap"
)

// GetOperation reads the long-running operation at operationURL, the
// absolute Location of a 202 (PatchResult.OperationURL). The URL must be on
// the BaseURL's scheme and host (ErrForeignURL otherwise): the token is never
// sent to another host.
func (c *Client) GetOperation(ctx context.Context, operationURL string) (gdap.Operation, error) {
	const op = "get relationship operation"
	u, err := c.sameHost(operationURL)
	if err != nil {
		return gdap.Operation{}, err
	}
	builder := tenantrelationships.NewDelegatedAdminRelationshipsItemOperationsDelegatedAdminRelationshipOperationItemRequestBuilder(u, c.adapter)
	r, err := c.send(ctx, op, nil, func(ctx context.Context, h *abstractions.RequestHeaders, o []abstractions.RequestOption) error {
		_, err := builder.Get(ctx, &tenantrelationships.DelegatedAdminRelationshipsItemOperationsDelegatedAdminRelationshipOperationItemRequestBuilderGetRequestConfiguration{Headers: h, Options: o})
		return err
	})
	if err != nil {
		return gdap.Operation{}, err
	}
	if err := c.expect(op, r, http.StatusOK); err != nil {
		return gdap.Operation{}, err
	}
	o, err := decodeOperation(r.body)
	if err != nil {
		return gdap.Operation{}, c.invalidResponse(op, r, err)
	}
	return o, nil
}
