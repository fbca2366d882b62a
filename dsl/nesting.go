package dsl

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// MaxNesting bounds how deeply brackets, braces, parentheses, strings and
// their interpolations may nest. HCL's parser recurses once a level (tens
// of kilobytes of stack each): 100,000 nested "[" end Go with a fatal stack
// overflow after a gigabyte. No pipeline needs more than a few levels.
const MaxNesting = 256

// CheckNesting is an error at the first place where src nests deeper than
// MaxNesting, checked before HCL parses it. It counts levels on HCL's own
// tokens (its scanner does not recurse), so strings, comments, heredocs and
// the interpolations inside them count exactly as the parser will nest
// them; the parser reports any other mistake.
func CheckNesting(src []byte, filename string, start hcl.Pos) hcl.Diagnostics {
	if _, ok := quickDepth(src, MaxNesting); ok {
		return nil
	}
	tokens, _ := hclsyntax.LexConfig(src, filename, start)
	if _, past := lexedDepth(tokens, MaxNesting); past != nil {
		return tooDeep(*past)
	}
	return nil
}

// lexedDepth is the deepest nesting of tokens as the parser will nest them,
// and the first token past limit (nil when none is).
func lexedDepth(tokens hclsyntax.Tokens, limit int) (deepest int, past *hcl.Range) {
	depth := 0
	for _, tok := range tokens {
		switch tok.Type {
		case hclsyntax.TokenOBrack, hclsyntax.TokenOBrace, hclsyntax.TokenOParen, hclsyntax.TokenOQuote,
			hclsyntax.TokenOHeredoc, hclsyntax.TokenTemplateInterp, hclsyntax.TokenTemplateControl:
			depth++
			if depth > limit {
				return depth, &tok.Range
			}
			deepest = max(deepest, depth)
		case hclsyntax.TokenCBrack, hclsyntax.TokenCBrace, hclsyntax.TokenCParen, hclsyntax.TokenCQuote,
			hclsyntax.TokenCHeredoc, hclsyntax.TokenTemplateSeqEnd:
			depth = max(depth-1, 0)
		}
	}
	return deepest, nil
}

func tooDeep(at hcl.Range) hcl.Diagnostics {
	return hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Nested too deeply",
		Detail: fmt.Sprintf("Brackets, braces, parentheses or strings nest more than %d levels deep here; "+
			"pipectl refuses that before parsing, as it would exhaust the parser's stack. Flatten the value: "+
			"no pipeline needs this depth.", MaxNesting),
		Subject: &at,
	}}
}

// quickDepth is the deepest nesting of src as CheckNesting counts it, found
// without HCL's lexer (whose token slice is a third of what parsing a large
// file allocates). It models the scanner's modes that matter for nesting —
// code, quoted strings, heredocs, the interpolations and directives inside
// them, comments — and gives up (ok false) on anything it does not model
// exactly (a newline in a quoted string, an unterminated block comment, a
// bracket closed by another kind, a lone carriage return, invalid UTF-8) or
// once deeper than limit: then CheckNesting lexes, and reports where.
func quickDepth(src []byte, limit int) (depth int, ok bool) {
	if !utf8.Valid(src) || loneCR(src) {
		return 0, false
	}
	s := nestScan{src: src, limit: limit, stack: []nestLevel{{}}}
	for s.i < len(src) && s.ok() {
		switch s.top().open {
		case '"':
			s.quoted()
		case '<':
			s.heredoc()
		default:
			s.code()
		}
	}
	return s.depth, s.ok()
}

type nestLevel struct {
	open   byte   // '[', '{', '(', '"', '<' (a heredoc), '$' (an interpolation or directive)
	marker []byte // a heredoc's closing marker
}

// nestScan is quickDepth's state: one step reads a token's worth of src
// in the mode the innermost level sets.
type nestScan struct {
	src          []byte
	i            int
	limit, depth int
	stack        []nestLevel
	lineStart    bool // in a heredoc, at the start of a line of its body
	failed       bool
}

func (s *nestScan) ok() bool       { return !s.failed && len(s.stack)-1 <= s.limit }
func (s *nestScan) top() nestLevel { return s.stack[len(s.stack)-1] }
func (s *nestScan) at(i int, c byte) bool {
	return i < len(s.src) && s.src[i] == c
}

func (s *nestScan) push(l nestLevel) {
	s.stack = append(s.stack, l)
	s.depth = max(s.depth, len(s.stack)-1)
}

// pop closes the innermost level if it is one of opens (a "}" closes a
// brace or an interpolation); any other closing is the lexer's to judge.
func (s *nestScan) pop(opens string) {
	if len(s.stack) == 1 || !strings.ContainsRune(opens, rune(s.top().open)) {
		s.failed = true
		return
	}
	s.stack = s.stack[:len(s.stack)-1]
}

// template reads what a quoted string and a heredoc share: $${ and %%{ are
// text, ${ and %{ open an interpolation or a directive. It says whether it
// read anything.
func (s *nestScan) template() bool {
	c := s.src[s.i]
	switch {
	case (c == '$' || c == '%') && s.at(s.i+1, c) && s.at(s.i+2, '{'):
		s.i += 3
	case (c == '$' || c == '%') && s.at(s.i+1, '{'):
		s.push(nestLevel{open: '$'})
		s.i += 2
	default:
		return false
	}
	return true
}

func (s *nestScan) quoted() {
	switch c := s.src[s.i]; {
	case s.template():
	case c == '\n' || c == '\r':
		s.failed = true // the lexer reads on in the string; a parse error anyway
	case c == '\\':
		s.i += 2
	case c == '"':
		s.pop(`"`)
		s.i++
	default:
		s.i++
	}
}

// heredoc reads a heredoc's body: a line that is its marker (spaces
// aside) closes it, and leaves the newline to the code around it.
func (s *nestScan) heredoc() {
	if s.lineStart {
		s.lineStart = false
		n := lineLength(s.src[s.i:])
		if line := s.src[s.i : s.i+n]; line[len(line)-1] == '\n' && bytes.Equal(bytes.TrimSpace(line), s.top().marker) {
			s.pop("<")
			s.i += n - 1
			return
		}
	}
	switch {
	case s.template():
	case s.src[s.i] == '\n':
		s.lineStart = true
		s.i++
	default:
		s.i++
	}
}

func (s *nestScan) code() {
	c := s.src[s.i]
	n := 1
	switch {
	case c == '#' || (c == '/' && s.at(s.i+1, '/')):
		n = lineLength(s.src[s.i:])
	case c == '/' && s.at(s.i+1, '*'):
		end := bytes.Index(s.src[s.i+2:], []byte("*/"))
		if end < 0 {
			s.failed = true // the lexer reads it as code
			return
		}
		n = end + 4
	case c == '"' || c == '[' || c == '{' || c == '(':
		s.push(nestLevel{open: c})
	case c == '<' && s.at(s.i+1, '<'):
		marker, intro, ok := heredocIntro(s.src[s.i:])
		if !ok {
			s.failed = true
			return
		}
		if intro > 0 {
			s.push(nestLevel{open: '<', marker: marker})
			n, s.lineStart = intro, true
		}
	case c == ']':
		s.pop("[")
	case c == ')':
		s.pop("(")
	case c == '}':
		s.pop("{$")
	case c == '~' && s.at(s.i+1, '}'):
		s.pop("$")
		n = 2
	}
	s.i += n
}

// loneCR says whether src has a carriage return not followed by a newline.
func loneCR(src []byte) bool {
	for rest := src; ; {
		i := bytes.IndexByte(rest, '\r')
		if i < 0 {
			return false
		}
		if i+1 == len(rest) || rest[i+1] != '\n' {
			return true
		}
		rest = rest[i+2:]
	}
}

// lineLength is the length of src's first line, its newline included.
func lineLength(src []byte) int {
	if end := bytes.IndexByte(src, '\n'); end >= 0 {
		return end + 1
	}
	return len(src)
}

// heredocIntro is the closing marker and the length of a heredoc's
// introducer (<<EOT or <<-EOT and its newline) at the start of src, or 0
// when src starts no heredoc. Its identifier is read in ASCII: ok is false
// where a non-ASCII letter could continue it (the lexer decides that).
func heredocIntro(src []byte) (marker []byte, n int, ok bool) {
	i := 2
	if i < len(src) && src[i] == '-' {
		i++
	}
	start := i
	for i < len(src) && (isNameStart(src[i]) || (i > start && (src[i] == '-' || (src[i] >= '0' && src[i] <= '9')))) {
		i++
	}
	switch {
	case i < len(src) && src[i] >= utf8.RuneSelf:
		return nil, 0, false
	case i == start:
		return nil, 0, true
	case i < len(src) && src[i] == '\n':
		return src[start:i], i + 1, true
	case i+1 < len(src) && src[i] == '\r' && src[i+1] == '\n':
		return src[start:i], i + 2, true
	}
	return nil, 0, true
}
