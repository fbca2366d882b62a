package engine

import (
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	v1 "github.com/pipectl/pipectl/api/v1"
	"github.com/pipectl/pipectl/dsl"
	"github.com/pipectl/pipectl/sdk/redact"
)

// Redacted replaces a sensitive value wherever pipectl shows or records one.
const Redacted = v1.Redacted

// Redactor knows every sensitive value a run has seen — sensitive
// variables, sensitive config attributes, sensitive outputs — and removes
// them, in every form package redact finds (escaped, encoded, line by
// line, the parts of a URL; a secret shorter than redact.MinLen only as a
// whole token), from any text before it reaches a terminal, a log, a plan
// file or a record. Plugins may print a secret they were given; this is
// the last line of defence. Safe for concurrent use.
type Redactor struct {
	mu      sync.RWMutex
	secrets map[string]struct{}
	forms   *forms // nil until needed after a secret is learnt
}

// forms is what the redactor finds of the secrets it knows at one time.
type forms struct {
	set              *redact.Set
	replacer, masker *redact.Replacer
}

// NewRedactor returns an empty redactor.
func NewRedactor() *Redactor { return &Redactor{secrets: map[string]struct{}{}} }

// AddValue learns every sensitive part of v.
func (r *Redactor) AddValue(v cty.Value) {
	var found []string
	collectSecrets(v, false, &found)
	if len(found) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range found {
		if _, ok := r.secrets[s]; !ok && s != "" {
			r.secrets[s] = struct{}{}
			r.forms = nil
		}
	}
}

func collectSecrets(v cty.Value, sensitive bool, out *[]string) {
	if v.HasMark(dsl.SensitiveMark) {
		sensitive = true
	}
	v, _ = v.Unmark()
	if v.IsNull() || !v.IsKnown() {
		return
	}
	ty := v.Type()
	switch {
	case ty == cty.String:
		if sensitive {
			*out = append(*out, v.AsString())
		}
	case ty == cty.Number:
		if sensitive {
			*out = append(*out, v.AsBigFloat().Text('f', -1))
		}
	case ty.IsListType() || ty.IsSetType() || ty.IsTupleType() || ty.IsMapType() || ty.IsObjectType():
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			collectSecrets(e, sensitive, out)
		}
	}
}

// String returns s with every known secret replaced by Redacted.
func (r *Redactor) String(s string) string {
	if r == nil {
		return s
	}
	return r.built().replacer.Replace(s)
}

// Mask hides every known secret in a source file's bytes behind asterisks
// of the same length: the positions of diagnostics in the file stay right,
// so a snippet can be shown without the secret on the same line.
func (r *Redactor) Mask(src []byte) []byte {
	if r == nil {
		return src
	}
	return []byte(r.built().masker.Replace(string(src)))
}

// Contains reports whether s holds a secret the redactor knows.
func (r *Redactor) Contains(s string) bool { return r.String(s) != s }

// Longest is the length of the longest text that reveals a known secret.
func (r *Redactor) Longest() int { return r.built().set.Longest() }

// SafeCut is the last cut point not after at that splits no known secret.
func (r *Redactor) SafeCut(s string, at int) int { return r.built().set.SafeCut(s, at) }

// built is what the redactor finds of the secrets it knows now.
func (r *Redactor) built() *forms {
	r.mu.RLock()
	f := r.forms
	r.mu.RUnlock()
	if f != nil {
		return f
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.forms == nil {
		secrets := make([]string, 0, len(r.secrets))
		for s := range r.secrets {
			secrets = append(secrets, s)
		}
		set := redact.New(secrets...)
		r.forms = &forms{set: set,
			replacer: set.Replacer(func(string) string { return Redacted }),
			masker:   set.Replacer(func(f string) string { return strings.Repeat("*", len(f)) }),
		}
	}
	return r.forms
}

// Value replaces every known secret in the strings of v, before v is
// formatted (formatting escapes characters such as " and &, after which the
// raw secret would no longer be found).
func (r *Redactor) Value(v cty.Value) cty.Value {
	v, marks := v.UnmarkDeepWithPaths()
	out, _ := cty.Transform(v, func(_ cty.Path, e cty.Value) (cty.Value, error) {
		if e.IsKnown() && !e.IsNull() && e.Type() == cty.String {
			if s := e.AsString(); r.Contains(s) {
				return cty.StringVal(r.String(s)), nil
			}
		}
		return e, nil
	})
	return out.MarkWithPaths(marks)
}

// Any redacts every string inside a JSON-like value (maps, slices, strings).
func (r *Redactor) Any(v any) any {
	switch v := v.(type) {
	case string:
		return r.String(v)
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = r.Any(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = r.Any(e)
		}
		return out
	}
	return v
}

// Diagnostics returns copies of diags with summaries and details redacted.
// (Snippets are quoted from the source by whoever renders them, which
// redacts them there.)
func (r *Redactor) Diagnostics(diags hcl.Diagnostics) hcl.Diagnostics {
	if len(diags) == 0 {
		return diags
	}
	out := make(hcl.Diagnostics, len(diags))
	for i, d := range diags {
		c := *d
		c.Summary, c.Detail = r.String(d.Summary), r.String(d.Detail)
		out[i] = &c
	}
	return out
}
