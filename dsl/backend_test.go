package dsl

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The pipeline's backend block is every environment's, unless the
// environment has its own: dev may stay local while prod is shared.
func TestBackendPerPipelineAndEnvironment(t *testing.T) {
	cfg, diags := LoadSource("p.hcl", []byte(`
pipeline "p" {}
backend "kubernetes" {
  namespace      = "pipectl"
  kubeconfig     = "/etc/kube/ci.yaml"
  context        = "ci"
  lease_duration = "90s"
}
environment "dev" {
  region = "eu"
  backend "local" {}
}
environment "prod" {}
stage "s" {
  step "a" {
    action = std.exec
  }
}
`))
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	prod := cfg.BackendFor("prod")
	if prod == nil || prod.Type != BackendKubernetes || prod.Namespace != "pipectl" || prod.Kubeconfig != "/etc/kube/ci.yaml" ||
		prod.Context != "ci" || prod.LeaseDuration != 90*time.Second {
		t.Errorf("prod's backend = %+v, want the pipeline's kubernetes block", prod)
	}
	if dev := cfg.BackendFor("dev"); dev == nil || dev.Type != BackendLocal {
		t.Errorf("dev's backend = %+v, want its own local block", dev)
	}
	if cfg.Environments["dev"].Attrs["region"] == nil {
		t.Error("an environment with a backend block lost its attributes")
	}

	plain, diags := LoadSource("p.hcl", []byte("pipeline \"p\" {}\nstage \"s\" {\n  step \"a\" {\n    action = std.exec\n  }\n}\n"))
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if b := plain.BackendFor(""); b != nil {
		t.Errorf("a pipeline without a backend block has backend %+v, want nil (local)", b)
	}
}

// LoadBackend reads the backend blocks alone, before the pipeline is
// loaded: an error elsewhere in the pipeline does not hide them, and an
// unknown type is an error, never the local backend.
func TestLoadBackend(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.hcl", `pipeline "shop" {}
backend "local" {}
environment "prod" {
  backend "kubernetes" { namespace = "pipectl-prod" }
}
stage "s" {
  step "a" {
    action = std.exec
    bogus = undefined.reference
  }
}
`)
	write("b.hcl", "this does not parse {{{")
	name, b, diags := LoadBackend(dir, "prod")
	if diags.HasErrors() || name != "shop" || b == nil || b.Type != BackendKubernetes || b.Namespace != "pipectl-prod" {
		t.Errorf("prod: %q, %+v, %v", name, b, diags)
	}
	if _, b, _ := LoadBackend(dir, "dev"); b == nil || b.Type != BackendLocal {
		t.Errorf("dev: %+v, want the pipeline's local block", b)
	}
	write("a.hcl", "pipeline \"shop\" {}\nbackend \"kubernetess\" {}\n")
	if _, b, diags := LoadBackend(dir, ""); !diags.HasErrors() || b == nil || b.Type != "kubernetess" {
		t.Errorf("an unknown type: %+v, %v; want an error and the type kept", b, diags)
	}
}

// In a large file LoadBackend parses only the chunks that may hold its
// blocks: a backend block after 2,000 steps is found, a mistake in a chunk
// that names none of them does not hide it (Load reports it), and a
// backend block inside a heredoc that spans chunks is not one.
func TestLoadBackendLargeFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "p.hcl")
	load := func(src []byte) (string, *Backend) {
		t.Helper()
		if err := os.WriteFile(path, src, 0o644); err != nil {
			t.Fatal(err)
		}
		name, b, diags := LoadBackend(dir, "")
		if diags.HasErrors() {
			t.Fatal(diags.Error())
		}
		return name, b
	}
	steps := generatePipeline(2000)
	late := []byte("backend \"kubernetes\" { namespace = \"late\" }\n")
	if chunks := splitTopLevel(append(steps, late...), chunkSize); len(chunks) < 3 {
		t.Fatalf("want a file of several chunks, got %d", len(chunks))
	}
	if name, b := load(append(steps, late...)); name != "bench" || b == nil || b.Namespace != "late" {
		t.Errorf("backend at the end: %q, %+v", name, b)
	}

	broken := bytes.Replace(steps, []byte(`step "step700" {`), []byte(`step "step700" = {`), 1)
	if name, b := load(append(broken, late...)); name != "bench" || b == nil || b.Namespace != "late" {
		t.Errorf("a mistake among the steps: %q, %+v", name, b)
	}

	var heredoc bytes.Buffer
	heredoc.WriteString("locals {\n  script = <<EOT\n")
	long := strings.Repeat("x", chunkSize) // few lines: HCL's heredoc parse is quadratic in them
	// HCL blocks, as text, split where a block ends
	for range 2 {
		heredoc.WriteString("thing \"x\" { a = \"" + long + "\" }\n}\nbackend \"kubernetes\" {\n  namespace = \"fake\"\n}\n")
	}
	heredoc.WriteString("EOT\n}\npipeline \"h\" {}\n")
	if name, b := load(heredoc.Bytes()); name != "h" || b != nil {
		t.Errorf("a backend block inside a heredoc: %q, %+v, want none", name, b)
	}
}

// Steps that refer to pipeline.name and pipeline.environment (every real
// pipeline's messages do) name no block LoadBackend reads: their chunks are
// not parsed. A match of the word anywhere parsed every chunk of such a
// file, and LoadBackend cost as much as Load.
func TestLoadBackendSkipsReferencesToThePipeline(t *testing.T) {
	steps := strings.ReplaceAll(string(generatePipeline(2000)), `timeout = "5m"`,
		"timeout = \"5m\"\n    environment = pipeline.environment\n    message = \"${pipeline.name} to ${pipeline.environment}\"")
	src := []byte(steps + "backend \"kubernetes\" { namespace = \"late\" }\n")
	all := splitTopLevel(src, chunkSize/8)
	parsed := chunksFor(src, backendTypes)
	// The first chunk holds the pipeline and environment blocks, the last the backend.
	if len(all) < 10 || len(parsed) != 2 || parsed[0] != all[0] || parsed[1] != all[len(all)-1] {
		t.Errorf("parsed %d chunks of %d, want the first and the last", len(parsed), len(all))
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "p.hcl"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	name, b, diags := LoadBackend(dir, "prod")
	if diags.HasErrors() || name != "bench" || b == nil || b.Namespace != "late" {
		t.Errorf("LoadBackend: %q, %+v, %v", name, b, diags)
	}

	// A line that starts such a block is parsed, however it is written.
	for _, line := range []string{`backend "x" {`, `  environment "e" {}`, "pipeline p {", `backend{`} {
		if skippable([]byte(line+"\n"), backendTypes) {
			t.Errorf("%q skipped", line)
		}
	}
	for _, line := range []string{"pipeline_name = 1", "environment = pipeline.environment", "backends = []", `x = "the backend: ${pipeline.name}"`} {
		if !skippable([]byte(line+"\n"), backendTypes) {
			t.Errorf("%q parsed", line)
		}
	}
}
