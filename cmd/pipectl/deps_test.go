package main

import (
	"os/exec"
	"slices"
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

// cmd/pipectl is flags and views: everything that decides is an
// operation. It imports, of pipectl, only the operations, the views, the
// vocabulary and the version (docs/architecture.md).
func TestCLIImportsOnlyOperationsViewsAndVocabulary(t *testing.T) {
	cmd := exec.Command("go", "list", "-f", `{{join .Imports "\n"}}`, ".")
	cmd.Env = append(cmd.Environ(), "GOWORK=off")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	allowed := []string{"operation", "internal/view", "api/v1", "internal/version"}
	const module = "github.com/pipectl/pipectl/"
	seen := 0
	for _, p := range strings.Fields(string(out)) {
		rel, ok := strings.CutPrefix(p, module)
		if !ok {
			continue
		}
		seen++
		if !slices.Contains(allowed, rel) {
			t.Errorf("cmd/pipectl imports %s: only %s may be imported; what decides belongs in an operation", p, strings.Join(allowed, ", "))
		}
	}
	if seen == 0 {
		t.Fatalf("go list found no pipectl import at all: %q", out)
	}
}
