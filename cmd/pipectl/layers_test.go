package main

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/pipectl/pipectl"

// imports lists the module's packages with what each imports (not its
// tests), as go list sees them.
func imports(t *testing.T) map[string][]string {
	t.Helper()
	cmd := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "./...")
	cmd.Dir = "../.."
	cmd.Env = append(cmd.Environ(), "GOWORK=off")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	pkgs := map[string][]string{}
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		pkgs[f[0]] = f[1:]
	}
	for _, p := range []string{"/api/v1", "/gate", "/engine", "/engine/dag", "/internal/view", "/internal/report"} {
		if _, ok := pkgs[module+p]; !ok {
			t.Fatalf("go list did not list %s: %q", module+p, out)
		}
	}
	return pkgs
}

// deps lists the packages pkg depends on, itself included.
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", pkg)
	cmd.Dir = "../.."
	cmd.Env = append(cmd.Environ(), "GOWORK=off")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}

// The layers of docs/architecture.md: the vocabulary (api/v1) is a leaf
// anyone may read without the engine; the gate (package gate) is pure
// behaviour on the vocabulary, with no configuration language and no
// runner; views and the report render the vocabulary without reaching
// into the engine; nothing under engine/ imports engine itself (a child
// importing its parent is an arrow upwards).
func TestImportRules(t *testing.T) {
	pkgs := imports(t)
	for _, d := range deps(t, "./api/v1") {
		if strings.HasPrefix(d, module+"/") && d != module+"/api/v1" {
			t.Errorf("api/v1 depends on %s: the vocabulary imports no pipectl package", d)
		}
	}
	for _, d := range deps(t, "./gate") {
		if strings.HasPrefix(d, module+"/") && d != module+"/api/v1" && d != module+"/gate" {
			t.Errorf("gate depends on %s: the gate reads only the vocabulary (api/v1), never dsl, engine or the records", d)
		}
	}
	for _, imp := range pkgs[module+"/gate"] {
		if strings.HasPrefix(imp, "github.com/hashicorp/hcl") {
			t.Errorf("gate imports %s: dsl evaluates the blocks into the gate's types", imp)
		}
	}
	for pkg, imps := range pkgs {
		for _, imp := range imps {
			if (pkg == module+"/engine" || strings.HasPrefix(pkg, module+"/engine/")) && strings.HasPrefix(imp, "google.golang.org/grpc") {
				t.Errorf("%s imports %s: the plugin client (sdk/client) says what a failed call means (client.ErrPluginExited)", pkg, imp)
			}
			switch {
			case imp != module+"/engine":
			case pkg == module+"/internal/view" || pkg == module+"/internal/report":
				t.Errorf("%s imports engine: views and the report render the vocabulary (api/v1)", pkg)
			case strings.HasPrefix(pkg, module+"/engine/"):
				t.Errorf("%s imports its parent engine", pkg)
			}
		}
	}
}
