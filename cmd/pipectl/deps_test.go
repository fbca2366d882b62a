package main

import (
	"os/exec"
	"strings"
	"testing"
)

// The CLI talks to clusters and scanners only through plugins: none of
// Kubernetes, Helm or trivy may be linked into pipectl itself.
func TestCLIImportsNoClusterOrScannerPackages(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", ".")
	cmd.Env = append(cmd.Environ(), "GOWORK=off")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	pkgs := strings.Fields(string(out))
	if len(pkgs) < 50 {
		t.Fatalf("go list -deps listed only %d packages: %q", len(pkgs), out)
	}
	for _, p := range pkgs {
		for _, banned := range []string{"helm.sh/", "k8s.io/", "sigs.k8s.io/", "github.com/aquasecurity/"} {
			if strings.HasPrefix(p, banned) {
				t.Errorf("pipectl imports %s; cluster and scanner code belongs in a plugin", p)
			}
		}
	}
}
