package graphapi

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"time"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-beta-sdk-go/models"
	"github.com/microsoftgraph/msgraph-beta-sdk-go/tenantrelationships"

	"github.com/gdapflow/gdapflow/internal/gdap"
)

// AssignmentPatchResult is the outcome of PatchAccessAssignment: either a
// 202 long-running operation (OperationURL, RetryAfter) or a 200 with the
// assignment (nothing changed).
type AssignmentPatchResult struct {
	// OperationURL is the absolute Location of a 202, for GetOperation.
	OperationURL string
	// RetryAfter is the 202's Retry-After (zero when absent).
	RetryAfter time.Duration
	// Assignment is the unchanged assignment of a 200; nil for a 202 and
	// for a 200/204 without a body.
	Assignment *gdap.AccessAssignment
}

// Accepted reports whether Graph answered 202 (poll OperationURL).
func (p AssignmentPatchResult) Accepted() bool { return p.OperationURL != "" }

// errNoAssignmentID is the ErrInvalidArgument of an empty assignment id.
var errNoAssignmentID = fmt.Errorf("%w: empty access assignment id", ErrInvalidArgument)

// assignments returns the builder of a relationship's access assignments.
func (c *Client) assignments(relationshipID string) *tenantrelationships.DelegatedAdminRelationshipsItemAccessAssignmentsRequestBuilder {
	return c.item(relationshipID).AccessAssignments()
}

// assignment returns the builder of one access assignment.
func (c *Client) assignment(relationshipID, assignmentID string) *tenantrelationships.DelegatedAdminRelationshipsItemAccessAssignmentsDelegatedAdminAccessAssignmentItemRequestBuilder {
	return c.assignments(relationshipID).ByDelegatedAdminAccessAssignmentId(assignmentID)
}

// checkAssignmentIDs refuses empty ids before anything is sent.
func checkAssignmentIDs(relationshipID, assignmentID string) error {
	if relationshipID == "" {
		return errNoRelationshipID
	}
	if assignmentID == "" {
		return errNoAssignmentID
	}
	return nil
}

// ListAccessAssignments reads every access assignment of a relationship
// (all pages), in every status.
func (c *Client) ListAccessAssignments(ctx context.Context, relationshipID string) ([]gdap.AccessAssignment, error) {
	const op = "list access assignments"
	if relationshipID == "" {
		return nil, errNoRelationshipID
	}
	builder := c.assignments(relationshipID)
	var out []gdap.AccessAssignment
	err := c.followPages(ctx, op,
		func(ctx context.Context, h *abstractions.RequestHeaders, o []abstractions.RequestOption) error {
			_, err := builder.Get(ctx, &tenantrelationships.DelegatedAdminRelationshipsItemAccessAssignmentsRequestBuilderGetRequestConfiguration{Headers: h, Options: o})
			return err
		},
		func(u string) { builder = builder.WithUrl(u) },
		collect[models.DelegatedAdminAccessAssignmentCollectionResponseable](
			models.CreateDelegatedAdminAccessAssignmentCollectionResponseFromDiscriminatorValue, toAssignment, &out))
	return out, err
}

// GetAccessAssignment reads one access assignment.
func (c *Client) GetAccessAssignment(ctx context.Context, relationshipID, assignmentID string) (gdap.AccessAssignment, error) {
	const op = "get access assignment"
	if err := checkAssignmentIDs(relationshipID, assignmentID); err != nil {
		return gdap.AccessAssignment{}, err
	}
	r, err := c.send(ctx, op, nil, func(ctx context.Context, h *abstractions.RequestHeaders, o []abstractions.RequestOption) error {
		_, err := c.assignment(relationshipID, assignmentID).Get(ctx,
			&tenantrelationships.DelegatedAdminRelationshipsItemAccessAssignmentsDelegatedAdminAccessAssignmentItemRequestBuilderGetRequestConfiguration{Headers: h, Options: o})
		return err
	}, http.StatusOK)
	if err != nil {
		return gdap.AccessAssignment{}, err
	}
	return c.assignmentFrom(op, r)
}

// CreateAccessAssignment gives securityGroupID the roles (a subset of the
// relationship's) on an active relationship; Graph answers 201 with the
// assignment in status pending, and 409 when the group already has a live
// assignment on the relationship.
func (c *Client) CreateAccessAssignment(ctx context.Context, relationshipID, securityGroupID string, roles []string) (gdap.AccessAssignment, error) {
	const op = "create access assignment"
	switch {
	case relationshipID == "":
		return gdap.AccessAssignment{}, errNoRelationshipID
	case securityGroupID == "":
		return gdap.AccessAssignment{}, fmt.Errorf("%w: empty security group id", ErrInvalidArgument)
	case len(roles) == 0:
		return gdap.AccessAssignment{}, fmt.Errorf("%w: no roles", ErrInvalidArgument)
	}
	container := models.NewDelegatedAdminAccessContainer()
	container.SetAccessContainerId(ptr(securityGroupID))
	container.SetAccessContainerType(ptr(models.SECURITYGROUP_DELEGATEDADMINACCESSCONTAINERTYPE))
	body := models.NewDelegatedAdminAccessAssignment()
	body.SetAccessContainer(container)
	body.SetAccessDetails(accessDetails(roles))
	r, err := c.send(ctx, op, nil, func(ctx context.Context, h *abstractions.RequestHeaders, o []abstractions.RequestOption) error {
		_, err := c.assignments(relationshipID).Post(ctx, body,
			&tenantrelationships.DelegatedAdminRelationshipsItemAccessAssignmentsRequestBuilderPostRequestConfiguration{Headers: h, Options: o})
		return err
	}, http.StatusCreated)
	if err != nil {
		return gdap.AccessAssignment{}, err
	}
	return c.assignmentFrom(op, r)
}

// PatchAccessAssignment replaces an assignment's roles, sending If-Match:
// ifMatch verbatim. Graph answers 202 with an operation to poll with
// GetOperation, or 200 with the assignment when the roles are unchanged.
func (c *Client) PatchAccessAssignment(ctx context.Context, relationshipID, assignmentID, ifMatch string, roles []string) (AssignmentPatchResult, error) {
	const op = "update access assignment"
	if err := checkAssignmentIDs(relationshipID, assignmentID); err != nil {
		return AssignmentPatchResult{}, err
	}
	if ifMatch == "" {
		return AssignmentPatchResult{}, errNoIfMatch
	}
	if len(roles) == 0 {
		return AssignmentPatchResult{}, fmt.Errorf("%w: no roles", ErrInvalidArgument)
	}
	body := models.NewDelegatedAdminAccessAssignment()
	body.SetAccessDetails(accessDetails(roles))
	r, err := c.send(ctx, op, map[string]string{"If-Match": ifMatch}, func(ctx context.Context, h *abstractions.RequestHeaders, o []abstractions.RequestOption) error {
		_, err := c.assignment(relationshipID, assignmentID).Patch(ctx, body,
			&tenantrelationships.DelegatedAdminRelationshipsItemAccessAssignmentsDelegatedAdminAccessAssignmentItemRequestBuilderPatchRequestConfiguration{Headers: h, Options: o})
		return err
	}, http.StatusOK, http.StatusAccepted, http.StatusNoContent)
	if err != nil {
		return AssignmentPatchResult{}, err
	}
	if r.status == http.StatusAccepted {
		loc, err := c.operationLocation(op, r)
		if err != nil {
			return AssignmentPatchResult{}, err
		}
		return AssignmentPatchResult{OperationURL: loc, RetryAfter: c.retryAfter(r)}, nil
	}
	if len(bytes.TrimSpace(r.body)) == 0 {
		return AssignmentPatchResult{}, nil
	}
	a, err := c.assignmentFrom(op, r)
	if err != nil {
		return AssignmentPatchResult{}, err
	}
	return AssignmentPatchResult{Assignment: &a}, nil
}

// DeleteAccessAssignment deletes an access assignment (If-Match: ifMatch);
// Graph answers 204 and the assignment goes deleting → deleted.
func (c *Client) DeleteAccessAssignment(ctx context.Context, relationshipID, assignmentID, ifMatch string) error {
	const op = "delete access assignment"
	if err := checkAssignmentIDs(relationshipID, assignmentID); err != nil {
		return err
	}
	if ifMatch == "" {
		return errNoIfMatch
	}
	_, err := c.send(ctx, op, map[string]string{"If-Match": ifMatch}, func(ctx context.Context, h *abstractions.RequestHeaders, o []abstractions.RequestOption) error {
		return c.assignment(relationshipID, assignmentID).Delete(ctx,
			&tenantrelationships.DelegatedAdminRelationshipsItemAccessAssignmentsDelegatedAdminAccessAssignmentItemRequestBuilderDeleteRequestConfiguration{Headers: h, Options: o})
	}, http.StatusNoContent, http.StatusOK)
	return err
}

// assignmentFrom decodes a single access assignment response; the ETag
// header stands in for a missing @odata.etag.
func (c *Client) assignmentFrom(op string, r *response) (gdap.AccessAssignment, error) {
	m, err := decodeAs[models.DelegatedAdminAccessAssignmentable](r.body, models.CreateDelegatedAdminAccessAssignmentFromDiscriminatorValue)
	if err != nil {
		return gdap.AccessAssignment{}, c.invalidResponse(op, r, err)
	}
	a := toAssignment(m)
	if a.ETag == "" {
		a.ETag = r.header.Get("ETag")
	}
	return a, nil
}

// toAssignment converts an SDK access assignment.
func toAssignment(m models.DelegatedAdminAccessAssignmentable) gdap.AccessAssignment {
	a := gdap.AccessAssignment{
		ID:              deref(m.GetId()),
		Roles:           roleIDs(m.GetAccessDetails()),
		CreatedDateTime: utc(m.GetCreatedDateTime()),
		LastModified:    utc(m.GetLastModifiedDateTime()),
		ETag:            etagOf(m.GetAdditionalData()),
	}
	if ac := m.GetAccessContainer(); ac != nil {
		a.SecurityGroupID = deref(ac.GetAccessContainerId())
	}
	if s := m.GetStatus(); s != nil {
		a.Status = s.String()
	}
	return a
}
