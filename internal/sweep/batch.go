package sweep

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
)

// batch is one entity group transaction: rows of one partition.
type batch struct {
	rows    []row
	actions []aztables.TransactionAction
}

// batches groups rows by partition into transactions of typ, at most
// maxBatch rows each; with InsertReplace, a row with an ETag is an
// UpdateReplace conditional on it.
func batches(rows []row, typ aztables.TransactionType) ([]batch, error) {
	groups := map[string]*batch{}
	var order []string
	var out []batch
	for _, r := range rows {
		body, err := encodeRecord(r.id, r.rec)
		if err != nil {
			return nil, err
		}
		pk := partitionOf(r.id)
		g := groups[pk]
		if g == nil {
			g = &batch{}
			groups[pk] = g
			order = append(order, pk)
		}
		a := aztables.TransactionAction{ActionType: typ, Entity: body}
		if typ == aztables.TransactionTypeInsertReplace && r.etag != "" {
			a.ActionType, a.IfMatch = aztables.TransactionTypeUpdateReplace, &r.etag
		}
		g.rows = append(g.rows, r)
		g.actions = append(g.actions, a)
		if len(g.rows) == maxBatch {
			out = append(out, *g)
			*g = batch{}
		}
	}
	for _, pk := range order {
		if g := groups[pk]; len(g.rows) > 0 {
			out = append(out, *g)
		}
	}
	return out, nil
}

// submit runs the transactions in parallel; errs[i] is batch i's error.
func (st *store) submit(ctx context.Context, bs []batch) []error {
	errs := make([]error, len(bs))
	parallel(len(bs), st.concurrency, func(i int) {
		st.n.txns.Add(1)
		st.n.snapWrites.Add(int64(len(bs[i].rows)))
		if _, err := st.client.SubmitTransaction(ctx, bs[i].actions, nil); err != nil {
			errs[i] = fmt.Errorf("sweep: write %d snapshot rows: %w", len(bs[i].rows), err)
		}
	})
	return errs
}

// writeRows stores rows in entity group transactions: grouped by
// partition, at most maxBatch per transaction, transactions in parallel.
// A row without ETag is inserted or replaced; a row with one replaces
// only that version. A transaction with such a row that fails, for any
// reason (the row changed since it was read, or the answer was lost after
// it was applied), returns its rows as stale, for the caller to read back
// and decide again; any other failure is an error.
func (st *store) writeRows(ctx context.Context, rows []row) (stale []row, err error) {
	bs, err := batches(rows, aztables.TransactionTypeInsertReplace)
	if err != nil {
		return nil, err
	}
	var errs []error
	for i, err := range st.submit(ctx, bs) {
		switch {
		case err == nil:
		case ctx.Err() == nil && slices.ContainsFunc(bs[i].rows, func(r row) bool { return r.etag != "" }):
			st.n.writeConflicts.Add(1)
			stale = append(stale, bs[i].rows...)
		default:
			errs = append(errs, err)
		}
	}
	return stale, errors.Join(errs...)
}

// insertRows inserts rows for relationships no page index knows, in
// transactions that fail as a whole if any of their rows exists (Table
// Storage: an entity group transaction is atomic, and an insert of an
// existing entity fails with EntityAlreadyExists). A transaction that fails
// for any reason, that one included, may also have been applied with its
// answer lost (the SDK's retry then meets the rows it wrote itself): its
// rows are returned as unsure, for the caller to read back and decide
// again. So a first sweep, or a page of relationships never seen, writes
// without reading, and a row that did exist costs one read, as before.
func (st *store) insertRows(ctx context.Context, rows []row) (unsure []row, err error) {
	bs, err := batches(rows, aztables.TransactionTypeAdd)
	if err != nil {
		return nil, err
	}
	for i, err := range st.submit(ctx, bs) {
		if err == nil {
			continue
		}
		if ctx.Err() != nil {
			return nil, err
		}
		st.n.insertConflicts.Add(1)
		unsure = append(unsure, bs[i].rows...)
	}
	return unsure, nil
}
