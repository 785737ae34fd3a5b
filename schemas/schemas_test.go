package schemas

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// contractCommands and contractEvents are the types named in docs/contract.md §2 and §3.
var (
	contractCommands = []string{
		"gdap.relationship.update", "gdap.relationship.request", "gdap.relationship.removeGlobalAdmin",
		"gdap.customer.removeDap", "gdap.sweep.run", "gdap.relationship.create", "gdap.relationship.accessAssignments.set", "gdap.customer.offboard", "gdap.relationship.replace",
	}
	contractEvents = []string{
		"gdap.operation.succeeded", "gdap.operation.failed", "gdap.relationship.expiring",
		"gdap.relationship.ended", "gdap.relationship.approvalPending", "gdap.command.rejected",
		"gdap.sweep.completed", "gdap.relationship.activated",
	}
)

func TestEverySchemaCompiles(t *testing.T) {
	t.Parallel()
	c, err := NewCompiler()
	require.NoError(t, err)
	paths := Paths()
	require.Len(t, paths, 2+len(contractCommands)+len(contractEvents))
	for _, p := range paths {
		_, err := c.Compile(BaseURI + p)
		require.NoError(t, err, p)

		// $id matches the file's location, and every schema declares draft 2020-12.
		b, err := FS.ReadFile(p)
		require.NoError(t, err)
		var doc struct {
			Schema string `json:"$schema"`
			ID     string `json:"$id"`
			Title  string `json:"title"`
		}
		require.NoError(t, json.Unmarshal(b, &doc))
		require.Equal(t, "https://json-schema.org/draft/2020-12/schema", doc.Schema, p)
		require.Equal(t, BaseURI+p, doc.ID, p)
		require.NotEmpty(t, doc.Title, p)
	}
}

func TestSchemasCoverContract(t *testing.T) {
	t.Parallel()
	paths := map[string]bool{}
	for _, p := range Paths() {
		paths[p] = true
	}
	require.True(t, paths[EnvelopePath])
	for _, typ := range contractCommands {
		require.True(t, paths[CommandPath(typ)], typ)
		b, err := FS.ReadFile(CommandPath(typ))
		require.NoError(t, err)
		var doc map[string]any
		require.NoError(t, json.Unmarshal(b, &doc))
		require.Equal(t, false, doc["additionalProperties"], typ)
	}
	for _, typ := range contractEvents {
		require.True(t, paths[EventPath(typ)], typ)
	}
}
