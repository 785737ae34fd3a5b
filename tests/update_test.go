package tests

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/command"
	"github.com/gdapflow/gdapflow/internal/gdap"
)

const (
	roleHelpdesk  = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
	roleUserAdmin = "fe930be7-5e62-47db-91af-98c3a49a38b1"
)

func addRelationship(t *testing.T, b *bundle, rel gdap.Relationship) string {
	t.Helper()
	if rel.Duration == "" {
		rel.Duration = "P730D"
	}
	if rel.AutoExtendDuration == "" {
		rel.AutoExtendDuration = "PT0S"
	}
	if rel.UnifiedRoles == nil {
		rel.UnifiedRoles = []string{roleHelpdesk}
	}
	id, err := b.Graph.AddRelationship(rel)
	require.NoError(t, err)
	return id
}

func TestUpdateCreatedRelationship(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	id := addRelationship(t, b, gdap.Relationship{DisplayName: "contoso-draft", Status: gdap.StatusCreated})
	b.send(t, "op-update-created", command.TypeRelationshipUpdate, map[string]any{
		"relationshipId": id,
		"changes":        map[string]any{"displayName": "contoso-final", "duration": "P365D"},
	})
	b.drain(t)
	o := b.outcome(t, "op-update-created")
	require.True(t, o.Succeeded(), "%+v", o.Error)
	require.Equal(t, "contoso-final", o.Result.Relationship.DisplayName)
	require.False(t, o.Result.AlreadyDone)
	rel, ok := b.Graph.Relationship(id)
	require.True(t, ok)
	require.Equal(t, "contoso-final", rel.DisplayName)
	_ = time.Second
}
