package engine

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/pipectl/pipectl/dsl"
)

// Redacted replaces a sensitive value wherever pipectl shows or records one.
const Redacted = "(sensitive value)"

// minSecretLen keeps one- and two-character values out of the redactor:
// replacing every "1" or "ok" in every log line would destroy the logs
// without protecting anything worth protecting.
const minSecretLen = 3

// Redactor knows every sensitive value a run has seen — sensitive
// variables, sensitive config attributes, sensitive outputs — and removes
// them from any text before it reaches a terminal, a log, a plan file or a
// record. Plugins may print a secret they were given; this is the last
// line of defence. Safe for concurrent use.
type Redactor struct {
	mu       sync.RWMutex
	secrets  map[string]struct{}
	replacer *strings.Replacer
	masker   *strings.Replacer
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
		if _, ok := r.secrets[s]; !ok && len(s) >= minSecretLen {
			r.secrets[s] = struct{}{}
			r.replacer, r.masker = nil, nil
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
	r.mu.RLock()
	rep := r.replacer
	n := len(r.secrets)
	r.mu.RUnlock()
	if n == 0 {
		return s
	}
	if rep == nil {
		rep = r.build()
	}
	return rep.Replace(s)
}

// build makes the replacer, longest secrets first so that a secret that
// contains another is replaced whole.
func (r *Redactor) build() *strings.Replacer {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.replacer != nil {
		return r.replacer
	}
	secrets := make([]string, 0, len(r.secrets))
	for s := range r.secrets {
		secrets = append(secrets, s)
	}
	sort.Slice(secrets, func(i, j int) bool { return len(secrets[i]) > len(secrets[j]) })
	pairs := make([]string, 0, 2*len(secrets))
	for _, s := range secrets {
		pairs = append(pairs, s, Redacted)
	}
	r.replacer = strings.NewReplacer(pairs...)
	return r.replacer
}

// Contains reports whether s holds a secret the redactor knows.
func (r *Redactor) Contains(s string) bool { return r.String(s) != s }

// Mask hides every known secret in a source file's bytes, as it is written
// there (raw, or escaped as a JSON string), behind asterisks of the same
// length: the positions of diagnostics in the file stay right, so a
// snippet can be shown without the secret on the same line.
func (r *Redactor) Mask(src []byte) []byte {
	if r == nil {
		return src
	}
	r.mu.Lock()
	if r.masker == nil {
		var pairs []string
		for s := range r.secrets {
			forms := []string{s}
			if q, err := json.Marshal(s); err == nil {
				forms = append(forms, string(q[1:len(q)-1])) // \u0026 for &
			}
			forms = append(forms, strings.Trim(strconv.Quote(s), `"`)) // \" and \\ as in HCL
			for _, f := range forms {
				pairs = append(pairs, f, strings.Repeat("*", len(f)))
			}
		}
		sortLongestFirst(pairs)
		r.masker = strings.NewReplacer(pairs...)
	}
	m := r.masker
	r.mu.Unlock()
	return []byte(m.Replace(string(src)))
}

// sortLongestFirst sorts old/new pairs by the length of old, longest first.
func sortLongestFirst(pairs []string) {
	type pair struct{ old, new string }
	ps := make([]pair, 0, len(pairs)/2)
	for i := 0; i < len(pairs); i += 2 {
		ps = append(ps, pair{pairs[i], pairs[i+1]})
	}
	sort.SliceStable(ps, func(i, j int) bool { return len(ps[i].old) > len(ps[j].old) })
	for i, p := range ps {
		pairs[2*i], pairs[2*i+1] = p.old, p.new
	}
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
