package engine

import (
	"bytes"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/pipectl/pipectl/dsl"
)

func TestArtifactDataRedactsTextAndWithholdsBinary(t *testing.T) {
	r := NewRedactor()
	r.AddValue(cty.StringVal(`p&ss"word`).Mark(dsl.SensitiveMark))
	cases := []struct {
		name, mediaType string
		data            []byte
		want            string
		withheld        bool
	}{
		{"markdown", "text/markdown", []byte("token p&ss\"word here"), "token (sensitive value) here", false},
		{"json escaped", "application/json", []byte(`{"t":"p\u0026ss\"word"}`), `{"t":"(sensitive value)"}`, false},
		{"no secret", "application/octet-stream", []byte{0xff, 0x00, 'x'}, "\xff\x00x", false},
		{"binary with secret", "application/octet-stream", append([]byte{0xff, 0xfe}, "p&ss\"word"...), "", true},
		{"utf-8 of unknown type", "application/x-whatever", []byte("p&ss\"word"), "(sensitive value)", false},
	}
	for _, c := range cases {
		got, withheld := ArtifactData(r, c.mediaType, c.data)
		if withheld != c.withheld || !bytes.Equal(got, []byte(c.want)) && !(c.withheld && got == nil) {
			t.Errorf("%s: got %q withheld=%v, want %q withheld=%v", c.name, got, withheld, c.want, c.withheld)
		}
	}
}
