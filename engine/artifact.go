package engine

import (
	"mime"
	"strings"
	"unicode/utf8"
)

// ArtifactData is what of an artifact's content may leave the engine. Text
// (a text/* media type, JSON, YAML, XML, or any valid UTF-8) has every
// secret the redactor knows replaced, in every form it finds; other
// content cannot be redacted without breaking it, so content holding a
// secret is withheld whole (nil, true).
func ArtifactData(r *Redactor, mediaType string, data []byte) (_ []byte, withheld bool) {
	if r == nil || len(data) == 0 {
		return data, false
	}
	s := string(data)
	redacted := r.String(s)
	switch {
	case redacted == s:
		return data, false
	case !isText(mediaType) && !utf8.Valid(data):
		return nil, true
	}
	return []byte(redacted), false
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
