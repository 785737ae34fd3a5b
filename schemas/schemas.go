// Package schemas embeds gdapflow's JSON Schemas (draft 2020-12): the command
// envelope, the data of every command type and every event type. The
// command package validates incoming commands with them and the tests check
// every event the event package builds against them, so the published
// schemas and the code cannot disagree.
//
// Layout: defs.json (shared definitions), envelope.json (the command
// CloudEvent), commands/<type>.json (a command's data), events/<type>.json
// (a whole event, envelope and data). Every schema's $id is BaseURI plus its
// path, and references between them are relative.
package schemas

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"path"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// BaseURI is the prefix of every schema's $id.
const BaseURI = "https://github.com/gdapflow/gdapflow/schemas/"

// FS holds the schema files, by their path relative to this folder.
//
//go:embed defs.json envelope.json commands/*.json events/*.json
var FS embed.FS

// CommandPath returns the path in FS of the data schema of a command type.
func CommandPath(commandType string) string { return "commands/" + commandType + ".json" }

// EventPath returns the path in FS of the schema of an event type.
func EventPath(eventType string) string { return "events/" + eventType + ".json" }

// EnvelopePath is the path in FS of the command envelope schema.
const EnvelopePath = "envelope.json"

// NewCompiler returns a JSON Schema compiler that knows every embedded
// schema under its $id and asserts "format" (date-time, uri, ...).
func NewCompiler() (*jsonschema.Compiler, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	err := fs.WalkDir(FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".json" {
			return err
		}
		b, err := FS.ReadFile(p)
		if err != nil {
			return err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return fmt.Errorf("schemas: %s: %w", p, err)
		}
		return c.AddResource(BaseURI+p, doc)
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Paths lists the schema files in FS, sorted.
func Paths() []string {
	var out []string
	_ = fs.WalkDir(FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && path.Ext(p) == ".json" {
			out = append(out, p)
		}
		return nil
	})
	return out
}
