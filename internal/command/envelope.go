package command

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	ce "github.com/cloudevents/sdk-go/v2/event"
)

// MaxBodyBytes is the largest command body accepted (docs/contract.md §2: 64 KiB).
const MaxBodyBytes = 64 << 10

// MaxDepth is the deepest JSON nesting accepted in a command body. The
// deepest legitimate path (data.changes.accessDetails.unifiedRoles[i]) is at
// depth 6.
const MaxDepth = 16

// Envelope is a command's CloudEvent after the envelope checks, with its
// data not yet interpreted.
type Envelope struct {
	// ID is the operation id.
	ID     string
	Source string
	Type   string
	// Subject is empty when the event has none.
	Subject string
	// Time is the zero time when the event has none.
	Time time.Time
	// DataContentType is empty when the event has none (JSON is implied).
	DataContentType string
	// Extensions holds extension attributes (string, int32 or bool values as
	// the CloudEvents SDK decodes them).
	Extensions map[string]any
	// Data is the raw JSON object of the data attribute.
	Data json.RawMessage
	// ContentHash is the hex SHA-256 of the canonical JSON of
	// [type, source, data] with object keys sorted and no insignificant
	// whitespace. It ignores id, time, subject and extensions, so a
	// redelivery or a resend with a new time hashes equally, while any change
	// of what is asked for does not.
	ContentHash string

	event ce.Event
	data  any // decoded data (json.Number for numbers), reused by Decode
}

// CloudEvent returns the CloudEvents SDK's view of the command.
func (e *Envelope) CloudEvent() ce.Event { return e.event.Clone() }

// ParseEnvelope checks a command body against docs/contract.md §2 and the envelope
// schema (schemas/envelope.json): at most 64 KiB of UTF-8 (no byte order
// mark) holding one JSON object nested at most MaxDepth deep with no
// duplicate member names; specversion "1.0"; id of 1-128 characters of
// [A-Za-z0-9._:-]; non-empty source and type; data a JSON object;
// datacontenttype, if present, application/json. Attributes other than the
// CloudEvents context attributes are allowed only as extension attributes:
// names of 1-20 lower-case letters or digits (the CloudEvents naming rule)
// with string, integer or boolean values; anything else, including
// data_base64, is refused. Every failure is a *Error with Code
// op.CodeInvalidCommand and Stage StageEnvelope. Reserved ids (gdapflow.*)
// pass: a commands-queue message is parsed with ParseCommandsEnvelope.
func ParseEnvelope(body []byte) (*Envelope, error) {
	sc, err := loadSchemas()
	if err != nil {
		return nil, fmt.Errorf("command: schemas: %w", err)
	}
	if err := checkEncoding(body); err != nil {
		return nil, err
	}
	doc, err := decodeStrict(body)
	if err != nil {
		return nil, err
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return nil, envelopeErr("", "body is not a JSON object")
	}
	if err := checkAttributeNames(obj); err != nil {
		return nil, err
	}
	if err := sc.envelope.Validate(doc); err != nil {
		field, msg := schemaError(err, "")
		return nil, envelopeErr(field, limit(msg))
	}

	var ev ce.Event
	if err := json.Unmarshal(body, &ev); err != nil {
		return nil, envelopeErr("", limit("not a CloudEvent: "+err.Error()))
	}
	if err := ev.Validate(); err != nil {
		return nil, envelopeErr("", limit("not a valid CloudEvent: "+oneLine(err.Error())))
	}

	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil { // unreachable after decodeStrict
		return nil, envelopeErr("", "body is not a JSON object")
	}
	env := &Envelope{
		ID:              ev.ID(),
		Source:          ev.Source(),
		Type:            ev.Type(),
		Subject:         ev.Subject(),
		Time:            ev.Time(),
		DataContentType: ev.DataContentType(),
		Extensions:      ev.Extensions(),
		Data:            bytes.TrimSpace(raw["data"]),
		event:           ev,
		data:            obj["data"],
	}
	env.ContentHash, err = contentHash(env.Type, env.Source, env.data)
	if err != nil {
		return nil, envelopeErr("data", err.Error())
	}
	return env, nil
}

// contextAttributes are the CloudEvents 1.0 context attributes plus data.
var contextAttributes = map[string]bool{
	"specversion": true, "id": true, "source": true, "type": true, "datacontenttype": true,
	"dataschema": true, "subject": true, "time": true, "data": true,
}

// checkAttributeNames refuses data_base64 and attribute names that are
// neither context attributes nor valid extension names, with a clearer
// message than the schema's propertyNames rule (which says the same).
func checkAttributeNames(obj map[string]any) error {
	names := make([]string, 0, len(obj))
	for k := range obj {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		switch {
		case contextAttributes[k]:
		case k == "data_base64":
			return envelopeErr("data_base64", "binary data is not accepted; data must be a JSON object")
		case !validExtensionName(k):
			return envelopeErr(limit(k), "unknown attribute (extension attribute names are 1-20 lower-case letters or digits)")
		}
	}
	return nil
}

// validExtensionName applies the CloudEvents naming rule for attributes.
func validExtensionName(k string) bool {
	if len(k) == 0 || len(k) > 20 {
		return false
	}
	for i := 0; i < len(k); i++ {
		if c := k[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// checkEncoding enforces size, UTF-8 and the absence of a byte order mark.
func checkEncoding(body []byte) error {
	switch {
	case len(body) == 0:
		return envelopeErr("", "empty body")
	case len(body) > MaxBodyBytes:
		return envelopeErr("", fmt.Sprintf("body of %d bytes exceeds %d bytes", len(body), MaxBodyBytes))
	case bytes.HasPrefix(body, []byte{0xEF, 0xBB, 0xBF}):
		return envelopeErr("", "UTF-8 byte order mark not allowed")
	case bytes.HasPrefix(body, []byte{0xFE, 0xFF}), bytes.HasPrefix(body, []byte{0xFF, 0xFE}):
		return envelopeErr("", "UTF-16 is not supported; send UTF-8")
	case bytes.IndexByte(body, 0) >= 0:
		return envelopeErr("", "NUL byte in body (UTF-16 or UTF-32?); send UTF-8")
	case !utf8.Valid(body):
		return envelopeErr("", "body is not valid UTF-8")
	}
	return nil
}

// decodeStrict decodes exactly one JSON value, with numbers as json.Number,
// refusing nesting deeper than MaxDepth and duplicate member names (which
// different JSON parsers resolve differently).
func decodeStrict(body []byte) (any, error) {
	if v, ok := decodePlain(body); ok {
		return v, nil
	}
	return decodeTokens(body)
}

// decodePlain is decodeStrict's fast path for bodies that plainShape vouches
// for: one Decode, without json.Decoder.Token, which allocates an error for
// every scalar. ok is false when it cannot vouch; decodeTokens then decides.
func decodePlain(body []byte) (v any, ok bool) {
	if !json.Valid(body) || !plainShape(body) {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil { // unreachable after json.Valid
		return nil, false
	}
	return v, true
}

// decodeTokens is decodeStrict token by token: it alone decides what is
// refused, and with which message.
func decodeTokens(body []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	v, err := readValue(dec, 0, "")
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, envelopeErr("", "trailing data after the JSON object")
	}
	return v, nil
}

// maxPlainMembers bounds the member names plainShape compares pairwise in
// one object; a larger object is left to readValue and its map.
const maxPlainMembers = 64

// plainShape reports whether body, which must be valid JSON, certainly nests
// at most MaxDepth deep and has no duplicate member names. It compares names
// as raw bytes, so it answers false (undecided, not refused) for a name with
// an escape or invalid UTF-8, which decoding could turn into a duplicate, and
// for an object with more than maxPlainMembers names.
func plainShape(body []byte) bool {
	var (
		buf    [32][]byte
		names  = buf[:0]     // member names of the open objects, innermost last
		starts [MaxDepth]int // starts[d]: index in names of the first name of the container open at depth d+1
		depth  int
	)
	for i := 0; i < len(body); {
		switch c := body[i]; c {
		case '{', '[':
			if depth == MaxDepth {
				return false
			}
			starts[depth] = len(names)
			depth++
			i++
		case '}', ']':
			if depth == 0 {
				return false
			}
			depth--
			names = names[:starts[depth]]
			i++
		case '"':
			end := stringEnd(body, i)
			if end < 0 {
				return false
			}
			j := end
			for j < len(body) && (body[j] == ' ' || body[j] == '\t' || body[j] == '\n' || body[j] == '\r') {
				j++
			}
			if j < len(body) && body[j] == ':' {
				if depth == 0 {
					return false
				}
				name := body[i+1 : end-1]
				open := names[starts[depth-1]:]
				if len(open) == maxPlainMembers || bytes.IndexByte(name, '\\') >= 0 || !utf8.Valid(name) {
					return false
				}
				for _, prev := range open {
					if bytes.Equal(prev, name) {
						return false
					}
				}
				names = append(names, name)
			}
			i = end
		default:
			i++
		}
	}
	return depth == 0
}

// stringEnd returns the index just after the closing quote of the JSON
// string starting at body[start], or -1 if it is not closed.
func stringEnd(body []byte, start int) int {
	for i := start + 1; i < len(body); i++ {
		switch body[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return -1
}

func readValue(dec *json.Decoder, depth int, path string) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, envelopeErr(path, limit("malformed JSON: "+err.Error()))
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return tok, nil
	}
	if depth+1 > MaxDepth {
		return nil, envelopeErr(path, fmt.Sprintf("JSON nested deeper than %d levels", MaxDepth))
	}
	switch d {
	case '{':
		obj := map[string]any{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, envelopeErr(path, limit("malformed JSON: "+err.Error()))
			}
			k, _ := kt.(string)
			child := k
			if path != "" {
				child = path + "." + k
			}
			if _, dup := obj[k]; dup {
				return nil, envelopeErr(limit(child), "duplicate member name")
			}
			v, err := readValue(dec, depth+1, child)
			if err != nil {
				return nil, err
			}
			obj[k] = v
		}
		if _, err := dec.Token(); err != nil {
			return nil, envelopeErr(path, limit("malformed JSON: "+err.Error()))
		}
		return obj, nil
	case '[':
		arr := []any{}
		for i := 0; dec.More(); i++ {
			v, err := readValue(dec, depth+1, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		if _, err := dec.Token(); err != nil {
			return nil, envelopeErr(path, limit("malformed JSON: "+err.Error()))
		}
		return arr, nil
	default:
		return nil, envelopeErr(path, "malformed JSON")
	}
}

// contentHash hashes the canonical JSON of [type, source, data].
func contentHash(typ, source string, data any) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	// encoding/json sorts map keys and writes json.Number verbatim.
	if err := enc.Encode([]any{typ, source, data}); err != nil {
		return "", err
	}
	sum := sha256.Sum256(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
	return hex.EncodeToString(sum[:]), nil
}

// limit bounds a message so that hostile input cannot bloat events and logs.
func limit(s string) string {
	const max = 512
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
