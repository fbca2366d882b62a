package engine

import (
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/pipectl/pipectl/dsl"
	"github.com/pipectl/pipectl/sdk"
)

// Pieces of a line cut anywhere in a secret are emitted so that the
// redactor sees the secret whole, and nothing is lost or repeated.
func TestCutLinesNeverSplitASecret(t *testing.T) {
	const secret = "HalfOneHalfTwo"
	r := NewRedactor()
	r.AddValue(cty.StringVal(secret).Mark(dsl.SensitiveMark))
	for at := 1; at < len(secret); at++ {
		line := strings.Repeat("x", sdk.MaxLogLine-at) + secret + " tail"
		first, rest := line[:sdk.MaxLogLine], line[sdk.MaxLogLine:] // cut in the secret
		c := &cutLines{redactor: r}
		got := []string{c.line("stdout", first), c.line("stdout", rest)}
		c.flush(func(_, l string) { got = append(got, l) })
		if strings.Join(got, "") != line {
			t.Fatalf("cut at %d: pieces lost or repeated", at)
		}
		for _, l := range got {
			red := r.String(l)
			for _, half := range []string{secret[:at], secret[at:]} {
				if len(half) >= 4 && strings.Contains(red, half) {
					t.Errorf("cut at %d: a piece shows %q: …%q", at, half, red[max(0, len(red)-40):])
				}
			}
		}
	}
}
