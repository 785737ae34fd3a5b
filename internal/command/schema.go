package command

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/gdapflow/gdapflow/schemas"
)

// printer renders schema errors in English.
var printer = message.NewPrinter(language.English)

// compiled holds the schemas, compiled once on first use.
type compiled struct {
	envelope *jsonschema.Schema
	data     map[string]*jsonschema.Schema
}

var (
	schemaOnce sync.Once
	schemaSet  *compiled
	schemaErr  error
)

// loadSchemas compiles the envelope schema and the data schema of every
// command type. A failure is a build defect (the schemas are embedded), and
// is reported by every parse.
func loadSchemas() (*compiled, error) {
	schemaOnce.Do(func() {
		c, err := schemas.NewCompiler()
		if err != nil {
			schemaErr = err
			return
		}
		out := &compiled{data: map[string]*jsonschema.Schema{}}
		if out.envelope, err = c.Compile(schemas.BaseURI + schemas.EnvelopePath); err != nil {
			schemaErr = err
			return
		}
		for _, t := range Types() {
			s, err := c.Compile(schemas.BaseURI + schemas.CommandPath(t))
			if err != nil {
				schemaErr = err
				return
			}
			out.data[t] = s
		}
		schemaSet = out
	})
	return schemaSet, schemaErr
}

// leafErrors flattens a validation error into its leaves, sorted by
// instance location so that the message is deterministic.
func leafErrors(ve *jsonschema.ValidationError) []*jsonschema.ValidationError {
	var out []*jsonschema.ValidationError
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			out = append(out, e)
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	slices.SortStableFunc(out, func(a, b *jsonschema.ValidationError) int {
		return strings.Compare(strings.Join(a.InstanceLocation, "\x00"), strings.Join(b.InstanceLocation, "\x00"))
	})
	return out
}

// schemaError turns a validation error into (field, message). prefix is the
// field path of the validated value ("" for the envelope, "data" for data).
// field is the path of the first violation (see describeLeaf); the message
// says what is wrong with it and, prefixed with their own paths, with up to
// two more fields. The caller prefixes the message with field.
func schemaError(err error, prefix string) (field, msg string) {
	ve, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return prefix, err.Error()
	}
	leaves := leafErrors(ve)
	if len(leaves) == 0 {
		return prefix, ve.Error()
	}
	field, _ = describeLeaf(prefix, leaves[0])
	var parts []string
	for i, l := range leaves {
		if i == 3 {
			parts = append(parts, fmt.Sprintf("and %d more", len(leaves)-3))
			break
		}
		f, s := describeLeaf(prefix, l)
		if i > 0 {
			s = withField(f, s)
		}
		parts = append(parts, s)
	}
	return field, strings.Join(parts, "; ")
}

// fieldPath joins a prefix and JSON-pointer tokens as a dotted path, with
// array indexes in brackets: data.changes.accessDetails.unifiedRoles[0].roleDefinitionId.
func fieldPath(prefix string, loc []string) string {
	var b strings.Builder
	b.WriteString(prefix)
	for _, tok := range loc {
		if isIndex(tok) {
			b.WriteString("[" + tok + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(tok)
	}
	return b.String()
}

func isIndex(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
