package ledger

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/gdapflow/gdapflow/internal/op"
)

// Table Storage layout and limits
// (https://learn.microsoft.com/rest/api/storageservices/understanding-the-table-service-data-model).
const (
	// schemaVersion is written to every entity as property "V".
	schemaVersion = 1
	// maxKeyBytes is the PartitionKey and RowKey limit (1 KiB; keys are
	// UTF-16).
	maxKeyBytes = 1024
	// maxStringUnits is the string property limit: 64 KiB = 32K UTF-16 units.
	maxStringUnits = 32 * 1024
	// maxBinaryChunk is the binary property limit (64 KiB); longer blobs
	// are split over several properties.
	maxBinaryChunk = 64 * 1024
	// maxEntityBytes is the entity size limit (1 MiB) per the service's
	// size formula.
	maxEntityBytes = 1 << 20
)

// Property names.
const (
	pVersion          = "V"
	pCommandType      = "CommandType"
	pSource           = "Source"
	pTargetID         = "TargetID"
	pContentHash      = "ContentHash"
	pState            = "State"
	pStep             = "Step"
	pStepAttempt      = "StepAttempt"
	pAttempts         = "Attempts"
	pWakeID           = "WakeID"
	pWakeAt           = "WakeAt"
	pAcceptedAt       = "AcceptedAt"
	pUpdatedAt        = "UpdatedAt"
	pFinishedAt       = "FinishedAt"
	pCommand          = "Command"
	pWorkflow         = "Workflow"
	pResult           = "Result"
	pErrCode          = "ErrorCode"
	pErrMessage       = "ErrorMessage"
	pErrHTTPStatus    = "ErrorHTTPStatus"
	pErrUpstreamCode  = "ErrorUpstreamCode"
	pErrUpstreamReqID = "ErrorUpstreamRequestID"
	pOutcomePublished = "OutcomePublished"
	// binaryChunkPattern names the 2nd, 3rd … chunk of a split binary
	// value: Workflow, Workflow_1, Workflow_2 …
	binaryChunkPattern = "%s_%d"
	// timePrecision is Edm.DateTime's precision.
	timePrecision = 100 * time.Nanosecond
)

// Edm.DateTime range.
var (
	minTime = time.Date(1601, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(9999, 12, 31, 23, 59, 59, 999999900, time.UTC)
)

// rowKeyOf is the RowKey of operation id's entity; the PartitionKey is id
// too. A key unique to the operation, rather than a constant, keeps a point
// read a point read in Azurite, whose LokiJS store looks an entity up through
// its RowKey index first and then scans every row with that RowKey
// (docs/ledger.md). Sibling rows of an operation can take RowKeys that
// extend id.
func rowKeyOf(id string) string { return id }

// checkKey validates an operation id as a PartitionKey and RowKey (both
// keys have the same rules). The contract's ids ([A-Za-z0-9._:-]{1,128})
// always pass; the service additionally forbids '/', '\', '#', '?' and
// control characters, and longer than 1 KiB.
func checkKey(id string) error {
	if id == "" {
		return fmt.Errorf("%w: empty operation id", ErrInvalid)
	}
	if !utf8.ValidString(id) {
		return fmt.Errorf("%w: operation id is not valid UTF-8", ErrInvalid)
	}
	if n := utf16Units(id) * 2; n > maxKeyBytes {
		return fmt.Errorf("%w: operation id is %d bytes, over %d", ErrInvalid, n, maxKeyBytes)
	}
	for _, c := range id {
		if c == '/' || c == '\\' || c == '#' || c == '?' || c < 0x20 || (c >= 0x7f && c <= 0x9f) {
			return fmt.Errorf("%w: operation id %q contains %q, not allowed in a Table Storage key", ErrInvalid, id, c)
		}
	}
	return nil
}

func validState(s State) bool { return slices.Contains(States(), s) }

func utf16Units(s string) int {
	n := 0
	for _, r := range s {
		if r > 0xFFFF {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// entityWriter builds the property map and tracks the entity size with the
// service's formula: 4 + 2·len(PK+RK) + Σ(8 + 2·len(name) + value size).
type entityWriter struct {
	props map[string]any
	size  int
	err   error
}

func (w *entityWriter) fail(err error) {
	if w.err == nil {
		w.err = err
	}
}

func (w *entityWriter) add(name string, v any, valueSize int) {
	w.props[name] = v
	w.size += 8 + 2*len(name) + valueSize
}

func (w *entityWriter) str(field, name, v string) {
	if !utf8.ValidString(v) {
		w.fail(fmt.Errorf("%w: %s is not valid UTF-8", ErrInvalid, field))
		return
	}
	units := utf16Units(v)
	if units > maxStringUnits {
		w.fail(&LimitError{Field: field, Size: units, Limit: maxStringUnits})
		return
	}
	w.add(name, v, 4+2*units)
}

func (w *entityWriter) int(field, name string, v int) {
	if v < 0 || v > math.MaxInt32 {
		w.fail(fmt.Errorf("%w: %s = %d is outside 0..%d", ErrInvalid, field, v, math.MaxInt32))
		return
	}
	w.add(name, int32(v), 4)
}

func (w *entityWriter) time(field, name string, v time.Time) {
	if v.IsZero() {
		return
	}
	if v.Before(minTime) || v.After(maxTime) {
		w.fail(fmt.Errorf("%w: %s = %s is outside the Table Storage DateTime range", ErrInvalid, field, v.Format(time.RFC3339)))
		return
	}
	w.add(name, aztables.EDMDateTime(v), 8)
}

// binary stores v in name, name_1, name_2 … with at most 64 KiB each.
func (w *entityWriter) binary(name string, v []byte) {
	for i := 0; len(v) > 0; i++ {
		n := min(len(v), maxBinaryChunk)
		prop := name
		if i > 0 {
			prop = fmt.Sprintf(binaryChunkPattern, name, i)
		}
		w.add(prop, aztables.EDMBinary(v[:n]), 4+n)
		v = v[n:]
	}
}

// normalizeTime is how a time comes back from the table: UTC, 100 ns.
func normalizeTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(timePrecision)
}

// marshal validates r, normalizes its times and encodes it as an entity.
func marshal(r *Record) ([]byte, error) {
	if err := checkKey(r.OperationID); err != nil {
		return nil, err
	}
	if !validState(r.State) {
		return nil, fmt.Errorf("%w: unknown state %q", ErrInvalid, r.State)
	}
	for _, t := range []*time.Time{&r.WakeAt, &r.AcceptedAt, &r.UpdatedAt, &r.FinishedAt} {
		*t = normalizeTime(*t)
	}
	w := &entityWriter{
		props: map[string]any{},
		size:  4 + 2*2*utf16Units(r.OperationID), // PartitionKey and RowKey
	}
	w.add(pVersion, int32(schemaVersion), 4)
	w.str("CommandType", pCommandType, r.CommandType)
	w.str("Source", pSource, r.Source)
	w.str("TargetID", pTargetID, r.TargetID)
	w.str("ContentHash", pContentHash, r.ContentHash)
	w.str("State", pState, string(r.State))
	w.str("Step", pStep, r.Step)
	w.int("StepAttempt", pStepAttempt, r.StepAttempt)
	w.int("Attempts", pAttempts, r.Attempts)
	w.str("WakeID", pWakeID, r.WakeID)
	w.time("WakeAt", pWakeAt, r.WakeAt)
	w.time("AcceptedAt", pAcceptedAt, r.AcceptedAt)
	w.time("UpdatedAt", pUpdatedAt, r.UpdatedAt)
	w.time("FinishedAt", pFinishedAt, r.FinishedAt)
	w.binary(pCommand, r.Command)
	w.binary(pWorkflow, r.Workflow)
	w.binary(pResult, r.Result)
	if e := r.LastError; e != nil {
		w.str("LastError.Code", pErrCode, string(e.Code))
		w.str("LastError.Message", pErrMessage, e.Message)
		w.int("LastError.HTTPStatus", pErrHTTPStatus, e.HTTPStatus)
		w.str("LastError.UpstreamCode", pErrUpstreamCode, e.UpstreamCode)
		w.str("LastError.UpstreamRequestID", pErrUpstreamReqID, e.UpstreamRequestID)
	}
	w.add(pOutcomePublished, r.OutcomePublished, 1)
	if w.err != nil {
		return nil, w.err
	}
	if w.size > maxEntityBytes {
		return nil, &LimitError{Field: "entity", Size: w.size, Limit: maxEntityBytes}
	}
	body, err := json.Marshal(aztables.EDMEntity{
		Entity:     aztables.Entity{PartitionKey: r.OperationID, RowKey: rowKeyOf(r.OperationID)},
		Properties: w.props,
	})
	if err != nil {
		return nil, fmt.Errorf("ledger: encode %q: %w", r.OperationID, err)
	}
	return body, nil
}

// entityReader decodes typed properties, remembering the first error.
type entityReader struct {
	props map[string]any
	err   error
}

func (rd *entityReader) typeErr(name string, v any) {
	if rd.err == nil {
		rd.err = fmt.Errorf("ledger: property %s has unexpected type %T", name, v)
	}
}

// property returns the value of name as a T: the zero T when it is absent
// or null, and (recording the error) when it has another type.
func property[T any](rd *entityReader, name string) T {
	var zero T
	v, ok := rd.props[name]
	if !ok || v == nil {
		return zero
	}
	t, ok := v.(T)
	if !ok {
		rd.typeErr(name, v)
		return zero
	}
	return t
}

func (rd *entityReader) str(name string) string { return property[string](rd, name) }

func (rd *entityReader) int(name string) int { return int(property[int32](rd, name)) }

func (rd *entityReader) bool(name string) bool { return property[bool](rd, name) }

func (rd *entityReader) time(name string) time.Time {
	return time.Time(property[aztables.EDMDateTime](rd, name)).UTC()
}

func (rd *entityReader) binary(name string) []byte {
	var out []byte
	for i := 0; ; i++ {
		prop := name
		if i > 0 {
			prop = fmt.Sprintf(binaryChunkPattern, name, i)
		}
		v, ok := rd.props[prop]
		if !ok || v == nil {
			return out
		}
		b, ok := v.(aztables.EDMBinary)
		if !ok {
			rd.typeErr(prop, v)
			return nil
		}
		out = append(out, b...)
	}
}

// unmarshal decodes an entity read from the table.
func unmarshal(body []byte) (*Record, error) {
	var e aztables.EDMEntity
	if err := json.Unmarshal(body, &e); err != nil {
		return nil, fmt.Errorf("ledger: decode entity: %w", err)
	}
	rd := &entityReader{props: e.Properties}
	if v := rd.int(pVersion); v != schemaVersion {
		return nil, fmt.Errorf("ledger: entity schema version %d, this build reads %d", v, schemaVersion)
	}
	r := &Record{
		OperationID:      e.PartitionKey,
		CommandType:      rd.str(pCommandType),
		Source:           rd.str(pSource),
		TargetID:         rd.str(pTargetID),
		ContentHash:      rd.str(pContentHash),
		State:            State(rd.str(pState)),
		Step:             rd.str(pStep),
		StepAttempt:      rd.int(pStepAttempt),
		Attempts:         rd.int(pAttempts),
		WakeID:           rd.str(pWakeID),
		WakeAt:           rd.time(pWakeAt),
		AcceptedAt:       rd.time(pAcceptedAt),
		UpdatedAt:        rd.time(pUpdatedAt),
		FinishedAt:       rd.time(pFinishedAt),
		Command:          rd.binary(pCommand),
		Workflow:         rd.binary(pWorkflow),
		Result:           rd.binary(pResult),
		OutcomePublished: rd.bool(pOutcomePublished),
	}
	if _, ok := e.Properties[pErrCode]; ok {
		r.LastError = &op.Failure{
			Code:              op.Code(rd.str(pErrCode)),
			Message:           rd.str(pErrMessage),
			HTTPStatus:        rd.int(pErrHTTPStatus),
			UpstreamCode:      rd.str(pErrUpstreamCode),
			UpstreamRequestID: rd.str(pErrUpstreamReqID),
		}
	}
	if rd.err != nil {
		return nil, rd.err
	}
	return r, nil
}
