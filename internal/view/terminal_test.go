package view

import "testing"

func TestEscapeControlsKeepsOnlySGR(t *testing.T) {
	for in, want := range map[string]string{
		"plain\ttext\n":                   "plain\ttext\n",
		"\x1b[31mred\x1b[0m":              "\x1b[31mred\x1b[0m",
		"\x1b]0;title\x07":                `\x1b]0;title\x07`,
		"\x1b]8;;http://x\x1b\\a\x1b]8;;": `\x1b]8;;http://x\x1b\a\x1b]8;;`,
		"\x1b[2J\x1b[H\x1b[1A":            `\x1b[2J\x1b[H\x1b[1A`,
		"ok\rFAKE\x00\x7f":                `ok\rFAKE\x00\x7f`,
		"\u009b2J café":                   `\u009b2J café`,
		"bad \xff byte":                   `bad \xff byte`,
	} {
		if got := EscapeControls(in); got != want {
			t.Errorf("EscapeControls(%q) = %q, want %q", in, got, want)
		}
	}
}
