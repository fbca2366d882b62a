package dsl

import (
	"os"
	"path/filepath"
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
