package dsl

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Parsing in chunks gives exactly the structure of a plain parse: same
// blocks, labels, attributes and source ranges.
func TestChunkedParseMatchesPlainParse(t *testing.T) {
	for _, path := range corpus("invalid/*.hcl") {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		assertChunkedParse(t, path, src, 1)
	}
	assertChunkedParse(t, "generated", generatePipeline(2000), chunkSize)
}

// A "}" line inside a heredoc is not the end of a block: the chunk that
// splits there fails to parse and the file is parsed whole.
func TestChunkedParseFallsBackInsideHeredoc(t *testing.T) {
	src := []byte("pipeline \"p\" {}\nlocals {\n  script = <<EOT\n}\nstage \"fake\" {\nEOT\n}\nstage \"s\" {\n  step \"a\" {\n    action = std.exec\n  }\n}\n")
	if chunks := splitTopLevel(src, 1); len(chunks) < 3 {
		t.Fatalf("expected a split inside the heredoc, got %d chunks", len(chunks))
	}
	if _, ok := parseChunks(src, "h.hcl", splitTopLevel(src, 1)); ok {
		t.Fatal("chunks split inside a heredoc parsed without error")
	}
	cfg, diags := LoadSource("h.hcl", src)
	requireNoDiags(t, cfg, diags)
	if len(cfg.Stages) != 1 || cfg.Stages[0].Name != "s" {
		t.Fatalf("stages = %v", cfg.Stages)
	}
}

// A large file is loaded chunk by chunk; when a later chunk does not parse
// (split inside a heredoc) the load starts again with the file parsed
// whole: the chunks loaded before it leave nothing behind (no step defined
// twice), and the heredoc keeps its "}" lines.
func TestLoadStartsAgainWhenAChunkDoesNotParse(t *testing.T) {
	steps := generatePipeline(2000)
	heredoc := strings.Repeat("x", chunkSize) + "\n}\nstage \"fake\" {\n"
	src := append(steps, "locals {\n  script = <<EOT\n"+heredoc+"EOT\n}\n"...)
	chunks := splitTopLevel(src, chunkSize)
	if _, ok := parseEach(src, "big.hcl", chunks, func(*hcl.File) {}); ok {
		t.Fatal("the chunks parsed: no split fell inside the heredoc")
	}
	cfg, diags := LoadSource("big.hcl", src)
	requireNoDiags(t, cfg, diags)
	if got, want := len(cfg.Steps()), 2000; got != want {
		t.Errorf("%d steps, want %d", got, want)
	}
	if cfg.Stage("fake") != nil || cfg.Locals["script"] == nil {
		t.Errorf("the heredoc was cut: stage fake %v, local script %v", cfg.Stage("fake"), cfg.Locals["script"])
	}
}

func assertChunkedParse(t testing.TB, name string, src []byte, size int) {
	t.Helper()
	plain, diags := hclsyntax.ParseConfig(src, name, hcl.InitialPos)
	chunks := splitTopLevel(src, size)
	if len(chunks) < 2 {
		return
	}
	chunked, ok := parseChunks(src, name, chunks)
	if !ok {
		return // falls back to the plain parse
	}
	if diags.HasErrors() {
		t.Fatalf("%s: chunks parsed, but the whole file does not: %s", name, diags.Error())
	}
	want, got := describeBody(plain.Body.(*hclsyntax.Body)), describeBody(chunked.Body.(*hclsyntax.Body))
	if got != want {
		t.Fatalf("%s: chunked parse differs\n got: %s\nwant: %s", name, got, want)
	}
}

// describeBody renders a body's structure and ranges.
func describeBody(b *hclsyntax.Body) string {
	var parts []string
	for name, attr := range b.Attributes {
		parts = append(parts, fmt.Sprintf("%s@%v=%v", name, attr.SrcRange, attr.Expr.Range()))
	}
	sort.Strings(parts)
	for _, block := range b.Blocks {
		parts = append(parts, fmt.Sprintf("%s%q@%v{%s}", block.Type, block.Labels, block.DefRange(), describeBody(block.Body)))
	}
	return strings.Join(parts, " ")
}

// Once loaded, a file keeps only its bytes and an outline of its top-level
// blocks; diagnostics still name the block they are in (`in stage
// "deploy"`) as hclsyntax's navigation of a plain parse does, at every
// offset of a file parsed whole and of one parsed in chunks.
func TestLoadedFilesGiveDiagnosticsTheirContext(t *testing.T) {
	type navigator interface {
		ContextString(offset int) string
		ContextDefRange(offset int) hcl.Range
	}
	for name, src := range map[string][]byte{"small.hcl": generatePipeline(20), "large.hcl": generatePipeline(2000)} {
		cfg, diags := LoadSource(name, src)
		requireNoDiags(t, cfg, diags)
		plain, _ := hclsyntax.ParseConfig(src, name, hcl.InitialPos)
		want, got := plain.Nav.(navigator), cfg.Files[name].Nav.(navigator)
		if _, whole := cfg.Files[name].Body.(*hclsyntax.Body); whole {
			t.Fatalf("%s: the loaded file still holds its syntax tree", name)
		}
		for off := 0; off <= len(src); off += 3 {
			if w, g := want.ContextString(off), got.ContextString(off); w != g {
				t.Fatalf("%s at byte %d: context %q, want %q", name, off, g, w)
			}
			if w, g := want.ContextDefRange(off), got.ContextDefRange(off); w != g {
				t.Fatalf("%s at byte %d: definition %v, want %v", name, off, g, w)
			}
		}
	}
}
