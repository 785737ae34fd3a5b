package graphapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-beta-sdk-go/models"
	"github.com/microsoftgraph/msgraph-beta-sdk-go/tenantrelationships"

	"github.com/gdapflow/gdapflow/internal/gdap"
)

// MaxPageSize is the largest $top Graph accepts on these lists.
const MaxPageSize = 300

// PatchResult is the outcome of PatchRelationship: either the updated
// relationship (200 with a body) or a long-running operation to poll (202).
type PatchResult struct {
	// Relationship is the updated relationship from a 200 body; nil for a
	// 202 and for a 200/204 without a body.
	Relationship *gdap.Relationship
	// OperationURL is the absolute Location of a 202, for GetOperation.
	OperationURL string
	// RetryAfter is the 202's Retry-After (zero when absent).
	RetryAfter time.Duration
}

// Accepted reports whether Graph answered 202 (poll OperationURL).
func (p PatchResult) Accepted() bool { return p.OperationURL != "" }

// RelationshipPage is one page of ListRelationships.
type RelationshipPage struct {
	// Relationships on this page, in Graph's order.
	Relationships []gdap.Relationship
	// NextLink is the opaque @odata.nextLink, "" on the last page.
	NextLink string
}

// item returns the builder of one relationship.
func (c *Client) item(id string) *tenantrelationships.DelegatedAdminRelationshipsDelegatedAdminRelationshipItemRequestBuilder {
	return c.rels.ByDelegatedAdminRelationshipId(id)
}

// GetRelationship reads one relationship (GET …/delegatedAdminRelationships/{id}).
func (c *Client) GetRelationship(ctx context.Context, id string) (gdap.Relationship, error) {
	const op = "get relationship"
	if id == "" {
		return gdap.Relationship{}, errNoRelationshipID
	}
	r, err := c.send(ctx, op, nil, func(ctx context.Context, h *abstractions.RequestHeaders, o []abstractions.RequestOption) error {
		_, err := c.item(id).Get(ctx, &tenantrelationships.DelegatedAdminRelationshipsDelegatedAdminRelationshipItemRequestBuilderGetRequestConfiguration{Headers: h, Options: o})
		return err
	}, http.StatusOK)
	if err != nil {
		return gdap.Relationship{}, err
	}
	return c.relationshipFrom(op, r)
}

// relationshipFrom decodes a single relationship response; the ETag header
// stands in for a missing @odata.etag.
func (c *Client) relationshipFrom(op string, r *response) (gdap.Relationship, error) {
	rel, err := decodeRelationship(r.body)
	if err != nil {
		return gdap.Relationship{}, c.invalidResponse(op, r, err)
	}
	if rel.ETag == "" {
		rel.ETag = r.header.Get("ETag")
	}
	return rel, nil
}

// PatchRelationship updates the fields set in ch, sending If-Match: ifMatch
// verbatim. A 200 returns the updated relationship; a 202 returns the
// operation URL (Location) and Retry-After to poll with GetOperation.
func (c *Client) PatchRelationship(ctx context.Context, id, ifMatch string, ch gdap.Changes) (PatchResult, error) {
	const op = "update relationship"
	if id == "" {
		return PatchResult{}, errNoRelationshipID
	}
	if ifMatch == "" {
		return PatchResult{}, errNoIfMatch
	}
	body, err := patchBody(ch)
	if err != nil {
		return PatchResult{}, err
	}
	r, err := c.send(ctx, op, map[string]string{"If-Match": ifMatch}, func(ctx context.Context, h *abstractions.RequestHeaders, o []abstractions.RequestOption) error {
		_, err := c.item(id).Patch(ctx, body, &tenantrelationships.DelegatedAdminRelationshipsDelegatedAdminRelationshipItemRequestBuilderPatchRequestConfiguration{Headers: h, Options: o})
		return err
	}, http.StatusOK, http.StatusAccepted, http.StatusNoContent)
	if err != nil {
		return PatchResult{}, err
	}
	switch r.status {
	case http.StatusAccepted:
		loc, err := c.operationLocation(op, r)
		if err != nil {
			return PatchResult{}, err
		}
		return PatchResult{OperationURL: loc, RetryAfter: c.retryAfter(r)}, nil
	case http.StatusNoContent:
		return PatchResult{}, nil
	}
	if len(bytes.TrimSpace(r.body)) == 0 {
		return PatchResult{}, nil
	}
	rel, err := c.relationshipFrom(op, r)
	if err != nil {
		return PatchResult{}, err
	}
	return PatchResult{Relationship: &rel}, nil
}

// operationLocation returns the absolute Location of a 202 Accepted (a
// relative one is resolved against the request URL).
func (c *Client) operationLocation(op string, r *response) (string, error) {
	loc := strings.TrimSpace(r.header.Get("Location"))
	if loc == "" {
		return "", c.invalidResponse(op, r, errors.New("202 Accepted without Location"))
	}
	u, err := url.Parse(loc)
	if err != nil {
		return "", c.invalidResponse(op, r, fmt.Errorf("202 Accepted with invalid Location: %w", err))
	}
	if !u.IsAbs() && r.request != nil {
		u = r.request.ResolveReference(u)
	}
	return u.String(), nil
}

// ListRelationships reads one page of relationships. With nextLink "" it
// reads the first page with $top=top (top <= 0 lets Graph choose; values
// above MaxPageSize are lowered to it); otherwise it follows the opaque
// @odata.nextLink, which must be on the BaseURL's host.
func (c *Client) ListRelationships(ctx context.Context, nextLink string, top int) (RelationshipPage, error) {
	const op = "list relationships"
	builder := c.rels
	var cfg tenantrelationships.DelegatedAdminRelationshipsRequestBuilderGetRequestConfiguration
	if nextLink != "" {
		u, err := c.sameHost(nextLink)
		if err != nil {
			return RelationshipPage{}, err
		}
		builder = c.rels.WithUrl(u)
	} else if top > 0 {
		cfg.QueryParameters = &tenantrelationships.DelegatedAdminRelationshipsRequestBuilderGetQueryParameters{
			Top: ptr(int32(min(top, MaxPageSize))),
		}
	}
	r, err := c.send(ctx, op, nil, func(ctx context.Context, h *abstractions.RequestHeaders, o []abstractions.RequestOption) error {
		cfg.Headers, cfg.Options = h, o
		_, err := builder.Get(ctx, &cfg)
		return err
	}, http.StatusOK)
	if err != nil {
		return RelationshipPage{}, err
	}
	page, err := decodeRelationshipPage(r.body)
	if err != nil {
		return RelationshipPage{}, c.invalidResponse(op, r, err)
	}
	return page, nil
}

// decodeRelationshipPage decodes a relationship collection body.
func decodeRelationshipPage(body []byte) (RelationshipPage, error) {
	coll, err := decodeAs[models.DelegatedAdminRelationshipCollectionResponseable](body, models.CreateDelegatedAdminRelationshipCollectionResponseFromDiscriminatorValue)
	if err != nil {
		return RelationshipPage{}, err
	}
	var raw rawDurationList
	_ = json.Unmarshal(body, &raw)
	items := coll.GetValue()
	page := RelationshipPage{
		Relationships: make([]gdap.Relationship, 0, len(items)),
		NextLink:      deref(coll.GetOdataNextLink()),
	}
	for i, m := range items {
		if m == nil {
			continue
		}
		var d rawDurations
		if len(raw.Value) == len(items) {
			d = raw.Value[i]
		}
		page.Relationships = append(page.Relationships, toRelationship(m, d))
	}
	return page, nil
}

// sameHost checks that raw is an absolute URL on the BaseURL's scheme and
// host, so that following it never sends the token elsewhere.
func (c *Client) sameHost(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || !u.IsAbs() || u.Host == "" || u.User != nil {
		return "", fmt.Errorf("%w: %q is not an absolute URL", ErrForeignURL, raw)
	}
	if !strings.EqualFold(u.Scheme, c.base.Scheme) || !strings.EqualFold(u.Hostname(), c.base.Hostname()) ||
		portOf(u) != portOf(c.base) {
		return "", fmt.Errorf("%w: %s://%s is not %s://%s", ErrForeignURL, u.Scheme, u.Host, c.base.Scheme, c.base.Host)
	}
	return u.String(), nil
}

// portOf returns u's port, defaulting to the scheme's.
func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if strings.EqualFold(u.Scheme, "http") {
		return "80"
	}
	return "443"
}
