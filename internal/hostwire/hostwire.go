// Package hostwire decodes the Azure Functions host's custom-handler
// invocation exactly as the host sends it and encodes the response envelope
// the host expects (docs/platform/functions-host-facts.md §3).
//
// The host's value encoding is irregular: trigger bodies bound with
// dataType "binary" arrive as base64, string bodies arrive JSON-encoded
// twice, scalar metadata arrives as a string holding JSON ("\"abc\"", "3",
// "true"), objects arrive as real JSON objects and timestamps come in several
// layouts, sometimes without a zone. This package hides all of that behind
// typed accessors and never panics on hostile input.
package hostwire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"
)

// MaxMessageBytes is the largest Service Bus message the Functions host can
// deliver (Premium tier: 100 MiB). gdapflow's commands are at most 64 KiB
// (docs/contract.md §2), but a larger message must still decode, so that the
// engine can answer it with gdap.command.rejected instead of the host
// retrying it into the dead-letter queue.
const MaxMessageBytes = 100 << 20

// MaxInvocationBytes bounds the request body DecodeRequest reads: a message
// of MaxMessageBytes, base64-encoded (dataType "binary"), plus 1 MiB for the
// envelope and metadata. It is the handler's one size limit on invocations.
const MaxInvocationBytes = (MaxMessageBytes+2)/3*4 + 1<<20

// Stable error codes of *Error.
const (
	// CodeMalformedInvocation: the request body is not the host's
	// {"Data":{...},"Metadata":{...}} envelope.
	CodeMalformedInvocation = "malformed_invocation"
	// CodeInvocationTooLarge: the request body exceeds MaxInvocationBytes.
	CodeInvocationTooLarge = "invocation_too_large"
	// CodeMissingBinding: Data has no value for the requested binding name.
	CodeMissingBinding = "missing_binding"
	// CodeInvalidBinding: the binding's value has a shape the trigger never produces.
	CodeInvalidBinding = "invalid_binding"
	// CodeInvalidMetadata: a metadata value could not be decoded (a count
	// that is not a number, a timestamp in no known layout, ...).
	CodeInvalidMetadata = "invalid_metadata"
)

// Error is the one error type of this package. Code is one of the Code*
// constants; Key names the binding or metadata key concerned, if any.
type Error struct {
	Code    string
	Key     string
	Message string
	Err     error
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("hostwire: ")
	b.WriteString(e.Code)
	if e.Key != "" {
		b.WriteString(" (")
		b.WriteString(e.Key)
		b.WriteString(")")
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying cause, if any.
func (e *Error) Unwrap() error { return e.Err }

// HasCode reports whether err is, or wraps, an *Error with the given code.
func HasCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// Invocation is the host's request body. Data holds the trigger and input
// bindings keyed by binding name; Metadata holds the trigger's binding data
// plus "sys". Values are kept as raw JSON and decoded by the accessors.
type Invocation struct {
	Data     map[string]json.RawMessage
	Metadata map[string]json.RawMessage
}

// Decode parses an invocation body. It requires a JSON object whose "Data"
// and "Metadata" members, when present and not null, are objects; either may
// be absent (a missing one decodes as an empty map). Member names are matched
// exactly first and then case-insensitively, as the host's serializer and
// Go's encoding/json both allow.
func Decode(body []byte) (*Invocation, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, &Error{Code: CodeMalformedInvocation, Message: "empty body"}
	}
	if !utf8.Valid(body) {
		return nil, &Error{Code: CodeMalformedInvocation, Message: "body is not valid UTF-8"}
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil || top == nil {
		return nil, &Error{Code: CodeMalformedInvocation, Message: "body is not a JSON object", Err: err}
	}
	inv := &Invocation{}
	var err error
	if inv.Data, err = objectMember(top, "Data"); err != nil {
		return nil, err
	}
	if inv.Metadata, err = objectMember(top, "Metadata"); err != nil {
		return nil, err
	}
	return inv, nil
}

// DecodeRequest reads at most MaxInvocationBytes of r's body and decodes it.
func DecodeRequest(r *http.Request) (*Invocation, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxInvocationBytes+1))
	if err != nil {
		return nil, &Error{Code: CodeMalformedInvocation, Message: "reading body", Err: err}
	}
	if len(body) > MaxInvocationBytes {
		return nil, &Error{Code: CodeInvocationTooLarge, Message: fmt.Sprintf("body exceeds %d bytes", MaxInvocationBytes)}
	}
	return Decode(body)
}

func objectMember(top map[string]json.RawMessage, name string) (map[string]json.RawMessage, error) {
	raw, ok := lookup(top, name)
	out := map[string]json.RawMessage{}
	if !ok || isNull(raw) {
		return out, nil
	}
	if err := json.Unmarshal(raw, &out); err != nil || out == nil {
		return nil, &Error{Code: CodeMalformedInvocation, Key: name, Message: name + " is not a JSON object", Err: err}
	}
	return out, nil
}

// lookup finds key exactly, then case-insensitively (first match in sorted
// order, so the result is deterministic).
func lookup(m map[string]json.RawMessage, key string) (json.RawMessage, bool) {
	if v, ok := m[key]; ok {
		return v, true
	}
	found := ""
	for k := range m {
		if strings.EqualFold(k, key) && (found == "" || k < found) {
			found = k
		}
	}
	if found == "" {
		return nil, false
	}
	return m[found], true
}

func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(bytes.TrimSpace(raw)) == "null"
}

// Binding returns the raw JSON of Data[name].
func (inv *Invocation) Binding(name string) (json.RawMessage, bool) {
	return lookup(inv.Data, name)
}

// MetadataString decodes Metadata[key] with the host's scalar rule:
// unmarshal to a string, and if that string is itself a JSON string,
// unmarshal again. A JSON number or bool (or such a value inside a string)
// is returned as its text. ok is false when the key is absent or null.
func (inv *Invocation) MetadataString(key string) (value string, ok bool, err error) {
	raw, present := lookup(inv.Metadata, key)
	if !present || isNull(raw) {
		return "", false, nil
	}
	s, err := scalarString(raw)
	if err != nil {
		return "", false, &Error{Code: CodeInvalidMetadata, Key: key, Message: "not a scalar", Err: err}
	}
	return s, true, nil
}

// scalarString implements the scalar rule on one raw JSON value.
func scalarString(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", errors.New("empty value")
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", err
		}
		return unquoteOnce(s), nil
	case '{', '[':
		return "", errors.New("value is an object or array")
	default: // number, true, false
		if !json.Valid(raw) {
			return "", errors.New("invalid JSON")
		}
		return string(raw), nil
	}
}

// unquoteOnce returns the content of s if s is itself a JSON string literal,
// otherwise s unchanged.
func unquoteOnce(s string) string {
	t := strings.TrimSpace(s)
	if len(t) >= 2 && t[0] == '"' && t[len(t)-1] == '"' {
		var inner string
		if json.Unmarshal([]byte(t), &inner) == nil {
			return inner
		}
	}
	return s
}

// unwrapJSONString turns a value that is a JSON string holding JSON (the
// host's double encoding of objects) into the inner JSON; anything else is
// returned unchanged.
func unwrapJSONString(raw json.RawMessage) json.RawMessage {
	raw = bytes.TrimSpace(raw)
	for range 2 {
		if len(raw) == 0 || raw[0] != '"' {
			return raw
		}
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return raw
		}
		inner := bytes.TrimSpace([]byte(s))
		if !json.Valid(inner) {
			return raw
		}
		raw = inner
	}
	return raw
}
