package view

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Escaping wraps a stream for people so that text from steps and plugins
// (log lines, summaries, diagnostics) cannot drive the terminal: every
// control character but newline and tab, and every escape sequence but
// SGR colour (ESC [ digits m), is written visibly, as \x1b, \r or \u009b.
// Without it a step could set the window title (OSC 0), plant a link
// (OSC 8), clear the screen, move the cursor, or overwrite a line with a
// carriage return, in CI logs and in `runs logs` as in a terminal.
func Escaping(w io.Writer) io.Writer {
	if _, ok := w.(escaping); ok || w == nil {
		return w
	}
	return escaping{w}
}

// unescaped is the stream Escaping wraps: the live view draws its panel
// (cursor moves) on it.
func unescaped(w io.Writer) io.Writer {
	if e, ok := w.(escaping); ok {
		return e.w
	}
	return w
}

type escaping struct{ w io.Writer }

func (e escaping) Write(p []byte) (int, error) {
	if _, err := io.WriteString(e.w, EscapeControls(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// EscapeControls is s with its control characters and escape sequences
// made visible, SGR colour sequences kept.
func EscapeControls(s string) string {
	if !hasControls(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if n := sgrLen(s[i:]); n > 0 {
			b.WriteString(s[i : i+n])
			i += n
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '\n' || r == '\t':
			b.WriteRune(r)
		case r == '\r':
			b.WriteString(`\r`)
		case r == utf8.RuneError && size == 1, r < 0x20, r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r >= 0x80 && r <= 0x9f: // C1 controls: CSI, OSC as one character
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func hasControls(s string) bool {
	for _, r := range s {
		if r < 0x20 && r != '\n' && r != '\t' || r >= 0x7f && r <= 0x9f || r == utf8.RuneError {
			return true
		}
	}
	return false
}

// sgrLen is the length of the SGR sequence s starts with (ESC [ digits
// and semicolons, m), or 0.
func sgrLen(s string) int {
	if !strings.HasPrefix(s, "\x1b[") {
		return 0
	}
	for i := 2; i < len(s); i++ {
		switch c := s[i]; {
		case c == 'm':
			return i + 1
		case c >= '0' && c <= '9', c == ';', c == ':':
		default:
			return 0
		}
	}
	return 0
}
