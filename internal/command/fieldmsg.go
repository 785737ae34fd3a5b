package command

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
)

// describeLeaf names the field a schema violation is about and says what is
// wrong with it, in words a sender can act on. A missing or unknown member is
// reported at that member's path (data.changes, data.force), not at the
// object holding it, so the field path always points at what to fix.
func describeLeaf(prefix string, l *jsonschema.ValidationError) (field, text string) {
	at := fieldPath(prefix, l.InstanceLocation)
	switch k := l.ErrorKind.(type) {
	case *kind.Required:
		return fieldPath(at, []string{k.Missing[0]}), "required" + more("missing", k.Missing)
	case *kind.AdditionalProperties:
		// The validator lists them in map order; sort for a stable message.
		props := slices.Sorted(slices.Values(k.Properties))
		return fieldPath(at, []string{props[0]}), "unknown field" + more("unknown", props)
	case *kind.Enum:
		return at, "must be one of " + joinValues(k.Want)
	case *kind.Const:
		return at, "must be " + jsonValue(k.Want)
	case *kind.Type:
		return at, fmt.Sprintf("must be %s (got %s)", withArticle(strings.Join(k.Want, " or ")), k.Got)
	case *kind.MinLength:
		return at, fmt.Sprintf("must be at least %d character(s) long (got %d)", k.Want, k.Got)
	case *kind.MaxLength:
		return at, fmt.Sprintf("must be at most %d character(s) long (got %d)", k.Want, k.Got)
	case *kind.MinItems:
		return at, fmt.Sprintf("must have at least %d item(s) (got %d)", k.Want, k.Got)
	case *kind.MaxItems:
		return at, fmt.Sprintf("must have at most %d item(s) (got %d)", k.Want, k.Got)
	case *kind.MinProperties:
		return at, fmt.Sprintf("must have at least %d member(s) (got %d)", k.Want, k.Got)
	case *kind.MaxProperties:
		return at, fmt.Sprintf("must have at most %d member(s) (got %d)", k.Want, k.Got)
	case *kind.Pattern:
		return at, fmt.Sprintf("%s does not match the pattern %s", jsonValue(k.Got), k.Want)
	}
	return at, l.ErrorKind.LocalizedString(printer)
}

// more lists the members after the first one of a missing/unknown group.
func more(what string, names []string) string {
	if len(names) < 2 {
		return ""
	}
	return fmt.Sprintf(" (also %s: %s)", what, strings.Join(names[1:], ", "))
}

func joinValues(vs []any) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = jsonValue(v)
	}
	return strings.Join(parts, ", ")
}

// jsonValue renders a schema value as JSON, strings in single quotes as the
// contract's prose does ('P180D').
func jsonValue(v any) string {
	if s, ok := v.(string); ok {
		return "'" + s + "'"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func withArticle(typ string) string {
	switch {
	case typ == "":
		return typ
	case strings.ContainsRune("aeiou", rune(typ[0])):
		return "an " + typ
	}
	return "a " + typ
}
