package ledger

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
)

// ListOptions filter List. The zero value lists every operation.
type ListOptions struct {
	// States keeps operations in one of these states (State* constants);
	// empty keeps all.
	States []State
	// UpdatedSince keeps operations updated at or after this time; zero
	// keeps all.
	UpdatedSince time.Time
	// Limit stops after this many records (the most recently updated
	// first is not guaranteed before sorting: the limit applies to the
	// scan); 0 means no limit.
	Limit int
}

// List scans the ledger for the operations matching opts, most recently
// updated first. It is meant for operators (gdapctl), not for the service's
// hot path: it reads the whole table page by page, with the filter applied
// by Table Storage.
func (s *Store) List(ctx context.Context, opts *ListOptions) ([]*Record, error) {
	if opts == nil {
		opts = &ListOptions{}
	}
	filter, err := listFilter(opts)
	if err != nil {
		return nil, err
	}
	lo := &aztables.ListEntitiesOptions{}
	if filter != "" {
		lo.Filter = &filter
	}
	var out []*Record
	pager := s.client.NewListEntitiesPager(lo)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("ledger: list: %w", err)
		}
		for _, raw := range page.Entities {
			var keys aztables.Entity
			if err := json.Unmarshal(raw, &keys); err != nil {
				return nil, fmt.Errorf("ledger: list: decode entity: %w", err)
			}
			if keys.RowKey != rowKeyOf(keys.PartitionKey) {
				continue // a sibling row, not an operation's record
			}
			r, err := unmarshal(raw)
			if err != nil {
				return nil, fmt.Errorf("ledger: list: %s: %w", keys.PartitionKey, err)
			}
			out = append(out, r)
			if opts.Limit > 0 && len(out) >= opts.Limit {
				break
			}
		}
		if opts.Limit > 0 && len(out) >= opts.Limit {
			break
		}
	}
	slices.SortStableFunc(out, func(a, b *Record) int {
		if c := b.UpdatedAt.Compare(a.UpdatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.OperationID, b.OperationID)
	})
	return out, nil
}

// listFilter builds the OData filter of opts.
func listFilter(opts *ListOptions) (string, error) {
	var parts []string
	if len(opts.States) > 0 {
		var or []string
		for _, st := range opts.States {
			if !validState(st) {
				return "", fmt.Errorf("%w: unknown state %q", ErrInvalid, st)
			}
			or = append(or, fmt.Sprintf("%s eq '%s'", pState, st))
		}
		parts = append(parts, "("+strings.Join(or, " or ")+")")
	}
	if !opts.UpdatedSince.IsZero() {
		parts = append(parts, fmt.Sprintf("%s ge datetime'%s'", pUpdatedAt, opts.UpdatedSince.UTC().Format(time.RFC3339Nano)))
	}
	return strings.Join(parts, " and "), nil
}
