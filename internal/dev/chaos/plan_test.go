package chaos

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/dev/devstack"
)

// TestAddFollowUps: only a replace whose success names a follow-up gets
// one planned, once.
func TestAddFollowUps(t *testing.T) {
	t.Parallel()
	ev := func(typ, data string) devstack.Event { return devstack.Event{ID: "e", Type: typ, Data: []byte(data)} }
	tests := []struct {
		name   string
		events []devstack.Event
		want   []string
	}{
		{"succeeded replace names its follow-up", []devstack.Event{
			ev("gdap.operation.succeeded", `{"operationId":"r1","result":{"followUpOperationId":"gdapflow.followup.n1"}}`),
		}, []string{"gdapflow.followup.n1"}},
		{"failed replace: none", []devstack.Event{
			ev("gdap.operation.failed", `{"operationId":"r1","error":{"code":"throttled"}}`),
		}, nil},
		{"other kinds: none", []devstack.Event{
			ev("gdap.operation.succeeded", `{"operationId":"c1","result":{"followUpOperationId":"gdapflow.followup.n2"}}`),
		}, nil},
		{"named twice: planned once", []devstack.Event{
			ev("gdap.operation.succeeded", `{"operationId":"r1","result":{"followUpOperationId":"gdapflow.followup.n1"}}`),
			ev("gdap.operation.succeeded", `{"operationId":"r1","result":{"followUpOperationId":"gdapflow.followup.n1"}}`),
		}, []string{"gdapflow.followup.n1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := &plan{byID: map[string]*op{}, byRel: map[string]*op{}, reused: map[string]int{}}
			p.add(&op{id: "r1", kind: KindReplace})
			p.add(&op{id: "c1", kind: KindCreate})
			require.NoError(t, p.addFollowUps(tt.events))
			var got []string
			for _, o := range p.ops {
				if o.kind == KindFollowUp {
					got = append(got, o.id)
				}
			}
			require.Equal(t, tt.want, got)
		})
	}
}
