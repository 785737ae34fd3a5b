package gdap_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/gdap"
)

func TestInvitationURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ id, want string }{
		{"5d027261-d21f-4aa9-b7db-7fa1f56fb163-8777b240-c6f0-4469-9e98-a3205431b836",
			"https://admin.microsoft.com/AdminPortal/Home#/partners/invitation/granularAdminRelationships/5d027261-d21f-4aa9-b7db-7fa1f56fb163-8777b240-c6f0-4469-9e98-a3205431b836"},
		{"a/b", "https://admin.microsoft.com/AdminPortal/Home#/partners/invitation/granularAdminRelationships/a%2Fb"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, gdap.InvitationURL(tt.id))
	}
}

func TestIsAssignmentSettled(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status string
		want   bool
	}{
		{gdap.AssignmentPending, false},
		{gdap.AssignmentDeleting, false},
		{gdap.AssignmentActive, true},
		{gdap.AssignmentDeleted, true},
		{gdap.AssignmentError, true},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, gdap.IsAssignmentSettled(tt.status), tt.status)
	}
}
