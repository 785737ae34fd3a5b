package webhook

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/gdapflow/gdapflow/internal/ledger"
)

// replayPartition holds one row per processed delivery.
const replayPartition = "delivery"

// ReplayStore remembers processed deliveries in a table (one row per body
// digest), so that a delivery seen again is acknowledged and ignored.
type ReplayStore struct {
	client *aztables.Client
}

// NewReplayStore returns a store on client (handler: prefix+"webhooks").
func NewReplayStore(client *aztables.Client) *ReplayStore { return &ReplayStore{client: client} }

// EnsureTable creates the table if it does not exist.
func (s *ReplayStore) EnsureTable(ctx context.Context) error {
	_, err := s.client.CreateTable(ctx, nil)
	if err != nil && !ledger.HasCode(err, aztables.TableAlreadyExists) {
		return fmt.Errorf("webhook: create table: %w", err)
	}
	return nil
}

// DeliveryKey identifies a delivery: the SHA-256 of its exact body (the
// signature covers exactly the body, so equal bodies are one delivery).
func DeliveryKey(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

// Seen reports whether the delivery key was processed.
func (s *ReplayStore) Seen(ctx context.Context, key string) (bool, error) {
	_, err := s.client.GetEntity(ctx, replayPartition, key, nil)
	if ledger.IsEntityNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("webhook: read delivery %s: %w", key, err)
	}
	return true, nil
}

// Mark records the delivery key as processed at (idempotent).
func (s *ReplayStore) Mark(ctx context.Context, key, eventName string, at time.Time) error {
	body, err := json.Marshal(map[string]any{
		"PartitionKey": replayPartition, "RowKey": key, "EventName": eventName,
		"ProcessedAt": at.UTC().Format(time.RFC3339Nano), "ProcessedAt@odata.type": "Edm.DateTime",
	})
	if err != nil {
		return fmt.Errorf("webhook: encode delivery: %w", err)
	}
	if _, err := s.client.UpsertEntity(ctx, body, nil); err != nil {
		return fmt.Errorf("webhook: record delivery %s: %w", key, err)
	}
	return nil
}
