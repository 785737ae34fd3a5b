package sweep

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
)

// props is the state row's content as saveState writes it (no ETag).
func (s *state) props() (map[string]any, error) {
	byStatus, err := json.Marshal(s.ByStatus)
	if err != nil {
		return nil, fmt.Errorf("sweep: encode state: %w", err)
	}
	p := map[string]any{
		"SweepID": s.SweepID, "Phase": s.Phase, "Page": int32(s.Page), "NextLink": s.NextLink,
		"Retries": int32(s.Retries), "Invocations": int32(s.Invocations), "Relationships": int32(s.Relationships),
		"Expiring": int32(s.Expiring), "ByStatus": string(byStatus), "Failed": s.Failed,
		"FailedReason": s.FailedReason, "FailedStatus": int32(s.FailedStatus),
	}
	putTime(p, "RetryAt", s.RetryAt)
	putTime(p, "StartedAt", s.StartedAt)
	putTime(p, "FinishedAt", s.FinishedAt)
	putTime(p, "LeaseUntil", s.LeaseUntil)
	return p, nil
}

// sameContent reports whether the stored row holds exactly what s would
// write: after a conflict, that the write took effect although its
// response was lost (the SDK's retry then met the ETag the first try
// produced).
func (s *state) sameContent(stored *state) bool {
	a, errA := s.props()
	b, errB := stored.props()
	if errA != nil || errB != nil || len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if t, ok := v.(aztables.EDMDateTime); ok {
			u, ok := b[k].(aztables.EDMDateTime)
			if !ok || !time.Time(t).Equal(time.Time(u)) {
				return false
			}
		} else if v != b[k] {
			return false
		}
	}
	return true
}
