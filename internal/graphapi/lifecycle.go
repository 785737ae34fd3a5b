package graphapi

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-beta-sdk-go/models"
	"github.com/microsoftgraph/msgraph-beta-sdk-go/tenantrelationships"

	"github.com/gdapflow/gdapflow/internal/gdap"
)

// CreateRelationship creates a relationship (POST
// …/delegatedAdminRelationships); Graph answers 201 with the relationship in
// status created. A displayName already used by another relationship of the
// partner is refused by Graph (409 in the simulator; docs/platform/graph-facts.md
// §1.4). Durations are sent as the exact strings given.
func (c *Client) CreateRelationship(ctx context.Context, nr gdap.NewRelationship) (gdap.Relationship, error) {
	const op = "create relationship"
	body, err := createBody(nr)
	if err != nil {
		return gdap.Relationship{}, err
	}
	r, err := c.send(ctx, op, nil, func(ctx context.Context, h *abstractions.RequestHeaders, o []abstractions.RequestOption) error {
		_, err := c.rels.Post(ctx, body, &tenantrelationships.DelegatedAdminRelationshipsRequestBuilderPostRequestConfiguration{Headers: h, Options: o})
		return err
	}, http.StatusCreated)
	if err != nil {
		return gdap.Relationship{}, err
	}
	return c.relationshipFrom(op, r)
}

// createBody builds the POST body of a relationship.
func createBody(nr gdap.NewRelationship) (models.DelegatedAdminRelationshipable, error) {
	switch {
	case strings.TrimSpace(nr.DisplayName) == "":
		return nil, fmt.Errorf("%w: empty displayName", ErrInvalidArgument)
	case nr.Duration == "":
		return nil, fmt.Errorf("%w: empty duration", ErrInvalidArgument)
	case len(nr.UnifiedRoles) == 0:
		return nil, fmt.Errorf("%w: no roles", ErrInvalidArgument)
	}
	body := models.NewDelegatedAdminRelationship()
	body.SetDisplayName(ptr(nr.DisplayName))
	body.SetAccessDetails(accessDetails(nr.UnifiedRoles))
	if nr.Customer != nil {
		body.SetCustomer(customerParticipant(*nr.Customer))
	}
	extra := map[string]any{"duration": nr.Duration}
	if nr.AutoExtendDuration != "" {
		extra["autoExtendDuration"] = nr.AutoExtendDuration
	}
	body.SetAdditionalData(extra)
	return body, nil
}

// DeleteRelationship deletes a relationship (DELETE with If-Match: ifMatch);
// Graph allows it only while the relationship is created and answers 204.
func (c *Client) DeleteRelationship(ctx context.Context, id, ifMatch string) error {
	const op = "delete relationship"
	if id == "" {
		return errNoRelationshipID
	}
	if ifMatch == "" {
		return errNoIfMatch
	}
	_, err := c.send(ctx, op, map[string]string{"If-Match": ifMatch}, func(ctx context.Context, h *abstractions.RequestHeaders, o []abstractions.RequestOption) error {
		return c.item(id).Delete(ctx, &tenantrelationships.DelegatedAdminRelationshipsDelegatedAdminRelationshipItemRequestBuilderDeleteRequestConfiguration{Headers: h, Options: o})
	}, http.StatusNoContent, http.StatusOK)
	return err
}

// FindRelationshipsByName lists every relationship whose displayName equals
// displayName ($filter=displayName eq '…', all pages). Whether Graph
// compares case-insensitively is undocumented: callers compare the names
// they get back themselves.
func (c *Client) FindRelationshipsByName(ctx context.Context, displayName string) ([]gdap.Relationship, error) {
	if displayName == "" {
		return nil, fmt.Errorf("%w: empty displayName", ErrInvalidArgument)
	}
	return c.listRelationshipsWhere(ctx, "find relationships by name", "displayName eq "+odataString(displayName))
}

// ListCustomerRelationships lists every relationship of a customer tenant
// ($filter=customer/tenantId eq '…', all pages), in every status.
func (c *Client) ListCustomerRelationships(ctx context.Context, customerTenantID string) ([]gdap.Relationship, error) {
	if customerTenantID == "" {
		return nil, fmt.Errorf("%w: empty customer tenant id", ErrInvalidArgument)
	}
	return c.listRelationshipsWhere(ctx, "list customer relationships", "customer/tenantId eq "+odataString(customerTenantID))
}

// listRelationshipsWhere reads every page of the relationships matching
// filter. No $top is sent: the server's page size applies.
func (c *Client) listRelationshipsWhere(ctx context.Context, op, filter string) ([]gdap.Relationship, error) {
	builder := c.rels
	cfg := tenantrelationships.DelegatedAdminRelationshipsRequestBuilderGetRequestConfiguration{
		QueryParameters: &tenantrelationships.DelegatedAdminRelationshipsRequestBuilderGetQueryParameters{Filter: ptr(filter)},
	}
	var out []gdap.Relationship
	err := c.followPages(ctx, op,
		func(ctx context.Context, h *abstractions.RequestHeaders, o []abstractions.RequestOption) error {
			cfg.Headers, cfg.Options = h, o
			_, err := builder.Get(ctx, &cfg)
			return err
		},
		func(u string) { builder, cfg.QueryParameters = c.rels.WithUrl(u), nil },
		func(body []byte) (string, error) {
			page, err := decodeRelationshipPage(body)
			out = append(out, page.Relationships...)
			return page.NextLink, err
		})
	return out, err
}

// odataString quotes s as an OData string literal (single quotes doubled).
func odataString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
