package graphapi

import (
	"context"
	"fmt"
	"net/http"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-beta-sdk-go/models"
	"github.com/microsoftgraph/msgraph-beta-sdk-go/tenantrelationships"

	"github.com/gdapflow/gdapflow/internal/gdap"
)

// CreateRequest posts a relationship request {"action": action}
// (lockForApproval, approve, terminate, reject); Graph answers 201.
func (c *Client) CreateRequest(ctx context.Context, relationshipID, action string) (gdap.Request, error) {
	const op = "create relationship request"
	if relationshipID == "" {
		return gdap.Request{}, fmt.Errorf("%w: empty relationship id", ErrInvalidArgument)
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
	})
	if err != nil {
		return gdap.Request{}, err
	}
	if err := c.expect(op, r, http.StatusCreated, http.StatusOK); err != nil {
		return gdap.Request{}, err
	}
	req, err := decodeRequest(r.body)
	if err != nil {
		return gdap.Request{}, c.invalidResponse(op, r, err)
	}
	return req, nil
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
	})
	if err != nil {
		return gdap.Request{}, err
	}
	if err := c.expect(op, r, http.StatusOK); err != nil {
		return gdap.Request{}, err
	}
	req, err := decodeRequest(r.body)
	if err != nil {
		return gdap.Request{}, c.invalidResponse(op, r, err)
	}
	return req, nil
}

// ListRequests reads every request of a relationship, following
// @odata.nextLink (each page is one HTTP call with its own timeout).
func (c *Client) ListRequests(ctx context.Context, relationshipID string) ([]gdap.Request, error) {
	const op = "list relationship requests"
	if relationshipID == "" {
		return nil, fmt.Errorf("%w: empty relationship id", ErrInvalidArgument)
	}
	builder := c.item(relationshipID).Requests()
	var out []gdap.Request
	err := c.followPages(ctx, op,
		func(ctx context.Context, h *abstractions.RequestHeaders, o []abstractions.RequestOption) error {
			_, err := builder.Get(ctx, &tenantrelationships.DelegatedAdminRelationshipsItemRequestsRequestBuilderGetRequestConfiguration{Headers: h, Options: o})
			return err
		},
		func(u string) { builder = builder.WithUrl(u) },
		func(body []byte) (string, error) {
			v, err := parse(body, models.CreateDelegatedAdminRelationshipRequestCollectionResponseFromDiscriminatorValue)
			if err != nil {
				return "", err
			}
			coll, ok := v.(models.DelegatedAdminRelationshipRequestCollectionResponseable)
			if !ok {
				return "", fmt.Errorf("decode response: unexpected type %T", v)
			}
			for _, m := range coll.GetValue() {
				if m != nil {
					out = append(out, toRequest(m))
				}
			}
			return deref(coll.GetOdataNextLink()), nil
		})
	return out, err
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
		r, err := c.send(ctx, op, nil, get)
		if err != nil {
			return err
		}
		if err := c.expect(op, r, http.StatusOK); err != nil {
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
