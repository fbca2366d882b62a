package dsl

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Brackets in comments, strings and heredocs are text, not nesting: only
// real levels count towards MaxNesting.
func TestCheckNestingCountsOnlyLevels(t *testing.T) {
	deep := strings.Repeat("[", MaxNesting+1)
	for name, src := range map[string]string{
		"comment":       "# " + deep + "\n// " + deep + "\n/* " + deep + " */\nx = 1\n",
		"string":        `x = "` + deep + `"` + "\n",
		"escaped quote": `x = "\"` + deep + `"` + "\n",
		"heredoc":       "x = <<-EOT\n  " + deep + "\n  EOT\n",
		"at the limit":  "x = " + strings.Repeat("[", MaxNesting) + strings.Repeat("]", MaxNesting) + "\n",
	} {
		if diags := CheckNesting([]byte(src), "a.hcl", hcl.InitialPos); diags.HasErrors() {
			t.Errorf("%s: %v", name, diags)
		}
	}
	for name, src := range map[string]string{
		"brackets":       "x = " + deep,
		"interpolations": "x = " + strings.Repeat(`"${`, MaxNesting/2+1),
		// HCL parses a heredoc's interpolations as expressions: they nest.
		"in a heredoc": "x = <<EOT\n${" + deep + "\nEOT\n",
	} {
		if diags := CheckNesting([]byte(src), "a.hcl", hcl.InitialPos); !diags.HasErrors() {
			t.Errorf("%s: no error past the limit", name)
		}
	}
}

// A file parsed in chunks checks each chunk's nesting before parsing it
// (never the whole file's tokens at once), and a chunk nested too deeply
// is reported where it is, as from a plain parse.
func TestLargeFileNestedTooDeeply(t *testing.T) {
	var b strings.Builder
	line := 0
	for i := 0; b.Len() < 3*chunkSize; i++ {
		if b.Len() > chunkSize && line == 0 {
			line = strings.Count(b.String(), "\n") + 2
			b.WriteString("stage \"deep\" {\n  x = " + strings.Repeat("[", MaxNesting+1) + "\n}\n")
		}
		b.WriteString("stage \"s" + strings.Repeat("x", i%7) + "\" {\n  step \"n\" {\n    action = std.noop\n  }\n}\n")
	}
	_, diags := LoadSource("big.hcl", []byte(b.String()))
	if len(diags) != 1 || diags[0].Summary != "Nested too deeply" || diags[0].Subject.Start.Line != line {
		t.Fatalf("want Nested too deeply on line %d, got %v", line, diags)
	}
}

// quickDepth, which spares CheckNesting the lexer, must find exactly the
// nesting the lexer's tokens hold wherever it answers: checked on the
// flagship, the invalid corpus and random text made of the characters that
// open and close levels.
func TestQuickDepthAgreesWithTheLexer(t *testing.T) {
	seeds := [][]byte{readFile(t, alphaMembers)}
	for _, glob := range []string{"testdata/invalid/*.hcl", "testdata/invalid/*/*.hcl"} {
		paths, _ := filepath.Glob(glob)
		for _, p := range paths {
			seeds = append(seeds, readFile(t, p))
		}
	}
	if d, ok := quickDepth(seeds[0], MaxNesting); !ok || d != lexed(seeds[0]) {
		t.Fatalf("the flagship: quickDepth %d (ok %t), the lexer %d", d, ok, lexed(seeds[0]))
	}
	pieces := []string{"[", "]", "{", "}", "(", ")", `"`, `\"`, `\\`, "${", "%{", "$${", "%%{", "~}", "$", "%",
		"<<EOT\n", "<<-EOT\n", "EOT\n", "  EOT\n", "<<EOT\r\n", "EOT\r\n", "\r", "\n", "# c\n", "// c\n", "/*", "*/", "# [\"${\n", "// ({\n", "/* ]\"} */",
		"x", " ", "a = ", "é", "<<", "-", "<<É\n", "\xff"}
	rng := rand.New(rand.NewPCG(1, 2))
	answered := 0
	for n := 0; n < 200000; n++ {
		var b strings.Builder
		if n < len(seeds) {
			b.Write(seeds[n])
		}
		for k := rng.IntN(24); k > 0; k-- {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		src := []byte(b.String())
		d, ok := quickDepth(src, 8)
		if !ok {
			continue
		}
		answered++
		// Less would let a file too deep reach the parser; more would
		// show the model wrong somewhere.
		if want := lexed(src); d != want {
			t.Fatalf("quickDepth %d, the lexer %d, for %q", d, want, src)
		}
	}
	if answered < 20000 {
		t.Errorf("quickDepth answered %d of 200,000: it gives up too often to spare the lexer", answered)
	}
}

// lexed is the depth CheckNesting finds when it lexes.
func lexed(src []byte) int {
	tokens, _ := hclsyntax.LexConfig(src, "a.hcl", hcl.InitialPos)
	deepest, _ := lexedDepth(tokens, math.MaxInt)
	return deepest
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return src
}
