package sdk

import (
	"fmt"
	"strings"

	"github.com/zclconf/go-cty/cty"

	"github.com/pipectl/pipectl/sdk/internal/wire"
)

// Sensitive is the cty mark of a sensitive value, used on both sides of the
// wire: v.Mark(sdk.Sensitive). Only this mark crosses the wire.
const Sensitive = wire.SensitiveMark

// Severity of a diagnostic.
type Severity int

const (
	Error Severity = iota + 1
	Warning
)

func (s Severity) String() string {
	switch s {
	case Error:
		return "error"
	case Warning:
		return "warning"
	}
	return fmt.Sprintf("Severity(%d)", int(s))
}

// Diagnostic is a problem an action reports: Summary is one short sentence,
// Detail says how to fix it, Attribute points into the step's config (nil
// when the problem is not one attribute's).
type Diagnostic struct {
	Severity        Severity
	Summary, Detail string
	Attribute       cty.Path
}

func (d Diagnostic) Error() string {
	var b strings.Builder
	b.WriteString(d.Severity.String())
	if len(d.Attribute) > 0 {
		b.WriteString(" in ")
		b.WriteString(FormatPath(d.Attribute))
	}
	b.WriteString(": ")
	b.WriteString(d.Summary)
	if d.Detail != "" {
		b.WriteString(": ")
		b.WriteString(d.Detail)
	}
	return b.String()
}

// Diagnostics is a list of problems, errors and warnings mixed.
type Diagnostics []Diagnostic

// HasErrors reports whether any diagnostic is an error.
func (ds Diagnostics) HasErrors() bool {
	for _, d := range ds {
		if d.Severity == Error {
			return true
		}
	}
	return false
}

// Append adds diagnostics.
func (ds *Diagnostics) Append(more ...Diagnostic) { *ds = append(*ds, more...) }

// AddError adds an error not tied to one attribute.
func (ds *Diagnostics) AddError(summary, detail string) {
	ds.Append(Diagnostic{Severity: Error, Summary: summary, Detail: detail})
}

// AddWarning adds a warning not tied to one attribute.
func (ds *Diagnostics) AddWarning(summary, detail string) {
	ds.Append(Diagnostic{Severity: Warning, Summary: summary, Detail: detail})
}

// AddAttributeError adds an error about the attribute at path, e.g.
// cty.GetAttrPath("url").
func (ds *Diagnostics) AddAttributeError(path cty.Path, summary, detail string) {
	ds.Append(Diagnostic{Severity: Error, Summary: summary, Detail: detail, Attribute: path})
}

// AddAttributeWarning adds a warning about the attribute at path: a
// deprecated argument, a value that works but is probably a mistake.
func (ds *Diagnostics) AddAttributeWarning(path cty.Path, summary, detail string) {
	ds.Append(Diagnostic{Severity: Warning, Summary: summary, Detail: detail, Attribute: path})
}

// Err is the errors joined as one error, or nil when there are none.
func (ds Diagnostics) Err() error {
	var msgs []string
	for _, d := range ds {
		if d.Severity == Error {
			msgs = append(msgs, d.Error())
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	return fmt.Errorf("%s", strings.Join(msgs, "; "))
}

// FormatPath renders a path the way it is written in HCL: retry.attempts,
// headers["X-Token"], targets[0].
func FormatPath(path cty.Path) string {
	var b strings.Builder
	for _, step := range path {
		switch s := step.(type) {
		case cty.GetAttrStep:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s.Name)
		case cty.IndexStep:
			switch {
			case !s.Key.IsKnown() || s.Key.IsNull():
				b.WriteString("[?]")
			case s.Key.Type() == cty.String:
				fmt.Fprintf(&b, "[%q]", s.Key.AsString())
			case s.Key.Type() == cty.Number:
				fmt.Fprintf(&b, "[%s]", s.Key.AsBigFloat().Text('f', -1))
			default:
				b.WriteString("[...]")
			}
		}
	}
	return b.String()
}
