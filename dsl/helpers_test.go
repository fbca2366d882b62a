package dsl

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// noEnv is a Getenv that sees no environment variable, so that the
// developer's environment cannot change a test.
func noEnv(string) (string, bool) { return "", false }

// requireNoDiags fails the test with the rendered diagnostics, if any.
func requireNoDiags(t testing.TB, cfg *Config, diags hcl.Diagnostics) {
	t.Helper()
	if len(diags) > 0 {
		t.Fatalf("unexpected diagnostics:\n%s", render(cfg, diags))
	}
}

func render(cfg *Config, diags hcl.Diagnostics) string {
	var files map[string]*hcl.File
	if cfg != nil {
		files = cfg.Files
	}
	var buf bytes.Buffer
	_ = WriteDiagnostics(&buf, diags, files, 100, false)
	return buf.String()
}

// loadString loads one pipeline file given as text.
func loadString(t testing.TB, src string) (*Config, hcl.Diagnostics) {
	t.Helper()
	return LoadSource("test.hcl", []byte(src))
}

// mustLoad loads a pipeline that must be valid.
func mustLoad(t testing.TB, src string) *Config {
	t.Helper()
	cfg, diags := loadString(t, src)
	requireNoDiags(t, cfg, diags)
	return cfg
}

// writeFiles writes files into a fresh directory and returns it.
func writeFiles(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// permissiveSchema accepts every configuration attribute of a step, of any
// type, as a plugin that knows them all would.
func permissiveSchema(st *Step) *BlockSchema {
	schema := &BlockSchema{Attributes: map[string]*AttributeSchema{}}
	meta := map[string]bool{}
	for _, a := range metaSchema.Attributes {
		meta[a.Name] = true
	}
	for name := range st.ConfigSyntax().(*hclsyntax.Body).Attributes {
		if !meta[name] {
			schema.Attributes[name] = &AttributeSchema{Type: cty.DynamicPseudoType}
		}
	}
	return schema
}
