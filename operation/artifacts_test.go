package operation

import (
	"os"
	"path/filepath"
	"testing"
)

// A name a plugin chose never leaves the output directory.
func TestSafeArtifactNames(t *testing.T) {
	for in, want := range map[string]string{
		"report.md":            "report.md",
		"../../etc/passwd":     "_.._etc_passwd",
		"..":                   "artifact",
		".hidden":              "hidden",
		"":                     "artifact",
		"a b/c\\d:e\x00f.txt":  "a_b_c_d_e_f.txt",
		"trivy-alpha@1.0.json": "trivy-alpha@1.0.json",
	} {
		if got := safeName(in); got != want {
			t.Errorf("safeName(%q) = %q, want %q", in, got, want)
		}
	}
	taken := map[string]bool{}
	for _, want := range []string{"s/r.md", "s/r-2.md", "s/r-3.md"} {
		if got := uniqueName("s/r.md", taken); got != want {
			t.Errorf("uniqueName: %q, want %q", got, want)
		}
	}
	// And os.Root refuses what would escape, should a name get past.
	dir := t.TempDir()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	if err := root.WriteFile(filepath.Join("..", "escaped"), []byte("x"), 0o644); err == nil {
		t.Error("os.Root wrote outside its directory")
	}
}
