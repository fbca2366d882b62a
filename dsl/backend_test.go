package dsl

import (
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
