package sweep

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"strconv"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/gdapflow/gdapflow/internal/gdap"
	"github.com/gdapflow/gdapflow/internal/ledger"
)

// pagesPartition holds one page-index row per page position.
const pagesPartition = "pages"

// entrySize is the encoded size of a pageEntry.
const entrySize = 20

// noDeadline is the quietUntil of a relationship no time can change.
const noDeadline = math.MaxUint32

// pageEntry is what the page index remembers about one relationship seen
// at a page position: a hash of its id, a hash of every Graph field the
// decision reads, and until when (Unix seconds, rounded down) nothing
// time-based can happen to it. A relationship whose id and content hashes
// match and whose quietUntil is still ahead needs neither a snapshot read
// nor a write: decide would return the same row and announce nothing.
type pageEntry struct {
	idHash      uint64
	contentHash uint64
	quietUntil  uint32
}

// pageIndex is one page position's entries and the rules they were
// computed under.
type pageIndex struct {
	rules   string
	entries map[uint64]pageEntry
	raw     []byte
	// reportHash identifies the page's report summary (reportindex.go).
	reportHash string
}

// indexWindow keeps the page indexes one invocation has read around the
// page position it is at, so each page costs one index read: the index of
// the position ahead, which the next page uses as its own.
type indexWindow struct {
	// valid: last and next describe positions lastK and lastK+1.
	valid bool
	lastK int
	// last is position lastK's index as it was before its page was
	// processed; next is position lastK+1's.
	last, next *pageIndex
}

// near is what the indexes of positions k-1, k and k+1 hold. A page's
// relationships move between neighbouring positions when relationships
// are added or removed before them, so an entry found in either neighbour
// counts like one at the page's own position: its row exists, and if the
// content is unchanged and quiet, nothing is due.
type near struct {
	own    *pageIndex
	others []*pageIndex
}

// lookup finds the entry of idHash, at the page's own position first.
func (n near) lookup(idHash uint64) (pageEntry, bool) {
	if n.own != nil {
		if en, ok := n.own.entries[idHash]; ok {
			return en, true
		}
	}
	for _, ix := range n.others {
		if en, ok := ix.entries[idHash]; ok {
			return en, true
		}
	}
	return pageEntry{}, false
}

// at returns the indexes around position k that were written under rules
// (an index of other rules counts as none), reading what the window does
// not hold: position k+1 on every page, and k-1 and k on an invocation's
// first.
func (w *indexWindow) at(ctx context.Context, st *store, rules string, k int) (near, error) {
	positions := []int{k + 1}
	var got [3]*pageIndex // k-1, k, k+1
	if w.valid && w.lastK+1 == k {
		got[0], got[1] = w.last, w.next
	} else {
		positions = append(positions, k)
		if k > 0 {
			positions = append(positions, k-1)
		}
	}
	errs := make([]error, len(positions))
	parallel(len(positions), len(positions), func(i int) {
		ix, err := st.readPage(ctx, positions[i])
		if ix != nil && ix.rules != rules {
			ix = nil
		}
		got[positions[i]-k+1], errs[i] = ix, err
	})
	if err := errors.Join(errs...); err != nil {
		w.valid = false
		return near{}, err
	}
	w.valid, w.lastK, w.last, w.next = true, k, got[1], got[2]
	n := near{own: got[1]}
	for _, ix := range []*pageIndex{got[0], got[2]} {
		if ix != nil {
			n.others = append(n.others, ix)
		}
	}
	return n, nil
}

// pageRowKey is the RowKey of page position k.
func pageRowKey(k int) string { return fmt.Sprintf("%08d", k) }

// readPage reads the index of page position k; nil when missing.
func (st *store) readPage(ctx context.Context, k int) (*pageIndex, error) {
	st.n.pageReads.Add(1)
	resp, err := st.client.GetEntity(ctx, pagesPartition, pageRowKey(k), nil)
	if ledger.IsEntityNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sweep: read page index %d: %w", k, err)
	}
	var e aztables.EDMEntity
	if err := json.Unmarshal(resp.Value, &e); err != nil {
		return nil, fmt.Errorf("sweep: decode page index %d: %w", k, err)
	}
	p := props(e.Properties)
	raw, _ := e.Properties["Entries"].(aztables.EDMBinary)
	pi := &pageIndex{rules: p.str("Rules"), entries: make(map[uint64]pageEntry, len(raw)/entrySize), raw: raw, reportHash: p.str(reportHashProperty)}
	for i := 0; i+entrySize <= len(raw); i += entrySize {
		en := pageEntry{
			idHash:      binary.BigEndian.Uint64(raw[i:]),
			contentHash: binary.BigEndian.Uint64(raw[i+8:]),
			quietUntil:  binary.BigEndian.Uint32(raw[i+16:]),
		}
		pi.entries[en.idHash] = en
	}
	return pi, nil
}

// writePage stores the index of page position k.
func (st *store) writePage(ctx context.Context, k int, rules string, raw []byte, reportHash string) error {
	body, err := json.Marshal(aztables.EDMEntity{
		Entity: aztables.Entity{PartitionKey: pagesPartition, RowKey: pageRowKey(k)},
		Properties: map[string]any{"Rules": rules, "Entries": aztables.EDMBinary(raw), "Count": int32(len(raw) / entrySize),
			reportHashProperty: reportHash},
	})
	if err != nil {
		return fmt.Errorf("sweep: encode page index %d: %w", k, err)
	}
	st.n.pageWrites.Add(1)
	if _, err := st.client.UpsertEntity(ctx, body, &aztables.UpsertEntityOptions{UpdateMode: aztables.UpdateModeReplace}); err != nil {
		return fmt.Errorf("sweep: write page index %d: %w", k, err)
	}
	return nil
}

// encodeEntries encodes entries in page order.
func encodeEntries(entries []pageEntry) []byte {
	raw := make([]byte, 0, len(entries)*entrySize)
	for _, en := range entries {
		raw = binary.BigEndian.AppendUint64(raw, en.idHash)
		raw = binary.BigEndian.AppendUint64(raw, en.contentHash)
		raw = binary.BigEndian.AppendUint32(raw, en.quietUntil)
	}
	return raw
}

// hash64 is FNV-1a 64 over parts separated by a zero byte.
func hash64(parts ...string) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		_, _ = h.Write([]byte(p))
		_, _ = h.Write([]byte{0})
	}
	return h.Sum64()
}

// contentHash hashes every relationship field decide reads.
func contentHash(rel gdap.Relationship) uint64 {
	return hash64(rel.ID, rel.DisplayName, rel.Status, rel.Customer.TenantID, rel.Customer.DisplayName,
		normTime(rel.CreatedDateTime).Format(time.RFC3339Nano), normTime(rel.EndDateTime).Format(time.RFC3339Nano),
		rel.AutoExtendDuration, canonicalRoles(rel.UnifiedRoles), rel.ETag)
}

// fingerprint identifies the rules (and the index format): a page index
// written under other rules is ignored.
func (r rules) fingerprint(protected []string) string {
	parts := []string{"v1", string(r.policy), strconv.Itoa(r.approvalDays), r.seenRefresh.String()}
	for _, t := range r.thresholds {
		parts = append(parts, strconv.Itoa(t))
	}
	parts = append(parts, protected...)
	h := sha256.New()
	for _, p := range parts {
		_, _ = h.Write([]byte(p + "\x00"))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// quietUntil is the first instant after now at which decide could act on
// the relationship without its content changing: the next threshold
// crossing, the end date, the approval warning age, or the lastSeen
// refresh. It is rounded down to the second (noDeadline: never).
func quietUntil(now time.Time, rel gdap.Relationship, next record, rl rules) uint32 {
	q := time.Time{}
	consider := func(t time.Time) {
		if t.After(now) && (q.IsZero() || t.Before(q)) {
			q = t
		}
	}
	if rel.Status == gdap.StatusActive && !next.End.IsZero() {
		for _, t := range rl.thresholds {
			consider(next.End.Add(-time.Duration(t) * day))
		}
		consider(next.End)
	}
	if rel.Status == gdap.StatusApprovalPending && !next.Created.IsZero() && !next.ApprovalWarned {
		consider(next.Created.Add(time.Duration(rl.approvalDays) * day))
	}
	if rl.seenRefresh > 0 && !next.LastSeen.IsZero() {
		consider(next.LastSeen.Add(refreshAfter(rel.ID, rl.seenRefresh)))
	}
	switch {
	case q.IsZero():
		return noDeadline
	case q.Unix() <= 0:
		return 0
	case q.Unix() >= noDeadline:
		return noDeadline - 1
	}
	return uint32(q.Unix())
}
