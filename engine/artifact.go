package engine

import (
	"encoding/json"
	"mime"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ArtifactData is what of an artifact's content may leave the engine. Text
// (a text/* media type, JSON, YAML, XML, or any valid UTF-8) has every
// secret the redactor knows replaced, as written raw, JSON-escaped or
// Go-quoted; other content cannot be redacted without breaking it, so
// content holding a secret is withheld whole (nil, true).
func ArtifactData(r *Redactor, mediaType string, data []byte) (_ []byte, withheld bool) {
	if r == nil || len(data) == 0 {
		return data, false
	}
	forms := r.secretForms()
	if len(forms) == 0 {
		return data, false
	}
	s := string(data)
	if !containsAny(s, forms) {
		return data, false
	}
	if !isText(mediaType) && !utf8.Valid(data) {
		return nil, true
	}
	pairs := make([]string, 0, 2*len(forms))
	for _, f := range forms {
		pairs = append(pairs, f, Redacted)
	}
	return []byte(strings.NewReplacer(pairs...).Replace(s)), false
}

// secretForms is every known secret as text may hold it: raw, escaped in a
// JSON string, escaped in a Go or HCL string; longest first, so that a
// secret that contains another is replaced whole.
func (r *Redactor) secretForms() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	seen := map[string]bool{}
	var out []string
	for s := range r.secrets {
		forms := []string{s, strings.Trim(strconv.Quote(s), `"`)}
		if q, err := json.Marshal(s); err == nil {
			forms = append(forms, string(q[1:len(q)-1]))
		}
		for _, f := range forms {
			if !seen[f] {
				seen[f] = true
				out = append(out, f)
			}
		}
	}
	pairs := make([]string, 0, 2*len(out))
	for _, f := range out {
		pairs = append(pairs, f, "")
	}
	sortLongestFirst(pairs)
	for i := range out {
		out[i] = pairs[2*i]
	}
	return out
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// isText tells media types whose content is text.
func isText(mediaType string) bool {
	mt, _, err := mime.ParseMediaType(mediaType)
	if err != nil {
		return false
	}
	switch {
	case strings.HasPrefix(mt, "text/"),
		strings.HasSuffix(mt, "+json"), strings.HasSuffix(mt, "+xml"), strings.HasSuffix(mt, "+yaml"):
		return true
	}
	switch mt {
	case "application/json", "application/x-ndjson", "application/xml", "application/yaml",
		"application/x-yaml", "application/toml", "application/javascript":
		return true
	}
	return false
}
