package errcode

import (
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAll(t *testing.T) {
	t.Parallel()
	codes := All()
	require.Len(t, codes, 15)
	seen := map[string]bool{}
	snake := regexp.MustCompile(`^[a-z]+(_[a-z]+)*$`)
	for _, c := range codes {
		require.False(t, seen[c], c)
		seen[c] = true
		require.Regexp(t, snake, c)
		require.True(t, Valid(c))
	}
	require.False(t, Valid("Invalid_Command"))
	require.False(t, Valid(""))
	codes[0] = "changed"
	require.Equal(t, InvalidCommand, All()[0], "All returns a copy")
}
