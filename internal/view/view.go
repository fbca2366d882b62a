// Package view renders what each command has to say, behind one interface
// per command with a human and a JSON implementation, as Terraform does:
// commands decide, views only present. Every text goes through the run's
// redactor first.
package view

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/hashicorp/hcl/v2"

	"github.com/pipectl/pipectl/dsl"
	"github.com/zclconf/go-cty/cty"
)

// Streams are where a view writes.
type Streams struct {
	Out, Err io.Writer
	Color    bool
	Width    uint
}

// NewStreams are the streams of a command for people, escaping the
// terminal controls of what steps and plugins print (see Escaping).
func NewStreams(out, err io.Writer, color bool, width uint) Streams {
	return Streams{Out: Escaping(out), Err: Escaping(err), Color: color, Width: width}
}

// Base is what every view shares: diagnostics, with source snippets from
// the pipeline's files, redacted.
type Base struct {
	Streams
	JSON     bool
	Files    func() map[string]*hcl.File
	Redactor Redactor
	// JSONOut is the command's JSON lines stream when JSON is set; views
	// of one command share it, so the version line comes once, first.
	JSONOut *JSONStream
}

// Redactor removes the secrets a run has seen from what views print
// (engine.Redactor); a nil one removes nothing.
type Redactor interface {
	String(s string) string
	Mask(src []byte) []byte
	Value(v cty.Value) cty.Value
	Any(v any) any
}

// redactor is the Base's Redactor, or one that removes nothing: a view
// made without one (runs) must not fail for it.
func (b *Base) redactor() Redactor {
	if b.Redactor == nil {
		return unredacted{}
	}
	return b.Redactor
}

type unredacted struct{}

func (unredacted) String(s string) string      { return s }
func (unredacted) Mask(src []byte) []byte      { return src }
func (unredacted) Value(v cty.Value) cty.Value { return v }
func (unredacted) Any(v any) any               { return v }

// Diagnostics reports problems: on stderr for people, as one JSON object
// on stdout for machines.
func (b *Base) Diagnostics(diags hcl.Diagnostics) {
	if len(diags) == 0 {
		return
	}
	diags = b.redact(diags)
	if b.JSON {
		for _, d := range dsl.DiagnosticsJSON(diags, b.files()) {
			b.emit(MsgDiagnostic, &DiagnosticMessage{Diagnostic: d})
		}
		return
	}
	_ = dsl.WriteDiagnostics(b.Err, diags, b.files(), b.Width, b.Color)
}

// files are the sources snippets are quoted from, with every known secret
// masked: a diagnostic about one value may quote a line that holds
// another (a one-line JSON var file).
func (b *Base) files() map[string]*hcl.File {
	if b.Files == nil {
		return nil
	}
	files := b.Files()
	if b.Redactor == nil {
		return files
	}
	out := make(map[string]*hcl.File, len(files))
	for name, f := range files {
		out[name] = f
		if f == nil {
			continue
		}
		if masked := b.Redactor.Mask(f.Bytes); !bytes.Equal(masked, f.Bytes) {
			c := *f
			c.Bytes = masked
			out[name] = &c
		}
	}
	return out
}

func (b *Base) redact(diags hcl.Diagnostics) hcl.Diagnostics {
	if b.Redactor == nil {
		return diags
	}
	out := make(hcl.Diagnostics, len(diags))
	for i, d := range diags {
		c := *d
		c.Summary, c.Detail = b.Redactor.String(d.Summary), b.Redactor.String(d.Detail)
		out[i] = &c
	}
	return out
}

// writeJSON writes one JSON document: the output of commands that are
// not part of the JSON lines contract (plugins show -json, a schema
// document like Terraform's providers schema -json).
func (b *Base) writeJSON(v any) {
	enc := json.NewEncoder(b.Out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		fmt.Fprintf(b.Err, "pipectl: cannot encode JSON output: %v\n", err)
	}
}

// emit writes one message of the JSON contract.
func (b *Base) emit(typ string, msg any) {
	if b.JSONOut == nil {
		b.JSONOut = NewJSONStream(b.Out, b.Err)
	}
	b.JSONOut.Write(typ, msg)
}

// Printf writes a line for people; JSON views stay silent.
func (b *Base) Printf(format string, args ...any) {
	if !b.JSON {
		fmt.Fprintf(b.Out, format, args...)
	}
}

func diagnosticsJSON(b *Base, diags hcl.Diagnostics) []dsl.DiagnosticJSON {
	return dsl.DiagnosticsJSON(b.redact(diags), b.files())
}
