package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// The CLI talks to clusters and scanners only through plugins: none of
// Helm or trivy may be linked into pipectl itself, and Kubernetes only
// through the kubernetes state backend (record/kubernetes), which is
// storage (Secrets and Leases), not a cluster action: it uses client-go's
// REST client and clientcmd over the core, coordination and rbac API
// groups, nothing else.
func TestCLIImportsNoClusterOrScannerPackages(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", ".")
	cmd.Env = append(cmd.Environ(), "GOWORK=off")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 50 {
		t.Fatalf("go list -deps listed only %d packages: %q", len(lines), out)
	}
	const backend = "github.com/pipectl/pipectl/record/kubernetes"
	kube := func(p string) bool { return strings.HasPrefix(p, "k8s.io/") || strings.HasPrefix(p, "sigs.k8s.io/") }
	for _, line := range lines {
		f := strings.Fields(line)
		pkg, imports := f[0], f[1:]
		for _, banned := range []string{"helm.sh/", "github.com/aquasecurity/"} {
			if strings.HasPrefix(pkg, banned) {
				t.Errorf("pipectl imports %s; cluster and scanner code belongs in a plugin", pkg)
			}
		}
		if kube(pkg) || pkg == backend {
			continue
		}
		for _, imp := range imports {
			if kube(imp) {
				t.Errorf("%s imports %s; only the kubernetes state backend (%s) may use Kubernetes, cluster actions belong in a plugin", pkg, imp, backend)
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
