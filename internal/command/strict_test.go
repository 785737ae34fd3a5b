package command

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzDecodeStrict checks that decodeStrict's fast path never changes the
// outcome: whatever decodePlain accepts, decodeTokens accepts with the same
// value.
func FuzzDecodeStrict(f *testing.F) {
	for _, s := range []string{
		`{}`, `[]`, `1`, `"s"`, `null`, ` {"a":1} `, `{"a":1,"a":2}`, `{"a":{"a":1},"b":[{"a":1,"a":2}]}`,
		`{"a":1,"\u0061":2}`, `{"a\"b":1,"a\"b":2}`, `{"a":"b":1}`, `{"a":[1,2.50,-3e7,true,false,null,"x"]}`,
		`{"k":"{\"k\":1,\"k\":2}"}`, "{\"\xff\":1,\"\xfe\":2}", `{"a":1}{"b":2}`, `{"a" : 1 , "b" : 2}`,
		strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth),
		strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1),
		strings.Repeat(`{"a":`, MaxDepth) + "1" + strings.Repeat("}", MaxDepth),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fast, ok := decodePlain(body)
		if !ok {
			return
		}
		slow, err := decodeTokens(body)
		require.NoError(t, err)
		require.Equal(t, slow, fast)
	})
}

func TestDecodePlainVouches(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		`{}`, `{"a":1,"b":{"a":2},"c":[{"a":3},{"a":4}]}`, `{"ü":"\u00fc"}`,
		strings.Repeat(`{"a":`, MaxDepth) + "1" + strings.Repeat("}", MaxDepth),
		msg(TypeRelationshipUpdate, `{"relationshipId":"`+relID+`","changes":{"duration":"P2Y","accessDetails":{"unifiedRoles":[{"roleDefinitionId":"`+roleA+`"}]}}}`),
	} {
		_, ok := decodePlain([]byte(s))
		require.True(t, ok, s)
	}
	for _, s := range []string{
		`{"a":1,"a":2}`, `{"a":1,"\u0061":2}`, `{"x":{"a":1,"a":2}}`, `{"a":1}x`, `{"a":`,
		strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1),
	} {
		_, ok := decodePlain([]byte(s))
		require.False(t, ok, s)
	}
}
