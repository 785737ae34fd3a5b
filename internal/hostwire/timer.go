package hostwire

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"
)

// TimerInfo is the timer trigger's TimerInfo object.
type TimerInfo struct {
	// IsPastDue is true when the invocation runs later than scheduled.
	IsPastDue bool
	// AdjustForDST mirrors Schedule.AdjustForDST.
	AdjustForDST bool
	// ScheduleStatus is nil when the host sent null (no schedule monitor, or
	// the first run).
	ScheduleStatus *ScheduleStatus
}

// ScheduleStatus is the schedule monitor's record. Times the host reports as
// 0001-01-01T00:00:00 (never) are the zero time.Time.
type ScheduleStatus struct {
	Last        time.Time
	Next        time.Time
	LastUpdated time.Time
}

// Timer decodes the timer trigger bound as binding (for gdapflow, "timer").
func (inv *Invocation) Timer(binding string) (*TimerInfo, error) {
	raw, ok := inv.Binding(binding)
	if !ok {
		return nil, &Error{Code: CodeMissingBinding, Key: binding, Message: "no such binding in Data"}
	}
	raw = unwrapJSONString(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, &Error{Code: CodeInvalidBinding, Key: binding, Message: "timer value is not a JSON object"}
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, &Error{Code: CodeInvalidBinding, Key: binding, Message: "timer value is not a JSON object", Err: err}
	}
	ti := &TimerInfo{}
	var err error
	if ti.IsPastDue, err = boolMember(obj, "IsPastDue", binding); err != nil {
		return nil, err
	}
	if sched, ok := lookup(obj, "Schedule"); ok && !isNull(sched) {
		var so map[string]json.RawMessage
		if json.Unmarshal(unwrapJSONString(sched), &so) == nil {
			if ti.AdjustForDST, err = boolMember(so, "AdjustForDST", binding+".Schedule"); err != nil {
				return nil, err
			}
		}
	}
	if st, ok := lookup(obj, "ScheduleStatus"); ok && !isNull(st) {
		var so map[string]json.RawMessage
		if err := json.Unmarshal(unwrapJSONString(st), &so); err != nil {
			return nil, &Error{Code: CodeInvalidBinding, Key: binding + ".ScheduleStatus", Message: "not a JSON object", Err: err}
		}
		ss := &ScheduleStatus{}
		for _, f := range []struct {
			dst  *time.Time
			name string
		}{{&ss.Last, "Last"}, {&ss.Next, "Next"}, {&ss.LastUpdated, "LastUpdated"}} {
			v, ok := lookup(so, f.name)
			if !ok || isNull(v) {
				continue
			}
			s, err := scalarString(v)
			if err != nil {
				return nil, &Error{Code: CodeInvalidBinding, Key: binding + ".ScheduleStatus." + f.name, Message: "not a timestamp", Err: err}
			}
			if s == "" {
				continue
			}
			if *f.dst, err = ParseTime(s); err != nil {
				return nil, &Error{Code: CodeInvalidBinding, Key: binding + ".ScheduleStatus." + f.name, Err: err}
			}
		}
		ti.ScheduleStatus = ss
	}
	return ti, nil
}

// boolMember decodes an optional bool given as true/false or as "true"/"false".
func boolMember(obj map[string]json.RawMessage, name, where string) (bool, error) {
	v, ok := lookup(obj, name)
	if !ok || isNull(v) {
		return false, nil
	}
	s, err := scalarString(bytes.TrimSpace(v))
	if err == nil {
		if b, perr := strconv.ParseBool(s); perr == nil {
			return b, nil
		}
	}
	return false, &Error{Code: CodeInvalidBinding, Key: where + "." + name, Message: "not a boolean"}
}

// UtcNow returns Metadata.sys.UtcNow, the host's time of the invocation (the
// local host emulator sends its virtual clock here). ok is false when it is
// absent or unparsable.
func (inv *Invocation) UtcNow() (time.Time, bool) {
	raw, ok := lookup(inv.Metadata, "sys")
	if !ok || isNull(raw) {
		return time.Time{}, false
	}
	var sys map[string]json.RawMessage
	if json.Unmarshal(unwrapJSONString(raw), &sys) != nil {
		return time.Time{}, false
	}
	v, ok := lookup(sys, "UtcNow")
	if !ok || isNull(v) {
		return time.Time{}, false
	}
	s, err := scalarString(v)
	if err != nil || s == "" {
		return time.Time{}, false
	}
	t, err := ParseTime(s)
	if err != nil || t.IsZero() {
		return time.Time{}, false
	}
	return t, true
}
