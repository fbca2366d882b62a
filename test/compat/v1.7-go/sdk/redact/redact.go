// Package redact finds secrets in text in the shapes text holds them: as
// given, line by line, escaped (JSON, Go, YAML quotes, URL encoding),
// base64-encoded at any alignment inside a larger value, and the parts of a
// URL. pipectl redacts everything a run shows or records with it; a plugin
// uses it on what it shows of the values it was given (a diff, a log).
//
// A secret of at least MinLen bytes is found anywhere, in every form. A
// shorter one ("42", "ab") is found only as a whole token, raw: never inside
// a longer word or number, so that a one-character secret does not mask
// every "a" of every log.
package redact

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Mask is what a secret is replaced by.
const Mask = "(sensitive value)"

// MinLen is the length from which a secret, and each form of it, is found
// anywhere in a text; shorter secrets are found only as whole tokens.
const MinLen = 4

// minURLPart is the length from which a part of a sensitive URL is found
// anywhere; a shorter one ("hook" of https://example.com/hook) only as a
// whole token, so that "webhook" stays readable.
const minURLPart = 8

// Set is what to find of some secrets: every form of each, and the short
// ones as tokens. A Set does not change once made; it is safe for
// concurrent use.
type Set struct {
	forms  []string // substrings, longest first
	tokens []string // short secrets, matched as whole tokens
}

// New returns the set of every form of the secrets.
func New(secrets ...string) *Set {
	s := &Set{}
	seenForm, seenToken := map[string]bool{}, map[string]bool{}
	for _, secret := range secrets {
		forms, tokens := Forms(secret)
		for _, f := range forms {
			if !seenForm[f] {
				seenForm[f] = true
				s.forms = append(s.forms, f)
			}
		}
		for _, t := range tokens {
			if !seenToken[t] {
				seenToken[t] = true
				s.tokens = append(s.tokens, t)
			}
		}
	}
	// Longest first, so that a form that contains another is replaced whole.
	sort.SliceStable(s.forms, func(i, j int) bool { return len(s.forms[i]) > len(s.forms[j]) })
	return s
}

// Empty reports whether the set finds nothing.
func (s *Set) Empty() bool { return s == nil || len(s.forms)+len(s.tokens) == 0 }

// Longest is the length of the longest text the set finds.
func (s *Set) Longest() int {
	n := 0
	if s == nil {
		return 0
	}
	if len(s.forms) > 0 {
		n = len(s.forms[0])
	}
	for _, t := range s.tokens {
		n = max(n, len(t))
	}
	return n
}

// Replacer returns what replaces every form found by mask(form).
func (s *Set) Replacer(mask func(form string) string) *Replacer {
	pairs := make([]string, 0, 2*len(s.forms))
	for _, f := range s.forms {
		pairs = append(pairs, f, mask(f))
	}
	return &Replacer{set: s, forms: strings.NewReplacer(pairs...), mask: mask}
}

// Replacer replaces the secrets of a Set in texts.
type Replacer struct {
	set   *Set
	forms *strings.Replacer
	mask  func(string) string
}

// Replace returns text with every secret replaced.
func (r *Replacer) Replace(text string) string {
	if r == nil || r.set.Empty() {
		return text
	}
	text = r.forms.Replace(text)
	for _, t := range r.set.tokens {
		text = replaceToken(text, t, r.mask(t))
	}
	return text
}

// SafeCut returns the largest cut point not after at (and at the start of
// a character) that no secret straddles: a text cut there and redacted in
// two pieces loses no secret to the cut.
func (s *Set) SafeCut(text string, at int) int {
	at = min(max(at, 0), len(text))
	for moved := true; moved; {
		moved = false
		for _, f := range s.all() {
			if st := straddling(text, f, at); st >= 0 {
				at, moved = st, true
			}
		}
	}
	for at > 0 && at < len(text) && !utf8.RuneStart(text[at]) {
		at--
	}
	return at
}

func (s *Set) all() []string { return append(append([]string(nil), s.forms...), s.tokens...) }

// straddling is the start of an occurrence of f that begins before at and
// ends after it, or -1.
func straddling(text, f string, at int) int {
	from := max(0, at-len(f)+1)
	to := min(len(text), at+len(f)-1)
	if to-from < len(f) {
		return -1
	}
	if i := strings.Index(text[from:to], f); i >= 0 && from+i < at {
		return from + i
	}
	return -1
}

// Forms returns what to find of one secret: the substrings that reveal it,
// and, for a secret shorter than MinLen, the secret as a whole token.
//
// The substrings are the secret and each of its lines (of a multi-line
// secret: a PEM key in a YAML block scalar or a diff shows one line per
// line), each of them escaped as in a JSON, Go, YAML single- or
// double-quoted string, URL-encoded (query and path), and base64 (standard
// and URL alphabets) at each of the three alignments inside a larger
// base64 value (the characters that depend on the secret alone); and of a
// URL, its path (and each tail of it), query, query values, user info and
// fragment — those under 8 bytes as whole tokens only. Forms shorter than
// MinLen are left out.
func Forms(secret string) (forms, tokens []string) {
	if secret == "" {
		return nil, nil
	}
	if len(secret) < MinLen {
		return nil, []string{secret}
	}
	parts := append([]string{secret}, lines(secret)...)
	for _, p := range urlParts(secret) {
		switch {
		case len(p) >= minURLPart:
			parts = append(parts, p)
		case p != "":
			tokens = append(tokens, p)
		}
	}
	seen := map[string]bool{}
	for _, p := range parts {
		for _, f := range encodings(p) {
			if len(f) >= MinLen && !seen[f] {
				seen[f] = true
				forms = append(forms, f)
			}
		}
	}
	return forms, tokens
}

// lines are the lines of a multi-line secret, without their indentation.
func lines(secret string) []string {
	if !strings.ContainsAny(secret, "\r\n") {
		return nil
	}
	var out []string
	for _, l := range strings.FieldsFunc(secret, func(r rune) bool { return r == '\n' || r == '\r' }) {
		if l = strings.TrimSpace(l); len(l) >= MinLen {
			out = append(out, l)
		}
	}
	return out
}

// urlParts are the parts of a URL that may be echoed on their own (a
// server answering "no such hook: /services/T0/B0/token"): every one is
// as secret as the whole.
func urlParts(secret string) []string {
	u, err := url.Parse(secret)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil
	}
	out := []string{u.RawQuery, u.Fragment, u.EscapedPath()}
	if u.User != nil {
		pw, _ := u.User.Password()
		out = append(out, u.User.String(), u.User.Username(), pw)
	}
	for path := u.Path; path != ""; {
		out = append(out, path)
		_, path, _ = strings.Cut(path, "/")
	}
	for _, vs := range u.Query() {
		out = append(out, vs...)
	}
	return out
}

// encodings are the ways text may write p.
func encodings(p string) []string {
	escaped := []string{p, jsonEscaped(p, true), jsonEscaped(p, false), strings.Trim(strconv.Quote(p), `"`)}
	out := make([]string, 0, 2*len(escaped)+8)
	for _, e := range escaped {
		// YAML single-quoted doubles each ' (a JSON text in one: toJson | squote).
		out = append(out, e, strings.ReplaceAll(e, "'", "''"))
	}
	out = append(out, url.QueryEscape(p), url.PathEscape(p))
	return append(out, base64Forms(p)...)
}

// jsonEscaped is p as the inside of a JSON string, which is also how YAML
// double-quotes it.
func jsonEscaped(p string, escapeHTML bool) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(escapeHTML)
	_ = enc.Encode(p)
	s := strings.TrimSuffix(b.String(), "\n")
	return s[1 : len(s)-1]
}

// base64Forms are the characters of p's base64 encoding that depend on p
// alone, with p at each of the three byte offsets modulo 3 of a larger
// encoded value: character i holds bits 6i to 6i+5, so it is p's alone
// when those bits all fall within p's bytes.
func base64Forms(p string) []string {
	var out []string
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		for k := range 3 {
			full := enc.EncodeToString(append(make([]byte, k), p...))
			first, end := (8*k+5)/6, 8*(k+len(p))/6
			if end > first {
				out = append(out, full[first:end])
			}
		}
	}
	return out
}

// replaceToken replaces each whole-token occurrence of t in text: one not
// next to a letter, digit or underscore.
func replaceToken(text, t, mask string) string {
	var b strings.Builder
	rest := text
	for {
		i := strings.Index(rest, t)
		if i < 0 {
			break
		}
		before, _ := utf8.DecodeLastRuneInString(rest[:i])
		after, _ := utf8.DecodeRuneInString(rest[i+len(t):])
		if i > 0 && isWord(before) || i+len(t) < len(rest) && isWord(after) {
			b.WriteString(rest[:i+1])
			rest = rest[i+1:]
			continue
		}
		b.WriteString(rest[:i])
		b.WriteString(mask)
		rest = rest[i+len(t):]
	}
	if b.Len() == 0 {
		return text
	}
	b.WriteString(rest)
	return b.String()
}

func isWord(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }
