package dsl

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// MaxNesting bounds how deeply brackets, braces, parentheses, strings and
// their interpolations may nest. HCL's parser recurses once a level (tens
// of kilobytes of stack each): 100,000 nested "[" end Go with a fatal stack
// overflow after a gigabyte. No pipeline needs more than a few levels.
const MaxNesting = 256

// CheckNesting is an error at the first place where src nests deeper than
// MaxNesting, checked before HCL parses it. It follows HCL's native syntax
// closely enough to count levels (strings, interpolations, comments and
// heredocs); the parser reports any other mistake.
func CheckNesting(src []byte, filename string, start hcl.Pos) hcl.Diagnostics {
	n := nestingScan{src: src}
	off, ok := n.deepest()
	if ok {
		return nil
	}
	pos := start
	for _, c := range src[:off] { // the position of the offending opener
		pos.Byte++
		if c == '\n' {
			pos.Line, pos.Column = pos.Line+1, 1
		} else if c&0xC0 != 0x80 {
			pos.Column++
		}
	}
	end := hcl.Pos{Line: pos.Line, Column: pos.Column + 1, Byte: pos.Byte + 1}
	return hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Nested too deeply",
		Detail: fmt.Sprintf("Brackets, braces, parentheses or strings nest more than %d levels deep here; "+
			"pipectl refuses that before parsing, as it would exhaust the parser's stack. Flatten the value: "+
			"no pipeline needs this depth.", MaxNesting),
		Subject: &hcl.Range{Filename: filename, Start: pos, End: end},
	}}
}

// nestingScan walks src keeping a stack of open levels: an expression
// opener ([, (, {, ${, %{) or a quoted string.
type nestingScan struct {
	src   []byte
	stack []byte // '"' for a string, '}' ']' ')' for what closes an expression level
}

// deepest returns the offset of the opener that goes past MaxNesting, and
// false; or true when src stays within it.
func (n *nestingScan) deepest() (int, bool) {
	src := n.src
	for i := 0; i < len(src); i++ {
		c := src[i]
		if len(n.stack) > 0 && n.stack[len(n.stack)-1] == '"' { // in a string
			switch {
			case c == '\\':
				i++
			case c == '"' || c == '\n':
				n.stack = n.stack[:len(n.stack)-1]
			case (c == '$' || c == '%') && i+1 < len(src) && src[i+1] == '{':
				if !n.push('}') {
					return i, false
				}
				i++
			}
			continue
		}
		switch c {
		case '"':
			if !n.push('"') {
				return i, false
			}
		case '[':
			if !n.push(']') {
				return i, false
			}
		case '(':
			if !n.push(')') {
				return i, false
			}
		case '{':
			if !n.push('}') {
				return i, false
			}
		case ']', ')', '}':
			if len(n.stack) > 0 {
				n.stack = n.stack[:len(n.stack)-1]
			}
		case '#':
			i = eol(src, i)
		case '/':
			if i+1 < len(src) && src[i+1] == '/' {
				i = eol(src, i)
			} else if i+1 < len(src) && src[i+1] == '*' {
				i = blockCommentEnd(src, i+2)
			}
		case '<':
			if i+1 < len(src) && src[i+1] == '<' {
				i = heredocEnd(src, i+2)
			}
		}
	}
	return 0, true
}

func (n *nestingScan) push(closer byte) bool {
	n.stack = append(n.stack, closer)
	return len(n.stack) <= MaxNesting
}

// eol is the offset of the newline ending the line at i (or the end).
func eol(src []byte, i int) int {
	for i < len(src) && src[i] != '\n' {
		i++
	}
	return i
}

func blockCommentEnd(src []byte, i int) int {
	for ; i+1 < len(src); i++ {
		if src[i] == '*' && src[i+1] == '/' {
			return i + 1
		}
	}
	return len(src)
}

// heredocEnd skips a heredoc whose marker follows "<<" at i (its content
// is a template, parsed by HCL; interpolations in it are not counted), or
// returns i-1 when no marker follows (a << operator HCL will refuse).
func heredocEnd(src []byte, i int) int {
	if i < len(src) && src[i] == '-' {
		i++
	}
	start := i
	for i < len(src) && (isNameStart(src[i]) || src[i] >= '0' && src[i] <= '9' || src[i] == '-') {
		i++
	}
	marker := string(src[start:i])
	if marker == "" || i >= len(src) || src[i] != '\n' {
		return start - 1
	}
	for i < len(src) {
		lineStart := i + 1
		i = eol(src, lineStart)
		if line := string(src[lineStart:i]); strings.TrimSpace(line) == marker {
			return i
		}
	}
	return len(src)
}
