package hostemu

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// pick returns member name of the JSON object raw.
func pick(t *testing.T, raw json.RawMessage, name string) json.RawMessage {
	t.Helper()
	var obj map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(raw, &obj))
	v, ok := obj[name]
	require.True(t, ok, "member %s in %s", name, raw)
	return v
}
