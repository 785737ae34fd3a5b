package graphapi

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-beta-sdk-go/models"
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
	}, http.StatusOK)
	if err != nil {
		return gdap.Operation{}, err
	}
	m, err := decodeAs[models.DelegatedAdminRelationshipOperationable](r.body, models.CreateDelegatedAdminRelationshipOperationFromDiscriminatorValue)
	if err != nil {
		return gdap.Operation{}, c.invalidResponse(op, r, err)
	}
	return toOperation(m), nil
}

// ListOperations lists the long-running operations of a relationship
// (following nextLink pages). Each operation's URL is OperationURL(relID, id).
func (c *Client) ListOperations(ctx context.Context, relationshipID string) ([]gdap.Operation, error) {
	const op = "list relationship operations"
	if relationshipID == "" {
		return nil, errNoRelationshipID
	}
	builder := c.item(relationshipID).Operations()
	var out []gdap.Operation
	err := c.followPages(ctx, op,
		func(ctx context.Context, h *abstractions.RequestHeaders, o []abstractions.RequestOption) error {
			_, err := builder.Get(ctx, &tenantrelationships.DelegatedAdminRelationshipsItemOperationsRequestBuilderGetRequestConfiguration{Headers: h, Options: o})
			return err
		},
		func(u string) { builder = builder.WithUrl(u) },
		collect[models.DelegatedAdminRelationshipOperationCollectionResponseable](
			models.CreateDelegatedAdminRelationshipOperationCollectionResponseFromDiscriminatorValue, toOperation, &out))
	return out, err
}

// OperationURL is the absolute URL of a relationship's operation, as a 202
// Location would name it.
func (c *Client) OperationURL(relationshipID, operationID string) string {
	return strings.TrimRight(c.base.String(), "/") + "/tenantRelationships/delegatedAdminRelationships/" +
		url.PathEscape(relationshipID) + "/operations/" + url.PathEscape(operationID)
}
