// Package records holds the compatibility tests of what pipectl stores: the
// run records and saved plans that an earlier pipectl wrote (fixtures that
// capture.sh recorded at that commit, in testdata/COMMIT) are read back by
// the pipectl of this checkout, run as a real process, and what it prints is
// compared with what the earlier one printed. Every difference must be one
// listed as intended (differences_test.go, and DIFFERENCES.md beside the fixtures).
package records

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// bins holds pipectl and the std plugin: $PIPECTL_E2E_BIN when set (make
// test passes its bin/), else a temporary directory they are built into.
var bins string

func TestMain(m *testing.M) {
	code := func() int {
		if dir := os.Getenv("PIPECTL_E2E_BIN"); dir != "" {
			for _, name := range []string{"pipectl", "pipectl-plugin-std"} {
				if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
					fmt.Fprintf(os.Stderr, "PIPECTL_E2E_BIN=%s: %v (run `make build`)\n", dir, err)
					return 1
				}
			}
			bins = dir
			return m.Run()
		}
		dir, err := os.MkdirTemp("", "pipectl-records-bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		for out, src := range map[string]string{"pipectl": "cmd/pipectl", "pipectl-plugin-std": "plugins/std"} {
			if err := build(filepath.Join(dir, out), src); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
		}
		bins = dir
		return m.Run()
	}()
	os.Exit(code)
}

// root is the repository's root directory.
func root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// build builds the main package in src (relative to the repository root)
// into out, on its own module's requirements (GOWORK=off), versioned as
// make versions it.
func build(out, src string) error {
	ldflags := "-X main.version=0.1.0"
	if src == "cmd/pipectl" {
		ldflags = "-X github.com/pipectl/pipectl/internal/version.Version=0.1.0"
	}
	cmd := exec.Command("go", "build", "-buildvcs=false", "-ldflags", ldflags, "-o", out, ".")
	cmd.Dir = filepath.Join(root(), src)
	cmd.Env = append(os.Environ(), "GOWORK=off")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building %s: %v\n%s", src, err, b)
	}
	return nil
}
