package graphapi

import (
	"context"
	"fmt"
	"net/http"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	absser "github.com/microsoft/kiota-abstractions-go/serialization"
	"github.com/microsoftgraph/msgraph-beta-sdk-go/models"
	"github.com/microsoftgraph/msgraph-beta-sdk-go/tenantrelationships"

	"github.com/gdapflow/gdapflow/internal/gdap"
)

// CreateRequest posts a relationship request {"action": action}
// (lockForApproval, approve, terminate, reject); Graph answers 201.
func (c *Client) CreateRequest(ctx context.Context, relationshipID, action string) (gdap.Request, error) {
	const op = "create relationship request"
	if relationshipID == "" {
		return gdap.Request{}, errNoRelationshipID
	}
	parsed, _ := models.ParseDelegatedAdminRelationshipRequestAction(action)
	act, ok := parsed.(*models.DelegatedAdminRelationshipRequestAction)
	if !ok || act == nil || *act == models.UNKNOWNFUTUREVALUE_DELEGATEDADMINRELATIONSHIPREQUESTACTION {
		return gdap.Request{}, fmt.Errorf("%w: unknown request action %q", ErrInvalidArgument, action)
	}
	body := models.NewDelegatedAdminRelationshipRequest()
	body.SetAction(act)
	r, err := c.send(ctx, op, nil, func(ctx context.Context, h *abstractions.RequestHeaders, o []abstractions.RequestOption) error {
		_, err := c.item(relationshipID).Requests().Post(ctx, body, &tenantrelationships.DelegatedAdminRelationshipsItemRequestsRequestBuilderPostRequestConfiguration{Headers: h, Options: o})
		return err
	}, http.StatusCreated, http.StatusOK)
	if err != nil {
		return gdap.Request{}, err
	}
	return c.requestFrom(op, r)
}

// GetRequest reads one relationship request.
func (c *Client) GetRequest(ctx context.Context, relationshipID, requestID string) (gdap.Request, error) {
	const op = "get relationship request"
	if relationshipID == "" || requestID == "" {
		return gdap.Request{}, fmt.Errorf("%w: empty relationship or request id", ErrInvalidArgument)
	}
	r, err := c.send(ctx, op, nil, func(ctx context.Context, h *abstractions.RequestHeaders, o []abstractions.RequestOption) error {
		_, err := c.item(relationshipID).Requests().ByDelegatedAdminRelationshipRequestId(requestID).Get(ctx,
			&tenantrelationships.DelegatedAdminRelationshipsItemRequestsDelegatedAdminRelationshipRequestItemRequestBuilderGetRequestConfiguration{Headers: h, Options: o})
		return err
	}, http.StatusOK)
	if err != nil {
		return gdap.Request{}, err
	}
	return c.requestFrom(op, r)
}

// requestFrom decodes a single relationship request response.
func (c *Client) requestFrom(op string, r *response) (gdap.Request, error) {
	m, err := decodeAs[models.DelegatedAdminRelationshipRequestable](r.body, models.CreateDelegatedAdminRelationshipRequestFromDiscriminatorValue)
	if err != nil {
		return gdap.Request{}, c.invalidResponse(op, r, err)
	}
	return toRequest(m), nil
}

// ListRequests reads every request of a relationship, following
// @odata.nextLink (each page is one HTTP call with its own timeout).
func (c *Client) ListRequests(ctx context.Context, relationshipID string) ([]gdap.Request, error) {
	const op = "list relationship requests"
	if relationshipID == "" {
		return nil, errNoRelationshipID
	}
	builder := c.item(relationshipID).Requests()
	var out []gdap.Request
	err := c.followPages(ctx, op,
		func(ctx context.Context, h *abstractions.RequestHeaders, o []abstractions.RequestOption) error {
			_, err := builder.Get(ctx, &tenantrelationships.DelegatedAdminRelationshipsItemRequestsRequestBuilderGetRequestConfiguration{Headers: h, Options: o})
			return err
		},
		func(u string) { builder = builder.WithUrl(u) },
		collect[models.DelegatedAdminRelationshipRequestCollectionResponseable](
			models.CreateDelegatedAdminRelationshipRequestCollectionResponseFromDiscriminatorValue, toRequest, &out))
	return out, err
}

// collect returns a followPages decode function for collection pages of
// type C: it appends each page's items, converted by conv, to *out and
// returns the page's @odata.nextLink.
func collect[C interface {
	GetValue() []M
	GetOdataNextLink() *string
}, M, T any](factory absser.ParsableFactory, conv func(M) T, out *[]T) func(body []byte) (string, error) {
	return func(body []byte) (string, error) {
		coll, err := decodeAs[C](body, factory)
		if err != nil {
			return "", err
		}
		for _, m := range coll.GetValue() {
			if any(m) != nil {
				*out = append(*out, conv(m))
			}
		}
		return deref(coll.GetOdataNextLink()), nil
	}
}

// followPages fetches a collection page by page: get fetches the current
// page, moveTo points the builder at the next page's URL, and decode
// consumes a page body and returns its @odata.nextLink. It stops after
// maxPages pages or when a nextLink repeats, and never follows a link to
// another host.
func (c *Client) followPages(ctx context.Context, op string, get call, moveTo func(u string), decode func(body []byte) (string, error)) error {
	seen := map[string]bool{}
	for page := 0; ; page++ {
		if page >= maxPages {
			return fmt.Errorf("graphapi: %s: more than %d pages", op, maxPages)
		}
		r, err := c.send(ctx, op, nil, get, http.StatusOK)
		if err != nil {
			return err
		}
		next, err := decode(r.body)
		if err != nil {
			return c.invalidResponse(op, r, err)
		}
		if next == "" {
			return nil
		}
		if seen[next] {
			return c.invalidResponse(op, r, fmt.Errorf("@odata.nextLink repeats %q", next))
		}
		seen[next] = true
		u, err := c.sameHost(next)
		if err != nil {
			return err
		}
		moveTo(u)
	}
}
