package sweep

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/gdapflow/gdapflow/internal/gdap"
	"github.com/gdapflow/gdapflow/internal/ledger"
	"github.com/gdapflow/gdapflow/internal/op"
	"github.com/gdapflow/gdapflow/internal/upstream"
)

// RefreshSweepID names the refreshes (a verified webhook event) in the
// snapshot's ChangedBy and as the correlation of what they announce.
const RefreshSweepID = "refresh"

// relationshipReader reads one relationship (*graphapi.Client).
type relationshipReader interface {
	GetRelationship(ctx context.Context, id string) (gdap.Relationship, error)
}

// Refresh re-reads one relationship from Graph and settles it exactly as a
// sweep page would (settle): it announces gdap.relationship.activated or
// ended once, wakes the follow-up operation waiting on it and stores its
// snapshot row. The row is written with its ETag (inserted when there is
// none), so a sweep page writing it concurrently makes the refresh re-read
// and decide again; what it sent before has deterministic ids and is
// dropped as a duplicate. A relationship Graph no longer knows is logged
// and left to the sweep. Errors (Graph or Table Storage unavailable) make
// the continuation be redelivered.
func (s *Sweeper) Refresh(ctx context.Context, inv op.Invocation, relID string) error {
	log := inv.Log() // settle's lines name the relationship; so do these

	g, ok := s.graph.(relationshipReader)
	if !ok {
		return fmt.Errorf("sweep: refresh %s: the Graph client cannot read one relationship", relID)
	}
	rel, err := g.GetRelationship(ctx, relID)
	if ue, isUp := upstream.As(err); isUp && ue.StatusCode == http.StatusNotFound {
		log.WarnContext(ctx, "refresh of a relationship Graph does not know; ignored", "relationship_id", relID)
		return nil
	}
	if err != nil {
		return fmt.Errorf("sweep: refresh %s: %w", relID, err)
	}
	if rel.ID == "" {
		rel.ID = relID
	}
	now := inv.Clock.Now().UTC()
	for range conflictRetries {
		prev, etag, err := s.store.readRow(ctx, rel.ID)
		if err != nil {
			return err
		}
		d, out, err := s.settle(ctx, log, RefreshSweepID, now, rel, prev)
		if err != nil {
			return err
		}
		for _, o := range out {
			if err := s.send.Send(ctx, o.entity, o.msg); err != nil {
				return fmt.Errorf("sweep: refresh: send %s %s: %w", o.msg.Subject, o.msg.MessageID, err)
			}
		}
		if !d.write {
			return nil
		}
		err = s.store.writeRow(ctx, rel.ID, d.next, etag)
		if errors.Is(err, ErrConflict) {
			log.InfoContext(ctx, "snapshot row changed concurrently; refreshing again", "relationship_id", relID)
			continue
		}
		if err == nil {
			log.InfoContext(ctx, "relationship refreshed", "relationship_id", relID, "status", rel.Status, "messages", len(out))
		}
		return err
	}
	return fmt.Errorf("sweep: refresh %s: %w", relID, ErrConflict)
}

// readRow reads one snapshot row and its ETag ("" and nil when absent).
func (st *store) readRow(ctx context.Context, id string) (*record, azcore.ETag, error) {
	st.n.snapReads.Add(1)
	resp, err := st.client.GetEntity(ctx, partitionOf(id), rowKeyOf(id), nil)
	if ledger.IsEntityNotFound(err) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("sweep: read snapshot of %s: %w", id, err)
	}
	rec, err := decodeRecord(resp.Value)
	if err != nil {
		return nil, "", fmt.Errorf("sweep: decode snapshot of %s: %w", id, err)
	}
	return rec, resp.ETag, nil
}

// writeRow stores one snapshot row: inserted when etag is "" (ErrConflict
// if it exists by now), otherwise replaced if it still has etag
// (ErrConflict if not).
func (st *store) writeRow(ctx context.Context, id string, rec record, etag azcore.ETag) error {
	body, err := encodeRecord(id, rec)
	if err != nil {
		return err
	}
	st.n.snapWrites.Add(1)
	if etag == "" {
		_, err = st.client.AddEntity(ctx, body, nil)
		if ledger.HasCode(err, aztables.EntityAlreadyExists) {
			return ErrConflict
		}
	} else {
		_, err = st.client.UpdateEntity(ctx, body, &aztables.UpdateEntityOptions{IfMatch: &etag, UpdateMode: aztables.UpdateModeReplace})
		if ledger.IsConditionFailed(err) || ledger.IsEntityNotFound(err) {
			return ErrConflict
		}
	}
	if err != nil {
		return fmt.Errorf("sweep: write snapshot of %s: %w", id, err)
	}
	return nil
}
